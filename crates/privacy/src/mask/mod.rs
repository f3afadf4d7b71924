//! Personal-data masking: phone, MNP reservation, My Number and card numbers,
//! email addresses, postal codes and birth dates in a user's message are replaced
//! by typed, numbered placeholders (`[電話番号1]`) before the text reaches a model,
//! and put back into the model's answer for the user who wrote them.
//!
//! Detection leans towards precision on the near misses a support chat is full of
//! (prices, plan names, order and model numbers, ordinary dates) and towards
//! recall on the kinds themselves: numbers are checked against the Japanese
//! numbering plan, the My Number check digit and Luhn; postal codes and birth
//! dates need a naming word beside them.

mod normalize;
mod numbers;
mod patterns;
mod vault;

#[cfg(test)]
mod cases;

pub use vault::{Restorer, Vault};

use normalize::Normalized;
use patterns::Patterns;
use serde::{Deserialize, Serialize};
use std::ops::Range;
use std::sync::OnceLock;

/// A kind of personal data; each has its own placeholder label and numbering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Phone,
    /// A 10-digit MNP reservation number (MNP予約番号).
    Reservation,
    /// A 12-digit individual number (マイナンバー) with a valid check digit.
    MyNumber,
    /// A payment card number (13–19 digits, Luhn).
    Card,
    Email,
    Postal,
    BirthDate,
}

impl Kind {
    pub const ALL: [Kind; 7] =
        [Kind::Phone, Kind::Reservation, Kind::MyNumber, Kind::Card, Kind::Email, Kind::Postal, Kind::BirthDate];

    /// The placeholder label: `[電話番号1]` has label `電話番号`.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Phone => "電話番号",
            Kind::Reservation => "予約番号",
            Kind::MyNumber => "マイナンバー",
            Kind::Card => "カード番号",
            Kind::Email => "EMAIL",
            Kind::Postal => "郵便番号",
            Kind::BirthDate => "生年月日",
        }
    }

    /// Which kind wins when two matches of the same length overlap.
    fn rank(self) -> u8 {
        match self {
            Kind::Email => 0,
            Kind::Card => 1,
            Kind::MyNumber => 2,
            Kind::Phone => 3,
            Kind::Reservation => 4,
            Kind::Postal => 5,
            Kind::BirthDate => 6,
        }
    }
}

/// One piece of personal data found in a text.
#[derive(Clone, PartialEq, Eq)]
pub struct Found {
    pub kind: Kind,
    /// Byte range in the original text.
    pub range: Range<usize>,
    /// The value compared for "same value, same placeholder" (digits only, email
    /// lowercased, birth date as YYYY-MM-DD).
    key: String,
}

impl std::fmt::Debug for Found {
    /// Leaves out the value: it is the personal data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Found").field("kind", &self.kind).field("range", &self.range).finish_non_exhaustive()
    }
}

/// A match in the folded text, before overlaps are settled.
struct Candidate {
    kind: Kind,
    range: Range<usize>,
    key: String,
}

impl Candidate {
    fn new(kind: Kind, range: Range<usize>, key: String) -> Self {
        Self { kind, range, key }
    }
}

/// The detectors, compiled once. Cheap to share (`Send + Sync`); see [`Masker::shared`].
pub struct Masker {
    patterns: Patterns,
}

impl Default for Masker {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Masker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Masker").finish_non_exhaustive()
    }
}

impl Masker {
    pub fn new() -> Self {
        Self { patterns: Patterns::new() }
    }

    /// A process-wide instance, compiled on first use.
    pub fn shared() -> &'static Masker {
        static MASKER: OnceLock<Masker> = OnceLock::new();
        MASKER.get_or_init(Masker::new)
    }

    /// Personal data in `text`, in text order, never overlapping.
    pub fn detect(&self, text: &str) -> Vec<Found> {
        // Every kind has a digit or an '@'; most chat lines have neither.
        if !text.chars().any(|c| c.is_ascii_digit() || ('０'..='９').contains(&c) || c == '@' || c == '＠') {
            return Vec::new();
        }
        let norm = Normalized::new(text);
        let s = norm.text();
        let mut cands = Vec::new();
        self.patterns.emails(s, &mut cands);
        let urls = self.patterns.urls(s);
        numbers::find(s, &urls, &mut cands);
        self.patterns.postal_codes(s, &mut cands);
        self.patterns.birth_dates(s, &mut cands);
        // Emails first (they swallow any number inside them), then the longest
        // match, then the more specific kind.
        cands.sort_by_key(|c| (c.kind != Kind::Email, std::cmp::Reverse(c.range.len()), c.kind.rank(), c.range.start));
        let mut kept: Vec<Candidate> = Vec::new();
        for c in cands {
            if kept.iter().all(|k| k.range.end <= c.range.start || c.range.end <= k.range.start) {
                kept.push(c);
            }
        }
        kept.sort_by_key(|c| c.range.start);
        kept.into_iter().map(|c| Found { kind: c.kind, range: norm.original(c.range), key: c.key }).collect()
    }

    pub fn contains_personal_data(&self, text: &str) -> bool {
        !self.detect(text).is_empty()
    }

    /// `text` with its personal data replaced by placeholders recorded in `vault`;
    /// the same value gets the same placeholder. Text without personal data comes
    /// back unchanged.
    pub fn mask(&self, text: &str, vault: &mut Vault) -> String {
        let found = self.detect(text);
        let mut out = String::with_capacity(text.len() + found.len() * 8);
        let mut last = 0;
        for f in &found {
            out.push_str(&text[last..f.range.start]);
            out.push_str(&vault.placeholder(f.kind, &f.key, &text[f.range.clone()]));
            last = f.range.end;
        }
        out.push_str(&text[last..]);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(text: &str) -> String {
        Masker::shared().mask(text, &mut Vault::default())
    }

    #[test]
    fn same_value_same_placeholder() {
        let mut v = Vault::default();
        let m = Masker::shared();
        let out = m.mask("090-1234-5678 と 09012345678 と +81 90 1234 5678、03-1234-5678", &mut v);
        assert_eq!(out, "[電話番号1] と [電話番号1] と [電話番号1]、[電話番号2]");
        let out = m.mask("もう一度 ０９０－１２３４－５６７８ と TARO@Example.com", &mut v);
        assert_eq!(out, "もう一度 [電話番号1] と [EMAIL1]");
        assert_eq!(v.len(), 3);
        assert_eq!(m.mask("taro@example.com", &mut v), "[EMAIL1]");
    }

    #[test]
    fn round_trip_restores_the_original() {
        let m = Masker::shared();
        for (input, _) in cases::HITS {
            let mut v = Vault::default();
            let out = m.mask(input, &mut v);
            // One value written two ways ("090-1234-5678" and "09012345678") shares a
            // placeholder, which restores to the first spelling.
            let found = m.detect(input);
            let mut expected = String::new();
            let mut last = 0;
            for f in &found {
                let first = found.iter().find(|g| g.kind == f.kind && g.key == f.key).map_or(f, |g| g);
                expected.push_str(&input[last..f.range.start]);
                expected.push_str(&input[first.range.clone()]);
                last = f.range.end;
            }
            expected.push_str(&input[last..]);
            assert_eq!(v.restore(&out), expected, "{input}");
            assert!(!found.is_empty());
        }
    }

    #[test]
    fn near_misses_are_byte_identical() {
        for input in cases::MISSES {
            assert_eq!(masked(input), *input);
        }
    }

    #[test]
    fn full_width_spans_are_replaced_whole() {
        let text = "ＴＥＬ：０３（１２３４）５６７８、メール ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ。〒１００－０００１";
        let found = Masker::shared().detect(text);
        let spans: Vec<(Kind, &str)> = found.iter().map(|f| (f.kind, &text[f.range.clone()])).collect();
        assert_eq!(
            spans,
            [
                (Kind::Phone, "０３（１２３４）５６７８"),
                (Kind::Email, "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｃｏ．ｊｐ"),
                (Kind::Postal, "１００－０００１")
            ]
        );
    }

    #[test]
    fn debug_hides_values() {
        let f = Masker::shared().detect("090-1234-5678");
        assert!(!format!("{f:?}").contains("5678"));
    }

    #[test]
    fn masker_is_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Masker>();
        check::<Vault>();
    }
}
