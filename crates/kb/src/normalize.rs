//! Japanese-aware normalisation and tokens. Japanese has no spaces, so text is cut
//! into overlapping character bigrams (ASCII stays whole words). Before that, text
//! is folded so that the ways people write the same word meet: NFKC (full/half
//! width), lower case, katakana → hiragana, long-vowel marks dropped (ユーザー =
//! ユーザ = ゆざ) and long vowels written with kana folded the same way (てすうりょう
//! = てすうりょお = てすりょ). English words are stemmed (porting = port), so the
//! forms of a word meet too.

use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;

/// Fold text for matching. Keeps only letters and digits (others become spaces).
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last = ' ';
    let mut chars = text
        .nfkc()
        .map(|c| match c {
            // Katakana → hiragana (ァ..ヶ).
            '\u{30A1}'..='\u{30F6}' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            _ => c,
        })
        .peekable();
    while let Some(c) = chars.next() {
        match c {
            // Long-vowel marks and their look-alikes: dropped.
            'ー' | '〜' | '～' => {}
            c if lengthens(last, c, chars.peek().copied()) => {}
            c if c.is_alphanumeric() => {
                out.extend(c.to_lowercase());
                last = c;
            }
            _ => {
                out.push(' ');
                last = ' ';
            }
        }
    }
    out
}

/// The vowel a hiragana ends in. を and の are left out: particles far more often
/// than the start of a long vowel (の + うけつけ is no のー).
fn vowel_of(c: char) -> Option<char> {
    const ROWS: [(char, &str); 5] = [
        ('a', "あかがさざただなはばぱまやらわぁゃゎ"),
        ('i', "いきぎしじちぢにひびぴみりぃ"),
        ('u', "うくぐすずつづぬふぶぷむゆるぅゅゔ"),
        ('e', "えけげせぜてでねへべぺめれぇ"),
        ('o', "おこごそぞとどほぼぽもよろぉょ"),
    ];
    ROWS.iter().find(|(_, row)| row.contains(c)).map(|(v, _)| *v)
}

/// Whether kana `c` after kana `prev` only lengthens its vowel, as ー would: おう and
/// おお after an o (こう, こお = こー), うう after a u, ああ after an a. People write
/// the same long vowel all three ways (てすうりょう, てすうりょお, テスウリョー), so all
/// fold to the short vowel. Not an お before a kanji: that is the polite prefix after
/// a particle (のお店, もお金). え/い after an e are left alone: めいぎ would fold to two
/// letters and no longer be told apart.
fn lengthens(prev: char, c: char, next: Option<char>) -> bool {
    match c {
        'う' => matches!(vowel_of(prev), Some('o' | 'u')),
        'お' => vowel_of(prev) == Some('o') && !next.is_some_and(is_kanji),
        'あ' => vowel_of(prev) == Some('a'),
        _ => false,
    }
}

pub(crate) fn is_kanji(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x3005)
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

/// Question words in kana (as bigrams): in an FAQ they tell siblings apart (どこで
/// get it, いつまで apply, いくら does it cost), so they are not function words.
const INTERROGATIVES: [&str; 8] = ["どこ", "いつ", "いく", "くら", "なぜ", "どれ", "だれ", "どの"];
const INTERROGATIVE_WEIGHT: f32 = 0.7;

/// The weight of a function word: kana only, or a particle glued to a word.
pub const FUNCTION_WEIGHT: f32 = 0.3;

/// English words too common to carry meaning on their own (as normalised: "I'm" is
/// "i m").
const EN_STOP: &[&str] = &[
    "a", "an", "the", "is", "are", "am", "was", "were", "be", "been", "to", "of", "in", "on", "for", "from", "about",
    "my", "i", "me", "m", "s", "t", "d", "ll", "re", "ve", "don", "doesn", "didn", "isn", "can", "could", "would",
    "will", "should", "do", "does", "did", "have", "has", "had", "how", "what", "when", "where", "which", "who", "it",
    "its", "if", "and", "or", "with", "you", "your", "we", "our", "they", "them", "their", "at", "by", "this", "that",
    "there", "so", "just", "any", "some", "mean", "means", "meaning", "please", "tell", "much", "many", "ok", "okay",
];

/// Whether a (normalised) English word is too common to carry meaning on its own.
pub(crate) fn is_stop_word(word: &str) -> bool {
    EN_STOP.contains(&word)
}

/// English stems, so that "ports", "porting" and "ported" meet "port". Other text
/// (Japanese, digits, romaji that is not English) passes through.
pub fn stem(word: &str) -> Cow<'_, str> {
    if word.len() < 3 || !word.bytes().all(|b| b.is_ascii_lowercase()) {
        return Cow::Borrowed(word);
    }
    rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English).stem(word)
}

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
                        let text: String = pair.iter().collect();
                        let function_word =
                            pair.iter().all(|c| is_hiragana(*c)) || pair.iter().any(|c| is_particle(*c));
                        let weight = if INTERROGATIVES.contains(&text.as_str()) {
                            INTERROGATIVE_WEIGHT
                        } else if function_word {
                            FUNCTION_WEIGHT
                        } else {
                            1.0
                        };
                        out.push(Token { text, weight });
                    }
                }
            } else {
                let w: String = run.iter().collect();
                let weight = if is_stop_word(&w) { 0.2 } else { 1.0 };
                out.push(Token { text: stem(&w).into_owned(), weight });
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
        assert!(w("はど") < 0.5 && w("号は") < 0.5);
        assert!(w("どこ") > 0.5, "question words tell FAQ siblings apart");
        let en = tokens("how do I get the number");
        assert!(en.iter().find(|x| x.text == "the").unwrap().weight < 0.5);
        assert_eq!(en.iter().find(|x| x.text == "number").unwrap().weight, 1.0);
    }

    #[test]
    fn kana_long_vowels_fold_like_the_long_mark() {
        let folded = normalize("てすうりょう");
        assert_eq!(folded, "てすりょ");
        for v in ["てすうりょお", "テスウリョー", "てすうりょー", "テスウリョウ"] {
            assert_eq!(normalize(v), folded, "{v}");
        }
        assert_eq!(normalize("ばんごう"), normalize("ばんごお"));
        assert_eq!(normalize("きゅうじつ"), "きゅじつ", "a u after a u");
        assert_eq!(normalize("めいぎ"), "めいぎ", "e + i is kept apart");
        assert_eq!(normalize("思う"), "思う", "okurigana after a kanji is no long vowel");
        assert_eq!(normalize("まあ"), "ま");
        assert_eq!(normalize("方式をお店で"), "方式をお店で", "the polite prefix is no long vowel");
        assert_eq!(normalize("ものお金"), "ものお金");
        assert_eq!(normalize("のうけつけ"), "のうけつけ", "a particle and a word");
    }

    #[test]
    fn english_words_are_stemmed_and_stop_words_weigh_little() {
        assert_eq!(texts("porting ports ported"), ["port", "port", "port"]);
        assert_eq!(texts("fees charges"), ["fee", "charg"]);
        assert_eq!(texts("switching carriers"), ["switch", "carrier"]);
        assert_eq!(texts("MNP eSIM 070 docomo"), ["mnp", "esim", "070", "docomo"]);
        let t = tokens("I'm 17, can I switch by myself?");
        let w = |s: &str| t.iter().find(|x| x.text == s).unwrap().weight;
        assert!(w("m") < 0.5 && w("can") < 0.5, "{t:?}");
        assert_eq!(w("switch"), 1.0);
    }
}
