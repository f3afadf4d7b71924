//! The vault remembers which placeholder stands for which original, per
//! conversation, so a model's answer can be restored for the user who wrote the
//! data; the restorer does the same on a stream of small deltas, where a
//! placeholder may arrive in pieces.

use super::Kind;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Placeholders ↔ originals, with a counter per kind. Serialisable so a caller can
/// keep it with the conversation (it holds personal data: store it encrypted).
#[derive(Default, Clone, Serialize, Deserialize)]
pub struct Vault {
    entries: Vec<Entry>,
    /// The highest number handed out (or seen in history) per kind.
    #[serde(default)]
    counters: BTreeMap<Kind, u32>,
}

#[derive(Clone, Serialize, Deserialize)]
struct Entry {
    kind: Kind,
    n: u32,
    key: String,
    original: String,
}

impl std::fmt::Debug for Vault {
    /// Counts only: the entries are personal data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("entries", &self.entries.len()).finish_non_exhaustive()
    }
}

/// The longest tail the restorer may hold back: `[` + label + digits.
const MAX_DIGITS: usize = 9;

impl Vault {
    /// A vault whose numbering starts after every placeholder in `texts` (earlier
    /// masked messages whose originals are gone), so new data never reuses a
    /// number the model has already seen for something else.
    pub fn continue_after<'a>(texts: impl IntoIterator<Item = &'a str>) -> Self {
        let mut v = Self::default();
        for t in texts {
            for (i, _) in t.match_indices('[') {
                if let Some((kind, n, _)) = parse(&t[i..]) {
                    let c = v.counters.entry(kind).or_insert(0);
                    *c = (*c).max(n);
                }
            }
        }
        v
    }

    /// The number of values held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The original behind a placeholder such as `[電話番号1]`.
    pub fn original(&self, placeholder: &str) -> Option<&str> {
        let (kind, n, len) = parse(placeholder)?;
        (len == placeholder.len()).then(|| self.lookup(kind, n)).flatten()
    }

    /// The placeholder for a value, handing out the next number for a new one.
    pub(super) fn placeholder(&mut self, kind: Kind, key: &str, original: &str) -> String {
        let n = match self.entries.iter().find(|e| e.kind == kind && e.key == key) {
            Some(e) => e.n,
            None => {
                let c = self.counters.entry(kind).or_insert(0);
                *c += 1;
                self.entries.push(Entry { kind, n: *c, key: key.to_owned(), original: original.to_owned() });
                *c
            }
        };
        format!("[{}{n}]", kind.label())
    }

    fn lookup(&self, kind: Kind, n: u32) -> Option<&str> {
        self.entries.iter().find(|e| e.kind == kind && e.n == n).map(|e| e.original.as_str())
    }

    /// `text` with every known placeholder replaced by its original; unknown ones stay.
    pub fn restore(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        if !self.is_empty() {
            for (i, _) in text.match_indices('[') {
                if i < last {
                    continue;
                }
                if let Some((kind, n, len)) = parse(&text[i..]) {
                    if let Some(orig) = self.lookup(kind, n) {
                        out.push_str(&text[last..i]);
                        out.push_str(orig);
                        last = i + len;
                    }
                }
            }
        }
        out.push_str(&text[last..]);
        out
    }

    /// A restorer for one streamed answer.
    pub fn restorer(&self) -> Restorer<'_> {
        Restorer::new(self)
    }
}

/// `[label digits]` at the start of `s`: its kind, number and byte length.
fn parse(s: &str) -> Option<(Kind, u32, usize)> {
    let rest = s.strip_prefix('[')?;
    Kind::ALL.into_iter().find_map(|kind| {
        let r = rest.strip_prefix(kind.label())?;
        let digits = r.bytes().take_while(u8::is_ascii_digit).count();
        if !(1..=MAX_DIGITS).contains(&digits) || r.as_bytes().get(digits) != Some(&b']') || r.starts_with('0') {
            return None;
        }
        let n = r[..digits].parse().ok()?;
        Some((kind, n, 1 + kind.label().len() + digits + 1))
    })
}

/// Whether `tail` (what follows an unclosed `[`) may still become a placeholder.
fn may_become_placeholder(tail: &str) -> bool {
    Kind::ALL.into_iter().any(|kind| {
        let label = kind.label();
        label.starts_with(tail)
            || tail.strip_prefix(label).is_some_and(|d| d.len() <= MAX_DIGITS && d.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// Restores a streamed answer delta by delta: a placeholder split across deltas
/// ("[電話" + "番号1]") is held back until it is complete or cannot be one.
pub struct Restorer<'a> {
    vault: &'a Vault,
    pending: String,
}

impl<'a> Restorer<'a> {
    pub fn new(vault: &'a Vault) -> Self {
        Self { vault, pending: String::new() }
    }

    /// The text that is safe to emit now.
    pub fn push(&mut self, delta: &str) -> String {
        if self.vault.is_empty() {
            return delta.to_owned();
        }
        self.pending.push_str(delta);
        let hold = match self.pending.rfind('[') {
            Some(i) if may_become_placeholder(&self.pending[i + 1..]) => i,
            _ => self.pending.len(),
        };
        let rest = self.pending.split_off(hold);
        let ready = std::mem::replace(&mut self.pending, rest);
        self.vault.restore(&ready)
    }

    /// Whatever was held back, at the end of the stream.
    pub fn finish(self) -> String {
        self.vault.restore(&self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Masker;
    use super::*;

    fn vault() -> (Vault, String) {
        let mut v = Vault::default();
        let masked =
            Masker::shared().mask("携帯は090-1234-5678、予約番号は1234567890、メールは taro@example.com です", &mut v);
        (v, masked)
    }

    #[test]
    fn restores_known_and_keeps_unknown() {
        let (v, masked) = vault();
        assert_eq!(masked, "携帯は[電話番号1]、予約番号は[予約番号1]、メールは [EMAIL1] です");
        assert_eq!(
            v.restore("[電話番号1]へSMSを送ります。[予約番号1]の期限は15日。[電話番号2]、[EMAIL1]、[電話番号01]、[電話番号1"),
            "090-1234-5678へSMSを送ります。1234567890の期限は15日。[電話番号2]、taro@example.com、[電話番号01]、[電話番号1"
        );
        assert_eq!(v.original("[EMAIL1]"), Some("taro@example.com"));
        assert_eq!(v.original("[EMAIL1] "), None);
        assert_eq!(v.original("[EMAIL2]"), None);
    }

    #[test]
    fn no_placeholders_byte_identical() {
        let (v, _) = vault();
        for t in ["", "普通の文章です。[注] [1] [電話]", "a [ b ] c [[電話番号", "料金は¥2,980 [税込]"]
        {
            assert_eq!(v.restore(t), t);
        }
    }

    #[test]
    fn streaming_equals_one_shot_at_every_split() {
        let (v, _) = vault();
        let answer =
            "承知しました。[電話番号1]宛に、[予約番号1]を[EMAIL1]へ。[電話番号9]は不明。[[EMAIL1]] [注]最後[電話番号1]";
        let whole = v.restore(answer);
        let cuts: Vec<usize> = (0..=answer.len()).filter(|&i| answer.is_char_boundary(i)).collect();
        for &a in &cuts {
            let mut r = v.restorer();
            let mut out = r.push(&answer[..a]);
            out.push_str(&r.push(&answer[a..]));
            out.push_str(&r.finish());
            assert_eq!(out, whole, "split at {a}");
        }
        // Char by char, the worst case for held-back tails.
        let mut r = v.restorer();
        let mut out = String::new();
        for (i, c) in answer.char_indices() {
            out.push_str(&r.push(&answer[i..i + c.len_utf8()]));
        }
        out.push_str(&r.finish());
        assert_eq!(out, whole);
    }

    #[test]
    fn streaming_holds_only_what_may_be_a_placeholder() {
        let (v, _) = vault();
        let mut r = v.restorer();
        assert_eq!(r.push("お電話は[電"), "お電話は");
        assert_eq!(r.push("話番号1]です"), "090-1234-5678です");
        assert_eq!(r.push("[注]"), "[注]");
        assert_eq!(r.push("[EMAIL12"), "");
        assert_eq!(r.finish(), "[EMAIL12");
    }

    #[test]
    fn continue_after_numbers_past_history() {
        let history =
            ["[電話番号3]に折り返します", "[予約番号1]と[電話番号12]、[EMAIL2]", "[電話番号07] [マイナンバー"];
        let mut v = Vault::continue_after(history);
        assert!(v.is_empty());
        let out = Masker::shared().mask("新しい番号は080-9999-0000、予約番号 9876543210、mail a@b.jp", &mut v);
        assert_eq!(out, "新しい番号は[電話番号13]、予約番号 [予約番号2]、mail [EMAIL3]");
        assert_eq!(v.len(), 3);
        let out = Masker::shared().mask("my number 123456789018", &mut v);
        assert_eq!(out, "my number [マイナンバー1]");
    }

    #[test]
    fn serde_round_trip() {
        let (v, masked) = vault();
        let json = serde_json::to_string(&v).unwrap();
        let back: Vault = serde_json::from_str(&json).unwrap();
        assert_eq!(back.restore(&masked), v.restore(&masked));
        let mut back = back;
        assert_eq!(Masker::shared().mask("090-1111-2222", &mut back), "[電話番号2]");
    }
}
