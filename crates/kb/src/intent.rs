//! What kind of question a text asks, beyond its words. Today: definitions. "X と
//! は", "Xって何", "Xの意味", "what is X", "what does X mean" ask what X *is*; in an
//! FAQ full of siblings ("MNP予約番号とは" / "…は何桁" / "…はどこで"), the entry that
//! defines exactly X is the answer, and bag-of-words similarity alone often prefers a
//! sibling that shares more words.

use crate::normalize::normalize;

/// Japanese endings that make a definition question, longest first. A purpose question
/// ("って何に使うの") asks what a thing is for, which its definition answers.
const JA_ENDINGS: [&str; 24] = [
    "の意味を教えてください",
    "の意味を教えて",
    "とはどういう意味",
    "とはどういうこと",
    "ってどういう意味",
    "ってどういうこと",
    "とはなんですか",
    "って何ですか",
    "ってなんですか",
    "とは何ですか",
    "って何に使う",
    "は何に使う",
    "って何のため",
    "は何のため",
    "の使い道",
    "とはなに",
    "ってなに",
    "とは何",
    "って何",
    "ってなん",
    "の意味",
    "の仕組み",
    "仕組み",
    "とは",
];

/// Polite or casual tails after the ending ("とはどういう意味ですか", "って何に使うの").
const JA_TAILS: [&str; 4] = ["でしょうか", "ですか", "なの", "の"];

/// The endings as normalised text looks (long vowels folded: どういう is どいう).
fn ja_endings() -> &'static [String] {
    static ENDINGS: std::sync::LazyLock<Vec<String>> =
        std::sync::LazyLock::new(|| JA_ENDINGS.iter().map(|e| normalize(e)).collect());
    &ENDINGS
}

/// Drop parenthesised asides: "MNP（携帯電話番号ポータビリティ）" defines MNP.
fn strip_asides(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut depth = 0u32;
    for c in text.chars() {
        match c {
            '(' | '（' => depth += 1,
            ')' | '）' => depth = depth.saturating_sub(1),
            c if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The normalised subject of a definition question, or `None` for other questions.
pub fn definition_subject(text: &str) -> Option<String> {
    let folded = normalize(&strip_asides(text));
    let n = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    let tails = JA_TAILS.iter().filter_map(|t| n.strip_suffix(normalize(t).as_str()));
    let subject = std::iter::once(n.as_str())
        .chain(tails)
        .find_map(|n| ja_endings().iter().find_map(|e| n.strip_suffix(e.as_str())))
        .or_else(|| {
            let rest = n
                .strip_prefix("what is ")
                .or_else(|| n.strip_prefix("what s "))
                .or_else(|| n.strip_prefix("what are "))
                .or_else(|| n.strip_prefix("meaning of "))?;
            Some(
                rest.strip_prefix("a ")
                    .or_else(|| rest.strip_prefix("an "))
                    .or_else(|| rest.strip_prefix("the "))
                    .unwrap_or(rest),
            )
        })
        .or_else(|| {
            // "what does X mean (for phones in Japan)"
            let rest = n.strip_prefix("what does ")?;
            rest.strip_suffix(" mean").or_else(|| rest.find(" mean ").map(|at| &rest[..at]))
        })?
        .trim();
    let subject = english_head(subject);
    (!subject.is_empty() && subject.chars().count() <= 30).then(|| subject.to_string())
}

/// An English subject without the context that follows it: "the one stop method for
/// number porting" defines "one stop method".
fn english_head(subject: &str) -> &str {
    const CONTEXT: [&str; 6] = [" for ", " in ", " when ", " if ", " with ", " on "];
    if !subject.is_ascii() {
        return subject;
    }
    let cut = CONTEXT.iter().filter_map(|c| subject.find(c)).min().unwrap_or(subject.len());
    subject[..cut].trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definition_questions_give_their_subject() {
        for (q, subject) in [
            ("MNP（携帯電話番号ポータビリティ）とは何ですか？", "mnp"),
            ("ＭＮＰとは", "mnp"),
            ("予約番号 とは", "予約番号"),
            ("よやくばんごうってなに", "よやくばんご"),
            ("よやくばんごうって何に使うの", "よやくばんご"),
            ("予約番号とはどういう意味ですか", "予約番号"),
            ("ワンストップ方式の意味", "わんすとっぷ方式"),
            ("ワンストップ 仕組み", "わんすとっぷ"),
            ("What is MNP (mobile number portability)?", "mnp"),
            ("what does MNP mean", "mnp"),
            ("What is an MNP reservation number?", "mnp reservation number"),
            ("What does MNP mean for phones in Japan?", "mnp"),
            ("what is the one-stop method for number porting", "one stop method"),
        ] {
            assert_eq!(definition_subject(q).as_deref(), Some(subject), "{q}");
        }
    }

    #[test]
    fn other_questions_have_none() {
        for q in ["MNP予約番号は何桁ですか？", "予約番号の取り方", "how do I switch carriers", "とは", "what is"]
        {
            assert_eq!(definition_subject(q), None, "{q}");
        }
    }
}
