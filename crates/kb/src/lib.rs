//! Knowledge bases: FAQ entries in the database, searched through an in-memory
//! index that is rebuilt at start and updated on every edit (edits are searchable
//! at once). Search is lexical BM25 over Japanese-aware tokens ([`normalize`]) with
//! field boosts and a domain synonym dictionary applied at query time.
//!
//! Why tantivy: a well-kept, fast search library with BM25, field boosts and cheap
//! incremental updates; its tokenizer is bypassed (we index our own tokens) so no
//! dictionary is downloaded at build time. Morphological analysis (lindera et al.)
//! needs dictionaries fetched by build scripts, which this project cannot do.
//!
//! With an embeddings model ([`dense`]), entries are also embedded on write and a
//! search fuses the lexical ranking with the nearest vectors.

mod aspect;
pub mod dense;
pub mod eval;
pub mod import;
mod index;
mod intent;
pub mod metrics;
pub mod normalize;
pub mod pack;
mod query;
mod rank;
mod romaji;
pub mod shared;
mod synonyms;
mod vectors;

pub use dense::{DenseSettings, EmbedError, Embedder, Retrieval};
pub use import::{Format, RowError};
pub use index::{SearchIndex, BOOSTS};
pub use metrics::KbMetrics;
pub use shared::SharedCache;
pub use synonyms::Synonyms;

use lru::LruCache;
use normalize::normalize;
use rank::RERANK_DEPTH;
use rank::{calibrated, concepts_of, confidence, fold, highlights, subject_weights, token_set, Entries, Indexed};
use rank::{unknown_katakana, unknown_words};
use rank::{ASPECT_WEIGHT, BARE_TOPIC_FLOOR, BM25_SHARE, DEFINITION_WEIGHT, KANA_WORD_WEIGHT, NECESSITY_WEIGHT};
use serde::{Deserialize, Serialize};
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tenmon_store::{KbEntryRow, KnowledgeBaseRow, Store, StoreError, UnansweredRow};

/// The setting holding the synonym dictionary.
pub const SYNONYMS_SETTING: &str = "kb.synonyms";
const PACK_SEEDED_SETTING: &str = "kb.mnp_pack_seeded";
/// The most of a query that search reads (see [`KnowledgeBase::search`]).
const MAX_QUERY_CHARS: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum KbError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("invalid {field}: {message}")]
    Invalid { field: String, message: String },
    #[error("the import has {} problem(s)", .0.len())]
    Import(Vec<RowError>),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("search index: {0}")]
    Index(String),
    #[error("embeddings: {0}")]
    Embedding(#[from] EmbedError),
}

impl From<tantivy::TantivyError> for KbError {
    fn from(e: tantivy::TantivyError) -> Self {
        KbError::Index(e.to_string())
    }
}

/// Tunables.
#[derive(Debug, Clone)]
pub struct KbSettings {
    /// Below this confidence the best entry does not answer the question.
    pub min_confidence: f32,
    pub cache_ttl: Duration,
    pub cache_size: usize,
    /// Dense retrieval with an embeddings model; `None`: lexical only.
    pub dense: Option<DenseSettings>,
}

impl Default for KbSettings {
    fn default() -> Self {
        Self { min_confidence: 0.5, cache_ttl: Duration::from_secs(300), cache_size: 2048, dense: None }
    }
}

/// An entry as written by an admin or an import.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryInput {
    pub id: Option<String>,
    pub question: String,
    #[serde(default)]
    pub phrasings: Vec<String>,
    pub answer: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub category: String,
    pub source_url: Option<String>,
    pub question_en: Option<String>,
    pub answer_en: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl EntryInput {
    /// Every problem, as (field, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut p = Vec::new();
        let mut need = |field: &str, ok: bool, msg: &str| {
            if !ok {
                p.push((field.to_string(), msg.to_string()));
            }
        };
        if let Some(id) = &self.id {
            need("id", valid_id(id), "must be 1 to 64 of A-Z, a-z, 0-9, - and _");
        }
        need("question", !self.question.trim().is_empty(), "must not be empty");
        need("question", self.question.chars().count() <= 1000, "must be at most 1000 characters");
        need("answer", !self.answer.trim().is_empty(), "must not be empty");
        need("answer", self.answer.chars().count() <= 10_000, "must be at most 10000 characters");
        need(
            "phrasings",
            self.phrasings.len() <= 50
                && self.phrasings.iter().all(|s| !s.trim().is_empty() && s.chars().count() <= 1000),
            "at most 50, each 1 to 1000 characters",
        );
        need(
            "keywords",
            self.keywords.len() <= 50 && self.keywords.iter().all(|s| !s.trim().is_empty() && s.chars().count() <= 100),
            "at most 50, each 1 to 100 characters",
        );
        need("category", self.category.chars().count() <= 100, "must be at most 100 characters");
        if let Some(u) = &self.source_url {
            need("source_url", u.starts_with("https://") || u.starts_with("http://"), "must be an http(s) URL");
        }
        p
    }
}

/// One search result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchResult {
    pub id: String,
    pub kb: String,
    pub question: String,
    pub answer: String,
    pub category: String,
    /// Lexical: the re-ranking score. Hybrid: the reciprocal-rank-fusion score,
    /// 1.0 for an entry first in both rankings.
    pub score: f32,
    /// How well the entry answers the question, 0 to 1: how much of the question it
    /// covers, or (hybrid) what its cosine similarity stands for
    /// ([`DenseSettings::confidence`]), whichever is higher.
    pub confidence: f32,
    /// Parts of the question found in the entry.
    pub highlights: Vec<String>,
    pub question_en: Option<String>,
    pub answer_en: Option<String>,
    pub source_url: Option<String>,
}

/// Results and the time taken.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResponse {
    pub results: Vec<SearchResult>,
    pub took_ms: f64,
    /// Which retrieval ranked the results.
    pub retrieval: Retrieval,
}

/// Results as [`KnowledgeBase::search_shared`] returns them.
#[derive(Debug, Clone)]
pub struct SharedResults {
    pub results: Arc<Vec<SearchResult>>,
    pub took_ms: f64,
    pub retrieval: Retrieval,
}

type CacheKey = (String, Vec<String>, usize);
/// When cached, under which generation, and the results.
type Cached = (Instant, u64, Arc<Vec<SearchResult>>);

/// At most this many questions are remembered word for word (then all are forgotten).
const EXACT_MAX: usize = 1024;

/// Results remembered by the exact words asked, in front of the cache: a support
/// bot's traffic is mostly the same questions, and a repeat then skips normalising
/// the text and building the cache's key (a dozen allocations on every grounded
/// turn and `/v1` request). Found by a hash of the words, then compared in full.
struct Exact {
    at: Instant,
    generation: u64,
    query: Box<str>,
    kbs: Box<[String]>,
    limit: usize,
    results: Arc<Vec<SearchResult>>,
}

/// A search as asked, word for word, and the generation it is asked under: what the
/// exact front cache looks up and remembers.
struct Asked<'a> {
    hash: u64,
    query: &'a str,
    kbs: &'a [String],
    limit: usize,
    generation: u64,
}

struct Inner {
    store: Arc<dyn Store>,
    index: RwLock<SearchIndex>,
    /// Every entry (enabled or not), with what the re-ranking needs precomputed.
    entries: RwLock<Entries>,
    synonyms: RwLock<Synonyms>,
    cache: Mutex<LruCache<CacheKey, Cached>>,
    exact: Mutex<std::collections::HashMap<u64, Exact>>,
    exact_hasher: std::hash::RandomState,
    /// Bumped on every edit; cached results of an older generation are stale.
    generation: AtomicU64,
    settings: KbSettings,
    /// Told after every edit made here (other replicas learn of it through Redis).
    changed: tokio::sync::broadcast::Sender<()>,
    /// Dense retrieval, when an embeddings model is configured.
    dense: Option<vectors::Dense>,
    metrics: KbMetrics,
    /// The replicas' shared results cache (Redis), when there is one.
    shared: std::sync::OnceLock<Arc<dyn SharedCache>>,
    /// What the results depend on ([`shared::fingerprint`]): the shared cache's keys.
    fingerprint: AtomicU64,
}

/// The knowledge-base service. Cheap to clone.
#[derive(Clone)]
pub struct KnowledgeBase {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for KnowledgeBase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeBase").finish_non_exhaustive()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

fn lock_err<T>(_: T) -> KbError {
    KbError::Index("lock poisoned".into())
}

impl KnowledgeBase {
    /// Load entries and synonyms from the store, seeding the MNP pack on first start.
    pub async fn load(store: Arc<dyn Store>, settings: KbSettings) -> Result<Self, KbError> {
        if store.setting(PACK_SEEDED_SETTING).await?.is_none() {
            pack::seed(store.as_ref()).await?;
            store.put_setting(PACK_SEEDED_SETTING, "1", now_ms()).await?;
        }
        let synonyms = match store.setting(SYNONYMS_SETTING).await? {
            Some(text) => Synonyms::parse(&text).unwrap_or_else(|errors| {
                tracing::error!(?errors, "stored synonym dictionary is invalid; using none");
                Synonyms::default()
            }),
            None => Synonyms::default(),
        };
        let rows = store.kb_entries(None).await?;
        let mut index = SearchIndex::new()?;
        index.rebuild(rows.iter(), &|e| concepts_of(&synonyms, e))?;
        let hashed = settings.dense.is_some();
        let entries: Entries = rows.into_iter().map(|e| Indexed::new(e, &synonyms, hashed)).collect();
        let cache = LruCache::new(NonZeroUsize::new(settings.cache_size.max(1)).unwrap_or(NonZeroUsize::MIN));
        let dense = match &settings.dense {
            Some(d) => Some(vectors::Dense::load(store.as_ref(), d.clone()).await?),
            None => None,
        };
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                index: RwLock::new(index),
                entries: RwLock::new(entries),
                synonyms: RwLock::new(synonyms),
                cache: Mutex::new(cache),
                exact: Mutex::new(std::collections::HashMap::new()),
                exact_hasher: std::hash::RandomState::new(),
                generation: AtomicU64::new(0),
                settings,
                changed: tokio::sync::broadcast::channel(16).0,
                dense,
                metrics: KbMetrics::default(),
                shared: std::sync::OnceLock::new(),
                fingerprint: AtomicU64::new(0),
            }),
        })
    }

    /// Share search results with the other replicas through `cache` (set once).
    pub fn set_shared_cache(&self, cache: Arc<dyn SharedCache>) {
        let _ = self.inner.shared.set(cache);
        self.refresh_fingerprint();
    }

    /// Only the shared cache's keys use the fingerprint: without one, edits skip it.
    fn refresh_fingerprint(&self) {
        if self.inner.shared.get().is_none() {
            return;
        }
        let synonyms = self.synonyms_text();
        if let Ok(entries) = self.inner.entries.read() {
            let rows =
                entries.values().map(|e| (e.row.id.as_str(), e.row.kb_id.as_str(), e.row.version, e.row.enabled));
            self.inner.fingerprint.store(shared::fingerprint(rows, &synonyms), Ordering::SeqCst);
        }
    }

    /// The metrics, to register with the app's registry.
    pub fn metrics(&self) -> &KbMetrics {
        &self.inner.metrics
    }

    /// Edits made through this instance (not by [`Self::reload`]).
    pub fn changes(&self) -> tokio::sync::broadcast::Receiver<()> {
        self.inner.changed.subscribe()
    }

    fn edited(&self) {
        self.refresh_fingerprint();
        self.invalidate();
        let _ = self.inner.changed.send(());
    }

    /// Read every entry and the synonyms from the store again and rebuild the
    /// index: another replica changed the knowledge bases.
    pub async fn reload(&self) -> Result<usize, KbError> {
        let store = &self.inner.store;
        let synonyms = match store.setting(SYNONYMS_SETTING).await? {
            Some(text) => Synonyms::parse(&text).unwrap_or_default(),
            None => Synonyms::default(),
        };
        let rows = store.kb_entries(None).await?;
        let n = rows.len();
        let mut index = SearchIndex::new()?;
        index.rebuild(rows.iter(), &|e| concepts_of(&synonyms, e))?;
        let hashed = self.inner.dense.is_some();
        let entries: Entries = rows.into_iter().map(|e| Indexed::new(e, &synonyms, hashed)).collect();
        if let Some(d) = &self.inner.dense {
            d.reload(store.as_ref()).await?;
        }
        {
            let mut e = self.inner.entries.write().map_err(lock_err)?;
            let mut i = self.inner.index.write().map_err(lock_err)?;
            let mut s = self.inner.synonyms.write().map_err(lock_err)?;
            *e = entries;
            *i = index;
            *s = synonyms;
        }
        self.refresh_fingerprint();
        self.clear_cache();
        Ok(n)
    }

    pub fn settings(&self) -> &KbSettings {
        &self.inner.settings
    }

    fn invalidate(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Search `kbs` (all when empty) for the best `limit` entries: lexically, and
    /// with an embeddings model also by vector, fused. When the query cannot be
    /// embedded in time the results are lexical (and not cached).
    pub async fn search(&self, query: &str, kbs: &[String], limit: usize) -> Result<SearchResponse, KbError> {
        let shared = self.search_shared(query, kbs, limit).await?;
        Ok(SearchResponse {
            results: shared.results.as_ref().clone(),
            took_ms: shared.took_ms,
            retrieval: shared.retrieval,
        })
    }

    /// [`search`](Self::search), with the results as the cache holds them: shared,
    /// not copied (a result is a dozen strings, and grounding a turn searches on
    /// every message but uses at most three).
    pub async fn search_shared(&self, query: &str, kbs: &[String], limit: usize) -> Result<SharedResults, KbError> {
        let start = Instant::now();
        // A question is short; a pasted page (a chat message is up to 16,000
        // characters) is searched by its beginning, so that its cost stays bounded.
        let query = match query.char_indices().nth(MAX_QUERY_CHARS) {
            Some((cut, _)) => &query[..cut],
            None => query,
        };
        let limit = limit.clamp(1, 50);
        let gen = self.inner.generation.load(Ordering::SeqCst);
        let aim = dense::configured(&self.inner.settings);
        let hash = std::hash::BuildHasher::hash_one(&self.inner.exact_hasher, (query, kbs, limit));
        let asked = Asked { hash, query, kbs, limit, generation: gen };
        if let Some(results) = self.exact_hit(&asked) {
            self.inner.metrics.searches.get_or_create(&metrics::RetrievalLabel { retrieval: aim.as_str() }).inc();
            return Ok(SharedResults { results, took_ms: start.elapsed().as_secs_f64() * 1000.0, retrieval: aim });
        }
        let norm = normalize(query).split_whitespace().collect::<Vec<_>>().join(" ");
        let mut kbs = kbs.to_vec();
        kbs.sort();
        let key: CacheKey = (norm.clone(), kbs.clone(), limit);
        let cached = self.inner.cache.lock().ok().and_then(|mut cache| {
            let (at, g, hit) = cache.get(&key)?;
            (*g == gen && at.elapsed() < self.inner.settings.cache_ttl).then(|| hit.clone())
        });
        // Only hybrid results are shared: a lexical search costs about what a Redis
        // round trip does, an embedded one an upstream call.
        let shared = self.inner.shared.get().filter(|_| aim == Retrieval::Hybrid).map(|cache| {
            let fingerprint = self.inner.fingerprint.load(Ordering::SeqCst);
            (cache, shared::key(fingerprint, aim.as_str(), &norm, &kbs, limit))
        });
        let cached = match (cached, &shared) {
            (Some(hit), _) => Some(hit),
            (None, Some((cache, shared_key))) => {
                let hit =
                    cache.get(shared_key).await.and_then(|b| serde_json::from_slice::<Vec<SearchResult>>(&b).ok());
                let outcome = if hit.is_some() { "hit" } else { "miss" };
                self.inner.metrics.shared_cache.get_or_create(&metrics::OutcomeLabel { outcome }).inc();
                hit.map(|results| {
                    let results = Arc::new(results);
                    if let Ok(mut cache) = self.inner.cache.lock() {
                        cache.put(key.clone(), (Instant::now(), gen, results.clone()));
                    }
                    results
                })
            }
            (None, None) => None,
        };
        let (results, retrieval) = match cached {
            Some(hit) => {
                self.remember_exact(&asked, &hit);
                (hit, aim)
            }
            None => {
                let depth = limit.max(RERANK_DEPTH);
                let near = match &self.inner.dense {
                    Some(d) => self.dense_hits(d, query, &norm, &kbs, depth).await,
                    None => None,
                };
                let retrieval = if near.is_some() { Retrieval::Hybrid } else { Retrieval::Lexical };
                let results = Arc::new(self.search_uncached(query, &norm, &kbs, limit, near.as_deref())?);
                if retrieval == aim {
                    if let Ok(mut cache) = self.inner.cache.lock() {
                        cache.put(key, (Instant::now(), gen, results.clone()));
                    }
                    self.remember_exact(&asked, &results);
                    if let (Some((cache, shared_key)), Ok(bytes)) = (&shared, serde_json::to_vec(results.as_ref())) {
                        cache.put(shared_key, bytes, self.inner.settings.cache_ttl).await;
                    }
                }
                (results, retrieval)
            }
        };
        self.inner.metrics.searches.get_or_create(&metrics::RetrievalLabel { retrieval: retrieval.as_str() }).inc();
        Ok(SharedResults { results, took_ms: start.elapsed().as_secs_f64() * 1000.0, retrieval })
    }

    /// Results for exactly these words, if remembered and still current.
    fn exact_hit(&self, asked: &Asked) -> Option<Arc<Vec<SearchResult>>> {
        let exact = self.inner.exact.lock().ok()?;
        let e = exact.get(&asked.hash)?;
        let current = e.generation == asked.generation && e.at.elapsed() < self.inner.settings.cache_ttl;
        let same = e.limit == asked.limit && *e.query == *asked.query && *e.kbs == *asked.kbs;
        (current && same).then(|| e.results.clone())
    }

    fn remember_exact(&self, asked: &Asked, results: &Arc<Vec<SearchResult>>) {
        let Ok(mut exact) = self.inner.exact.lock() else { return };
        if exact.len() >= EXACT_MAX && !exact.contains_key(&asked.hash) {
            exact.clear();
        }
        let entry = Exact {
            at: Instant::now(),
            generation: asked.generation,
            query: asked.query.into(),
            kbs: asked.kbs.into(),
            limit: asked.limit,
            results: results.clone(),
        };
        exact.insert(asked.hash, entry);
    }

    /// The lexical ranking, fused with `near` (dense hits: entry id and cosine
    /// similarity, best first) when there is one.
    fn search_uncached(
        &self,
        query: &str,
        norm: &str,
        kbs: &[String],
        limit: usize,
        near: Option<&[(String, f32)]>,
    ) -> Result<Vec<SearchResult>, KbError> {
        let synonyms = self.inner.synonyms.read().map_err(lock_err)?;
        // A synonym group found in the query is one concept token, whose weight (IDF)
        // the index knows: "MNP" in an MNP knowledge base says little.
        let query::Analysed { tokens, text, terms, expansions, bare } = query::analyse(query, norm, &synonyms);
        let index = self.inner.index.read().map_err(lock_err)?;
        let hits = index.search(&terms, kbs, limit.max(RERANK_DEPTH))?;
        // Words no entry has count against every entry's confidence.
        // Four readers ask the index about the same tokens: each is looked up once.
        let seen = std::cell::RefCell::new(std::collections::HashMap::<String, u64>::new());
        let doc_freq = |t: &str| -> u64 {
            if let Some(n) = seen.borrow().get(t) {
                return *n;
            }
            let n = index.doc_freq(t);
            seen.borrow_mut().insert(t.to_string(), n);
            n
        };
        let knows = |t: &str| doc_freq(t) > 0;
        let mut unknown = unknown_words(&text, knows);
        unknown.extend(unknown_katakana(query, knows));
        let indexed: std::collections::HashSet<u64> =
            terms.iter().filter(|(t, _)| knows(t)).map(|(t, _)| rank::token_hash(t)).collect();
        let rare_pair = (index.len() / 20).max(3);
        let folded = fold(query);
        let kana_runs = rank::rare_kana_runs(&folded, |t| (1..=rare_pair).contains(&doc_freq(t)));
        drop(index);
        let unknown: Vec<bool> = tokens.iter().map(|t| unknown.contains(&t.text)).collect();
        let entries = self.inner.entries.read().map_err(lock_err)?;
        // Re-rank: BM25 finds candidates; the closest question wording decides among
        // them (FAQ questions are short, so near-ties between siblings are common).
        let best = hits.first().map(|h| h.score).unwrap_or(1.0).max(f32::EPSILON);
        let query_set = entries.weigh(&token_set(terms.iter().map(|(t, w)| (t.as_str(), *w))));
        // Wording similarity cannot see words that only answers have: a query whose
        // rare words are in an answer (an uploaded document's text) but in no
        // wording is ranked more by BM25, which sees the answers.
        let seen_by_wordings = 1.0 - entries.answer_only_share(&query_set, &indexed);
        let wording_share = (1.0 - BM25_SHARE) * seen_by_wordings;
        // The aspect asked ("無料？", "いつまで", "どこで") prefers the sibling asking it.
        let asked =
            aspect::aspects(query).union(if text != norm { aspect::aspects(&text) } else { Default::default() });
        // A definition question (in romaji too: "mnp tte nani") prefers the entry
        // defining exactly its subject; so does a bare topic, when an entry defines
        // nearly all of it.
        let subject = intent::definition_subject(query)
            .or_else(|| (text != norm).then(|| intent::definition_subject(&text)).flatten())
            .map(|s| (entries.weigh(&subject_weights(&s, &synonyms)), 0.0))
            .or_else(|| {
                // Not a topic with an aspect ("キャリアメール持ち運び 月額"): its sibling asking
                // that aspect answers it.
                (bare && asked.is_empty()).then(|| (entries.weigh(&subject_weights(norm, &synonyms)), BARE_TOPIC_FLOOR))
            });
        // A question whether something is needed prefers the entry asking that of
        // the same thing.
        let need = intent::necessity_subject(query).map(|s| entries.weigh(&subject_weights(&s, &synonyms)));
        // Confidence: the query's coverage by the entry, with its closest wording's
        // coverage by the query ([`calibrated`]).
        // An entry without phrasings (an uploaded document's chunk, titled by its
        // heading) is asked about its text, not its title: coverage alone.
        let lexical = |e: &Indexed| {
            let coverage = confidence(&tokens, &unknown, &expansions, &e.haystack);
            if e.row.phrasings.is_empty() {
                coverage
            } else {
                calibrated(coverage, entries.wording_recall(&query_set, e))
            }
        };
        let mut ranked: Vec<(f32, &Indexed)> = hits
            .iter()
            .filter_map(|h| entries.get(&h.id).map(|e| (h, e)))
            .map(|(h, e)| {
                let mut score =
                    (1.0 - wording_share) * h.score / best + wording_share * entries.similarity(&query_set, e);
                if let Some((s, floor)) = &subject {
                    score += DEFINITION_WEIGHT * ((entries.definition(s, e) - floor) / (1.0 - floor)).max(0.0);
                }
                if let Some(s) = &need {
                    score += NECESSITY_WEIGHT * entries.necessity(s, e);
                }
                // The aspect is read from wordings too: it speaks as much as they do.
                score += ASPECT_WEIGHT * seen_by_wordings * e.aspect_agreement(asked);
                // A rare kana word of the query, whole in the entry's question or answer
                // (a name in a document; phrasings' kana spellings of kanji words are
                // not names).
                if kana_runs.iter().any(|r| e.folded.contains(r.as_str())) {
                    score += KANA_WORD_WEIGHT;
                }
                (score, e)
            })
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        // (score, entry, confidence)
        let fused: Vec<(f32, &Indexed, f32)> = match (near, &self.inner.dense) {
            (Some(near), Some(d)) => d.fuse(&ranked, near, &entries, kbs, limit, &lexical),
            _ => ranked.into_iter().take(limit).map(|(score, e)| (score, e, lexical(e))).collect(),
        };
        // Highlights only for what is returned.
        let folded_query: Vec<char> = folded.chars().collect();
        Ok(fused
            .into_iter()
            .map(|(score, d, confidence)| {
                let e = &d.row;
                SearchResult {
                    id: e.id.clone(),
                    kb: e.kb_id.clone(),
                    question: e.question.clone(),
                    answer: e.answer.clone(),
                    category: e.category.clone(),
                    score: (score * 1000.0).round() / 1000.0,
                    confidence,
                    highlights: highlights(&folded_query, &d.folded),
                    question_en: e.question_en.clone(),
                    answer_en: e.answer_en.clone(),
                    source_url: e.source_url.clone(),
                }
            })
            .collect())
    }

    /// All knowledge bases.
    pub async fn bases(&self) -> Result<Vec<KnowledgeBaseRow>, KbError> {
        Ok(self.inner.store.kb_bases().await?)
    }

    /// Create or rename a knowledge base.
    pub async fn put_base(&self, id: &str, name: &str, description: &str) -> Result<KnowledgeBaseRow, KbError> {
        if !valid_id(id) {
            return Err(KbError::Invalid {
                field: "id".into(),
                message: "must be 1 to 64 of A-Z, a-z, 0-9, - and _".into(),
            });
        }
        if name.trim().is_empty() || name.chars().count() > 200 {
            return Err(KbError::Invalid { field: "name".into(), message: "must be 1 to 200 characters".into() });
        }
        let now = now_ms();
        let existing = self.bases().await?.into_iter().find(|b| b.id == id);
        let row = KnowledgeBaseRow {
            id: id.into(),
            name: name.trim().into(),
            description: description.into(),
            created_at_ms: existing.map(|b| b.created_at_ms).unwrap_or(now),
            updated_at_ms: now,
        };
        self.inner.store.kb_put_base(&row).await?;
        Ok(row)
    }

    /// Delete a knowledge base with its entries.
    pub async fn delete_base(&self, id: &str) -> Result<(), KbError> {
        let ids: Vec<String> = self.inner.store.kb_entries(Some(id)).await?.into_iter().map(|e| e.id).collect();
        if !self.inner.store.kb_delete_base(id).await? {
            return Err(KbError::NotFound("knowledge base"));
        }
        self.inner.index.write().map_err(lock_err)?.delete(&ids)?;
        let mut entries = self.inner.entries.write().map_err(lock_err)?;
        for i in &ids {
            entries.remove(i);
        }
        drop(entries);
        if let Some(d) = &self.inner.dense {
            d.forget(&ids);
        }
        self.edited();
        Ok(())
    }

    async fn require_base(&self, kb: &str) -> Result<(), KbError> {
        if self.bases().await?.iter().any(|b| b.id == kb) {
            Ok(())
        } else {
            Err(KbError::NotFound("knowledge base"))
        }
    }

    /// Entries of a knowledge base.
    pub async fn entries(&self, kb: &str) -> Result<Vec<KbEntryRow>, KbError> {
        self.require_base(kb).await?;
        Ok(self.inner.store.kb_entries(Some(kb)).await?)
    }

    pub fn entry(&self, id: &str) -> Option<Arc<KbEntryRow>> {
        self.inner.entries.read().ok()?.get(id).map(|d| d.row.clone())
    }

    fn to_row(&self, kb: &str, input: EntryInput, now: i64) -> KbEntryRow {
        let id = input.id.clone().unwrap_or_else(|| format!("{kb}-{}", uuid_like(now)));
        let previous = self.entry(&id);
        let clean = |v: Vec<String>| v.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
        KbEntryRow {
            id,
            kb_id: kb.into(),
            question: input.question.trim().into(),
            phrasings: clean(input.phrasings),
            answer: input.answer.trim().into(),
            keywords: clean(input.keywords),
            category: input.category.trim().into(),
            source_url: input.source_url.filter(|s| !s.trim().is_empty()),
            question_en: input.question_en.filter(|s| !s.trim().is_empty()),
            answer_en: input.answer_en.filter(|s| !s.trim().is_empty()),
            enabled: input.enabled,
            version: previous.as_ref().map(|p| p.version + 1).unwrap_or(1),
            created_at_ms: previous.as_ref().map(|p| p.created_at_ms).unwrap_or(now),
            updated_at_ms: now,
        }
    }

    /// Save, index, then (with embeddings) embed: lexical search sees the rows at
    /// once, dense search when their vectors are stored. An embedding failure never
    /// fails the write; the backfill retries.
    async fn write(&self, rows: Vec<KbEntryRow>) -> Result<(), KbError> {
        self.inner.store.kb_put_entries(&rows).await?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        {
            let hashed = self.inner.dense.is_some();
            let synonyms = self.inner.synonyms.read().map_err(lock_err)?;
            self.inner.index.write().map_err(lock_err)?.upsert(&rows, &|e| concepts_of(&synonyms, e))?;
            let mut entries = self.inner.entries.write().map_err(lock_err)?;
            for r in rows {
                entries.insert(Indexed::new(r, &synonyms, hashed));
            }
        }
        self.edited();
        if let Some(d) = &self.inner.dense {
            self.embed_written(d, &ids).await;
        }
        Ok(())
    }

    /// Create or update one entry; searchable on return.
    pub async fn put_entry(&self, kb: &str, input: EntryInput) -> Result<KbEntryRow, KbError> {
        self.require_base(kb).await?;
        if let Some((field, message)) = input.problems().into_iter().next() {
            return Err(KbError::Invalid { field, message });
        }
        if let Some(prev) = input.id.as_deref().and_then(|id| self.entry(id)) {
            if prev.kb_id != kb {
                return Err(KbError::Invalid {
                    field: "id".into(),
                    message: "belongs to another knowledge base".into(),
                });
            }
        }
        let row = self.to_row(kb, input, now_ms());
        self.write(vec![row.clone()]).await?;
        Ok(row)
    }

    /// Several entries at once (a document's chunks): all valid and written in one
    /// go, or none; searchable on return.
    pub async fn put_entries(&self, kb: &str, inputs: Vec<EntryInput>) -> Result<Vec<KbEntryRow>, KbError> {
        self.require_base(kb).await?;
        for input in &inputs {
            if let Some((field, message)) = input.problems().into_iter().next() {
                return Err(KbError::Invalid { field, message });
            }
        }
        let now = now_ms();
        let rows: Vec<KbEntryRow> = inputs.into_iter().map(|i| self.to_row(kb, i, now)).collect();
        self.write(rows.clone()).await?;
        Ok(rows)
    }

    /// Enable or disable an entry.
    pub async fn set_enabled(&self, id: &str, enabled: bool) -> Result<KbEntryRow, KbError> {
        let mut row = self.entry(id).ok_or(KbError::NotFound("entry"))?.as_ref().clone();
        row.enabled = enabled;
        row.version += 1;
        row.updated_at_ms = now_ms();
        self.write(vec![row.clone()]).await?;
        Ok(row)
    }

    pub async fn delete_entry(&self, id: &str) -> Result<(), KbError> {
        if !self.inner.store.kb_delete_entry(id).await? {
            return Err(KbError::NotFound("entry"));
        }
        self.inner.index.write().map_err(lock_err)?.delete(&[id.to_string()])?;
        self.inner.entries.write().map_err(lock_err)?.remove(id);
        if let Some(d) = &self.inner.dense {
            d.forget(&[id.to_string()]);
        }
        self.edited();
        Ok(())
    }

    /// Import a file into `kb`: all rows or none. Returns (created, updated).
    pub async fn import(&self, kb: &str, bytes: &[u8], format: Format) -> Result<(usize, usize), KbError> {
        self.require_base(kb).await?;
        let (inputs, mut errors) = import::parse_all(bytes, format);
        let mut seen = std::collections::HashSet::new();
        for (line, input) in &inputs {
            for (field, message) in input.problems() {
                errors.push(RowError { line: *line, message: format!("{field}: {message}") });
            }
            if let Some(id) = &input.id {
                if !seen.insert(id.clone()) {
                    errors.push(RowError { line: *line, message: format!("id: {id} appears twice in the file") });
                }
                if let Some(prev) = self.entry(id) {
                    if prev.kb_id != kb {
                        errors.push(RowError {
                            line: *line,
                            message: format!("id: {id} belongs to knowledge base {}", prev.kb_id),
                        });
                    }
                }
            }
        }
        if inputs.is_empty() && errors.is_empty() {
            errors.push(RowError { line: 1, message: "the file has no entries".into() });
        }
        if !errors.is_empty() {
            errors.sort_by_key(|e| e.line);
            return Err(KbError::Import(errors));
        }
        let now = now_ms();
        let mut created = 0;
        let rows: Vec<KbEntryRow> = inputs
            .into_iter()
            .enumerate()
            .map(|(i, (_, input))| {
                if input.id.as_deref().and_then(|id| self.entry(id)).is_none() {
                    created += 1;
                }
                self.to_row(kb, input, now + i as i64)
            })
            .collect();
        let total = rows.len();
        self.write(rows).await?;
        Ok((created, total - created))
    }

    /// Export a knowledge base.
    pub async fn export(&self, kb: &str, format: Format) -> Result<Vec<u8>, KbError> {
        let rows = self.entries(kb).await?;
        Ok(import::write(&rows, format))
    }

    /// The synonym dictionary's text.
    pub fn synonyms_text(&self) -> String {
        self.inner.synonyms.read().map(|s| s.source.clone()).unwrap_or_default()
    }

    /// Replace the synonym dictionary; errors list line numbers.
    pub async fn put_synonyms(&self, text: &str) -> Result<usize, KbError> {
        let parsed = Synonyms::parse(text).map_err(|errs| {
            KbError::Import(
                errs.into_iter()
                    .map(|m| RowError {
                        line: m.split(':').next().and_then(|l| l.trim_start_matches("line ").parse().ok()).unwrap_or(0),
                        message: m,
                    })
                    .collect(),
            )
        })?;
        self.inner.store.put_setting(SYNONYMS_SETTING, text, now_ms()).await?;
        let n = parsed.len();
        // Concept tokens depend on the groups: re-index.
        {
            let mut entries = self.inner.entries.write().map_err(lock_err)?;
            let mut index = self.inner.index.write().map_err(lock_err)?;
            index.rebuild(entries.values().map(|d| d.row.as_ref()), &|e| concepts_of(&parsed, e))?;
            let hashed = self.inner.dense.is_some();
            *entries = entries.values().map(|d| Indexed::new(d.row.as_ref().clone(), &parsed, hashed)).collect();
        }
        *self.inner.synonyms.write().map_err(lock_err)? = parsed;
        self.edited();
        Ok(n)
    }

    /// The key an unanswered question is counted under (so erasure can find it).
    pub fn unanswered_key(question: &str) -> String {
        let norm = normalize(question).split_whitespace().collect::<Vec<_>>().join(" ");
        norm.chars().take(500).collect()
    }

    /// Forget every cached search (their keys are what people typed): erasure and
    /// retention call this.
    pub fn clear_cache(&self) {
        self.invalidate();
        if let Ok(mut cache) = self.inner.cache.lock() {
            cache.clear();
        }
        if let Some(d) = &self.inner.dense {
            d.clear_queries();
        }
    }

    /// Count a question an assistant could not answer.
    pub async fn record_unanswered(&self, assistant: &str, question: &str) -> Result<(), KbError> {
        let key = Self::unanswered_key(question);
        let sample: String = question.trim().chars().take(500).collect();
        Ok(self.inner.store.record_unanswered(assistant, &key, &sample, now_ms()).await?)
    }

    pub async fn unanswered(&self, limit: u32) -> Result<Vec<UnansweredRow>, KbError> {
        Ok(self.inner.store.unanswered(limit).await?)
    }

    fn entry_count(&self) -> usize {
        self.inner.entries.read().map(|e| e.len()).unwrap_or(0)
    }

    /// Indexed (enabled) entries.
    pub fn indexed(&self) -> u64 {
        self.inner.index.read().map(|i| i.len()).unwrap_or(0)
    }
}
/// A time-ordered id suffix (entry ids are readable, not secret).
fn uuid_like(now: i64) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    format!("{:x}{:04x}", now, COUNTER.fetch_add(1, Ordering::Relaxed) & 0xffff)
}
