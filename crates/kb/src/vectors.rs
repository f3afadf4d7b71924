//! The knowledge base's vectors: what is stored for each entry, embedding on
//! write and in the backfill, and the entries nearest to a query (in the database
//! with pgvector, else by a scan here). The pure parts are in [`crate::dense`].

use crate::dense::{entry_text, nearest, normalized, rrf, DenseSettings, EmbedError, RRF_K};
use crate::{lock_err, now_ms, Indexed, KbError, KnowledgeBase};
use lru::LruCache;
use std::collections::{HashMap, HashSet};
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tenmon_store::{KbVectorRow, Store};

/// What is stored for one entry.
#[derive(Debug, Clone)]
struct Stored {
    hash: String,
    /// Kept only when the database cannot search vectors itself.
    vector: Option<Arc<[f32]>>,
}

/// Query vectors kept, by normalised query.
const QUERY_CACHE: usize = 1024;

/// The dense side of a knowledge base.
pub(crate) struct Dense {
    pub settings: DenseSettings,
    /// The database searches vectors itself (pgvector); otherwise they are kept
    /// here and searched by a scan.
    native: bool,
    /// By entry id.
    stored: RwLock<HashMap<String, Stored>>,
    queries: Mutex<LruCache<String, Arc<[f32]>>>,
    /// Wakes the backfill (an edit left entries without vectors).
    wake: tokio::sync::Notify,
    /// One embedding batch at a time (writes and the backfill), so a slow batch
    /// of old text cannot land after a newer edit's vector unnoticed.
    turn: tokio::sync::Mutex<()>,
}

impl Dense {
    pub(crate) async fn load(store: &dyn Store, settings: DenseSettings) -> Result<Self, KbError> {
        let model = settings.embedder.model().to_string();
        let native = store.kb_nearest(&model, &[], &[], 0).await?.is_some();
        let stored = read_stored(store, &model, native).await?;
        tracing::info!(model = %model, native, vectors = stored.len(), "dense retrieval is on");
        Ok(Self {
            settings,
            native,
            stored: RwLock::new(stored),
            queries: Mutex::new(LruCache::new(NonZeroUsize::new(QUERY_CACHE).unwrap_or(NonZeroUsize::MIN))),
            wake: tokio::sync::Notify::new(),
            turn: tokio::sync::Mutex::new(()),
        })
    }

    /// Read what is stored again (another replica changed it).
    pub(crate) async fn reload(&self, store: &dyn Store) -> Result<(), KbError> {
        let stored = read_stored(store, self.model(), self.native).await?;
        *self.stored.write().map_err(lock_err)? = stored;
        Ok(())
    }

    fn model(&self) -> &str {
        self.settings.embedder.model()
    }

    /// The entries are gone (their vectors went with them in the database).
    pub(crate) fn forget(&self, ids: &[String]) {
        if let Ok(mut s) = self.stored.write() {
            for id in ids {
                s.remove(id);
            }
        }
    }

    fn remember(&self, rows: &[KbVectorRow]) {
        if let Ok(mut s) = self.stored.write() {
            for r in rows {
                let vector = (!self.native).then(|| Arc::from(r.vector.as_slice()));
                s.insert(r.entry_id.clone(), Stored { hash: r.content_hash.clone(), vector });
            }
        }
    }

    /// Fuse the lexical ranking (best first) with the dense hits (id, similarity,
    /// best first) by RRF: the best `limit` as (score, entry, confidence), where
    /// confidence is the higher of the lexical one and the similarity's. Dense hits
    /// count only when enabled, in `kbs`, and above the similarity floor. Equal
    /// scores (first in one ranking each) go to the more confident entry.
    pub(crate) fn fuse<'a>(
        &self,
        ranked: &[(f32, &'a Indexed)],
        near: &[(String, f32)],
        entries: &'a HashMap<String, Indexed>,
        kbs: &[String],
        limit: usize,
        lexical: &dyn Fn(&Indexed) -> f32,
    ) -> Vec<(f32, &'a Indexed, f32)> {
        let near: Vec<(&Indexed, f32)> = near
            .iter()
            .filter(|(_, sim)| *sim > self.settings.similarity_floor)
            .filter_map(|(id, sim)| entries.get(id).map(|e| (e, *sim)))
            .filter(|(e, _)| e.row.enabled && (kbs.is_empty() || kbs.contains(&e.row.kb_id)))
            .collect();
        let similarity: HashMap<&str, f32> = near.iter().map(|(e, s)| (e.row.id.as_str(), *s)).collect();
        let lists = [
            ranked.iter().map(|(_, e)| e.row.id.as_str()).collect(),
            near.iter().map(|(e, _)| e.row.id.as_str()).collect(),
        ];
        let mut fused: Vec<(f32, &Indexed, f32)> = rrf(&lists, RRF_K)
            .into_iter()
            .filter_map(|(id, score)| {
                let e = entries.get(id)?;
                let dense = similarity.get(id).map(|s| self.settings.confidence(*s)).unwrap_or(0.0);
                Some((score, e, lexical(e).max(dense)))
            })
            .collect();
        // Stable: full ties keep RRF's order.
        fused.sort_by(|a, b| b.0.total_cmp(&a.0).then(b.2.total_cmp(&a.2)));
        fused.truncate(limit);
        fused
    }

    /// Forget the query vectors (their keys are what people typed).
    pub(crate) fn clear_queries(&self) {
        if let Ok(mut q) = self.queries.lock() {
            q.clear();
        }
    }
}

async fn read_stored(store: &dyn Store, model: &str, native: bool) -> Result<HashMap<String, Stored>, KbError> {
    Ok(store
        .kb_vectors(model, !native)
        .await?
        .into_iter()
        .map(|r| {
            let vector = (!native).then(|| Arc::from(r.vector.as_slice()));
            (r.entry_id, Stored { hash: r.content_hash, vector })
        })
        .collect())
}

/// An entry to embed: id, text, hash of the text.
type Pending = (String, String, String);

impl KnowledgeBase {
    /// Call the embedder, timed and counted; `timeout` bounds the call (else the
    /// client's own timeouts do).
    async fn embed_timed(
        &self,
        d: &Dense,
        texts: &[String],
        purpose: &'static str,
        timeout: Option<Duration>,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let start = Instant::now();
        let call = d.settings.embedder.embed(texts);
        let res = match timeout {
            Some(t) => tokio::time::timeout(t, call)
                .await
                .unwrap_or_else(|_| Err(EmbedError::new("timeout", format!("no answer within {t:?}")))),
            None => call.await,
        };
        let res = res.and_then(|v| {
            if v.len() == texts.len() {
                Ok(v)
            } else {
                Err(EmbedError::new("protocol", format!("{} vectors for {} texts", v.len(), texts.len())))
            }
        });
        let m = &self.inner.metrics;
        m.embedding_duration
            .get_or_create(&crate::metrics::PurposeLabel { purpose })
            .observe(start.elapsed().as_secs_f64());
        let outcome = match &res {
            Ok(_) => "ok",
            Err(e) => e.kind,
        };
        m.embedding_requests.get_or_create(&crate::metrics::EmbeddingLabels { purpose, outcome }).inc();
        res
    }

    /// The query's vector: from the cache, or from the model within the query timeout.
    async fn query_vector(&self, d: &Dense, query: &str, norm: &str) -> Result<Arc<[f32]>, EmbedError> {
        if let Some(v) = d.queries.lock().ok().and_then(|mut c| c.get(norm).cloned()) {
            return Ok(v);
        }
        let mut v = self.embed_timed(d, &[query.trim().to_string()], "query", Some(d.settings.query_timeout)).await?;
        let v: Arc<[f32]> =
            v.pop().and_then(normalized).ok_or_else(|| EmbedError::new("protocol", "an empty or zero vector"))?.into();
        if let Ok(mut c) = d.queries.lock() {
            c.put(norm.to_string(), v.clone());
        }
        Ok(v)
    }

    /// The entries nearest to the query (id, cosine similarity), best first, at
    /// most `depth`, all with a current vector; `None` when the query could not be
    /// embedded or searched (logged and counted: the search goes on lexically).
    pub(crate) async fn dense_hits(
        &self,
        d: &Dense,
        query: &str,
        norm: &str,
        kbs: &[String],
        depth: usize,
    ) -> Option<Vec<(String, f32)>> {
        let q = match self.query_vector(d, query, norm).await {
            Ok(q) => q,
            Err(e) => {
                tracing::warn!(kind = e.kind, error = %e, "cannot embed the query: searching lexically");
                return None;
            }
        };
        let found = if d.native {
            // Room for hits whose vector turns out to be stale.
            match self.inner.store.kb_nearest(d.model(), &q, kbs, depth * 2).await {
                Ok(Some(found)) => found,
                Ok(None) => {
                    tracing::warn!("the database no longer searches vectors: searching lexically");
                    return None;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "vector search failed: searching lexically");
                    return None;
                }
            }
        } else {
            Vec::new()
        };
        let entries = self.inner.entries.read().ok()?;
        let stored = d.stored.read().ok()?;
        // The vector must be of the entry's current text.
        let current = |id: &str| match (entries.get(id), stored.get(id)) {
            (Some(e), Some(s)) => e.hash.as_deref() == Some(s.hash.as_str()),
            _ => false,
        };
        if d.native {
            return Some(found.into_iter().filter(|(id, _)| current(id)).take(depth).collect());
        }
        let candidates = stored.iter().filter_map(|(id, s)| {
            let e = entries.get(id)?;
            let wanted = e.row.enabled && (kbs.is_empty() || kbs.contains(&e.row.kb_id));
            (wanted && e.hash.as_deref() == Some(s.hash.as_str())).then_some((id.as_str(), s.vector.as_deref()?))
        });
        Some(nearest(&q, candidates, depth))
    }

    /// After an edit: embed its entries now (a few) or wake the backfill (many, or
    /// when the model fails or is slow).
    pub(crate) async fn embed_written(&self, d: &Dense, ids: &[String]) {
        if ids.len() > d.settings.batch {
            d.wake.notify_one();
            return;
        }
        match tokio::time::timeout(d.settings.write_timeout, self.embed_entries(d, Some(ids))).await {
            Ok(Ok(0)) => {}
            // Other replicas read the new vectors.
            Ok(Ok(_)) => self.edited(),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot embed the edited entries now; the backfill will");
                d.wake.notify_one();
            }
            Err(_) => {
                tracing::warn!("embedding the edited entries takes too long; the backfill will finish it");
                d.wake.notify_one();
            }
        }
    }

    /// Up to a batch of entries (of `only`, or all) whose vector is missing or of
    /// other text, not in `tried`.
    fn pending(&self, d: &Dense, only: Option<&[String]>, tried: &HashSet<String>) -> Result<Vec<Pending>, KbError> {
        let entries = self.inner.entries.read().map_err(lock_err)?;
        let stored = d.stored.read().map_err(lock_err)?;
        let pick = |e: &Indexed| -> Option<Pending> {
            let hash = e.hash.clone()?;
            let current = stored.get(&e.row.id).is_some_and(|s| s.hash == hash);
            (!current && !tried.contains(&e.row.id)).then(|| (e.row.id.clone(), entry_text(&e.row), hash))
        };
        let batch = d.settings.batch.max(1);
        Ok(match only {
            Some(ids) => ids.iter().filter_map(|id| entries.get(id)).filter_map(pick).take(batch).collect(),
            None => entries.values().filter_map(pick).take(batch).collect(),
        })
    }

    /// Embed and store the vectors of entries that need one, a batch at a time.
    /// Returns how many were stored.
    async fn embed_entries(&self, d: &Dense, only: Option<&[String]>) -> Result<usize, KbError> {
        let mut tried = HashSet::new();
        let mut stored = 0;
        loop {
            let _turn = d.turn.lock().await;
            let batch = self.pending(d, only, &tried)?;
            if batch.is_empty() {
                return Ok(stored);
            }
            tried.extend(batch.iter().map(|p| p.0.clone()));
            let texts: Vec<String> = batch.iter().map(|p| p.1.clone()).collect();
            let vectors = self.embed_timed(d, &texts, "entries", None).await?;
            let now = now_ms();
            let rows: Vec<KbVectorRow> = batch
                .into_iter()
                .zip(vectors)
                .filter_map(|((id, _, hash), v)| match normalized(v) {
                    Some(vector) => Some(KbVectorRow {
                        entry_id: id,
                        model: d.model().into(),
                        content_hash: hash,
                        vector,
                        updated_at_ms: now,
                    }),
                    None => {
                        tracing::warn!(entry = %id, "the embeddings model returned an unusable vector");
                        None
                    }
                })
                .collect();
            if rows.is_empty() {
                continue;
            }
            self.inner.store.kb_put_vectors(&rows).await?;
            d.remember(&rows);
            // Cached results predate these vectors.
            self.invalidate();
            stored += rows.len();
        }
    }

    /// Embed every entry whose vector is missing or stale (and drop vectors whose
    /// entry is gone). Returns how many were embedded. Without embeddings, 0.
    pub async fn backfill(&self) -> Result<usize, KbError> {
        let Some(d) = &self.inner.dense else { return Ok(0) };
        let unknown: Vec<String> = {
            let entries = self.inner.entries.read().map_err(lock_err)?;
            let stored = d.stored.read().map_err(lock_err)?;
            stored.keys().filter(|id| !entries.contains_key(*id)).cloned().collect()
        };
        // Gone from the database too, not just unknown here yet (an entry another
        // replica added between our reading entries and vectors).
        let mut orphans = Vec::new();
        for id in unknown {
            if self.inner.store.kb_entry(&id).await?.is_none() {
                orphans.push(id);
            }
        }
        if !orphans.is_empty() {
            self.inner.store.kb_delete_vectors(&orphans).await?;
            d.forget(&orphans);
        }
        self.embed_entries(d, None).await
    }

    /// Keep the vectors current until `stop`: a backfill now, whenever an edit
    /// could not embed its entries, and every `every` (a model that was down).
    /// Returns at once without embeddings. Run it on a tracked task.
    pub async fn keep_vectors_fresh(&self, every: Duration, stop: impl std::future::Future<Output = ()>) {
        let Some(d) = &self.inner.dense else { return };
        tokio::pin!(stop);
        loop {
            match self.backfill().await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(entries = n, "embedded knowledge-base entries");
                    self.edited();
                }
                Err(e) => tracing::warn!(error = %e, "cannot embed every knowledge-base entry yet; trying again later"),
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = d.wake.notified() => {}
                _ = tokio::time::sleep(every) => {}
            }
        }
    }

    /// Entries with a current vector, and all entries (for status and tests).
    pub fn embedded(&self) -> (usize, usize) {
        let Some(d) = &self.inner.dense else { return (0, self.entry_count()) };
        let (Ok(entries), Ok(stored)) = (self.inner.entries.read(), d.stored.read()) else { return (0, 0) };
        let current = entries
            .values()
            .filter(|e| matches!((&e.hash, stored.get(&e.row.id)), (Some(h), Some(s)) if *h == s.hash))
            .count();
        (current, entries.len())
    }
}
