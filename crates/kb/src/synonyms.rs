//! The domain synonym dictionary: one group of equivalent terms per line, `#` for
//! comments. Applied at query time, so an admin's edit works at once, without
//! re-indexing.
//!
//! A group holds the written forms of a term, their readings in kana (よやくばんごう
//! for 予約番号: there is no morphological dictionary, so a query written all in
//! kana meets the kanji of the entries only through these), common English words for
//! it and common misspellings. A query also meets a group through one wrong kanji in
//! a term of four characters or more (予約番合, 乗り替え: the IME picked a kanji of
//! the same reading) or two swapped letters in a Latin word (MPN).
//!
//! A group marked `@` is a name (a carrier, a brand). Customers name their carriers
//! to set the scene ("ソフトバンクから楽天モバイルに移りたい。何から始めれば"), so a
//! name counts for less than the other words of a question.

use crate::normalize::{normalize, stem};
use aho_corasick::AhoCorasick;
use std::collections::{HashMap, HashSet};

/// One term of a group, in the form it is compared in.
#[derive(Debug, Clone)]
struct Term {
    /// Normalised, English words stemmed, spaces kept only between Latin words.
    text: String,
    chars: Box<[char]>,
    /// Written in hiragana in a group that has a kanji form: a reading.
    reading: bool,
    /// Written in hiragana: short ones occur inside too many other words.
    hiragana: bool,
}

/// Where a term may start: (group, term, the anchor's offset in the term).
type Anchor = (usize, usize, usize);

/// Parsed groups.
#[derive(Debug, Clone, Default)]
pub struct Synonyms {
    groups: Vec<Vec<Term>>,
    /// Per group: names (carriers, brands), marked `@` in the dictionary.
    names: Vec<bool>,
    /// Every two kanji written next to each other in a term: words the dictionary
    /// knows, so a kanji that makes one of them is no misspelling (番号発行 is not a
    /// misspelt 番号移行: 発行 is a word).
    kanji_pairs: HashSet<(char, char)>,
    /// Every searchable term, found in one pass over a text (entries are long, and a
    /// dictionary has hundreds of terms); its patterns are `terms`.
    automaton: Option<AhoCorasick>,
    /// (group, term) of each pattern.
    terms: Vec<(usize, usize)>,
    /// The first and the last two characters of the terms a wrong kanji is looked
    /// for in, with (group, term, offset): one wrong kanji leaves one of the two
    /// intact, so only windows that start or end like a term are compared.
    anchors: HashMap<(char, char), Vec<Anchor>>,
    /// The Latin terms two swapped letters are looked for in: (group, term).
    latin: Vec<(usize, usize)>,
    /// The text they were parsed from, for display and export.
    pub source: String,
}

/// How a query met a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// A term as written in the dictionary.
    Written,
    /// A term's kana reading.
    Reading,
    /// A term with one wrong kanji or two swapped letters.
    Misspelt,
}

/// A group found in a query.
#[derive(Debug, Clone)]
pub struct Match<'a> {
    /// The group's index (its concept token is `c<group>`).
    pub group: usize,
    /// The term found (for a misspelling, the term it stands for).
    pub hit: &'a str,
    /// The other written terms of the group.
    pub others: Vec<&'a str>,
    pub kind: MatchKind,
    /// The group's first written term: what a reading or a misspelling stands for.
    pub canonical: &'a str,
    /// The group is a name (a carrier, a brand): it sets the scene of a question
    /// more often than it is what the question asks about.
    pub name: bool,
}

fn is_kanji(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x3005)
}

fn is_kana(c: char) -> bool {
    ('\u{3041}'..='\u{309F}').contains(&c)
}

fn is_latin(c: char) -> bool {
    c.is_ascii_alphanumeric()
}

/// Normalised text in the form terms are compared in: English words stemmed, and
/// spaces dropped except between two Latin words, since Japanese has none and people
/// put them anywhere ("よやく ばんごう", "MNP 予約番号").
pub fn match_form(normalized: &str) -> String {
    let mut out = String::with_capacity(normalized.len());
    // Latin runs are stemmed inside a word too: "iphoneを" holds "iphone", whose
    // dictionary form is "iphon".
    let pieces = normalized.split_whitespace().flat_map(|word| {
        let mut runs = Vec::new();
        let mut start = 0;
        for (at, c) in word.char_indices().skip(1) {
            let prev = word[..at].chars().next_back().is_some_and(is_latin);
            if prev != is_latin(c) {
                runs.push(&word[start..at]);
                start = at;
            }
        }
        runs.push(&word[start..]);
        runs
    });
    for piece in pieces {
        let stemmed = stem(piece);
        let joins = match (out.chars().next_back(), stemmed.chars().next()) {
            (Some(a), Some(b)) => !(is_latin(a) && is_latin(b)),
            _ => true,
        };
        if !joins {
            out.push(' ');
        }
        out.push_str(&stemmed);
    }
    out
}

/// Whether `text[start..end]` has its Latin edges on word boundaries ("au" is not
/// in "because", "port" not in "support").
fn on_word_boundaries(text: &str, start: usize, end: usize) -> bool {
    let latin = |s: Option<char>| s.is_some_and(is_latin);
    let glued_before = latin(text[..start].chars().next_back()) && latin(text[start..end].chars().next());
    let glued_after = latin(text[end..].chars().next()) && latin(text[start..end].chars().next_back());
    !glued_before && !glued_after
}

/// Shortest term written in hiragana that is looked for: two kana occur inside too
/// many other words.
const MIN_READING: usize = 3;
/// Shortest written term in which one wrong kanji is still recognised ("転出先" is
/// not a misspelt "転出元").
const MIN_MISSPELT_KANJI: usize = 4;
/// Shortest Latin word in which two swapped letters are recognised.
const MIN_MISSPELT_LATIN: usize = 3;

impl Term {
    /// A term as written in the dictionary, and whether its group has a kanji form.
    fn new(written: &str, kanji_group: bool) -> Self {
        let text = match_form(&normalize(written));
        let chars: Box<[char]> = text.chars().collect();
        // Katakana is folded to hiragana by normalisation: look at the term as written.
        let hiragana = written.chars().filter(|c| *c != 'ー').all(is_kana) && chars.iter().all(|c| is_kana(*c));
        Term { text, chars, reading: hiragana && kanji_group, hiragana }
    }

    /// Long enough to be looked for without matching everywhere.
    fn searchable(&self) -> bool {
        self.chars.len() >= if self.hiragana { MIN_READING } else { 2 }
    }

    /// Whether a wrong kanji in this term is looked for: long enough, with a
    /// compound to be wrong in.
    fn misspellable(&self) -> bool {
        self.chars.len() >= MIN_MISSPELT_KANJI && self.chars.iter().filter(|c| is_kanji(**c)).count() >= 2
    }

    /// Whether window `w` (as long as the term) is the term with one kanji of a
    /// compound replaced by another. Not when the wrong kanji is at an edge and the
    /// rest is a term of its own: "乗り換え流(れ)" is 乗り換え followed by another word,
    /// not a misspelt 乗り換え元.
    fn misspelt_as(&self, w: &[char], is_term: &dyn Fn(&[char]) -> bool, known: &HashSet<(char, char)>) -> bool {
        let n = self.chars.len();
        let mut diffs = w.iter().zip(self.chars.iter()).enumerate().filter(|(_, (a, b))| a != b).map(|(i, _)| i);
        let (Some(i), None) = (diffs.next(), diffs.next()) else {
            return false;
        };
        let rest = match i {
            0 => Some(&w[1..]),
            i if i == n - 1 => Some(&w[..i]),
            _ => None,
        };
        // Inside a compound: the IME converted the compound's reading with one wrong
        // kanji (予約番合). A kanji between kana is a word of its own ("家の電話" is
        // not "約の電話"), and so is a pair of kanji the dictionary knows.
        let before = (i > 0 && is_kanji(w[i - 1])).then(|| (w[i - 1], w[i]));
        let after = w.get(i + 1).filter(|c| is_kanji(**c)).map(|c| (w[i], *c));
        let compound = before.is_some() || after.is_some();
        let a_word = [before, after].into_iter().flatten().any(|p| known.contains(&p));
        is_kanji(w[i]) && is_kanji(self.chars[i]) && compound && !a_word && !rest.is_some_and(is_term)
    }

    /// Whether Latin word `w` is the term with two neighbouring letters swapped.
    fn transposed_as(&self, w: &[u8]) -> bool {
        let t = self.text.as_bytes();
        if w.len() != t.len() {
            return false;
        }
        let mut diffs = (0..t.len()).filter(|&i| w[i] != t[i]);
        matches!((diffs.next(), diffs.next(), diffs.next()), (Some(i), Some(j), None) if j == i + 1 && w[i] == t[j] && w[j] == t[i])
    }
}

impl Synonyms {
    /// Parse; every problem is reported with its line number.
    pub fn parse(text: &str) -> Result<Self, Vec<String>> {
        let mut groups = Vec::new();
        let mut names = Vec::new();
        let mut errors = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, line) = match line.strip_prefix('@') {
                Some(rest) => (true, rest),
                None => (false, line),
            };
            let written: Vec<&str> = line.split([',', '、', '，']).map(str::trim).collect();
            let kanji_group = written.iter().any(|t| t.chars().any(is_kanji));
            let mut unique: Vec<Term> = Vec::new();
            for t in written.iter().map(|t| Term::new(t, kanji_group)) {
                if !t.text.is_empty() && !unique.iter().any(|u| u.text == t.text) {
                    unique.push(t);
                }
            }
            if unique.len() < 2 {
                errors.push(format!("line {}: a group needs at least two different terms", i + 1));
                continue;
            }
            groups.push(unique);
            names.push(name);
        }
        if errors.is_empty() {
            let kanji_pairs = groups
                .iter()
                .flatten()
                .flat_map(|t: &Term| {
                    t.chars.windows(2).filter(|p| is_kanji(p[0]) && is_kanji(p[1])).map(|p| (p[0], p[1]))
                })
                .collect();
            let terms: Vec<(usize, usize)> = groups
                .iter()
                .enumerate()
                .flat_map(|(gi, g): (usize, &Vec<Term>)| {
                    g.iter().enumerate().filter(|(_, t)| t.searchable()).map(move |(ti, _)| (gi, ti))
                })
                .collect();
            let automaton = AhoCorasick::new(terms.iter().map(|&(g, t)| groups[g][t].text.as_str()))
                .map_err(|e| vec![format!("the dictionary is too large: {e}")])?;
            let mut anchors: HashMap<(char, char), Vec<Anchor>> = HashMap::new();
            let mut latin = Vec::new();
            for (g, group) in groups.iter().enumerate() {
                for (t, term) in group.iter().enumerate() {
                    let c = &term.chars;
                    if term.misspellable() {
                        anchors.entry((c[0], c[1])).or_default().push((g, t, 0));
                        anchors.entry((c[c.len() - 2], c[c.len() - 1])).or_default().push((g, t, c.len() - 2));
                    }
                    if c.len() >= MIN_MISSPELT_LATIN && term.text.bytes().all(|b| b.is_ascii_lowercase()) {
                        latin.push((g, t));
                    }
                }
            }
            Ok(Self {
                groups,
                names,
                kanji_pairs,
                automaton: Some(automaton),
                terms,
                anchors,
                latin,
                source: text.to_string(),
            })
        } else {
            Err(errors)
        }
    }

    /// Every term found in text in match form: (group, term, where it starts and ends).
    fn found<'t>(&'t self, text: &'t str) -> impl Iterator<Item = (usize, usize, usize, usize)> + 't {
        self.automaton.iter().flat_map(move |a| {
            a.find_overlapping_iter(text).filter(|m| on_word_boundaries(text, m.start(), m.end())).map(|m| {
                let (g, t) = self.terms[m.pattern().as_usize()];
                (g, t, m.start(), m.end())
            })
        })
    }

    /// The concept tokens (`c<group>`) of the groups with a term in the normalised text.
    pub fn concepts(&self, normalized_text: &str) -> String {
        let text = match_form(normalized_text);
        let mut seen = vec![false; self.groups.len()];
        for (g, ..) in self.found(&text) {
            seen[g] = true;
        }
        let mut out = String::new();
        for (i, _) in seen.iter().enumerate().filter(|(_, s)| **s) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&format!("c{i}"));
        }
        out
    }

    /// The groups met in the normalised query: through the longest term of the group
    /// found in it, or failing that through a misspelling.
    pub fn matches(&self, normalized_query: &str) -> Vec<Match<'_>> {
        let text = match_form(normalized_query);
        let chars: Vec<char> = text.chars().collect();
        let latin_words: Vec<&[u8]> = text
            .split(|c: char| !is_latin(c))
            .filter(|w| w.len() >= MIN_MISSPELT_LATIN && w.bytes().all(|b| b.is_ascii_lowercase()))
            .map(str::as_bytes)
            .collect();
        let is_term = |w: &[char]| self.groups.iter().flatten().any(|t| *t.chars == *w);
        // The longest term of each group found.
        let mut longest: Vec<Option<usize>> = vec![None; self.groups.len()];
        for (g, t, ..) in self.found(&text) {
            if longest[g].is_none_or(|l| self.groups[g][l].chars.len() < self.groups[g][t].chars.len()) {
                longest[g] = Some(t);
            }
        }
        // Failing that, a misspelt term.
        let mut misspelt: Vec<Option<usize>> = vec![None; self.groups.len()];
        for (i, pair) in chars.windows(2).enumerate() {
            for &(g, t, offset) in self.anchors.get(&(pair[0], pair[1])).into_iter().flatten() {
                let n = self.groups[g][t].chars.len();
                let Some(start) = i.checked_sub(offset).filter(|s| s + n <= chars.len()) else {
                    continue;
                };
                if longest[g].is_none()
                    && misspelt[g].is_none()
                    && self.groups[g][t].misspelt_as(&chars[start..start + n], &is_term, &self.kanji_pairs)
                {
                    misspelt[g] = Some(t);
                }
            }
        }
        for &(g, t) in &self.latin {
            if longest[g].is_none()
                && misspelt[g].is_none()
                && latin_words.iter().any(|w| self.groups[g][t].transposed_as(w))
            {
                misspelt[g] = Some(t);
            }
        }
        let mut out = Vec::new();
        for (gi, group) in self.groups.iter().enumerate() {
            let found = match (longest[gi], misspelt[gi]) {
                (Some(t), _) => {
                    Some((&group[t], if group[t].reading { MatchKind::Reading } else { MatchKind::Written }))
                }
                (None, Some(t)) => Some((&group[t], MatchKind::Misspelt)),
                (None, None) => None,
            };
            let Some((hit, kind)) = found else {
                continue;
            };
            let canonical = group.iter().find(|t| !t.reading).unwrap_or(hit);
            out.push(Match {
                group: gi,
                hit: &hit.text,
                // Readings are for queries: entries are written in kanji.
                others: group.iter().filter(|t| t.text != hit.text && !t.reading).map(|t| t.text.as_str()).collect(),
                kind,
                canonical: &canonical.text,
                name: self.names[gi],
            });
        }
        out
    }

    /// Whether the normalised query is nothing but dictionary terms ("キャリアメール
    /// 持ち運び", "予約番号"): a bare topic, which asks what the topic is.
    pub fn covers(&self, normalized_query: &str) -> bool {
        let text = match_form(normalized_query);
        let mut covered = vec![false; text.len()];
        for (_, _, start, end) in self.found(&text) {
            covered[start..end].iter_mut().for_each(|c| *c = true);
        }
        !text.is_empty() && text.char_indices().all(|(at, c)| c == ' ' || covered[at])
    }

    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &Synonyms, q: &str) -> Vec<(usize, String, MatchKind)> {
        s.matches(&normalize(q)).into_iter().map(|m| (m.group, m.hit.to_string(), m.kind)).collect()
    }

    #[test]
    fn parses_groups_and_expands_queries() {
        let s = Synonyms::parse("# comment\n予約番号,よやくばんごう,MNP番号\n乗り換え、のりかえ\n").unwrap();
        assert_eq!(s.len(), 2);
        let ex = s.matches(&normalize("よやくばんごうはどこ"));
        assert_eq!(ex.len(), 1);
        assert_eq!(ex[0].hit, normalize("よやくばんごう"));
        assert_eq!(ex[0].kind, MatchKind::Reading);
        assert_eq!(ex[0].canonical, "予約番号");
        assert!(ex[0].others.contains(&"予約番号"));
        assert!(ex[0].others.contains(&"mnp番号"));
    }

    #[test]
    fn readings_meet_however_the_long_vowels_and_spaces_are_written() {
        let s = Synonyms::parse("手数料,てすうりょう\n予約番号,よやくばんごう\n名義,めいぎ\n").unwrap();
        for q in ["てすうりょお", "テスウリョー", "のりかえ てすうりょう いくら"] {
            assert_eq!(found(&s, q), [(0, "てすりょ".to_string(), MatchKind::Reading)], "{q}");
        }
        assert_eq!(found(&s, "よやく ばんごう どこ")[0].0, 1, "spaces between kana are dropped");
        assert_eq!(found(&s, "めいぎ")[0].0, 2);
        assert!(found(&s, "ぎ").is_empty());
    }

    #[test]
    fn katakana_is_a_written_form_not_a_reading() {
        let s = Synonyms::parse("ワンストップ,ワンストップ方式,わんすとっぷ\n").unwrap();
        assert_eq!(found(&s, "ワンストップ 対応")[0].2, MatchKind::Written);
        assert_eq!(found(&s, "わんすとっぷ")[0].2, MatchKind::Written, "the katakana form, listed first");
        let s = Synonyms::parse("費用,いくら\n").unwrap();
        assert_eq!(found(&s, "いくら？")[0].2, MatchKind::Reading);
    }

    #[test]
    fn short_readings_are_not_looked_for() {
        let s = Synonyms::parse("大手,おおて\n").unwrap();
        assert!(found(&s, "おおてのキャリア").is_empty(), "おおて folds to two kana");
        assert_eq!(found(&s, "大手キャリア").len(), 1);
    }

    #[test]
    fn latin_terms_match_whole_stemmed_words() {
        let s = Synonyms::parse("au,エーユー\n転出,port out,porting out\n手数料,fee,charge\n").unwrap();
        assert!(found(&s, "because I paused").is_empty(), "au inside a word");
        assert_eq!(found(&s, "I use au"), [(0, "au".to_string(), MatchKind::Written)]);
        assert_eq!(found(&s, "what about porting out")[0].0, 1);
        assert_eq!(found(&s, "are there fees or charges?")[0].0, 2);
        assert!(found(&s, "support outside").is_empty());
        let s = Synonyms::parse(
            "端末,iPhone
@SoftBank,ソフトバンク
",
        )
        .unwrap();
        assert_eq!(found(&s, "iPhoneをそのまま使いたい")[0].0, 0, "a word glued to Japanese is stemmed too");
        assert_eq!(found(&s, "softbankから")[0].0, 1);
    }

    #[test]
    fn one_wrong_kanji_or_two_swapped_letters_still_meet_the_group() {
        let s = Synonyms::parse(
            "予約番号,よやくばんごう\n必要なもの,持ち物\n名義変更,名義変え\nMNP,番号ポータビリティ\n転出元,乗り換え元\n固定電話,家の電話\n",
        )
        .unwrap();
        assert_eq!(found(&s, "予約番合 とりかた"), [(0, "予約番号".to_string(), MatchKind::Misspelt)]);
        assert_eq!(found(&s, "必用なもの")[0], (1, "必要なもの".to_string(), MatchKind::Misspelt));
        assert_eq!(found(&s, "名儀変更 必要")[0].0, 2);
        assert_eq!(found(&s, "MPN予約番号 なに").iter().map(|m| m.0).collect::<Vec<_>>(), [0, 3]);
        assert!(found(&s, "転出先").is_empty(), "three characters are too few to guess");
        assert!(found(&s, "予約変更").is_empty(), "two wrong kanji are another word");
        assert!(found(&s, "予約番ご").is_empty(), "kana for a kanji is not a misspelling");
        assert!(found(&s, "pmn").is_empty(), "letters swapped two apart");
        assert!(found(&s, "乗り換え流れ").iter().all(|m| m.0 != 4), "乗り換え and another word");
        assert!(found(&s, "解約の電話").is_empty(), "a kanji between kana is a word of its own");
        let s = Synonyms::parse("MNP,番号移行\n取得,発行\n").unwrap();
        assert_eq!(found(&s, "番号発行"), [(1, "発行".to_string(), MatchKind::Written)], "発行 is a word, not a typo");
    }

    #[test]
    fn a_query_of_nothing_but_terms_is_covered() {
        let s = Synonyms::parse(
            "キャリアメール,携帯メール\nキャリアメール持ち運び,メアド持ち運び\nMNP,番号ポータビリティ\n",
        )
        .unwrap();
        assert!(s.covers(&normalize("キャリアメール 持ち運び")));
        assert!(s.covers(&normalize("ＭＮＰ")));
        assert!(!s.covers(&normalize("キャリアメールの料金")));
        assert!(!s.covers(&normalize("mnpx")), "a term inside a longer word covers nothing");
    }

    #[test]
    fn names_are_marked() {
        let s = Synonyms::parse("@docomo,ドコモ\n名義,めいぎ\n").unwrap();
        let m = s.matches(&normalize("ドコモの名義"));
        assert_eq!(m.iter().map(|m| (m.group, m.name)).collect::<Vec<_>>(), [(0, true), (1, false)]);
        assert!(Synonyms::parse("@ひとつ\n").is_err());
    }

    #[test]
    fn bad_lines_are_reported_with_numbers() {
        let err = Synonyms::parse("a,b\nひとつだけ\n\nx,x\n").unwrap_err();
        assert_eq!(
            err,
            vec![
                "line 2: a group needs at least two different terms",
                "line 4: a group needs at least two different terms"
            ]
        );
    }
}
