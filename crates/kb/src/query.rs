//! What a query is made of, weighted: its own tokens, the hiragana of its romaji,
//! the concept tokens of the synonym groups it meets, and, where it meets a group
//! through a reading or a misspelling, the tokens of the group's written term, so
//! that the entries' own wording counts as if the query had been written that way.

use crate::normalize::{normalize, tokens_of_normalized, Token};
use crate::romaji::transliterate_query;
use crate::synonyms::{match_form, MatchKind, Synonyms};
use std::collections::HashMap;

/// A synonym group found in the query weighs this many times its term's tokens.
pub(crate) const CONCEPT_FACTOR: f32 = 2.0;

/// Tokens of the romaji's hiragana, against the query's own: "made" and "time" are
/// English as well.
const ROMAJI_WEIGHT: f32 = 0.7;

/// The written term's tokens added for a reading or a misspelling, against the
/// query's own tokens.
const REWRITE_WEIGHT: f32 = 0.6;

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
    /// The query's tokens (romaji as hiragana), for confidence.
    pub tokens: Vec<Token>,
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
        if asking.as_deref().is_some_and(|a| !match_form(a).contains(m.hit)) {
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
        if m.kind != MatchKind::Written {
            for t in tokens_of_normalized(m.canonical) {
                add(&mut terms, &t.text, t.weight * REWRITE_WEIGHT);
            }
        }
    }
    let bare = !matches.is_empty() && norm.chars().count() <= BARE_LENGTH && synonyms.covers(norm);
    let expansions = matches.into_iter().map(|m| (m.hit, m.others)).collect();
    Analysed { tokens, terms, expansions, bare }
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
    fn a_misspelling_meets_its_group_with_less_weight() {
        let typo = analysed("予約番合");
        let right = analysed("予約番号");
        assert!(typo["c0"] > 0.0 && typo["c0"] < right["c0"]);
        assert!(typo.contains_key("番号"));
    }
}

#[cfg(test)]
mod dbg_tmp {
    use crate::*;
    #[test]
    #[ignore]
    fn dbg_terms() {
        let s = crate::Synonyms::parse(crate::pack::SYNONYMS).unwrap();
        let rows: Vec<tenmon_store::KbEntryRow> =
            crate::import::parse(crate::pack::MNP_PACK.as_bytes(), crate::import::Format::Jsonl)
                .unwrap()
                .into_iter()
                .map(|(_, e)| tenmon_store::KbEntryRow {
                    id: e.id.unwrap_or_default(),
                    kb_id: "mnp".into(),
                    question: e.question,
                    phrasings: e.phrasings,
                    answer: e.answer,
                    keywords: e.keywords,
                    category: e.category,
                    source_url: e.source_url,
                    question_en: e.question_en,
                    answer_en: e.answer_en,
                    enabled: true,
                    version: 1,
                    created_at_ms: 0,
                    updated_at_ms: 0,
                })
                .collect();
        let mut index = SearchIndex::new().unwrap();
        index.rebuild(rows.iter(), &|e| concepts_of(&s, e)).unwrap();
        let entries: HashMap<String, Indexed> =
            rows.into_iter().map(|e| (e.id.clone(), Indexed::new(e, &s, false))).collect();
        for q in std::env::var("Q").unwrap().split('|') {
            let norm = crate::normalize::normalize(q).split_whitespace().collect::<Vec<_>>().join(" ");
            let a = super::analyse(q, &norm, &s);
            let mut t: Vec<_> = a.terms.iter().collect();
            t.sort_by(|a, b| b.1.total_cmp(a.1));
            println!("{q}: {t:?}\n  exp {:?}", a.expansions.iter().map(|e| e.0).collect::<Vec<_>>());
            let hits = index.search(&a.terms, &[], 20).unwrap();
            let best = hits[0].score;
            let qs = token_set(a.terms.iter().map(|(t, w)| (t.as_str(), *w)));
            let subject = intent::definition_subject(q).map(|x| subject_weights(&x, &s));
            println!("  subject {:?}", intent::definition_subject(q));
            let mut rows: Vec<(f32, String)> = hits
                .iter()
                .map(|h| {
                    let e = &entries[&h.id];
                    let bm = BM25_SHARE * h.score / best;
                    let sim = (1.0 - BM25_SHARE) * question_similarity(&qs, e);
                    let def = subject.as_ref().map(|x| DEFINITION_WEIGHT * best_dice(x, &e.defines)).unwrap_or(0.0);
                    (
                        bm + sim + def,
                        format!(
                            "{} tot {:.3} bm {:.3} sim {:.3} def {:.3} {}",
                            h.id,
                            bm + sim + def,
                            bm,
                            sim,
                            def,
                            e.row.question
                        ),
                    )
                })
                .collect();
            rows.sort_by(|a, b| b.0.total_cmp(&a.0));
            for r in rows.iter().take(6) {
                println!("    {}", r.1);
            }
        }
    }
}
