//! The one API error type. Every error the API returns, from a handler, an extractor
//! or a layer, has the body `{"error":{"code":"…","message":"…"}}` with a stable
//! snake_case `code`. 5xx bodies are opaque: the cause rides in the response
//! extensions ([`ErrorCause`]) and the request log writes it once.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tenmon_store::StoreError;
use utoipa::ToSchema;

/// The error body.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `not_found`, `validation_failed`, …
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The offending field, for `validation_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every bad row, for `import_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<RowProblem>>,
}

/// One bad row of an import.
#[derive(Debug, Serialize, serde::Deserialize, ToSchema)]
pub struct RowProblem {
    pub line: usize,
    pub message: String,
}

/// The cause of a 5xx, for the request log only.
#[derive(Debug, Clone)]
pub struct ErrorCause(pub String);

/// Every error the API can answer with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("malformed JSON: {0}")]
    InvalidJson(String),
    #[error("{message}")]
    Validation { field: String, message: String },
    #[error("authentication required")]
    Unauthorized,
    /// Chat needs consent to this version of the privacy notice first.
    #[error("consent to the privacy notice (version {0}) is required first: POST /api/me/consent")]
    ConsentRequired(String),
    /// A webhook whose signature header is missing or wrong.
    #[error("{0}")]
    BadSignature(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("the daily token quota is used up; it resets in {retry_after_secs} s (00:00 UTC)")]
    QuotaExceeded { retry_after_secs: u64 },
    /// The plan's monthly tokens are used up (billing on).
    #[error("the monthly token quota of the {plan} plan is used up; upgrade the plan or wait {retry_after_secs} s for the new month")]
    PlanQuotaExceeded { retry_after_secs: u64, plan: String },
    /// An import with bad rows: every problem, by line.
    #[error("the file has {} problem(s); nothing was imported", .0.len())]
    Import(Vec<tenmon_kb::RowError>),
    #[error("{0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("the request took too long")]
    RequestTimeout,
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than the limit of {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    ServiceUnavailable(String),
    /// A model upstream failed; `code` is `upstream_unavailable`, `upstream_rate_limited`,
    /// `upstream_timeout`, `context_too_long` or `interrupted`.
    #[error("{message}")]
    Upstream { code: String, message: String },
    /// A feature's own failure with its own code (files, the /browser reader,
    /// billing): `file_too_large`, `address_not_allowed`, …
    #[error("{message}")]
    Coded { status: StatusCode, code: &'static str, message: String },
    /// Anything else: logged, never shown.
    #[error("internal server error")]
    Internal(String),
}

impl ApiError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad_request",
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::Validation { .. } => "validation_failed",
            ApiError::Unauthorized => "unauthorized",
            ApiError::BadSignature(_) => "invalid_signature",
            ApiError::ConsentRequired(_) => "consent_required",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::QuotaExceeded { .. } | ApiError::PlanQuotaExceeded { .. } => "quota_exceeded",
            ApiError::Import(_) => "import_failed",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::RequestTimeout => "request_timeout",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType(_) => "unsupported_media_type",
            ApiError::ServiceUnavailable(_) => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
            ApiError::Upstream { .. } => "upstream",
            ApiError::Coded { code, .. } => code,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::InvalidJson(_) => StatusCode::BAD_REQUEST,
            ApiError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unauthorized | ApiError::BadSignature(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::ConsentRequired(_) => StatusCode::FORBIDDEN,
            ApiError::RateLimited { .. } | ApiError::QuotaExceeded { .. } | ApiError::PlanQuotaExceeded { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::Import(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::ServiceUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Coded { status, .. } => *status,
            ApiError::Upstream { code, .. } => match code.as_str() {
                "upstream_rate_limited" | "interrupted" => StatusCode::SERVICE_UNAVAILABLE,
                "upstream_timeout" => StatusCode::GATEWAY_TIMEOUT,
                "context_too_long" => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::BAD_GATEWAY,
            },
        }
    }

    /// A feature's error with its own code.
    pub fn coded(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Coded { status, code, message: message.into() }
    }

    /// A 422 naming the field.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation { field: field.into(), message: message.into() }
    }

    /// The error a bare status code stands for, for responses made by layers.
    pub fn from_status(status: StatusCode, limit: usize) -> Self {
        match status {
            StatusCode::BAD_REQUEST => ApiError::BadRequest("bad request".into()),
            StatusCode::UNAUTHORIZED => ApiError::Unauthorized,
            StatusCode::NOT_FOUND => ApiError::NotFound("not found".into()),
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::REQUEST_TIMEOUT => ApiError::RequestTimeout,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge { limit },
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType("unsupported media type".into()),
            StatusCode::SERVICE_UNAVAILABLE => ApiError::ServiceUnavailable("service unavailable".into()),
            s if s.is_client_error() => {
                ApiError::BadRequest(s.canonical_reason().unwrap_or("bad request").to_lowercase())
            }
            s => ApiError::Internal(format!("layer answered {s}")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let field = match &self {
            ApiError::Validation { field, .. } => Some(field.clone()),
            _ => None,
        };
        let code = match &self {
            ApiError::Upstream { code, .. } => code.clone(),
            other => other.code().to_string(),
        };
        let rows = match &self {
            ApiError::Import(rows) => {
                Some(rows.iter().map(|r| RowProblem { line: r.line, message: r.message.clone() }).collect())
            }
            _ => None,
        };
        let body = ErrorBody { error: ErrorDetail { code, message: self.to_string(), field, rows } };
        let mut response = (status, Json(body)).into_response();
        if let ApiError::RateLimited { retry_after_secs }
        | ApiError::QuotaExceeded { retry_after_secs }
        | ApiError::PlanQuotaExceeded { retry_after_secs, .. } = &self
        {
            if let Ok(v) = axum::http::HeaderValue::from_str(&retry_after_secs.to_string()) {
                response.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
        }
        match self {
            ApiError::Internal(cause) => {
                response.extensions_mut().insert(ErrorCause(cause));
            }
            ApiError::ServiceUnavailable(cause) => {
                response.extensions_mut().insert(ErrorCause(cause));
            }
            _ => {}
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Conflict { .. } => ApiError::Conflict("the resource was changed concurrently; retry".into()),
            StoreError::Unavailable(_) => ApiError::ServiceUnavailable("the database is unavailable".into()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<tenmon_chat::ChatError> for ApiError {
    fn from(err: tenmon_chat::ChatError) -> Self {
        use tenmon_chat::ChatError;
        match err {
            ChatError::ConversationNotFound => ApiError::NotFound("conversation not found".into()),
            ChatError::MessageNotFound => ApiError::NotFound("message not found".into()),
            ChatError::UnknownAssistant(a) => {
                ApiError::validation("assistant", format!("assistant: unknown assistant {a:?}"))
            }
            ChatError::Invalid { field, message } => ApiError::validation(field, format!("{field}: {message}")),
            ChatError::Store(e) => e.into(),
        }
    }
}

impl From<tenmon_kb::KbError> for ApiError {
    fn from(err: tenmon_kb::KbError) -> Self {
        use tenmon_kb::KbError;
        match err {
            KbError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            KbError::Invalid { field, message } => ApiError::validation(field.clone(), format!("{field}: {message}")),
            KbError::Import(rows) => ApiError::Import(rows),
            KbError::Store(e) => e.into(),
            KbError::Index(e) => ApiError::Internal(e),
            // Searches and edits fall back rather than fail; a caller that asks for
            // embeddings outright (a backfill) gets a gateway error.
            KbError::Embedding(e) => ApiError::Upstream {
                code: if e.kind == "timeout" { "upstream_timeout" } else { "upstream_unavailable" }.into(),
                message: "the embeddings model is unavailable".into(),
            },
        }
    }
}
