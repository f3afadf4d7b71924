//! Dense retrieval, optional: entries embedded by a model (through [`Embedder`],
//! which the server implements over HTTP), searched by cosine similarity, and fused
//! with the lexical ranking by reciprocal rank fusion.
//!
//! Why RRF: BM25 scores and cosine similarities live on unrelated scales; fusing
//! ranks needs no calibration per model, and an entry both retrievals like wins.
//! Why one vector per entry from its question wordings (and the answer's opening):
//! questions are what a query resembles; several vectors per entry would multiply
//! storage and calls for little gain on short FAQ questions.

use crate::KbSettings;
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tenmon_store::KbEntryRow;

/// Turns texts into vectors. The knowledge base never speaks HTTP itself.
#[async_trait]
pub trait Embedder: Send + Sync + std::fmt::Debug {
    /// The model name, stored with every vector (a new model re-embeds everything).
    fn model(&self) -> &str;

    /// One vector per text, in order.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError>;
}

/// An embeddings call that failed; `kind` is a short, bounded label for metrics.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct EmbedError {
    pub kind: &'static str,
    pub message: String,
}

impl EmbedError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }
}

/// Dense retrieval's settings.
#[derive(Debug, Clone)]
pub struct DenseSettings {
    pub embedder: Arc<dyn Embedder>,
    /// A query's vector must arrive within this; otherwise the search is lexical.
    pub query_timeout: Duration,
    /// How long an edit waits for its entries' vectors before leaving them to the
    /// background backfill.
    pub write_timeout: Duration,
    /// Texts per call to the embedder.
    pub batch: usize,
    /// Cosine similarity at and below which a dense hit says nothing: confidence 0,
    /// and the hit is not a candidate.
    pub similarity_floor: f32,
    /// Cosine similarity that counts as full confidence.
    pub similarity_full: f32,
}

impl DenseSettings {
    /// Defaults for an OpenAI-style model (text-embedding-3-*), where paraphrases
    /// score about 0.55 to 0.85 and unrelated questions 0.1 to 0.3.
    pub fn new(embedder: Arc<dyn Embedder>) -> Self {
        Self {
            embedder,
            query_timeout: Duration::from_secs(2),
            write_timeout: Duration::from_secs(10),
            batch: 128,
            similarity_floor: 0.3,
            similarity_full: 0.8,
        }
    }

    /// The confidence a cosine similarity stands for: linear from the floor (0) to
    /// `similarity_full` (1). With the defaults and `KB_MIN_CONFIDENCE` 0.5, an entry
    /// answers on similarity alone from 0.55.
    pub fn confidence(&self, similarity: f32) -> f32 {
        let span = (self.similarity_full - self.similarity_floor).max(f32::EPSILON);
        ((similarity - self.similarity_floor) / span).clamp(0.0, 1.0)
    }
}

/// The RRF constant (Cormack et al.): damps the difference between top ranks.
pub const RRF_K: f32 = 60.0;

/// Characters of the answer embedded with the question wordings.
const ANSWER_CHARS: usize = 200;

/// The text embedded for an entry: its question wordings, then the answer's opening.
pub fn entry_text(e: &KbEntryRow) -> String {
    let mut s = e.question.clone();
    for p in e.phrasings.iter().chain(e.question_en.as_ref()) {
        s.push('\n');
        s.push_str(p);
    }
    s.push_str("\n\n");
    s.extend(e.answer.chars().take(ANSWER_CHARS));
    s
}

/// Identifies an entry's embedded text (the store keeps it with the vector).
pub fn content_hash(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Unit length, or `None` for a vector that cannot be (empty, zero, not finite).
pub fn normalized(mut v: Vec<f32>) -> Option<Vec<f32>> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if v.is_empty() || !norm.is_finite() || norm == 0.0 {
        return None;
    }
    for x in &mut v {
        *x /= norm;
    }
    Some(v)
}

/// Eight running sums, so the compiler vectorises it (a single float sum must keep
/// its order): about 5× faster, 3 ms for 10,000 × 1536 dimensions.
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for ((s, p), q) in acc.iter_mut().zip(x).zip(y) {
            *s += p * q;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Reciprocal rank fusion of ranked lists of ids: each list gives an id
/// `1 / (k + rank)` (rank from 1). Best first; ties keep the order of first
/// appearance (lists earlier in `lists` first). Scores are divided by the best
/// possible (first in every list), so 1.0 means that.
pub fn rrf<'a>(lists: &[Vec<&'a str>], k: f32) -> Vec<(&'a str, f32)> {
    let mut scores: HashMap<&str, (f32, usize)> = HashMap::new();
    let mut order = 0;
    for list in lists {
        for (i, id) in list.iter().enumerate() {
            let e = scores.entry(*id).or_insert_with(|| {
                order += 1;
                (0.0, order)
            });
            e.0 += 1.0 / (k + i as f32 + 1.0);
        }
    }
    let best = lists.len().max(1) as f32 / (k + 1.0);
    let mut out: Vec<(&str, f32, usize)> = scores.into_iter().map(|(id, (s, o))| (id, s / best, o)).collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)));
    out.into_iter().map(|(id, s, _)| (id, s)).collect()
}

/// The nearest `limit` of `candidates` (id, vector) to `query`, best first.
pub(crate) fn nearest<'a>(
    query: &[f32],
    candidates: impl Iterator<Item = (&'a str, &'a [f32])>,
    limit: usize,
) -> Vec<(String, f32)> {
    let mut all: Vec<(&str, f32)> =
        candidates.filter(|(_, v)| v.len() == query.len()).map(|(id, v)| (id, dot(query, v))).collect();
    let limit = limit.min(all.len());
    if limit == 0 {
        return Vec::new();
    }
    all.select_nth_unstable_by(limit - 1, |a, b| b.1.total_cmp(&a.1));
    all.truncate(limit);
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
    all.into_iter().map(|(id, s)| (id.to_string(), s)).collect()
}

/// Which retrieval produced a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Retrieval {
    /// BM25 and re-ranking only (no embeddings configured, or the query's
    /// embedding failed).
    Lexical,
    /// Lexical and dense, fused by RRF.
    Hybrid,
}

impl Retrieval {
    pub fn as_str(self) -> &'static str {
        match self {
            Retrieval::Lexical => "lexical",
            Retrieval::Hybrid => "hybrid",
        }
    }
}

/// The retrieval a knowledge base aims for with these settings.
pub(crate) fn configured(settings: &KbSettings) -> Retrieval {
    if settings.dense.is_some() {
        Retrieval::Hybrid
    } else {
        Retrieval::Lexical
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rrf_rewards_agreement_and_keeps_first_seen_order_on_ties() {
        let lexical = vec!["a", "b", "c"];
        let dense = vec!["c", "d", "a"];
        let fused = rrf(&[lexical, dense], RRF_K);
        let ids: Vec<&str> = fused.iter().map(|f| f.0).collect();
        // a: 1/61 + 1/63, c: 1/63 + 1/61 (tie: a was seen first), b: 1/62, d: 1/62.
        assert_eq!(ids, ["a", "c", "b", "d"]);
        assert!((fused[0].1 - fused[1].1).abs() < 1e-6);
        let alone = rrf(&[vec!["x"], vec!["x"]], RRF_K);
        assert!((alone[0].1 - 1.0).abs() < 1e-6, "first in every list scores 1");
        assert!(rrf(&[vec![], vec![]], RRF_K).is_empty());
        // A strong dense hit missing from the lexical list still gets in.
        let fused = rrf(&[vec!["a", "b", "c", "d"], vec!["z", "c"]], RRF_K);
        assert_eq!(fused[0].0, "c", "second in both beats first in one: {fused:?}");
        assert!(fused.iter().position(|f| f.0 == "z") < fused.iter().position(|f| f.0 == "b"));
    }

    #[test]
    fn similarity_maps_linearly_onto_confidence() {
        #[derive(Debug)]
        struct Nothing;
        #[async_trait]
        impl Embedder for Nothing {
            fn model(&self) -> &str {
                "none"
            }
            async fn embed(&self, _: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
                Ok(Vec::new())
            }
        }
        let s = DenseSettings::new(Arc::new(Nothing));
        assert_eq!(s.confidence(0.1), 0.0);
        assert_eq!(s.confidence(0.3), 0.0);
        assert!((s.confidence(0.55) - 0.5).abs() < 1e-6);
        assert_eq!(s.confidence(0.95), 1.0);
    }

    #[test]
    fn vectors_are_normalised_and_the_nearest_found() {
        assert!(normalized(vec![]).is_none());
        assert!(normalized(vec![0.0, 0.0]).is_none());
        assert!(normalized(vec![f32::NAN, 1.0]).is_none());
        let v = normalized(vec![3.0, 4.0]).unwrap();
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        let a = [1.0f32, 0.0];
        let b = [0.6f32, 0.8];
        let c = [0.0f32, 1.0];
        let short = [1.0f32];
        let cands = [("a", &a[..]), ("b", &b[..]), ("c", &c[..]), ("short", &short[..])];
        let got = nearest(&[0.0, 1.0], cands.iter().copied(), 2);
        assert_eq!(got.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(), ["c", "b"]);
        assert!(nearest(&[0.0, 1.0], cands.iter().copied(), 0).is_empty());
        let long: Vec<f32> = (0..19).map(|i| i as f32).collect();
        assert_eq!(dot(&long, &long), (0..19).map(|i| (i * i) as f32).sum::<f32>(), "lanes and the tail");
        assert_eq!(nearest(&[0.0, 1.0], cands.iter().copied(), 10).len(), 3, "other dimensions are skipped");
    }

    #[test]
    fn the_embedded_text_is_the_wordings_and_the_answer_opening() {
        let e = KbEntryRow {
            id: "x".into(),
            kb_id: "k".into(),
            question: "解約したい".into(),
            phrasings: vec!["やめたい".into()],
            answer: "あ".repeat(500),
            keywords: vec!["無関係".into()],
            category: String::new(),
            source_url: None,
            question_en: Some("cancel".into()),
            answer_en: None,
            enabled: true,
            version: 1,
            created_at_ms: 0,
            updated_at_ms: 0,
        };
        let t = entry_text(&e);
        assert!(t.starts_with("解約したい\nやめたい\ncancel\n\n"));
        assert_eq!(t.chars().filter(|c| *c == 'あ').count(), ANSWER_CHARS);
        assert!(!t.contains("無関係"));
        assert_eq!(content_hash(&t).len(), 64);
        assert_ne!(content_hash(&t), content_hash("other"));
    }
}
