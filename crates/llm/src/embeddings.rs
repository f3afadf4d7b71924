//! OpenAI embeddings (`POST {base}/embeddings`), and every server that speaks it
//! (vLLM, Ollama, llama.cpp, LocalAI, text-embeddings-inference): inputs sent in
//! batches, floats asked for (base64 understood too, for servers that send it
//! anyway), and connection errors, 429 and 5xx retried with the chat client's
//! backoff. Errors carry neither the key nor the upstream's body.

use crate::upstreams::backoff;
use crate::{LlmError, RetryPolicy};
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::time::Duration;

/// Settings of an embeddings upstream.
#[derive(Debug, Clone)]
pub struct EmbeddingsConfig {
    /// e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub api_key: Option<SecretString>,
    pub model: String,
    pub connect_timeout: Duration,
    /// For one whole request (a batch).
    pub timeout: Duration,
    /// Inputs per request (OpenAI accepts up to 2048; local servers often fewer).
    pub batch: usize,
    pub retry: RetryPolicy,
    /// Proxies to go through (none: straight to the upstream).
    pub proxies: crate::Proxies,
}

/// An OpenAI-compatible embeddings client.
#[derive(Debug, Clone)]
pub struct OpenAiEmbeddings {
    cfg: EmbeddingsConfig,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Response {
    data: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    index: usize,
    embedding: Embedding,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Embedding {
    Floats(Vec<f32>),
    /// Little-endian f32s in base64 (`encoding_format: "base64"`).
    Base64(String),
}

impl Embedding {
    fn floats(self) -> Result<Vec<f32>, LlmError> {
        match self {
            Embedding::Floats(v) => Ok(v),
            Embedding::Base64(s) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(s.as_bytes())
                    .map_err(|_| LlmError::Protocol("embedding: bad base64".into()))?;
                if bytes.len() % 4 != 0 {
                    return Err(LlmError::Protocol("embedding: not a whole number of floats".into()));
                }
                Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
            }
        }
    }
}

impl OpenAiEmbeddings {
    pub fn new(cfg: EmbeddingsConfig) -> Result<Self, LlmError> {
        let http = crate::transport::http_client(cfg.connect_timeout, &cfg.proxies)?;
        Ok(Self { cfg, http })
    }

    pub fn model(&self) -> &str {
        &self.cfg.model
    }

    /// One vector per input, in order.
    pub async fn embed(&self, inputs: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        let mut out = Vec::with_capacity(inputs.len());
        for chunk in inputs.chunks(self.cfg.batch.max(1)) {
            out.extend(self.with_retries(chunk).await?);
        }
        Ok(out)
    }

    async fn with_retries(&self, chunk: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        let mut attempt = 0;
        loop {
            match self.once(chunk).await {
                Err(e) if e.is_retryable() && attempt < self.cfg.retry.max_retries => {
                    tracing::info!(attempt, kind = e.kind(), "embeddings request failed; retrying");
                    tokio::time::sleep(backoff(&self.cfg.retry, attempt, &e)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    async fn once(&self, chunk: &[String]) -> Result<Vec<Vec<f32>>, LlmError> {
        let url = format!("{}/embeddings", self.cfg.base_url.trim_end_matches('/'));
        let body = serde_json::json!({"model": self.cfg.model, "input": chunk, "encoding_format": "float"});
        let mut req = self.http.post(url).json(&body).timeout(self.cfg.timeout);
        if let Some(key) = &self.cfg.api_key {
            req = req.bearer_auth(key.expose_secret());
        }
        let failed = |e: reqwest::Error| {
            if e.is_timeout() {
                LlmError::Timeout("embeddings")
            } else {
                // The error's Display can include the URL but never the key.
                LlmError::Unavailable(if e.is_connect() { "connection failed".into() } else { "request failed".into() })
            }
        };
        let response = req.send().await.map_err(failed)?;
        let status = response.status().as_u16();
        if status != 200 {
            let headers = response.headers().clone();
            let body = response.text().await.unwrap_or_default();
            let err = crate::openai::classify(status, &headers, &body);
            tracing::warn!(status, kind = err.kind(), "the embeddings upstream refused the request");
            return Err(err);
        }
        let bytes = response.bytes().await.map_err(failed)?;
        let parsed: Response =
            serde_json::from_slice(&bytes).map_err(|e| LlmError::Protocol(format!("embeddings: {e}")))?;
        let mut slots: Vec<Option<Vec<f32>>> = vec![None; chunk.len()];
        for item in parsed.data {
            let slot = slots
                .get_mut(item.index)
                .ok_or_else(|| LlmError::Protocol(format!("embeddings: index {} of {}", item.index, chunk.len())))?;
            *slot = Some(item.embedding.floats()?);
        }
        slots
            .into_iter()
            .map(|s| s.ok_or_else(|| LlmError::Protocol("embeddings: a vector is missing".into())))
            .collect()
    }
}
