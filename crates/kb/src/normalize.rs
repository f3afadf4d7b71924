//! Japanese-aware normalisation and tokens. Japanese has no spaces, so text is cut
//! into overlapping character bigrams (ASCII stays whole words). Before that, text
//! is folded so that the ways people write the same word meet: NFKC (full/half
//! width), lower case, katakana → hiragana, and long-vowel marks dropped
//! (ユーザー = ユーザ = ゆざ).

use unicode_normalization::UnicodeNormalization;

/// Fold text for matching. Keeps only letters and digits (others become spaces).
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkc() {
        let c = match c {
            // Katakana → hiragana (ァ..ヶ).
            '\u{30A1}'..='\u{30F6}' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            _ => c,
        };
        match c {
            // Long-vowel marks and their look-alikes: dropped.
            'ー' | '〜' | '～' => {}
            c if c.is_alphanumeric() => out.extend(c.to_lowercase()),
            _ => out.push(' '),
        }
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x309F // hiragana
        | 0x30A0..=0x30FF // katakana
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF // kanji
        | 0x3005 // 々
    )
}

fn is_hiragana(c: char) -> bool {
    ('\u{3041}'..='\u{309F}').contains(&c)
}

/// Particles: glued to a kanji they make noise bigrams (号の, の取), unlike okurigana
/// (取り, 換え), which carry meaning.
fn is_particle(c: char) -> bool {
    matches!(c, 'は' | 'が' | 'を' | 'に' | 'で' | 'と' | 'の' | 'へ' | 'も' | 'や' | 'か' | 'ね' | 'よ')
}

/// English words too common to carry meaning on their own.
const EN_STOP: &[&str] = &[
    "a", "an", "the", "is", "are", "am", "to", "of", "in", "on", "for", "my", "i", "me", "can", "do", "does", "how",
    "what", "when", "where", "which", "it", "if", "and", "or", "be", "with", "you", "your", "we", "at", "by", "this",
    "that",
];

/// A token and how much it says about the text: bigrams made only of hiragana
/// (particles, verb endings) and English stop words count for little.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub text: String,
    pub weight: f32,
}

/// Tokens of already-normalised text: CJK runs as bigrams (a lone character as
/// itself), other runs as whole words.
pub fn tokens_of_normalized(norm: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for word in norm.split_whitespace() {
        let chars: Vec<char> = word.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let cjk = is_cjk(chars[i]);
            let start = i;
            while i < chars.len() && is_cjk(chars[i]) == cjk {
                i += 1;
            }
            let run = &chars[start..i];
            if cjk {
                if run.len() == 1 {
                    let weight = if is_hiragana(run[0]) { 0.1 } else { 0.6 };
                    out.push(Token { text: run[0].to_string(), weight });
                } else {
                    for pair in run.windows(2) {
                        let function_word =
                            pair.iter().all(|c| is_hiragana(*c)) || pair.iter().any(|c| is_particle(*c));
                        let weight = if function_word { 0.3 } else { 1.0 };
                        out.push(Token { text: pair.iter().collect(), weight });
                    }
                }
            } else {
                let w: String = run.iter().collect();
                let weight = if EN_STOP.contains(&w.as_str()) { 0.2 } else { 1.0 };
                out.push(Token { text: w, weight });
            }
        }
    }
    out
}

/// Normalise, then tokenise.
pub fn tokens(text: &str) -> Vec<Token> {
    tokens_of_normalized(&normalize(text))
}

/// The tokens as one space-separated string, for the index.
pub fn index_text(text: &str) -> String {
    let toks = tokens(text);
    let mut s = String::with_capacity(text.len() * 3);
    for t in toks {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(&t.text);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        tokens(s).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn width_case_and_kana_are_folded() {
        assert_eq!(normalize("ＭＮＰ"), "mnp");
        assert_eq!(normalize("ｿﾌﾄﾊﾞﾝｸ"), normalize("ソフトバンク"));
        assert_eq!(normalize("ソフトバンク"), normalize("そふとばんく"));
        assert_eq!(normalize("ｅＳＩＭ"), "esim");
        assert_eq!(normalize("ユーザー"), normalize("ユーザ"));
        assert_eq!(normalize("１５日"), "15日");
        assert_eq!(normalize("予約番号？"), "予約番号 ");
    }

    #[test]
    fn japanese_becomes_bigrams_and_ascii_stays_whole() {
        assert_eq!(texts("予約番号"), ["予約", "約番", "番号"]);
        assert_eq!(texts("MNP予約番号"), ["mnp", "予約", "約番", "番号"]);
        assert_eq!(texts("格安SIM"), ["格安", "sim"]);
        assert_eq!(texts("au"), ["au"]);
        assert_eq!(texts("070"), ["070"]);
    }

    #[test]
    fn function_words_weigh_little() {
        let t = tokens("予約番号はどこ");
        let w = |s: &str| t.iter().find(|x| x.text == s).unwrap().weight;
        assert_eq!(w("予約"), 1.0);
        assert!(w("はど") < 0.5 && w("どこ") < 0.5 && w("号は") < 0.5);
        let en = tokens("how do I get the number");
        assert!(en.iter().find(|x| x.text == "the").unwrap().weight < 0.5);
        assert_eq!(en.iter().find(|x| x.text == "number").unwrap().weight, 1.0);
    }
}
