//! The aspect a question asks about its topic. FAQ siblings share a topic and differ
//! in what they ask of it: "予約番号はどこでもらえる" (where / how to get it), "…は無料"
//! (cost), "…はいつまで使える" (how long it is valid), "…って何" (what it is). Words
//! alone weigh the shared topic heavily; the aspect is often one short cue word,
//! or a verb ending no entry spells the same way.
//!
//! [`aspects`] finds the aspects of a text from the cue words below, the same for a
//! query and for every wording of an entry (its question, phrasings and English
//! question, at index time); the re-ranking adds a bonus to entries with a wording
//! asking the same aspects ([`agreement`]).
//!
//! All cue lists live here. Cues are matched on normalised text (katakana as
//! hiragana, long vowels folded), Japanese ones as substrings and Latin ones as whole
//! words; a query in romaji is transliterated to kana before it is looked at, so
//! "muryou" and "itsumade" meet むりょう and いつまで.

use crate::intent;
use crate::normalize::normalize;
use std::sync::LazyLock;

/// One aspect a question can ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Aspect {
    /// Is it free, how much: 無料, いくら, 手数料, fee.
    Cost,
    /// How long it stays valid, until when: 有効期限, いつまで, まだ使える.
    Validity,
    /// How many days must be left, is there still time: 残り日数, 間に合う.
    Remaining,
    /// It expired or lapsed, getting it again: 期限切れ, 失効, もう一回.
    Lapse,
    /// Extending it: 延長, 延ばせる.
    Extend,
    /// Where or who (which side): どこで, 誰が, どっちが.
    Where,
    /// Getting or issuing it: 取れる, もらえる, 発行方法, 持ってない.
    Obtain,
    /// How long it takes: 何日かかる, どのくらいかかる, how long does it take.
    Duration,
    /// Today, at once: 即日, 当日, 今日中, すぐ.
    Today,
    /// Hours and time of day: 何時, 受付時間, 夜中, 深夜.
    Hours,
    /// Weekends and holidays: 土日, 祝日, 週末.
    Weekend,
    /// How to do it, the steps: 手順, やり方, どうやって, 方法.
    Procedure,
    /// It does not work: つながらない, 圏外, 切り替わらない.
    Problem,
    /// Whether it is needed: 必要, いる, 不要, しなきゃダメ, do I need.
    Need,
    /// What is needed (a list): 必要なもの, 何が必要, 持ち物, what do I need.
    Requirements,
    /// What it is: とは, って何, what is.
    Definition,
    /// When it started: いつから, 導入, 開始, 何年.
    History,
    /// What happens to it: どうなる, 使えなくなる, 消える, what happens.
    Consequence,
    /// Whether a carrier or device works with it: 対応, 周波数, 電波, support.
    Support,
    /// Cancelling, changing one's mind: 解約, キャンセル, やめたい, cancel.
    Cancel,
    /// How many (digits): 何桁, 桁数, いくつ, how many digits.
    Count,
}

#[cfg(test)]
impl Aspect {
    /// Every aspect, in declaration order.
    pub const ALL: [Aspect; 21] = [
        Aspect::Cost,
        Aspect::Validity,
        Aspect::Remaining,
        Aspect::Lapse,
        Aspect::Extend,
        Aspect::Where,
        Aspect::Obtain,
        Aspect::Duration,
        Aspect::Today,
        Aspect::Hours,
        Aspect::Weekend,
        Aspect::Procedure,
        Aspect::Problem,
        Aspect::Need,
        Aspect::Requirements,
        Aspect::Definition,
        Aspect::History,
        Aspect::Consequence,
        Aspect::Support,
        Aspect::Cancel,
        Aspect::Count,
    ];
}

/// The aspects of a text, as a bit set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Aspects(u32);

impl Aspects {
    pub fn has(self, a: Aspect) -> bool {
        self.0 & (1 << a as u8) != 0
    }
    fn add(&mut self, a: Aspect) {
        self.0 |= 1 << a as u8;
    }
    fn remove(&mut self, a: Aspect) {
        self.0 &= !(1 << a as u8);
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    fn count(self) -> u32 {
        self.0.count_ones()
    }
    pub fn union(self, other: Aspects) -> Aspects {
        Aspects(self.0 | other.0)
    }
    /// The shared aspects over all of both (Jaccard): an entry asking the cost of
    /// getting a thing answers "how do I get it" less well than the one asking only that.
    pub fn agreement(self, other: Aspects) -> f32 {
        let all = Aspects(self.0 | other.0).count();
        if all == 0 {
            0.0
        } else {
            Aspects(self.0 & other.0).count() as f32 / all as f32
        }
    }
}

/// The cue words of each aspect: Japanese (written as people type them: kanji,
/// kana; normalised before use), English, and a few romaji that do not read as kana
/// words.
const CUES: &[(Aspect, &[&str])] = &[
    (
        Aspect::Cost,
        &[
            "無料",
            "ただで",
            "はただ",
            "ってただ",
            "ただなの",
            "ただです",
            "むりょう",
            "解約金",
            "違約金",
            "解除料",
            "有料",
            "ゆうりょう",
            "いくら",
            "料金",
            "手数料",
            "費用",
            "お金",
            "値段",
            "りょうきん",
            "てすうりょう",
            "月額",
            "月々",
            "円",
            "コスト",
            "free",
            "fee",
            "fees",
            "cost",
            "costs",
            "price",
            "how much",
            "charge",
            "charged",
            "paid",
        ],
    ),
    (
        Aspect::Validity,
        &[
            "有効期限",
            "有効期間",
            "期限",
            "きげん",
            "いつまで",
            "何日もつ",
            "日以内",
            "まだ使える",
            "まだつかえる",
            "valid",
            "validity",
            "expiry",
            "how long is",
        ],
    ),
    (
        Aspect::Remaining,
        &[
            "残り",
            "残日数",
            "残って",
            "のこり",
            "日しかない",
            "日たっ",
            "日経っ",
            "日過ぎ",
            "日すぎ",
            "足りない",
            "たりない",
            "days left",
            "left when",
        ],
    ),
    (
        Aspect::Lapse,
        &[
            "切れ",
            "きれた",
            "きれちゃ",
            "過ぎた",
            "すぎた",
            "失効",
            "もう一回",
            "もう一度",
            "再発行",
            "取り直",
            "expire",
            "expired",
            "expires",
            "lapsed",
            "again",
        ],
    ),
    (Aspect::Extend, &["延長", "延ば", "のばせ", "のばし", "伸ば", "extend", "extended", "extension"]),
    (
        Aspect::Where,
        &[
            "どこで",
            "どこに",
            "どこから",
            "どこが",
            "どこの",
            "誰が",
            "だれが",
            "どっちが",
            "どちらが",
            "どっちの会社",
            "どちらの会社",
            "どっちで",
            "発行元",
            "where",
            "who",
            "which side",
        ],
    ),
    (
        Aspect::Obtain,
        &[
            "取れる",
            "とれる",
            "取れま",
            "取れない",
            "もらえる",
            "もらえま",
            "もらう",
            "もらうの",
            "もらい方",
            "取り方",
            "とり方",
            "取得方法",
            "取得でき",
            "発行方法",
            "発行でき",
            "発行元",
            "が出す",
            "で出す",
            "出すの",
            "出してくれ",
            "出してもらえ",
            "出せる",
            "出せま",
            "入手",
            "持ってない",
            "もってない",
            "持っていない",
            "request",
            "obtain",
            "how to get",
            "how do i get",
            "can i get",
            "get one",
        ],
    ),
    (
        Aspect::Duration,
        &[
            "何日かかる",
            "何日かか",
            "かかる日数",
            "までの日数",
            "どのくらいかか",
            "どれくらいかか",
            "どれくらい",
            "時間かか",
            "いつ届く",
            "いつとどく",
            "how long does",
            "how long will",
        ],
    ),
    (
        Aspect::Today,
        &[
            "即日",
            "当日",
            "今日中",
            "そくじつ",
            "とうじつ",
            "きょうじゅう",
            "その日のうち",
            "すぐ",
            "same day",
            "today",
        ],
    ),
    (
        Aspect::Hours,
        &[
            "何時",
            "なんじ",
            "何時間",
            "受付時間",
            "営業時間",
            "夜",
            "夜中",
            "深夜",
            "よなか",
            "しんや",
            "朝",
            "24時間",
            "hours",
            "what time",
            "night",
            "midnight",
            "evening",
        ],
    ),
    (
        Aspect::Weekend,
        &[
            "土日",
            "土曜",
            "日曜",
            "祝日",
            "休日",
            "週末",
            "休みの日",
            "どにち",
            "weekend",
            "weekends",
            "holiday",
            "holidays",
        ],
    ),
    (
        Aspect::Procedure,
        &[
            "流れ",
            "手順",
            "やり方",
            "やりかた",
            "どうやって",
            "方法",
            "ほうほう",
            "どうすれば",
            "どうしたら",
            "何から",
            "何をすれば",
            "steps",
            "how do i",
            "how can i",
            "how to",
        ],
    ),
    (
        Aspect::Problem,
        &[
            "つながらない",
            "繋がらない",
            "圏外",
            "切り替わらない",
            "うまくいかない",
            "終わらない",
            "できない時",
            "できないとき",
            "not working",
            "doesn t work",
            "does not work",
            "no signal",
        ],
    ),
    (
        Aspect::Need,
        &[
            "必要",
            "ひつよう",
            "必須",
            "不要",
            "ふよう",
            "いらない",
            "要らない",
            "しなきゃ",
            "しないと",
            "なきゃだめ",
            "ないとダメ",
            "ないとだめ",
            "ないといけない",
            "ないと使えない",
            "なくていい",
            "need",
            "needed",
            "necessary",
            "required",
            "must",
            "have to",
        ],
    ),
    (
        Aspect::Requirements,
        &[
            "必要なもの",
            "必要な書類",
            "何が必要",
            "なにが必要",
            "何がいる",
            "なにがいる",
            "何を用意",
            "持ち物",
            "必要書類",
            "用意するもの",
            "what do i need",
            "documents",
            "paperwork",
            "what should i prepare",
            "what to bring",
        ],
    ),
    (
        Aspect::History,
        &[
            "いつから",
            "導入",
            "開始",
            "始まっ",
            "始まり",
            "はじまっ",
            "何年",
            "なんねん",
            "以前は",
            "昔は",
            "when did",
            "since when",
            "started",
            "introduced",
        ],
    ),
    (
        Aspect::Consequence,
        &["どうなる", "どうなり", "使えなくな", "つかえなくな", "消える", "なくなる", "外れる", "what happens"],
    ),
    (
        Aspect::Support,
        &[
            "対応",
            "周波数",
            "電波",
            "バンド",
            "使える会社",
            "つかえる会社",
            "使えるキャリア",
            "つかえるきゃりあ",
            "どこの会社",
            "でいける",
            "support",
            "supports",
            "frequency",
            "band",
            "network",
        ],
    ),
    (
        Aspect::Cancel,
        &[
            "解約",
            "キャンセル",
            "やめたい",
            "やめる",
            "やめた",
            "取りやめ",
            "気が変わ",
            "やっぱ",
            "残ることに",
            "cancel",
            "cancelled",
            "canceled",
            "change my mind",
            "changed my mind",
        ],
    ),
    (Aspect::Count, &["何桁", "なんけた", "桁数", "けたすう", "何ケタ", "いくつ", "how many digits", "digits"]),
];

/// The cues as normalised text: (aspect, cue, whole word?).
static NORMALISED: LazyLock<Vec<(Aspect, String, bool)>> = LazyLock::new(|| {
    CUES.iter()
        .flat_map(|(a, cues)| {
            cues.iter().map(move |c| {
                let n = normalize(c).trim().to_string();
                let latin = n.is_ascii();
                (*a, n, latin)
            })
        })
        .filter(|(_, c, _)| !c.is_empty())
        .collect()
});

/// The aspects a text asks.
pub fn aspects(text: &str) -> Aspects {
    let norm = normalize(text);
    let mut out = aspects_of_normalized(&norm);
    if intent::definition_subject(text).is_some() {
        out.add(Aspect::Definition);
    }
    if intent::necessity_subject(text).is_some() {
        out.add(Aspect::Need);
    }
    if out.has(Aspect::Need) && !out.has(Aspect::Requirements) && intent::necessity_subject(text).is_none() {
        // "何か手続きは必要", "何日残っている必要": what or how much, not whether.
        if ["何", "なに"].iter().any(|w| norm.contains(w)) {
            out.remove(Aspect::Need);
        }
    }
    if out.has(Aspect::Requirements) {
        // "何が必要": a list, not whether.
        out.remove(Aspect::Need);
    }
    out
}

fn aspects_of_normalized(norm: &str) -> Aspects {
    let padded = format!(" {} ", norm.split_whitespace().collect::<Vec<_>>().join(" "));
    let joined: String = norm.split_whitespace().collect();
    let mut out = Aspects::default();
    for (a, cue, latin) in NORMALISED.iter() {
        let found = if *latin { padded.contains(&format!(" {cue} ")) } else { joined.contains(cue.as_str()) };
        if found {
            out.add(*a);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Aspect::*;

    fn of(text: &str) -> Vec<Aspect> {
        let a = aspects(text);
        Aspect::ALL.into_iter().filter(|x| a.has(*x)).collect()
    }

    #[test]
    fn cue_words_give_the_aspect() {
        assert_eq!(of("予約番号って無料？"), [Cost]);
        assert_eq!(of("Is it free?"), [Cost]);
        assert_eq!(of("予約番号はいつまで使える？"), [Validity]);
        assert_eq!(of("予約番号はどこでもらえる？"), [Where, Obtain]);
        assert_eq!(of("夜中でも切り替えできる？"), [Hours]);
        assert_eq!(of("土日でも切り替えできる？"), [Weekend]);
        assert_eq!(of("予約番号とは何ですか"), [Definition]);
        assert_eq!(of("予約番号って絶対いる？"), [Need]);
        assert_eq!(of("SIMロック解除ってしなきゃダメ？"), [Need]);
        assert_eq!(of("乗り換えに何が必要？"), [Requirements], "a list, not whether");
        assert_eq!(of("MNPはいつから始まった？"), [History]);
        assert_eq!(of("キャリアメールはどうなる？"), [Consequence]);
        assert_eq!(of("切り替えたのにつながらない"), [Problem]);
        assert_eq!(of("乗り換えの手順"), [Procedure]);
    }

    #[test]
    fn long_vowels_and_romaji_spellings_meet_the_cues() {
        assert_eq!(of("よやくばんごう むりょう？"), [Cost]);
        assert_eq!(of("キャリアメールはどーなる"), [Consequence]);
        assert_eq!(of("what happens to my email"), [Consequence]);
    }

    #[test]
    fn latin_cues_are_whole_words() {
        assert!(!aspects("freedom").has(Cost));
        assert!(!aspects("whoever").has(Where));
        assert!(aspects("who issues it").has(Where));
    }

    #[test]
    fn a_topic_alone_asks_nothing() {
        assert!(aspects("予約番号").is_empty());
        assert!(aspects("ワンストップ方式").is_empty());
    }

    #[test]
    fn agreement_is_shared_over_all() {
        let cost = aspects("無料？");
        let cost_and_get = aspects("もらうのは無料？");
        assert_eq!(cost.agreement(cost), 1.0);
        assert_eq!(cost.agreement(cost_and_get), 0.5);
        assert_eq!(cost.agreement(aspects("いつまで")), 0.0);
        assert_eq!(Aspects::default().agreement(Aspects::default()), 0.0);
    }
}
