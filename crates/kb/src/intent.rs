//! What kind of question a text asks, beyond its words. Today: definitions. "X と
//! は", "Xって何", "Xの意味", "what is X", "what does X mean" ask what X *is*; in an
//! FAQ full of siblings ("MNP予約番号とは" / "…は何桁" / "…はどこで"), the entry that
//! defines exactly X is the answer, and bag-of-words similarity alone often prefers a
//! sibling that shares more words.
//!
//! And necessity: "Xって必要？", "X絶対いる？", "Xいらない？", "do I need X" ask
//! whether X is needed, which the entry asking whether X is needed (or not needed)
//! answers, rather than the one defining X or saying where to get it.

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

/// Polite or casual tails after a necessity word ("必要ですか", "いるの？").
const NEED_TAILS: [&str; 13] = [
    "んでしょうか",
    "のでしょうか",
    "んですか",
    "のですか",
    "でしょうか",
    "ですか",
    "ますか",
    "なの",
    "ですよね",
    "よね",
    "の",
    "か",
    "ね",
];

/// Words that say "needed" or "not needed", longest first (normalised: long vowels
/// folded). "いる" is taken only after a particle or a noun, at the end.
const NEED_WORDS: [&str; 17] = [
    "必要があり",
    "必要があります",
    "必要がある",
    "必要ある",
    "必要あり",
    "必要ない",
    "要らない",
    "いらない",
    "いります",
    "要ります",
    "必要",
    "必須",
    "不要",
    "要る",
    "いる",
    "いり",
    "要",
];

/// Particles and intensifiers between the subject and the necessity word
/// ("予約番号って絶対いる", "SIMロック解除はかならず必要").
const NEED_FILLERS: [&str; 15] = [
    "かならず",
    "ぜったい",
    "ほんとに",
    "本当に",
    "絶対",
    "必ず",
    "って",
    "する",
    "でも",
    "は",
    "が",
    "も",
    "を",
    "て",
    "に",
];

/// The normalised subject of a question asking whether something is needed, or
/// `None`. Not for "what is needed" (何が必要, "what do I need"): that asks for a
/// list, and [`crate::Synonyms`] has it as a topic of its own.
pub fn necessity_subject(text: &str) -> Option<String> {
    let folded = normalize(&strip_asides(text));
    let n = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    // Several sentences: the first that asks it ("予約番号はいるんですか？それとも…").
    let sentences = strip_asides(text);
    let subject = japanese_need(&n).or_else(|| english_need(&n)).map(str::to_string).or_else(|| {
        sentences.split(['？', '?', '。', '！', '!', '\n']).filter(|s| !s.trim().is_empty()).find_map(|s| {
            let n = normalize(s).split_whitespace().collect::<Vec<_>>().join(" ");
            japanese_need(&n).or_else(|| english_need(&n)).map(str::to_string)
        })
    })?;
    let subject = subject.trim();
    (!subject.is_empty() && subject.chars().count() <= 40).then(|| subject.to_string())
}

fn japanese_need(n: &str) -> Option<&str> {
    let mut rest = n.trim_end();
    // Tails, possibly two ("いるのですか").
    for _ in 0..2 {
        if let Some(r) = NEED_TAILS.iter().find_map(|t| rest.strip_suffix(normalize(t).trim())) {
            rest = r.trim_end();
        }
    }
    let word = NEED_WORDS.iter().find(|w| rest.ends_with(normalize(w).trim()))?;
    let mut subject = rest.strip_suffix(normalize(word).trim())?.trim_end();
    let plain_iru = matches!(*word, "いる" | "いり");
    // "いる" is as often "is (doing)" (使っている, 待っている): not after a verb.
    if plain_iru && subject.strip_suffix("って").is_some_and(|s| s.ends_with(VERB_STEMS)) {
        return None;
    }
    let mut had_filler = false;
    loop {
        match NEED_FILLERS.iter().find_map(|f| subject.strip_suffix(normalize(f).trim())) {
            Some(s) if !s.trim().is_empty() => {
                subject = s.trim_end();
                had_filler = true;
            }
            _ => break,
        }
    }
    // Nor without a particle, unless after a noun written in kanji, katakana or Latin.
    let last = subject.chars().next_back()?;
    let noun = crate::normalize::is_kanji(last) || last.is_ascii_alphanumeric();
    if plain_iru && !had_filler && !noun {
        return None;
    }
    // "何が必要", "何か手続きは必要", "何日残っている必要がある": what or how much is
    // needed, not whether.
    let asks_what = ["何", "なに", "どれ", "どんな", "どの", "いくつ", "いくら"].iter().any(|w| subject.contains(w));
    (!asks_what).then_some(subject)
}

/// Kanji of verbs written before "っている" ("is doing"), not nouns.
const VERB_STEMS: [char; 20] = [
    '使', '持', '待', '言', '買', '取', '乗', '入', '払', '残', '知', '思', '困', '違', '合', '送', '貼', '行', '出',
    '迷',
];

fn english_need(n: &str) -> Option<&str> {
    const STARTS: [&str; 9] = [
        "do i really need ",
        "do i still need ",
        "do i have to ",
        "do i need ",
        "do you need ",
        "do we need ",
        "is it necessary to ",
        "must i ",
        "is there a need to ",
    ];
    if let Some(rest) = STARTS.iter().find_map(|s| n.strip_prefix(s)) {
        let rest = rest.strip_prefix("to ").unwrap_or(rest);
        let rest = rest.strip_prefix("a ").or_else(|| rest.strip_prefix("an ")).unwrap_or(rest);
        return Some(english_head(rest));
    }
    // "is a reservation number required", "is unlocking necessary"
    let rest = n.strip_prefix("is ").or_else(|| n.strip_prefix("are "))?;
    ["required", "necessary", "needed", "mandatory"]
        .iter()
        .find_map(|w| rest.find(&format!(" {w}")).map(|at| &rest[..at]))
        .map(|s| s.strip_prefix("a ").or_else(|| s.strip_prefix("an ")).or_else(|| s.strip_prefix("the ")).unwrap_or(s))
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
    fn necessity_questions_give_their_subject() {
        for (q, subject) in [
            ("予約番号ってかならず必要？", "予約番号"),
            ("予約番号って絶対いるの？", "予約番号"),
            ("SIMロック解除は必要ですか？", "simろっく解除"),
            ("ワンストップだと予約番号いらない？", "わんすとっぷだと予約番号"),
            ("ロック解除っている？", "ろっく解除"),
            ("本人確認書類いる？", "本人確認書類"),
            (
                "楽天に移るんですけど、予約番号はいるんですか？それとも要らない方法がある？",
                "楽天に移るんですけど 予約番号",
            ),
            ("ログインする必要がありますか", "ろぐいん"),
            ("Do I need a reservation number?", "reservation number"),
            ("Do I need to unlock my phone when switching?", "unlock my phone"),
            ("Is a reservation number required?", "reservation number"),
        ] {
            assert_eq!(necessity_subject(q).as_deref(), Some(subject), "{q}");
        }
    }

    #[test]
    fn other_questions_need_nothing() {
        for q in [
            "乗り換えに何が必要？",
            "スマホを使いたいんですが、何か手続きは必要ですか",
            "予約番号の有効期限は何日残っている必要がありますか？",
            "申し込みには何が必要ですか？",
            "今使っている",
            "What do I need to switch?",
            "予約番号の取り方",
            "必要",
            "how do I switch carriers",
        ] {
            assert_eq!(necessity_subject(q), None, "{q}");
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
