//! What kind of question a text asks, beyond its words. Today: definitions. "X と
//! は", "Xって何", "Xの意味", "what is X", "what does X mean" ask what X *is*; in an
//! FAQ full of siblings ("MNP予約番号とは" / "…は何桁" / "…はどこで"), the entry that
//! defines exactly X is the answer, and bag-of-words similarity alone often prefers a
//! sibling that shares more words.

use crate::normalize::normalize;

/// Japanese endings that make a definition question (normalised: katakana folded to
/// hiragana, punctuation gone). Longest first.
const JA_ENDINGS: [&str; 19] = [
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
    let subject = JA_ENDINGS
        .iter()
        .find_map(|e| n.strip_suffix(e))
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
        .or_else(|| n.strip_prefix("what does ").and_then(|r| r.strip_suffix(" mean")))?
        .trim();
    (!subject.is_empty() && subject.chars().count() <= 30).then(|| subject.to_string())
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
            ("よやくばんごうってなに", "よやくばんごう"),
            ("ワンストップ方式の意味", "わんすとっぷ方式"),
            ("ワンストップ 仕組み", "わんすとっぷ"),
            ("What is MNP (mobile number portability)?", "mnp"),
            ("what does MNP mean", "mnp"),
            ("What is an MNP reservation number?", "mnp reservation number"),
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
