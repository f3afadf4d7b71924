//! `POST /api/concierge`: a chat turn with the concierge assistant, answered as
//! JSON, or as Server-Sent Events when the client sends `Accept: text/event-stream`.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::routes::chat::{answer_json, sse_response, ChatAnswer, ChatRunning};
use axum::extract::State;
use axum::http::header::ACCEPT;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use tenmon_chat::TurnInput;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConciergeBody {
    pub conversation_id: Option<String>,
    #[schema(min_length = 1, pattern = r"[^\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")]
    pub message: String,
}

/// Ask the concierge.
#[utoipa::path(post, path = "/api/concierge", tag = "chat", request_body = ConciergeBody,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The answer as JSON, or events (meta, delta, sources, done, error) with Accept: text/event-stream",
            content((ChatAnswer = "application/json"), (crate::routes::chat::TurnEvent = "text/event-stream"))),
        (status = 202, description = "JSON only: still running when the request's time was nearly up; read the answer from stream_url", body = ChatRunning),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Consent to the privacy notice is required first (consent_required)", body = ErrorBody),
        (status = 404, description = "No such conversation of the caller", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
        (status = 502, description = "The model service failed", body = ErrorBody),
        (status = 503, description = "The model service is rate limiting, or the server stopped", body = ErrorBody),
        (status = 504, description = "The model service did not answer in time", body = ErrorBody),
    ))]
pub async fn post_concierge(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ConciergeBody>,
) -> Result<Response, ApiError> {
    crate::routes::privacy::ensure_consent(&state, &caller).await?;
    crate::quota::check(&state, &caller).await?;
    let usage_subjects = crate::quota::subjects(&state, &caller);
    let owner_id = caller.subject_id;
    let started = state
        .chat
        .start(TurnInput {
            owner_id: owner_id.clone(),
            usage_subjects,
            conversation_id: body.conversation_id,
            message: body.message,
            assistant: Some("concierge".into()),
            model: None,
            attachments: Vec::new(),
            images: Vec::new(),
        })
        .await?;
    let wants_sse = headers.get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/event-stream"));
    if wants_sse {
        Ok(sse_response(&state, &owner_id, started, 0))
    } else {
        answer_json(&state, &owner_id, started).await
    }
}
