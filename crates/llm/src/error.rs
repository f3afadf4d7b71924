//! Upstream failures, classified so the chat engine can retry the right ones and
//! clients get a clear code. Messages never carry the key or the upstream body.

use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum LlmError {
    /// Connection refused or reset, DNS failure, or a 5xx.
    #[error("the model service is unavailable ({0})")]
    Unavailable(String),
    /// 429 from the upstream.
    #[error("the model service is rate limiting requests")]
    RateLimited { retry_after: Option<Duration> },
    /// Connect, first-token or idle timeout.
    #[error("the model service did not answer in time ({0})")]
    Timeout(&'static str),
    /// The conversation does not fit the model's context window.
    #[error("the conversation is too long for the model")]
    ContextTooLong,
    /// The upstream refused our credentials (an operator problem, not the client's).
    #[error("the model service refused the configured credentials")]
    Auth,
    /// Any other 4xx, or a redirect (3xx: not followed, the base URL is wrong).
    #[error("the model service rejected the request ({0})")]
    Rejected(u16),
    /// The stream was malformed or cut.
    #[error("the model service sent a broken response ({0})")]
    Protocol(String),
    /// No upstream is configured.
    #[error("no model is configured")]
    NotConfigured,
}

impl LlmError {
    /// Worth another try before the first token: connection errors, 429 and 5xx.
    pub fn is_retryable(&self) -> bool {
        matches!(self, LlmError::Unavailable(_) | LlmError::RateLimited { .. })
    }

    /// The stable code clients see.
    pub fn code(&self) -> &'static str {
        match self {
            LlmError::Unavailable(_) | LlmError::Auth | LlmError::Rejected(_) | LlmError::Protocol(_) => {
                "upstream_unavailable"
            }
            LlmError::NotConfigured => "upstream_unavailable",
            LlmError::RateLimited { .. } => "upstream_rate_limited",
            LlmError::Timeout(_) => "upstream_timeout",
            LlmError::ContextTooLong => "context_too_long",
        }
    }

    /// A label for the `upstream_errors_total{kind}` metric.
    pub fn kind(&self) -> &'static str {
        match self {
            LlmError::Unavailable(_) => "unavailable",
            LlmError::RateLimited { .. } => "rate_limited",
            LlmError::Timeout(_) => "timeout",
            LlmError::ContextTooLong => "context_too_long",
            LlmError::Auth => "auth",
            LlmError::Rejected(_) => "rejected",
            LlmError::Protocol(_) => "protocol",
            LlmError::NotConfigured => "not_configured",
        }
    }
}
