//! Knowledge-base metrics: searches by the retrieval that answered them, and calls
//! to the embeddings model by purpose and outcome. Labels are bounded sets.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RetrievalLabel {
    /// `lexical` or `hybrid`.
    pub retrieval: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EmbeddingLabels {
    /// `query` (a search) or `entries` (writes and the backfill).
    pub purpose: &'static str,
    /// `ok`, `timeout`, or the failure's kind (`unavailable`, `rate_limited`, …).
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// `hit` or `miss` (a miss includes an unavailable cache).
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PurposeLabel {
    pub purpose: &'static str,
}

fn seconds_histogram() -> Histogram {
    Histogram::new([0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0])
}

/// Cheap to clone: the families share their values.
#[derive(Debug, Clone)]
pub struct KbMetrics {
    /// `kb_searches_total{retrieval}` (cached answers included).
    pub searches: Family<RetrievalLabel, Counter>,
    /// `kb_embedding_requests_total{purpose,outcome}`.
    pub embedding_requests: Family<EmbeddingLabels, Counter>,
    /// `kb_embedding_duration_seconds{purpose}`.
    pub embedding_duration: Family<PurposeLabel, Histogram, fn() -> Histogram>,
    /// `kb_shared_cache_lookups_total{outcome}`: the replicas' shared cache (Redis).
    pub shared_cache: Family<OutcomeLabel, Counter>,
}

impl Default for KbMetrics {
    fn default() -> Self {
        Self {
            searches: Family::default(),
            embedding_requests: Family::default(),
            embedding_duration: Family::new_with_constructor(seconds_histogram),
            shared_cache: Family::default(),
        }
    }
}

impl KbMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "kb_searches",
            "Knowledge-base searches by retrieval (lexical, or hybrid with embeddings)",
            self.searches.clone(),
        );
        registry.register(
            "kb_embedding_requests",
            "Calls to the embeddings model by purpose (query, entries) and outcome",
            self.embedding_requests.clone(),
        );
        registry.register(
            "kb_embedding_duration_seconds",
            "Duration of calls to the embeddings model by purpose",
            self.embedding_duration.clone(),
        );
        registry.register(
            "kb_shared_cache_lookups",
            "Lookups in the replicas' shared search cache (Redis) after a local miss, by outcome",
            self.shared_cache.clone(),
        );
    }
}
