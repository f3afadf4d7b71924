//! The re-ranking: BM25 finds candidates, the closest question wording decides among
//! them (FAQ questions are short, so near-ties between siblings are common). Wordings
//! are compared as weighted token sets, each token also weighted by how rare it is
//! among the entries' wordings: siblings share their topic ("予約番号") and differ in
//! a word or two ("何日", "不要"), which must count for more than the shared words.

use crate::normalize::{self, normalize, tokens_of_normalized};
use crate::{dense, intent, Synonyms};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tenmon_store::KbEntryRow;

/// The share of BM25 in the final score; the rest is the question-wording similarity.
pub(crate) const BM25_SHARE: f32 = 0.35;

/// How much a definition question's match with an entry's defined subject adds.
pub(crate) const DEFINITION_WEIGHT: f32 = 0.6;

/// The similarity below which a bare topic gets nothing from an entry's defined
/// subject ("MNP 受付時間" is not a question about what MNP is).
pub(crate) const BARE_TOPIC_FLOOR: f32 = 0.75;

/// How much a necessity question's match with an entry's necessity subject adds
/// ("予約番号って絶対いる？" and "ワンストップなら予約番号は不要？").
pub(crate) const NECESSITY_WEIGHT: f32 = 0.4;

/// How much an entry wording asking the same aspects as the query adds
/// ([`crate::aspect`]), at full agreement.
pub(crate) const ASPECT_WEIGHT: f32 = 0.25;

/// What a rare kana word of the query found whole in the entry adds
/// ([`rare_kana_runs`]).
pub(crate) const KANA_WORD_WEIGHT: f32 = 0.5;

/// The share of the best wording's aspect agreement, against the mean over all the
/// entry's wordings ([`Indexed::aspect_agreement`]).
const ASPECT_BEST_SHARE: f32 = 0.5;

/// How many BM25 candidates are re-ranked.
pub(crate) const RERANK_DEPTH: usize = 20;

pub(crate) fn token_hash(t: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    t.hash(&mut h);
    h.finish()
}

/// Weighted tokens as (hash, weight), sorted by hash: compact enough to keep for
/// every wording of every entry.
pub(crate) type TokenSet = Box<[(u64, f32)]>;

pub(crate) fn token_set<'a>(pairs: impl Iterator<Item = (&'a str, f32)>) -> TokenSet {
    let mut v: Vec<(u64, f32)> = pairs.map(|(t, w)| (token_hash(t), w)).collect();
    v.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
    v.dedup_by_key(|p| p.0);
    v.into_boxed_slice()
}

/// The weighted tokens of a text, with its concept tokens.
fn token_weights(text: &str, synonyms: &Synonyms) -> TokenSet {
    let norm = normalize(text);
    let tokens = tokens_of_normalized(&norm);
    let concepts = synonyms.concepts(&norm);
    token_set(tokens.iter().map(|t| (t.text.as_str(), t.weight)).chain(concepts.split_whitespace().map(|c| (c, 1.0))))
}

/// The tokens of a defined subject: a synonym group names the subject outright
/// ("よやくばんごう" is "MNP予約番号"), so its concept outweighs spelling.
pub(crate) fn subject_weights(text: &str, synonyms: &Synonyms) -> TokenSet {
    let norm = normalize(text);
    let tokens = tokens_of_normalized(&norm);
    let concepts = synonyms.concepts(&norm);
    token_set(
        tokens
            .iter()
            .map(|t| (t.text.as_str(), t.weight))
            .chain(concepts.split_whitespace().map(|c| (c, SUBJECT_CONCEPT_WEIGHT))),
    )
}

/// Weight of a synonym concept inside a defined subject.
const SUBJECT_CONCEPT_WEIGHT: f32 = 3.0;

/// An entry with the token sets of its question wordings (the question, its
/// phrasings, the English question), computed once when it is indexed.
pub(crate) struct Indexed {
    pub row: Arc<KbEntryRow>,
    variants: Vec<TokenSet>,
    /// Every token of the wordings, once: what [`Entries`] counts.
    words: Box<[u64]>,
    /// The subjects of the wordings that ask for a definition ("X とは").
    pub defines: Vec<TokenSet>,
    /// The subjects of the wordings that ask whether something is needed.
    pub needs: Vec<TokenSet>,
    /// The aspects each wording asks ([`crate::aspect`]).
    aspects: Vec<crate::aspect::Aspects>,
    /// The whole entry, normalised (for confidence), and its question and answer
    /// folded (for highlights): computed once here, not per query.
    pub haystack: String,
    pub folded: String,
    /// With embeddings: the hash of the text embedded for it ([`dense::entry_text`]);
    /// a stored vector with another hash is stale.
    pub hash: Option<String>,
}

impl Indexed {
    pub fn new(row: KbEntryRow, synonyms: &Synonyms, hashed: bool) -> Self {
        // The ways the entry's question is worded: the question, its phrasings, English.
        let wordings: Vec<&str> = std::iter::once(row.question.as_str())
            .chain(row.phrasings.iter().map(String::as_str))
            .chain(row.question_en.as_deref())
            .collect();
        let variants: Vec<TokenSet> = wordings.iter().map(|v| token_weights(v, synonyms)).collect();
        let mut words: Vec<u64> = variants.iter().flat_map(|v| v.iter().map(|p| p.0)).collect();
        words.sort_unstable();
        words.dedup();
        let defines = wordings
            .iter()
            .filter_map(|w| intent::definition_subject(w))
            .map(|s| subject_weights(&s, synonyms))
            .collect();
        let needs = wordings
            .iter()
            .filter_map(|w| intent::necessity_subject(w))
            .map(|s| subject_weights(&s, synonyms))
            .collect();
        let aspects = wordings.iter().map(|w| crate::aspect::aspects(w)).collect();
        let haystack = entry_haystack(&row);
        let folded = fold(&format!("{}\n{}", row.question, row.answer));
        let hash = hashed.then(|| dense::content_hash(&dense::entry_text(&row)));
        Indexed {
            row: Arc::new(row),
            variants,
            words: words.into_boxed_slice(),
            defines,
            needs,
            aspects,
            haystack,
            folded,
            hash,
        }
    }
}

impl Indexed {
    /// How well its wordings agree with the aspects a query asks: the best one's
    /// agreement and the mean over all, half each. The mean keeps one stray wording
    /// from giving an entry an aspect it is not about ("転出するときに必要な番号のこと？"
    /// does not make the definition of 予約番号 a question of whether it is needed).
    pub fn aspect_agreement(&self, asked: crate::aspect::Aspects) -> f32 {
        if asked.is_empty() {
            return 0.0;
        }
        let all: Vec<f32> = self.aspects.iter().map(|a| asked.agreement(*a)).collect();
        let best = all.iter().copied().fold(0.0, f32::max);
        let mean = all.iter().sum::<f32>() / all.len().max(1) as f32;
        ASPECT_BEST_SHARE * best + (1.0 - ASPECT_BEST_SHARE) * mean
    }
}

/// Every entry (enabled or not) by id, and in how many enabled entries' wordings
/// each token occurs, kept up to date entry by entry.
#[derive(Default)]
pub(crate) struct Entries {
    map: HashMap<String, Indexed>,
    df: HashMap<u64, u32>,
    counted: u32,
}

impl std::ops::Deref for Entries {
    type Target = HashMap<String, Indexed>;
    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl FromIterator<Indexed> for Entries {
    fn from_iter<I: IntoIterator<Item = Indexed>>(iter: I) -> Self {
        let mut entries = Entries::default();
        for e in iter {
            entries.insert(e);
        }
        entries
    }
}

impl Entries {
    pub fn insert(&mut self, e: Indexed) {
        self.remove(&e.row.id);
        self.count(&e, true);
        self.map.insert(e.row.id.clone(), e);
    }

    pub fn remove(&mut self, id: &str) -> Option<Indexed> {
        let e = self.map.remove(id)?;
        self.count(&e, false);
        Some(e)
    }

    fn count(&mut self, e: &Indexed, add: bool) {
        if !e.row.enabled {
            return;
        }
        for h in e.words.iter() {
            let n = self.df.entry(*h).or_default();
            *n = if add { *n + 1 } else { n.saturating_sub(1) };
            if *n == 0 {
                self.df.remove(h);
            }
        }
        self.counted = if add { self.counted + 1 } else { self.counted.saturating_sub(1) };
    }

    /// How rare a token is among the wordings (BM25's IDF): a word in every
    /// sibling's question tells them apart no better than a particle does.
    pub fn rarity(&self, token: u64) -> f32 {
        let n = self.counted as f32;
        let df = self.df.get(&token).copied().unwrap_or(0) as f32;
        (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
    }

    /// The query's tokens weighted by their rarity, for [`Self::similarity`].
    pub fn weigh(&self, query: &[(u64, f32)]) -> Vec<(u64, f32)> {
        query.iter().map(|(h, w)| (*h, w * self.rarity(*h))).collect()
    }

    /// The share of a weighed query's weight in tokens that no wording has but the
    /// index does (`indexed`: in an answer, keywords, an uploaded document).
    pub fn answer_only_share(&self, query: &[(u64, f32)], indexed: &HashSet<u64>) -> f32 {
        let total: f32 = query.iter().map(|(_, w)| w).sum();
        let only: f32 =
            query.iter().filter(|(h, _)| !self.df.contains_key(h) && indexed.contains(h)).map(|(_, w)| w).sum();
        if total > 0.0 {
            only / total
        } else {
            0.0
        }
    }

    /// The best rarity-weighted Dice similarity between a weighed query and any
    /// wording of the entry's question.
    pub fn similarity(&self, query: &[(u64, f32)], e: &Indexed) -> f32 {
        self.best_dice(query, &e.variants)
    }

    /// The same against the subjects the entry defines.
    pub fn definition(&self, subject: &[(u64, f32)], e: &Indexed) -> f32 {
        self.best_dice(subject, &e.defines)
    }

    /// The same against the subjects the entry asks the necessity of.
    /// By overlap rather than Dice: the thing needed is one noun, and either side may
    /// say more around it ("UQに乗り換えるのに予約番号", "ワンストップなら予約番号").
    pub fn necessity(&self, subject: &[(u64, f32)], e: &Indexed) -> f32 {
        self.best_match(subject, &e.needs, true)
    }

    /// The largest share of one of the entry's wordings that the (weighed) query
    /// has: whether the query asks what the entry asks, where [`confidence`] sees
    /// whether the entry has what the query says. Each wording token is weighted by
    /// its rarity plus the rarity of a word no entry has, so that the words every
    /// entry shares ("MNP", "乗り換え") still count: a query without them is not
    /// about the topic ("テザリングのやり方" is not "MNPのやり方").
    pub fn wording_recall(&self, query: &[(u64, f32)], e: &Indexed) -> f32 {
        let n = self.counted as f32;
        let floor = (1.0 + (n + 0.5) / 0.5).ln();
        e.variants
            .iter()
            .map(|vt| {
                let (mut i, mut common, mut v_total) = (0, 0.0f32, 0.0f32);
                for &(h, w) in vt.iter() {
                    let w = w * (self.rarity(h) + floor);
                    v_total += w;
                    while i < query.len() && query[i].0 < h {
                        i += 1;
                    }
                    if i < query.len() && query[i].0 == h {
                        common += w;
                        i += 1;
                    }
                }
                if v_total == 0.0 {
                    0.0
                } else {
                    common / v_total
                }
            })
            .fold(0.0, f32::max)
    }

    fn best_dice(&self, query: &[(u64, f32)], sets: &[TokenSet]) -> f32 {
        self.best_match(query, sets, false)
    }

    /// The best Dice coefficient, or overlap coefficient (common weight over the
    /// smaller side's), with any of `sets`.
    fn best_match(&self, query: &[(u64, f32)], sets: &[TokenSet], overlap: bool) -> f32 {
        let q_total: f32 = query.iter().map(|p| p.1).sum();
        sets.iter()
            .map(|vt| {
                // Merge-join of two sorted sets; the wording's total needs every one
                // of its tokens weighed.
                let (mut i, mut common, mut v_total) = (0, 0.0f32, 0.0f32);
                for &(h, w) in vt.iter() {
                    let w = w * self.rarity(h);
                    v_total += w;
                    while i < query.len() && query[i].0 < h {
                        i += 1;
                    }
                    if i < query.len() && query[i].0 == h {
                        common += query[i].1.min(w);
                        i += 1;
                    }
                }
                let dice = if q_total + v_total == 0.0 { 0.0 } else { 2.0 * common / (q_total + v_total) };
                if overlap {
                    // Half each: among entries that all have the noun, the closer wording.
                    let smaller = q_total.min(v_total);
                    if smaller == 0.0 {
                        0.0
                    } else {
                        (common / smaller + dice) / 2.0
                    }
                } else if q_total + v_total == 0.0 {
                    0.0
                } else {
                    2.0 * common / (q_total + v_total)
                }
            })
            .fold(0.0, f32::max)
    }
}

/// The whole searchable text of an entry, normalised.
pub(crate) fn entry_haystack(e: &KbEntryRow) -> String {
    normalize(&format!(
        "{} {} {} {} {} {}",
        e.question,
        e.phrasings.join(" "),
        e.keywords.join(" "),
        e.answer,
        e.question_en.as_deref().unwrap_or(""),
        e.answer_en.as_deref().unwrap_or("")
    ))
}

pub(crate) fn concepts_of(synonyms: &Synonyms, e: &KbEntryRow) -> String {
    synonyms.concepts(&entry_haystack(e))
}

/// Tokens this light (English stop words, lone hiragana) do not count for confidence.
const STOP_WEIGHT: f32 = 0.2;

/// How many times its weight a word that no entry has counts against a match: it
/// says the question is about something the knowledge base does not cover ("how is
/// the weather today" is not half answered by the entry that has "today"), where a
/// word only other entries have may just be a sibling's. Not more: a customer's
/// situation ("仕事が忙しくて") is words no entry has too.
const UNKNOWN_FACTOR: f32 = 1.5;

/// The least weight of an unknown word's token: the kana pairs of a loanword
/// (テザリング) are content, however light kana pairs are elsewhere.
const UNKNOWN_KANA_WEIGHT: f32 = 0.5;

/// The words of a (normalised) query that no entry has: Latin words of three letters
/// or more that are neither numbers nor stop words, and runs of kanji none of whose bigrams an entry
/// has (天気, 中学生). A bigram across two known words (番号発行: 号発) or a wrong kanji
/// in a known one (予約晩号) is no new word, and kana are too often endings to tell.
pub(crate) fn unknown_words(text: &str, knows: impl Fn(&str) -> bool) -> HashSet<String> {
    let mut out = HashSet::new();
    for word in text.split_whitespace() {
        let chars: Vec<char> = word.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let kind = |c: char| (normalize::is_kanji(c), c.is_ascii_alphanumeric());
            let start = i;
            while i < chars.len() && kind(chars[i]) == kind(chars[start]) {
                i += 1;
            }
            let run = &chars[start..i];
            if normalize::is_kanji(run[0]) && run.len() >= 2 {
                let bigrams: Vec<String> = run.windows(2).map(|p| p.iter().collect()).collect();
                if !bigrams.iter().any(|b| knows(b)) {
                    out.extend(bigrams);
                }
            } else if run[0].is_ascii_alphanumeric() && run.len() >= 3 && !run.iter().all(char::is_ascii_digit) {
                let w: String = run.iter().collect();
                let stem = normalize::stem(&w).into_owned();
                if !normalize::is_stop_word(&w) && !knows(&stem) {
                    out.insert(stem);
                }
            }
        }
    }
    out
}

/// Katakana words of the query as written (normalising turns them into hiragana,
/// where they look like endings) most of whose bigrams no entry has: loanwords the
/// knowledge base does not cover (テザリング, バッテリー). Three characters or more;
/// as hiragana bigrams, as the query's tokens are. Most, not all: common kana pairs
/// occur in some entry anyway (テザリング's んぐ), and a misspelt known word
/// (ワンストプ) keeps most of its pairs.
pub(crate) fn unknown_katakana(query: &str, knows: impl Fn(&str) -> bool) -> HashSet<String> {
    let katakana = |c: char| ('\u{30A1}'..='\u{30FF}').contains(&c) || ('\u{FF66}'..='\u{FF9F}').contains(&c);
    let mut out = HashSet::new();
    let chars: Vec<char> = query.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let start = i;
        while i < chars.len() && katakana(chars[i]) {
            i += 1;
        }
        if i == start {
            i += 1;
            continue;
        }
        if i - start < 3 {
            continue;
        }
        let run: String = chars[start..i].iter().collect();
        let tokens: Vec<String> = tokens_of_normalized(&normalize(&run))
            .into_iter()
            .map(|t| t.text)
            .filter(|t| t.chars().count() == 2)
            .collect();
        let unknown = tokens.iter().filter(|t| !knows(t)).count();
        if unknown * 2 > tokens.len() {
            out.extend(tokens);
        }
    }
    out
}

/// How much of the question the entry covers: each synonym group found in the
/// question counts once (covered if the entry has any of its terms), every other
/// token by its weight, or by [`UNKNOWN_FACTOR`] times it when `unknown` (no entry
/// has it).
pub(crate) fn confidence(
    tokens: &[normalize::Token],
    unknown: &[bool],
    expansions: &[(&str, Vec<&str>)],
    haystack: &str,
) -> f32 {
    let mut total = 0.0f32;
    let mut covered = 0.0f32;
    let mut grouped = vec![false; tokens.len()];
    for (hit, others) in expansions {
        let hit_tokens = tokens_of_normalized(hit);
        let weight: f32 = hit_tokens.iter().map(|t| t.weight).sum::<f32>().max(0.5);
        for (i, t) in tokens.iter().enumerate() {
            if hit.contains(t.text.as_str()) {
                grouped[i] = true;
            }
        }
        total += weight;
        if haystack.contains(hit) || others.iter().any(|o| haystack.contains(o)) {
            covered += weight;
        }
    }
    for ((t, g), unknown) in tokens.iter().zip(grouped).zip(unknown) {
        // Stop words and lone kana say nothing about the topic: counted, they made
        // an off-topic English question look half answered ("how is the weather").
        if g || t.weight <= STOP_WEIGHT {
            continue;
        }
        let w = t.weight;
        // An unknown loanword's kana pairs weigh what a word does, not an ending's.
        total += if *unknown { UNKNOWN_FACTOR * w.max(UNKNOWN_KANA_WEIGHT) } else { w };
        if haystack.contains(t.text.as_str()) {
            covered += w;
        }
    }
    if total == 0.0 {
        0.0
    } else {
        covered / total
    }
}

/// The shortest kana word matched whole by [`rare_kana_runs`]' signal.
const MIN_KANA_RUN: usize = 4;
/// The longest window tried (longer runs are sentences, not names).
const MAX_KANA_RUN: usize = 8;
/// How much of a query is read for kana words, and how many windows are weighed and
/// kept: each new pair is an index lookup, so a pasted page must not cost thousands.
const KANA_SCAN_CHARS: usize = 256;
const KANA_WINDOWS_TRIED: usize = 96;
const KANA_WINDOWS_KEPT: usize = 16;

/// Windows of the query's hiragana runs (as written: katakana are brand names and
/// loanwords, which other signals weigh) all of whose pairs, as the index holds
/// them (normalised: long vowels folded), are rare (`rare`: in few entries): the
/// kana words a customer copies from a page ("かたつむり窓口"). As pairs they weigh
/// little (most kana pairs are endings), so a document that has the word whole is
/// outranked by an entry with the kanji next to it; matched whole, the word speaks.
/// Longest windows first. Every pair rare: endings and particles ("のうちに",
/// "ていったら") have common ones.
pub(crate) fn rare_kana_runs(text: &str, rare: impl Fn(&str) -> bool) -> Vec<String> {
    let hiragana = |c: char| ('\u{3041}'..='\u{309F}').contains(&c) || c == 'ー';
    let text: String = text.chars().take(KANA_SCAN_CHARS).collect();
    let mut known: HashMap<String, bool> = HashMap::new();
    let mut out: Vec<String> = Vec::new();
    let mut tried = 0;
    for run in text.split(|c: char| !hiragana(c)) {
        let run: Vec<char> = run.chars().collect();
        for len in (MIN_KANA_RUN..=MAX_KANA_RUN.min(run.len())).rev() {
            for from in 0..=run.len() - len {
                if tried == KANA_WINDOWS_TRIED || out.len() == KANA_WINDOWS_KEPT {
                    return out;
                }
                tried += 1;
                let window: String = run[from..from + len].iter().collect();
                if out.contains(&window) {
                    continue;
                }
                let pairs: Vec<String> = tokens_of_normalized(&normalize(&window))
                    .into_iter()
                    .map(|t| t.text)
                    .filter(|t| t.chars().count() == 2)
                    .collect();
                let all_rare = !pairs.is_empty()
                    && pairs.into_iter().all(|p| match known.get(&p) {
                        Some(r) => *r,
                        None => {
                            let r = rare(&p);
                            known.insert(p, r);
                            r
                        }
                    });
                if all_rare {
                    out.push(window);
                }
            }
        }
    }
    out
}

/// The share of the query's coverage ([`confidence`]) in the calibrated confidence;
/// the rest is the best wording's recall ([`Entries::wording_recall`]).
const COVERAGE_SHARE: f32 = 0.6;

/// The confidence reported: the weighted geometric mean of how much of the query
/// the entry has and how much of its closest wording the query has. Coverage alone
/// punished long situational questions ("先月から仕事が忙しくて…") whose words the
/// entry lacks though they ask exactly one of its wordings, and let a short
/// off-topic question whose words an entry happens to have ("Netflixの月額料金いくら？")
/// look answered; each measure covers the other's blind spot, and the geometric
/// mean needs both.
pub(crate) fn calibrated(coverage: f32, recall: f32) -> f32 {
    coverage.max(0.0).powf(COVERAGE_SHARE) * recall.max(0.0).powf(1.0 - COVERAGE_SHARE)
}

/// Parts of the query (as the user wrote them, width-folded) that appear in the
/// entry's question or answer: longest first, at least two characters.
/// NFKC and lower case: what highlights compare.
pub(crate) fn fold(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfkc().collect::<String>().to_lowercase()
}

/// The longest pieces of the (folded) query found in the (folded) question and answer.
pub(crate) fn highlights(q: &[char], target: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < q.len() {
        let mut found = 0;
        // Only runs of letters and digits make a highlight.
        let run = q[i..].iter().take_while(|c| c.is_alphanumeric()).count();
        // Grow the piece while the target has it: a piece is in the target only if
        // its prefixes are, so the first miss ends the search (trying the longest
        // first searched the target up to 19 times per position).
        let mut piece = String::new();
        for len in 2..=run.min(20) {
            piece.clear();
            piece.extend(&q[i..i + len]);
            if !target.contains(piece.as_str()) {
                break;
            }
            found = len;
        }
        if found > 0 {
            let piece: String = q[i..i + found].iter().collect();
            if !out.contains(&piece) {
                out.push(piece);
            }
        }
        i += found.max(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indexed(id: &str, question: &str, enabled: bool) -> Indexed {
        let row = KbEntryRow {
            id: id.into(),
            kb_id: "kb".into(),
            question: question.into(),
            phrasings: vec![],
            answer: "a".into(),
            keywords: vec![],
            category: String::new(),
            source_url: None,
            question_en: None,
            answer_en: None,
            enabled,
            version: 1,
            created_at_ms: 0,
            updated_at_ms: 0,
        };
        Indexed::new(row, &Synonyms::default(), false)
    }

    #[test]
    fn a_word_every_sibling_has_tells_them_apart_less_than_the_one_word_they_differ_in() {
        let mut entries: Entries = [
            indexed("a", "予約番号の有効期限は何日？", true),
            indexed("b", "予約番号の桁数は？", true),
            indexed("c", "予約番号はどこで取得できる？", true),
        ]
        .into_iter()
        .collect();
        let h = |t: &str| token_hash(t);
        assert!(entries.rarity(h("何日")) > 2.0 * entries.rarity(h("予約")));
        let q = entries.weigh(&token_weights("予約番号 何日もつ", &Synonyms::default()));
        let best = ["a", "b", "c"]
            .into_iter()
            .max_by(|x, y| entries.similarity(&q, &entries[*x]).total_cmp(&entries.similarity(&q, &entries[*y])));
        assert_eq!(best, Some("a"));
        // Kept up to date: replacing, disabling and removing entries.
        let before = entries.rarity(h("何日"));
        entries.insert(indexed("b", "予約番号は何日もつ？", true));
        assert!(entries.rarity(h("何日")) < before);
        entries.insert(indexed("b", "予約番号は何日もつ？", false));
        assert_eq!((entries.df[&h("何日")], entries.counted), (1, 2), "a disabled entry is not counted");
        entries.remove("a");
        entries.remove("b");
        assert!(!entries.df.contains_key(&h("何日")), "in no wording now");
        assert_eq!((entries.len(), entries.counted), (1, 1));
    }

    #[test]
    fn unknown_words_are_whole_words_no_entry_has() {
        let known = ["予約", "番号", "発行", "今日", "today", "number"];
        let unknown = |q: &str| {
            let mut v: Vec<String> = unknown_words(&normalize(q), |t| known.contains(&t)).into_iter().collect();
            v.sort();
            v
        };
        assert_eq!(unknown("今日の天気"), ["天気"]);
        assert_eq!(unknown("How is the weather today?"), ["weather"]);
        assert_eq!(unknown("中学生です"), ["中学", "学生"]);
        assert!(unknown("予約番号発行").is_empty(), "号発 is two known words");
        assert!(unknown("予約晩号").is_empty(), "a wrong kanji in a known word");
        assert!(unknown("I'm 17, my number").is_empty(), "numbers and short words say nothing");
        assert!(unknown("予約ばんごう いつまで").is_empty(), "kana are too often endings");
        let known = ["わん", "んす", "すと", "とっ", "っぷ", "って"];
        let katakana = |q: &str| {
            let mut v: Vec<String> = unknown_katakana(q, |t| known.contains(&t)).into_iter().collect();
            v.sort();
            v
        };
        assert_eq!(katakana("テザリングのやり方"), ["ざり", "てざ", "りん", "んぐ"]);
        assert_eq!(katakana("バッテリー"), ["って", "てり", "ばっ"], "most pairs unknown: the whole word");
        assert!(katakana("ワンストプ").is_empty(), "a misspelt known word keeps most pairs");
        assert!(katakana("ワンストップ SIM").is_empty());
    }

    #[test]
    fn rare_kana_words_are_found_whole() {
        let rare = |t: &str| ["かた", "たつ", "つむ", "むり"].contains(&t);
        let runs = rare_kana_runs("かたつむり窓口", rare);
        assert_eq!(runs, ["かたつむり", "かたつむ", "たつむり"]);
        assert_eq!(rare_kana_runs("かたつむのうち", |t| t != "むの"), ["かたつむ"]);
        assert_eq!(
            rare_kana_runs("らーめん窓口", |t| ["らめ", "めん"].contains(&t)),
            ["らーめん"],
            "long vowels as indexed"
        );
        let long = "あいうえおかきくけこ".repeat(100);
        assert!(rare_kana_runs(&long, |_| true).len() <= KANA_WINDOWS_KEPT, "a pasted page is bounded");
        assert!(rare_kana_runs("のりかえできますか", rare).is_empty(), "no rare pair: nothing");
        assert!(rare_kana_runs("たつ窓口", rare).is_empty(), "shorter than a word");
    }
}
