//! What a query is made of, weighted: its own tokens, the hiragana of its romaji,
//! the concept tokens of the synonym groups it meets, and, where it meets a group
//! through a reading or a misspelling, the tokens of the group's written term, so
//! that the entries' own wording counts as if the query had been written that way.

use crate::normalize::{normalize, tokens_of_normalized, Token};
use crate::romaji::transliterate_query;
use crate::synonyms::{match_form, MatchKind, Synonyms};
use std::collections::HashMap;

/// A synonym group found in the query weighs this many times its term's tokens.
const CONCEPT_FACTOR: f32 = 2.0;

/// Tokens of the romaji's hiragana, against the query's own: "made" and "time" are
/// English as well.
const ROMAJI_WEIGHT: f32 = 0.7;

/// The written term's tokens added for a reading or a misspelling, against the
/// query's own tokens.
const REWRITE_WEIGHT: f32 = 0.6;

/// A reading's own kana bigrams, against what they would weigh otherwise.
const READING_SELF_WEIGHT: f32 = 0.3;

/// A misspelt term's concept, against a term found as written.
const MISSPELT_WEIGHT: f32 = 0.8;

/// Longest query looked at as a bare topic.
const BARE_LENGTH: usize = 30;

/// Words outside the sentence that asks, against the words in it.
const CONTEXT_WEIGHT: f32 = 0.6;

/// A name's concept and tokens (a carrier named in passing), against other terms.
const NAME_WEIGHT: f32 = 0.5;

/// The same when the query names two or more (moving from one to another).
const TWO_NAMES_WEIGHT: f32 = 0.3;

/// A query, ready for the index and the re-ranking.
pub(crate) struct Analysed<'s> {
    /// The query's tokens (romaji as hiragana), for confidence, and the normalised
    /// text they are of.
    pub tokens: Vec<Token>,
    pub text: String,
    /// Every token and concept token with its weight.
    pub terms: HashMap<String, f32>,
    /// The synonym groups met: (the term found, the other terms of its group).
    pub expansions: Vec<(&'s str, Vec<&'s str>)>,
    /// The query is nothing but dictionary terms: a bare topic ("キャリアメール 持ち運び").
    pub bare: bool,
}

fn add(terms: &mut HashMap<String, f32>, text: &str, weight: f32) {
    match terms.get_mut(text) {
        Some(w) => *w = w.max(weight),
        None => {
            terms.insert(text.to_string(), weight);
        }
    }
}

fn weight_of(term: &str) -> f32 {
    tokens_of_normalized(term).iter().map(|t| t.weight).sum()
}

/// The sentence that asks, normalised, when the query has context before or after
/// it: the last one ending in a question mark, else the last one.
fn asking_sentence(query: &str) -> Option<String> {
    let mut sentences: Vec<(&str, bool)> = Vec::new();
    let mut start = 0;
    for (at, c) in query.char_indices() {
        if matches!(c, '。' | '？' | '?' | '！' | '!' | '\n') {
            sentences.push((&query[start..at], matches!(c, '？' | '?')));
            start = at + c.len_utf8();
        }
    }
    sentences.push((&query[start..], false));
    sentences.retain(|(s, _)| s.chars().any(char::is_alphanumeric));
    if sentences.len() < 2 {
        return None;
    }
    let asking = sentences.iter().rev().find(|(_, q)| *q).or(sentences.last())?;
    Some(normalize(asking.0))
}

/// Whether a term is its group's written form with part of it in kana ("よやく番号",
/// "予約ばんごう" for 予約番号): the two share a prefix or suffix and the rest is kana in
/// the term and has kanji in the written form. Such a spelling stands for the
/// written form as a reading does: only an entry that happens to spell it the same
/// way would otherwise meet its kana.
fn partial_reading(term: &str, written: &str) -> bool {
    let (t, w): (Vec<char>, Vec<char>) = (term.chars().collect(), written.chars().collect());
    let prefix = t.iter().zip(&w).take_while(|(a, b)| a == b).count();
    let suffix = t.iter().rev().zip(w.iter().rev()).take_while(|(a, b)| a == b).count();
    let shared = prefix.max(suffix);
    if shared == 0 || shared >= t.len().min(w.len()) {
        return false;
    }
    let (t_rest, w_rest) =
        if prefix >= suffix { (&t[prefix..], &w[prefix..]) } else { (&t[..t.len() - suffix], &w[..w.len() - suffix]) };
    t_rest.len() >= 2
        && t_rest.iter().all(|c| ('\u{3041}'..='\u{3096}').contains(c))
        && w_rest.iter().any(|c| crate::normalize::is_kanji(*c))
}

/// Analyse a query (as typed, and normalised).
pub(crate) fn analyse<'s>(query: &str, norm: &str, synonyms: &'s Synonyms) -> Analysed<'s> {
    let own = tokens_of_normalized(norm);
    let mut terms: HashMap<String, f32> = HashMap::with_capacity(own.len() * 2);
    // Several sentences: the one that asks says what the question is about; the
    // others tell the situation ("来週引っ越すので…移りたいです。何から始めれば").
    let asking = asking_sentence(query);
    let context = if asking.is_some() { CONTEXT_WEIGHT } else { 1.0 };
    for t in &own {
        add(&mut terms, &t.text, t.weight * context);
    }
    if let Some(a) = &asking {
        for t in tokens_of_normalized(a) {
            add(&mut terms, &t.text, t.weight);
        }
    }
    let kana = transliterate_query(norm).map(|k| normalize(&k));
    let text = kana.clone().unwrap_or_else(|| norm.to_string());
    let tokens = match &kana {
        Some(k) => {
            let tokens = tokens_of_normalized(k);
            for t in &tokens {
                add(&mut terms, &t.text, t.weight * ROMAJI_WEIGHT);
            }
            tokens
        }
        None => own,
    };
    let both;
    let matches = synonyms.matches(match &kana {
        Some(k) => {
            both = format!("{norm} {k}");
            &both
        }
        None => norm,
    });
    // Names set the scene; two of them (from one carrier to another) all the more.
    let names = matches.iter().filter(|m| m.name).count();
    let name_weight = if names >= 2 { TWO_NAMES_WEIGHT } else { NAME_WEIGHT };
    let asking_form = asking.as_deref().map(match_form);
    for m in &matches {
        // More than the matched term's own tokens together: the curated dictionary
        // names what the question is about. A reading or a phrase in kana is worth the
        // group's written form (hiragana tokens weigh little on their own: 何がいる
        // is 必要なもの).
        let mut weight = match m.kind {
            MatchKind::Written | MatchKind::Reading => weight_of(m.hit).max(weight_of(m.canonical)),
            MatchKind::Misspelt => MISSPELT_WEIGHT * weight_of(m.canonical),
        }
        .max(1.0);
        if asking_form.as_deref().is_some_and(|a| !a.contains(m.hit)) {
            weight *= CONTEXT_WEIGHT;
        }
        if m.name {
            weight *= name_weight;
            for t in tokens_of_normalized(m.hit) {
                if let Some(w) = terms.get_mut(&t.text) {
                    *w *= name_weight;
                }
            }
        }
        add(&mut terms, &format!("c{}", m.group), CONCEPT_FACTOR * weight);
        let reading = m.kind == MatchKind::Reading || partial_reading(m.hit, m.canonical);
        if reading {
            // The reading stands for its written form, added below: its own kana
            // bigrams would only prefer an entry that happens to spell it in kana.
            for t in tokens_of_normalized(m.hit) {
                if let Some(w) = terms.get_mut(&t.text) {
                    *w *= READING_SELF_WEIGHT;
                }
            }
        }
        if m.kind != MatchKind::Written || reading {
            for t in tokens_of_normalized(m.canonical) {
                add(&mut terms, &t.text, t.weight * REWRITE_WEIGHT);
            }
        }
    }
    let bare = !matches.is_empty() && norm.chars().count() <= BARE_LENGTH && synonyms.covers(norm);
    let expansions = matches.into_iter().map(|m| (m.hit, m.others)).collect();
    Analysed { tokens, text, terms, expansions, bare }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syn() -> Synonyms {
        Synonyms::parse("予約番号,よやくばんごう\n手数料,てすうりょう\n乗り換え,のりかえ\n").unwrap()
    }

    fn analysed(q: &str) -> HashMap<String, f32> {
        let s = syn();
        let a = analyse(q, &normalize(q), &s);
        a.terms
    }

    #[test]
    fn romaji_adds_its_hiragana_below_the_words_themselves() {
        let t = analysed("yoyaku bangou doko");
        assert_eq!(t["yoyaku"], 1.0, "the words stay");
        assert!(t["よや"] > 0.0 && t["よや"] < 0.3, "{t:?}");
        assert!(t.contains_key("c0"), "the reading meets 予約番号");
        assert!(t["予約"] > 0.5, "and brings its kanji");
        let en = analysed("what time does porting get processed");
        assert!(en.keys().all(|k| k.is_ascii()), "English is not transliterated: {en:?}");
    }

    #[test]
    fn a_reading_weighs_as_much_as_its_written_form() {
        let kana = analysed("てすうりょう");
        let kanji = analysed("手数料");
        assert_eq!(kana["c1"], kanji["c1"]);
        assert!(kana["手数"] < kanji["手数"], "the rewrite counts less than the real thing");
    }

    #[test]
    fn a_readings_own_kana_weigh_less_than_its_written_form() {
        let t = analysed("よやくばんごう どこ");
        assert!(t["予約"] > t["よや"], "{t:?}");
        assert!(t["よや"] < 0.1, "{t:?}");
        assert!(t["どこ"] > t["予約"], "the question word is what tells siblings apart: {t:?}");
    }

    #[test]
    fn a_spelling_partly_in_kana_stands_for_the_written_form() {
        assert!(partial_reading("よやく番号", "予約番号"));
        assert!(partial_reading("予約ばんご", "予約番号"));
        assert!(!partial_reading("予約番号", "予約番号"));
        assert!(!partial_reading("番号そのまま", "mnp"));
        assert!(!partial_reading("期限切れ", "期限"));
        let s = Synonyms::parse("予約番号,よやく番号\n").unwrap();
        let t = analyse("よやく番号", &normalize("よやく番号"), &s).terms;
        assert!(t["予約"] > t["よや"], "{t:?}");
    }

    #[test]
    fn a_misspelling_meets_its_group_with_less_weight() {
        let typo = analysed("予約番合");
        let right = analysed("予約番号");
        assert!(typo["c0"] > 0.0 && typo["c0"] < right["c0"]);
        assert!(typo.contains_key("番号"));
    }

    #[test]
    fn the_sentence_that_asks_outweighs_the_situation_and_named_carriers() {
        let s = Synonyms::parse("@docomo,ドコモ\n@au,エーユー\n手順,流れ,何から\n解約金,違約金\n").unwrap();
        let q = "ドコモからauに移ります。何から始めればいい？";
        let t = analyse(q, &normalize(q), &s).terms;
        assert!(t["始め"] > t["移り"], "{t:?}");
        assert!(t["c2"] > t["c0"] && t["c0"] == t["c1"], "{t:?}");
        let one = analyse("ドコモの解約金", &normalize("ドコモの解約金"), &s).terms;
        let two = analyse("ドコモからauで解約金", &normalize("ドコモからauで解約金"), &s).terms;
        assert!(one["c0"] < one["c3"], "a name weighs less than what is asked: {one:?}");
        assert!(two["c0"] < one["c0"], "two names less still");
    }
}
