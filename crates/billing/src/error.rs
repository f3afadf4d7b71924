//! Everything billing can fail at, in one enum: webhook verification, event
//! parsing, the plan catalogue and calls to the Stripe API. Each variant has a
//! stable `code` so the server can map it without matching on messages, and no
//! message ever carries the secret key, the webhook secret or a signature.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BillingError {
    /// The webhook request had no (or an empty) `Stripe-Signature` header.
    #[error("the Stripe-Signature header is missing")]
    MissingHeader,
    /// The header is not `t=<unix>,v1=<hex>…`: no or a repeated `t`, or an item without `=`.
    #[error("the Stripe-Signature header is malformed")]
    MalformedHeader,
    /// Well formed, but without any `v1` signature (e.g. only the legacy `v0`).
    #[error("the Stripe-Signature header has no v1 signature")]
    NoV1Signature,
    /// No `v1` signature matches the body: wrong secret or a tampered body.
    #[error("no v1 signature matches the payload")]
    SignatureMismatch,
    /// Signed correctly, but too long ago or too far ahead: a replay or a bad clock.
    #[error("the webhook timestamp {timestamp} is outside the tolerance of {tolerance_secs} s")]
    TimestampOutsideTolerance { timestamp: i64, tolerance_secs: u64 },
    /// A verified body that is not a Stripe event, or a handled event type whose
    /// object lacks a field we need.
    #[error("the Stripe event is malformed: {0}")]
    MalformedEvent(String),
    /// The plan catalogue contradicts itself, or the client settings are unusable
    /// (found at start-up).
    #[error("invalid billing configuration: {0}")]
    InvalidConfig(String),
    /// Stripe refused the secret key (401/403). Stripe's message is dropped on
    /// purpose: it echoes part of the key.
    #[error("Stripe refused the configured secret key (HTTP {status})")]
    Authentication { status: u16 },
    /// 429 (or the old 400 `rate_limit`).
    #[error("Stripe is rate limiting requests")]
    RateLimited { retry_after: Option<Duration> },
    /// Any other 4xx: a bad parameter, an unknown customer, an idempotency clash.
    #[error("Stripe rejected the request (HTTP {}, {}): {}", .0.status, .0.error_type, .0.message)]
    InvalidRequest(StripeApiError),
    /// A 5xx, or the connection failed.
    #[error("Stripe is unavailable ({0})")]
    Unavailable(String),
    /// No answer within the client's timeout.
    #[error("Stripe did not answer in time")]
    Timeout,
    /// Stripe answered 2xx with a body we cannot read.
    #[error("unexpected response from Stripe ({0})")]
    Protocol(String),
}

/// The `{"error":{…}}` body Stripe sends with a 4xx, minus anything secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StripeApiError {
    pub status: u16,
    /// `invalid_request_error`, `card_error`, `idempotency_error`, `api_error`, …
    pub error_type: String,
    /// e.g. `parameter_missing`, `resource_missing`.
    pub code: Option<String>,
    /// The offending parameter, e.g. `line_items`.
    pub param: Option<String>,
    pub message: String,
}

impl BillingError {
    /// Stable snake_case code for API errors, logs and metrics labels.
    pub fn code(&self) -> &'static str {
        match self {
            BillingError::MissingHeader => "missing_header",
            BillingError::MalformedHeader => "malformed_header",
            BillingError::NoV1Signature => "no_v1_signature",
            BillingError::SignatureMismatch => "signature_mismatch",
            BillingError::TimestampOutsideTolerance { .. } => "timestamp_outside_tolerance",
            BillingError::MalformedEvent(_) => "malformed_event",
            BillingError::InvalidConfig(_) => "invalid_config",
            BillingError::Authentication { .. } => "stripe_authentication",
            BillingError::RateLimited { .. } => "stripe_rate_limited",
            BillingError::InvalidRequest(_) => "stripe_invalid_request",
            BillingError::Unavailable(_) => "stripe_unavailable",
            BillingError::Timeout => "stripe_timeout",
            BillingError::Protocol(_) => "stripe_protocol",
        }
    }

    /// A webhook that failed verification: answer 400 and let Stripe retry, never 5xx.
    pub fn is_signature_error(&self) -> bool {
        matches!(
            self,
            BillingError::MissingHeader
                | BillingError::MalformedHeader
                | BillingError::NoV1Signature
                | BillingError::SignatureMismatch
                | BillingError::TimestampOutsideTolerance { .. }
        )
    }

    /// Worth another try with the same idempotency key.
    pub fn is_retryable(&self) -> bool {
        matches!(self, BillingError::RateLimited { .. } | BillingError::Unavailable(_) | BillingError::Timeout)
    }
}
