//! Romaji → hiragana, for customers who type Japanese in Latin letters ("yoyaku
//! bangou doko de moraeru"). Hepburn with the common kunrei and wāpuro (IME)
//! spellings: si/shi, ti/chi, tu/tsu, hu/fu, zi/ji, sya/sha; a doubled consonant is a
//! small っ (kitte, matcha); n before a consonant, at the end or doubled before a
//! consonant is ん, and n before a vowel or y starts a syllable (Hepburn: "honnin" is
//! ほんにん, "kinyuu" is きにゅう; an apostrophe, which normalisation turns into a
//! space, separates: "kin'yuu" is きんゆう). Long vowels stay as written (ou, oo, uu,
//! macrons as ou/uu/aa/ii/ee); normalisation folds them afterwards.
//!
//! A word is converted only if it parses whole, so most English words ("number",
//! "sim", "mnp") are left alone; short ones that happen to parse ("to", "made") are
//! why [`transliterate_query`] looks at the whole query first.

/// Syllables, by their romaji spelling. Three letters at most.
const SYLLABLES: &[(&str, &str)] = &[
    ("a", "あ"),
    ("i", "い"),
    ("u", "う"),
    ("e", "え"),
    ("o", "お"),
    ("ka", "か"),
    ("ki", "き"),
    ("ku", "く"),
    ("ke", "け"),
    ("ko", "こ"),
    ("kya", "きゃ"),
    ("kyu", "きゅ"),
    ("kyo", "きょ"),
    ("ga", "が"),
    ("gi", "ぎ"),
    ("gu", "ぐ"),
    ("ge", "げ"),
    ("go", "ご"),
    ("gya", "ぎゃ"),
    ("gyu", "ぎゅ"),
    ("gyo", "ぎょ"),
    ("sa", "さ"),
    ("si", "し"),
    ("shi", "し"),
    ("su", "す"),
    ("se", "せ"),
    ("so", "そ"),
    ("sha", "しゃ"),
    ("shu", "しゅ"),
    ("she", "しぇ"),
    ("sho", "しょ"),
    ("sya", "しゃ"),
    ("syu", "しゅ"),
    ("syo", "しょ"),
    ("za", "ざ"),
    ("zi", "じ"),
    ("ji", "じ"),
    ("zu", "ず"),
    ("ze", "ぜ"),
    ("zo", "ぞ"),
    ("ja", "じゃ"),
    ("ju", "じゅ"),
    ("je", "じぇ"),
    ("jo", "じょ"),
    ("jya", "じゃ"),
    ("jyu", "じゅ"),
    ("jyo", "じょ"),
    ("zya", "じゃ"),
    ("zyu", "じゅ"),
    ("zyo", "じょ"),
    ("ta", "た"),
    ("ti", "ち"),
    ("chi", "ち"),
    ("tu", "つ"),
    ("tsu", "つ"),
    ("te", "て"),
    ("to", "と"),
    ("cha", "ちゃ"),
    ("chu", "ちゅ"),
    ("che", "ちぇ"),
    ("cho", "ちょ"),
    ("tya", "ちゃ"),
    ("tyu", "ちゅ"),
    ("tyo", "ちょ"),
    ("cya", "ちゃ"),
    ("cyu", "ちゅ"),
    ("cyo", "ちょ"),
    ("da", "だ"),
    ("di", "ぢ"),
    ("du", "づ"),
    ("de", "で"),
    ("do", "ど"),
    ("na", "な"),
    ("ni", "に"),
    ("nu", "ぬ"),
    ("ne", "ね"),
    ("no", "の"),
    ("nya", "にゃ"),
    ("nyu", "にゅ"),
    ("nyo", "にょ"),
    ("ha", "は"),
    ("hi", "ひ"),
    ("hu", "ふ"),
    ("fu", "ふ"),
    ("he", "へ"),
    ("ho", "ほ"),
    ("hya", "ひゃ"),
    ("hyu", "ひゅ"),
    ("hyo", "ひょ"),
    ("fa", "ふぁ"),
    ("fi", "ふぃ"),
    ("fe", "ふぇ"),
    ("fo", "ふぉ"),
    ("ba", "ば"),
    ("bi", "び"),
    ("bu", "ぶ"),
    ("be", "べ"),
    ("bo", "ぼ"),
    ("bya", "びゃ"),
    ("byu", "びゅ"),
    ("byo", "びょ"),
    ("pa", "ぱ"),
    ("pi", "ぴ"),
    ("pu", "ぷ"),
    ("pe", "ぺ"),
    ("po", "ぽ"),
    ("pya", "ぴゃ"),
    ("pyu", "ぴゅ"),
    ("pyo", "ぴょ"),
    ("ma", "ま"),
    ("mi", "み"),
    ("mu", "む"),
    ("me", "め"),
    ("mo", "も"),
    ("mya", "みゃ"),
    ("myu", "みゅ"),
    ("myo", "みょ"),
    ("ya", "や"),
    ("yu", "ゆ"),
    ("yo", "よ"),
    ("ra", "ら"),
    ("ri", "り"),
    ("ru", "る"),
    ("re", "れ"),
    ("ro", "ろ"),
    ("rya", "りゃ"),
    ("ryu", "りゅ"),
    ("ryo", "りょ"),
    ("wa", "わ"),
    ("wi", "うぃ"),
    ("we", "うぇ"),
    ("wo", "を"),
    ("va", "ゔぁ"),
    ("vi", "ゔぃ"),
    ("vu", "ゔ"),
    ("ve", "ゔぇ"),
    ("vo", "ゔぉ"),
    // Small kana as IMEs spell them.
    ("xa", "ぁ"),
    ("xi", "ぃ"),
    ("xu", "ぅ"),
    ("xe", "ぇ"),
    ("xo", "ぉ"),
    ("xtu", "っ"),
    ("ltu", "っ"),
    ("xya", "ゃ"),
    ("xyu", "ゅ"),
    ("xyo", "ょ"),
];

fn syllable(s: &str) -> Option<&'static str> {
    SYLLABLES.iter().find(|(r, _)| *r == s).map(|(_, k)| *k)
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'i' | 'u' | 'e' | 'o')
}

/// A macron or circumflex vowel as the two letters it stands for.
fn expand_long_vowel(c: char) -> Option<&'static str> {
    Some(match c {
        'ā' | 'â' => "aa",
        'ī' | 'î' => "ii",
        'ū' | 'û' => "uu",
        'ē' | 'ê' => "ee",
        'ō' | 'ô' => "ou",
        _ => return None,
    })
}

/// The hiragana of a lower-case word, if the whole word is romaji.
pub fn to_hiragana(word: &str) -> Option<String> {
    let mut letters = String::with_capacity(word.len());
    for c in word.chars() {
        match expand_long_vowel(c) {
            Some(s) => letters.push_str(s),
            None if c.is_ascii_lowercase() => letters.push(c),
            None => return None,
        }
    }
    let b = letters.as_bytes();
    let mut out = String::with_capacity(b.len() * 3);
    let mut i = 0;
    while i < b.len() {
        let c = b[i] as char;
        let next = b.get(i + 1).map(|&x| x as char);
        if c == 'n' {
            match next {
                // nn before a consonant or at the end is one ん (wāpuro).
                Some('n') if !b.get(i + 2).is_some_and(|&x| is_vowel(x as char) || x == b'y') => {
                    out.push('ん');
                    i += 2;
                    continue;
                }
                Some(n) if is_vowel(n) || n == 'y' => {}
                _ => {
                    out.push('ん');
                    i += 1;
                    continue;
                }
            }
        }
        // Hepburn writes ん before b, p and m as m (shimbun, tempu).
        if c == 'm' && matches!(next, Some('b' | 'p')) {
            out.push('ん');
            i += 1;
            continue;
        }
        // A doubled consonant (or Hepburn's "tch") is a small っ.
        if !is_vowel(c) && (next == Some(c) || (c == 't' && next == Some('c'))) {
            out.push('っ');
            i += 1;
            continue;
        }
        let found = (1..=3)
            .rev()
            .filter(|len| i + len <= b.len())
            .find_map(|len| syllable(&letters[i..i + len]).map(|k| (len, k)));
        let (len, kana) = found?;
        out.push_str(kana);
        i += len;
    }
    Some(out)
}

/// Words shorter than this decide nothing: "a", "to", "do" are English as often as
/// romaji.
const DECIDING_LENGTH: usize = 3;

/// The normalised query with its romaji words in hiragana, or `None` when the query
/// does not read as romaji: at least half of its Latin words of three letters or
/// more must parse. Consecutive romaji words are joined without a space (Japanese
/// has none, and "yoyaku bangou" must meet よやくばんごう); other words ("mnp") stay.
pub fn transliterate_query(norm: &str) -> Option<String> {
    let latin = |w: &str| w.chars().all(|c| c.is_ascii_lowercase() || expand_long_vowel(c).is_some());
    let words: Vec<(&str, Option<String>)> =
        norm.split_whitespace().map(|w| (w, if latin(w) { to_hiragana(w) } else { None })).collect();
    let deciding = words.iter().filter(|(w, _)| latin(w) && w.chars().count() >= DECIDING_LENGTH);
    let (mut total, mut parsed) = (0, 0);
    for (_, kana) in deciding {
        total += 1;
        parsed += usize::from(kana.is_some());
    }
    if parsed == 0 || parsed * 2 < total {
        return None;
    }
    let mut out = String::with_capacity(norm.len() * 2);
    let mut in_run = false;
    for (word, kana) in words {
        let romaji = kana.is_some();
        let joined = in_run && romaji;
        if !out.is_empty() && !joined {
            out.push(' ');
        }
        out.push_str(kana.as_deref().unwrap_or(word));
        in_run = romaji;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kana(w: &str) -> String {
        to_hiragana(w).unwrap_or_else(|| panic!("{w} should parse"))
    }

    #[test]
    fn hepburn_kunrei_and_wapuro_spellings_meet() {
        for (a, b) in [("shi", "si"), ("chi", "ti"), ("tsu", "tu"), ("fu", "hu"), ("ji", "zi"), ("sha", "sya")] {
            assert_eq!(kana(a), kana(b), "{a} / {b}");
        }
        assert_eq!(kana("yoyaku"), "よやく");
        assert_eq!(kana("tesuuryou"), "てすうりょう");
        assert_eq!(kana("tenshutsu"), "てんしゅつ");
        assert_eq!(kana("tensyutu"), "てんしゅつ");
        assert_eq!(kana("kirikae"), "きりかえ");
        assert_eq!(kana("jouhou"), "じょうほう");
        assert_eq!(kana("wansutoppu"), "わんすとっぷ");
    }

    #[test]
    fn n_before_a_consonant_or_at_the_end_is_n_and_before_a_vowel_starts_a_syllable() {
        assert_eq!(kana("bangou"), "ばんごう");
        assert_eq!(kana("nanji"), "なんじ");
        assert_eq!(kana("honnin"), "ほんにん", "Hepburn nn before a vowel: ん then に");
        assert_eq!(kana("honninn"), "ほんにん", "wāpuro nn at the end: one ん");
        assert_eq!(kana("kinyuu"), "きにゅう", "ny is a syllable");
        assert_eq!(kana("kanna"), "かんな");
        assert_eq!(kana("shimbun"), "しんぶん", "m before b");
        assert_eq!(kana("kin"), "きん");
    }

    #[test]
    fn doubled_consonants_are_small_tsu() {
        assert_eq!(kana("kitte"), "きって");
        assert_eq!(kana("hakkou"), "はっこう");
        assert_eq!(kana("matcha"), "まっちゃ", "Hepburn tch");
        assert_eq!(kana("kocchi"), "こっち", "wāpuro cch");
        assert_eq!(kana("rokku"), "ろっく");
        assert_eq!(kana("ippai"), "いっぱい");
    }

    #[test]
    fn long_vowels_stay_as_written_and_macrons_expand() {
        assert_eq!(kana("bangoo"), "ばんごお");
        assert_eq!(kana("bangō"), "ばんごう");
        assert_eq!(kana("tesūryō"), "てすうりょう");
        assert_eq!(kana("kyuujitsu"), "きゅうじつ");
    }

    #[test]
    fn english_words_mostly_do_not_parse() {
        for w in ["sim", "number", "mnp", "what", "switch", "esim", "porting", "the", "fee2"] {
            assert_eq!(to_hiragana(w), None, "{w}");
        }
    }

    #[test]
    fn queries_are_transliterated_only_when_they_read_as_romaji() {
        assert_eq!(
            transliterate_query("yoyaku bangou doko de moraeru").as_deref(),
            Some("よやくばんごうどこでもらえる")
        );
        assert_eq!(transliterate_query("mnp kirikae nanji made").as_deref(), Some("mnp きりかえなんじまで"));
        assert_eq!(transliterate_query("simu rokku kaijo hitsuyou").as_deref(), Some("しむろっくかいじょひつよう"));
        assert_eq!(transliterate_query("sim no kaijo").as_deref(), Some("sim のかいじょ"));
        assert_eq!(
            transliterate_query("yoyaku mnp bangou").as_deref(),
            Some("よやく mnp ばんごう"),
            "a word that is not romaji ends a run"
        );
        assert_eq!(transliterate_query("what time does porting get processed"), None);
        assert_eq!(transliterate_query("do i need to unlock my phone"), None);
        assert_eq!(transliterate_query("予約番号 どこ"), None);
        assert_eq!(transliterate_query("mnp"), None);
    }
}
