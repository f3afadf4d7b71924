//! The search index (tantivy, in memory): BM25 over pre-tokenised fields, with field
//! boosts (question and phrasings over keywords over answer). Tokens come from
//! [`crate::normalize`], so the index only splits on spaces.

use crate::normalize::index_text;
use std::collections::HashMap;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use tenmon_store::KbEntryRow;

/// Field boosts. `concepts` holds one token per synonym group found in the entry.
pub const BOOSTS: [(&str, f32); 6] =
    [("question", 3.0), ("phrasings", 3.0), ("keywords", 2.0), ("answer", 0.5), ("english", 1.5), ("concepts", 2.0)];

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    kb: Field,
    text: [Field; 6],
}

/// Most query tokens sent to the index.
const MAX_QUERY_TERMS: usize = 24;

/// A concept token: `c` and the group's number.
fn is_concept(token: &str) -> bool {
    token.strip_prefix('c').is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The in-memory index of the enabled entries.
pub struct SearchIndex {
    fields: Fields,
    writer: IndexWriter,
    reader: IndexReader,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex").finish_non_exhaustive()
    }
}

/// What the index says about one entry.
#[derive(Debug, Clone)]
pub struct Hit {
    pub id: String,
    pub score: f32,
}

fn entry_texts(e: &KbEntryRow, concepts: String) -> [String; 6] {
    let english = format!("{} {}", e.question_en.as_deref().unwrap_or(""), e.answer_en.as_deref().unwrap_or(""));
    [
        index_text(&e.question),
        index_text(&e.phrasings.join("\n")),
        index_text(&e.keywords.join("\n")),
        index_text(&e.answer),
        index_text(&english),
        concepts,
    ]
}

impl SearchIndex {
    pub fn new() -> tantivy::Result<Self> {
        let mut sb = Schema::builder();
        let id = sb.add_text_field("id", STRING | STORED);
        let kb = sb.add_text_field("kb", STRING);
        let opts = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default().set_tokenizer("whitespace").set_index_option(IndexRecordOption::WithFreqs),
        );
        let text = BOOSTS.map(|(name, _)| sb.add_text_field(name, opts.clone()));
        let index = Index::create_in_ram(sb.build());
        let writer = index.writer_with_num_threads(1, 50_000_000)?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(Self { fields: Fields { id, kb, text }, writer, reader })
    }

    /// Replace the whole index; `concepts` gives each entry's concept tokens.
    pub fn rebuild<'a>(
        &mut self,
        entries: impl Iterator<Item = &'a KbEntryRow>,
        concepts: &dyn Fn(&KbEntryRow) -> String,
    ) -> tantivy::Result<()> {
        self.writer.delete_all_documents()?;
        for e in entries.filter(|e| e.enabled) {
            self.add(e, concepts(e))?;
        }
        self.commit()
    }

    fn add(&mut self, e: &KbEntryRow, concepts: String) -> tantivy::Result<()> {
        let f = self.fields;
        let [q, p, k, a, en, c] = entry_texts(e, concepts);
        self.writer.add_document(doc!(
            f.id => e.id.as_str(), f.kb => e.kb_id.as_str(),
            f.text[0] => q, f.text[1] => p, f.text[2] => k, f.text[3] => a, f.text[4] => en, f.text[5] => c,
        ))?;
        Ok(())
    }

    /// Add or replace entries (disabled ones are removed), searchable on return.
    pub fn upsert(&mut self, entries: &[KbEntryRow], concepts: &dyn Fn(&KbEntryRow) -> String) -> tantivy::Result<()> {
        for e in entries {
            self.writer.delete_term(Term::from_field_text(self.fields.id, &e.id));
            if e.enabled {
                self.add(e, concepts(e))?;
            }
        }
        self.commit()
    }

    pub fn delete(&mut self, ids: &[String]) -> tantivy::Result<()> {
        for id in ids {
            self.writer.delete_term(Term::from_field_text(self.fields.id, id));
        }
        self.commit()
    }

    fn commit(&mut self) -> tantivy::Result<()> {
        self.writer.commit()?;
        self.reader.reload()
    }

    /// Best entries for weighted query tokens, within `kbs` (all when empty).
    pub fn search(&self, terms: &HashMap<String, f32>, kbs: &[String], limit: usize) -> tantivy::Result<Vec<Hit>> {
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        // A long question has dozens of tokens, most of them particles and endings
        // that weigh little: only the heaviest go to the index (the re-ranking still
        // sees them all), which keeps long questions as fast as short ones.
        let mut heaviest: Vec<(&String, f32)> = terms.iter().map(|(t, w)| (t, *w)).collect();
        if heaviest.len() > MAX_QUERY_TERMS {
            heaviest.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
            heaviest.truncate(MAX_QUERY_TERMS);
        }
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(heaviest.len() * BOOSTS.len());
        for (text, weight) in heaviest {
            // Words are never in the concepts field (which holds only `c<group>`).
            let concept = is_concept(text);
            for (field, (name, boost)) in self.fields.text.iter().zip(BOOSTS) {
                if name == "concepts" && !concept {
                    continue;
                }
                let q = TermQuery::new(Term::from_field_text(*field, text), IndexRecordOption::WithFreqs);
                should.push((Occur::Should, Box::new(BoostQuery::new(Box::new(q), boost * weight))));
            }
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, Box::new(BooleanQuery::new(should)))];
        if !kbs.is_empty() {
            let kb_any: Vec<(Occur, Box<dyn Query>)> = kbs
                .iter()
                .map(|kb| {
                    (
                        Occur::Should,
                        Box::new(TermQuery::new(Term::from_field_text(self.fields.kb, kb), IndexRecordOption::Basic))
                            as Box<dyn Query>,
                    )
                })
                .collect();
            clauses.push((Occur::Must, Box::new(BooleanQuery::new(kb_any))));
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher.search(&query, &TopDocs::with_limit(limit))?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            if let Some(id) = doc.get_first(self.fields.id).and_then(|v| v.as_str()) {
                hits.push(Hit { id: id.to_string(), score });
            }
        }
        Ok(hits)
    }

    /// Whether any indexed entry has the token, in any field.
    pub fn knows(&self, token: &str) -> bool {
        let searcher = self.reader.searcher();
        self.fields.text[..BOOSTS.len() - 1]
            .iter()
            .any(|f| searcher.doc_freq(&Term::from_field_text(*f, token)).is_ok_and(|n| n > 0))
    }

    /// In how many indexed entries the token occurs, in the field that has it most.
    pub fn doc_freq(&self, token: &str) -> u64 {
        let searcher = self.reader.searcher();
        self.fields.text[..BOOSTS.len() - 1]
            .iter()
            .filter_map(|f| searcher.doc_freq(&Term::from_field_text(*f, token)).ok())
            .max()
            .unwrap_or(0)
    }

    /// Indexed documents.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
