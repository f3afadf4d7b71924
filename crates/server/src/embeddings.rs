//! The knowledge base's embedder: the OpenAI embeddings client behind
//! [`tenmon_kb::Embedder`] (the knowledge base speaks no HTTP), and the dense
//! retrieval settings made from the configuration.

use crate::config::{EmbeddingConfig, LlmConfig};
use async_trait::async_trait;
use std::sync::Arc;
use std::time::Duration;
use tenmon_kb::{DenseSettings, EmbedError, Embedder};
use tenmon_llm::{EmbeddingsConfig, LlmError, OpenAiEmbeddings, RetryPolicy};

/// How often the backfill looks for entries without a current vector (it also runs
/// at start and whenever an edit could not embed its entries).
pub const BACKFILL_EVERY: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct KbEmbedder(OpenAiEmbeddings);

#[async_trait]
impl Embedder for KbEmbedder {
    fn model(&self) -> &str {
        self.0.model()
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.0.embed(texts).await.map_err(|e| EmbedError::new(e.kind(), e.to_string()))
    }
}

/// Dense retrieval over the configured embeddings endpoint.
pub fn dense_settings(e: &EmbeddingConfig, llm: &LlmConfig) -> Result<DenseSettings, LlmError> {
    let client = OpenAiEmbeddings::new(EmbeddingsConfig {
        base_url: e.base_url.clone(),
        api_key: e.api_key.clone(),
        model: e.model.clone(),
        connect_timeout: llm.connect_timeout,
        timeout: e.timeout,
        batch: e.batch,
        retry: RetryPolicy { max_retries: llm.max_retries, base_delay: llm.retry_base, ..RetryPolicy::default() },
        proxies: llm.proxies.clone(),
    })?;
    Ok(DenseSettings {
        query_timeout: e.query_timeout,
        // An edit waits for one batch at most; a slower model leaves it to the backfill.
        write_timeout: e.timeout.min(Duration::from_secs(10)),
        batch: e.batch,
        similarity_floor: e.similarity_floor,
        similarity_full: e.similarity_full,
        ..DenseSettings::new(Arc::new(KbEmbedder(client)))
    })
}

/// The knowledge-base settings of a configuration (dense retrieval included when
/// configured and usable).
pub fn kb_settings(config: &crate::config::Config) -> tenmon_kb::KbSettings {
    let dense = config.kb.embedding.as_ref().and_then(|e| match dense_settings(e, &config.llm) {
        Ok(d) => Some(d),
        Err(err) => {
            tracing::error!(error = %err, "EMBEDDING_MODEL is set but the client cannot start; searching lexically");
            None
        }
    });
    tenmon_kb::KbSettings {
        min_confidence: config.kb.min_confidence,
        cache_ttl: config.kb.cache_ttl,
        cache_size: config.kb.cache_size,
        dense,
    }
}
