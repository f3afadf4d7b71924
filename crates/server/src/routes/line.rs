//! The LINE webhook (signature first, then parse, acknowledge at once) and the
//! admins' view of delivery failures.

use crate::app::AppState;
use crate::auth::Operator;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::line::WebhookError;
use crate::routes::session::rfc3339;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookAck {
    /// New events taken for processing (redeliveries are not counted).
    pub accepted: usize,
}

/// Receive LINE webhook events. The `X-Line-Signature` header is checked against the
/// raw body before anything else; then the events are acknowledged and answered in
/// the background.
#[utoipa::path(post, path = "/api/line/webhook", tag = "line",
    params(("X-Line-Signature" = Option<String>, Header, description = "base64 HMAC-SHA256 of the body with the channel secret")),
    request_body(content = serde_json::Value, content_type = "application/json", description = "The webhook body as LINE sends it"),
    responses(
        (status = 200, description = "Accepted", body = WebhookAck),
        (status = 400, description = "Signed, but not a webhook body", body = ErrorBody),
        (status = 401, description = "Missing or wrong signature (invalid_signature)", body = ErrorBody),
        (status = 404, description = "The LINE channel is not configured", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 503, description = "The database is unavailable; LINE will redeliver", body = ErrorBody),
    ))]
pub async fn webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<WebhookAck>, ApiError> {
    let Some(line) = &state.line else {
        return Err(ApiError::NotFound("the LINE channel is not configured (LINE_CHANNEL_SECRET)".into()));
    };
    let signature = headers.get("x-line-signature").and_then(|v| v.to_str().ok());
    if !line.verify(&body, signature) {
        return Err(ApiError::BadSignature("missing or invalid X-Line-Signature".into()));
    }
    match line.accept(&body).await {
        Ok(accepted) => Ok(Json(WebhookAck { accepted })),
        Err(WebhookError::Invalid(e)) => Err(ApiError::BadRequest(e)),
        Err(WebhookError::Store(e)) => Err(ApiError::ServiceUnavailable(format!("database: {e}"))),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FailuresQuery {
    /// At most this many, newest first (default 50, at most 500).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineFailure {
    pub id: String,
    pub chat_id: String,
    pub operation: String,
    pub status: Option<i64>,
    pub error: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LineFailures {
    pub items: Vec<LineFailure>,
}

/// Messages that could not be delivered to LINE after retries.
#[utoipa::path(get, path = "/api/admin/line/failures", tag = "line-admin", params(FailuresQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = LineFailures),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
        (status = 422, description = "Bad parameter", body = ErrorBody),
    ))]
pub async fn failures(
    State(state): State<AppState>,
    _op: Operator,
    ApiQuery(q): ApiQuery<FailuresQuery>,
) -> Result<Json<LineFailures>, ApiError> {
    let rows = state.store.line_failures(q.limit.unwrap_or(50).clamp(1, 500)).await?;
    let items = rows
        .into_iter()
        .map(|r| LineFailure {
            id: r.id,
            chat_id: r.chat_id,
            operation: r.operation,
            status: r.status,
            error: r.error,
            created_at: rfc3339(r.created_at_ms),
        })
        .collect();
    Ok(Json(LineFailures { items }))
}
