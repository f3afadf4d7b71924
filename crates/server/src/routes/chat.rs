//! Chat turns over HTTP. Handlers never own the model call: they start the turn (or
//! find it) and subscribe to its events, exactly as a resuming client would.
//! SSE events: `meta`, `delta`, `sources`, `done`, `error`, each with `id:` = the
//! event log's sequence, so `Last-Event-ID` resumes without a gap or a duplicate.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::middleware::body_limit::within;
use crate::routes::conversations::UsageView;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use std::convert::Infallible;
use std::time::Duration;
use tenmon_chat::{Ending, TurnInput, TurnStarted};
use tenmon_store::{EventPayload, StoredEvent};
use utoipa::ToSchema;

/// A user's message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatBody {
    /// Continue this conversation; omit to start a new one.
    pub conversation_id: Option<String>,
    /// The user's message (1 to CHAT_MAX_MESSAGE_CHARS characters, not blank).
    #[schema(min_length = 1, pattern = r"[^\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")]
    pub message: String,
    /// `default`, `concierge` or `mnp-support` (default: the conversation's, or `default`).
    #[schema(pattern = "^(default|concierge|mnp-support)$")]
    pub assistant: Option<String>,
    /// Ask for a specific model.
    #[schema(min_length = 1, max_length = 128, pattern = r"^[^\x00-\x1f\x7f-\x9f]+$")]
    pub model: Option<String>,
    /// Files of the caller's (`POST /api/files`) to attach: documents' text is read
    /// by the model in this and later turns, images go with this turn (at most 10).
    #[schema(max_items = 10)]
    pub file_ids: Option<Vec<String>>,
}

/// A finished turn.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatAnswer {
    pub conversation_id: String,
    pub user_message_id: String,
    pub message_id: String,
    pub assistant: String,
    pub answer: String,
    /// `complete` or `cancelled`.
    pub status: String,
    pub model: String,
    pub finish_reason: String,
    pub usage: UsageView,
    pub latency_ms: u64,
    #[schema(value_type = Vec<Object>)]
    pub sources: serde_json::Value,
}

/// A turn still running when the request's time was nearly up (202): the answer is
/// read from `stream_url` (the turn's events from the start, or after `Last-Event-ID`),
/// so a client never has to send the message again.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChatRunning {
    pub conversation_id: String,
    pub user_message_id: String,
    pub message_id: String,
    pub assistant: String,
    /// `running`.
    pub status: String,
    /// `/api/chat/stream/{message_id}`.
    pub stream_url: String,
}

/// One Server-Sent Event of a chat turn. `data` is JSON: `meta` {conversation_id,
/// user_message_id, message_id, assistant, model}; `delta` {text}; `sources`
/// {sources}; `done` {status, finish_reason, usage, latency_ms, …}; `error` {code, message}.
#[derive(Debug, Serialize, ToSchema)]
pub struct TurnEvent {
    #[schema(pattern = "^(meta|delta|sources|done|error)$")]
    pub event: String,
    /// The event log sequence; send it back as `Last-Event-ID` to resume.
    pub id: Option<String>,
    #[schema(content_media_type = "application/json")]
    pub data: String,
}

/// The state of a message after a cancel request.
#[derive(Debug, Serialize, ToSchema)]
pub struct CancelResult {
    pub message_id: String,
    pub status: String,
}

pub async fn input(
    state: &AppState,
    caller: &Caller,
    body: ChatBody,
    assistant: Option<&str>,
) -> Result<TurnInput, ApiError> {
    let (attachments, images) = match &body.file_ids {
        Some(ids) if !ids.is_empty() => state.files.for_turn(&caller.subject_id, ids).await?,
        _ => (Vec::new(), Vec::new()),
    };
    Ok(TurnInput {
        owner_id: caller.subject_id.clone(),
        usage_subjects: crate::quota::subjects(state, caller),
        conversation_id: body.conversation_id,
        message: body.message,
        assistant: assistant.map(str::to_string).or(body.assistant),
        model: body.model,
        attachments,
        images,
    })
}

/// Run a turn to its end and answer with JSON; a turn that outlasts the request's
/// time gets a 202 with where to read the rest ([`ChatRunning`]). A 408 there would
/// leave the client without the ids of a turn that goes on, and a client that sent
/// the message again would have asked twice.
pub async fn answer_json(state: &AppState, owner_id: &str, started: TurnStarted) -> Result<Response, ApiError> {
    // The ids, for the 202 (the turn itself moves into the wait).
    let ids = (
        started.conversation_id.clone(),
        started.user_message_id.clone(),
        started.message_id.clone(),
        started.assistant.clone(),
    );
    let Ok(out) =
        tokio::time::timeout(within(state.config.server.request_timeout), state.chat.outcome(owner_id, started)).await
    else {
        let (conversation_id, user_message_id, message_id, assistant) = ids;
        let stream_url = format!("/api/chat/stream/{message_id}");
        let pending = ChatRunning {
            conversation_id,
            user_message_id,
            message_id,
            assistant,
            status: "running".into(),
            stream_url,
        };
        let location = HeaderValue::try_from(pending.stream_url.as_str()).ok();
        let mut res = (StatusCode::ACCEPTED, Json(pending)).into_response();
        if let Some(location) = location {
            res.headers_mut().insert(header::LOCATION, location);
        }
        return Ok(res);
    };
    let out = out?;
    let (status, model, finish_reason, usage) = match out.ending {
        Ending::Completed { model, finish_reason, usage } => (
            "complete",
            model,
            finish_reason,
            UsageView { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens },
        ),
        Ending::Cancelled => (
            "cancelled",
            out.started.model.clone(),
            "cancelled".into(),
            UsageView { prompt_tokens: 0, completion_tokens: 0 },
        ),
        Ending::Failed { code, message } => return Err(ApiError::Upstream { code, message }),
        Ending::Interrupted => {
            return Err(ApiError::Upstream {
                code: "interrupted".into(),
                message: "the server stopped before the answer was finished".into(),
            })
        }
    };
    let started = out.started;
    Ok(Json(ChatAnswer {
        conversation_id: started.conversation_id,
        user_message_id: started.user_message_id,
        message_id: started.message_id,
        assistant: started.assistant,
        answer: out.answer,
        status: status.into(),
        model,
        finish_reason,
        usage,
        latency_ms: out.latency_ms,
        sources: out.sources,
    })
    .into_response())
}

/// The SSE event for one log event (none for events the client needs no line for).
pub fn sse_event(ev: &StoredEvent, conversation_id: &str) -> Option<Event> {
    let (name, data) = event_json(ev, conversation_id)?;
    Some(Event::default().event(name).id(ev.seq.to_string()).data(data.to_string()))
}

/// The name and payload a client sees for one log event: the same for SSE and
/// Socket.IO (where the name gets the `chat:` prefix).
pub fn event_json(ev: &StoredEvent, conversation_id: &str) -> Option<(&'static str, serde_json::Value)> {
    Some(match &ev.payload {
        EventPayload::AssistantDelta { text, .. } => ("delta", serde_json::json!({ "text": text })),
        EventPayload::Sources { sources, .. } => ("sources", serde_json::json!({ "sources": sources })),
        EventPayload::AssistantCompleted { message_id, model, finish_reason, usage, latency_ms } => (
            "done",
            serde_json::json!({
                "conversation_id": conversation_id, "message_id": message_id, "status": "complete",
                "model": model, "finish_reason": finish_reason, "usage": usage, "latency_ms": latency_ms,
            }),
        ),
        EventPayload::AssistantCancelled { message_id, latency_ms } => (
            "done",
            serde_json::json!({
                "conversation_id": conversation_id, "message_id": message_id, "status": "cancelled",
                "finish_reason": "cancelled", "latency_ms": latency_ms,
            }),
        ),
        EventPayload::AssistantFailed { code, message, .. } => {
            ("error", serde_json::json!({ "code": code, "message": message }))
        }
        EventPayload::AssistantInterrupted { .. } => (
            "error",
            serde_json::json!({ "code": "interrupted", "message": "the server stopped before the answer was finished" }),
        ),
        _ => return None,
    })
}

/// The `meta` payload: which conversation and messages a turn is.
pub fn meta_json(started: &TurnStarted) -> serde_json::Value {
    serde_json::json!({
        "conversation_id": started.conversation_id,
        "user_message_id": started.user_message_id,
        "message_id": started.message_id,
        "assistant": started.assistant,
        "model": started.model,
    })
}

fn meta_event(started: &TurnStarted) -> Event {
    Event::default().event("meta").id(started.started_seq.to_string()).data(meta_json(started).to_string())
}

/// Stream a turn as SSE from `after`, with `meta` first when the client has not had it.
pub fn sse_response(state: &AppState, owner_id: &str, started: TurnStarted, after: i64) -> Response {
    let meta = (after < started.started_seq).then(|| meta_event(&started));
    let conversation_id = started.conversation_id.clone();
    let events = if after <= started.started_seq {
        state.chat.follow(owner_id.to_string(), &started)
    } else {
        let (conversation, message) = (started.conversation_id.clone(), started.message_id.clone());
        state.chat.subscribe(owner_id.to_string(), conversation, message, after)
    };
    let events = events.filter_map(move |ev| {
        let out = match ev {
            Ok(ev) => sse_event(&ev, &conversation_id),
            Err(e) => {
                tracing::error!(error = %e, "turn subscription failed");
                Some(
                    Event::default()
                        .event("error")
                        .data(r#"{"code":"internal_error","message":"internal server error"}"#),
                )
            }
        };
        futures::future::ready(out.map(Ok::<_, Infallible>))
    });
    let stream = futures::stream::iter(meta.map(Ok)).chain(events);
    sse(stream)
}

fn sse<S: Stream<Item = Result<Event, Infallible>> + Send + 'static>(stream: S) -> Response {
    let mut res = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)).text("keep-alive"))
        .into_response();
    let h = res.headers_mut();
    // nginx must pass each event on at once.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    h.insert("cache-control", HeaderValue::from_static("no-cache, no-transform"));
    res
}

/// Send a message and wait for the whole answer.
#[utoipa::path(post, path = "/api/chat", tag = "chat", request_body = ChatBody,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The answer", body = ChatAnswer),
        (status = 202, description = "Still running when the request's time was nearly up: read the answer from stream_url (also in Location)", body = ChatRunning),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Consent to the privacy notice is required first (consent_required)", body = ErrorBody),
        (status = 404, description = "No such conversation of the caller", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid field, or the conversation is too long for the model (context_too_long)", body = ErrorBody),
        (status = 502, description = "The model service failed (upstream_unavailable)", body = ErrorBody),
        (status = 503, description = "The model service is rate limiting (upstream_rate_limited), or the server stopped", body = ErrorBody),
        (status = 504, description = "The model service did not answer in time (upstream_timeout)", body = ErrorBody),
    ))]
pub async fn post_chat(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ChatBody>,
) -> Result<Response, ApiError> {
    crate::routes::privacy::ensure_consent(&state, &caller).await?;
    crate::quota::check(&state, &caller).await?;
    let started = state.chat.start(input(&state, &caller, body, None).await?).await?;
    answer_json(&state, &caller.subject_id, started).await
}

/// Send a message and stream the answer as Server-Sent Events.
#[utoipa::path(post, path = "/api/chat/stream", tag = "chat", request_body = ChatBody,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Events: meta, delta, sources, done, error", content_type = "text/event-stream", body = TurnEvent),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 403, description = "Consent to the privacy notice is required first (consent_required)", body = ErrorBody),
        (status = 404, description = "No such conversation of the caller", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
pub async fn post_chat_stream(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ChatBody>,
) -> Result<Response, ApiError> {
    crate::routes::privacy::ensure_consent(&state, &caller).await?;
    crate::quota::check(&state, &caller).await?;
    let started = state.chat.start(input(&state, &caller, body, None).await?).await?;
    Ok(sse_response(&state, &caller.subject_id, started, 0))
}

fn last_event_id(headers: &HeaderMap) -> Result<i64, ApiError> {
    match headers.get("last-event-id").map(|v| v.to_str().map(str::trim)) {
        None => Ok(0),
        Some(Ok("")) => Ok(0),
        Some(Ok(v)) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .ok_or_else(|| ApiError::BadRequest("Last-Event-ID must be an event id from this stream".into())),
        Some(Err(_)) => Err(ApiError::BadRequest("Last-Event-ID must be an event id from this stream".into())),
    }
}

/// Resume (or replay) a turn's stream after `Last-Event-ID`.
#[utoipa::path(get, path = "/api/chat/stream/{message_id}", tag = "chat",
    params(
        ("message_id" = String, Path, description = "The assistant message id from `meta`"),
        ("Last-Event-ID" = Option<String>, Header, description = "The last event id received", nullable = false, pattern = "^[0-9]{0,18}$"),
    ),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The rest of the turn's events", content_type = "text/event-stream", body = TurnEvent),
        (status = 400, description = "Bad Last-Event-ID", body = ErrorBody),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 404, description = "No such message of the caller", body = ErrorBody),
    ))]
pub async fn resume_stream(
    State(state): State<AppState>,
    caller: Caller,
    Path(message_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let after = last_event_id(&headers)?;
    let msg = state
        .store
        .message(&caller.subject_id, &message_id)
        .await?
        .filter(|m| m.role == "assistant")
        .ok_or_else(|| ApiError::NotFound("message not found".into()))?;
    let conv = state
        .store
        .conversation(&caller.subject_id, &msg.conversation_id)
        .await?
        .ok_or_else(|| ApiError::NotFound("message not found".into()))?;
    let user_message_id = state
        .store
        .messages(&caller.subject_id, &conv.id)
        .await?
        .into_iter()
        .rfind(|m| m.role == "user" && m.seq < msg.seq)
        .map(|m| m.id)
        .unwrap_or_default();
    let started = TurnStarted {
        conversation_id: conv.id,
        user_message_id,
        message_id: msg.id,
        assistant: conv.assistant,
        model: msg.model.unwrap_or_default(),
        started_seq: msg.seq,
    };
    Ok(sse_response(&state, &caller.subject_id, started, after))
}

/// Stop a running turn; the partial answer is kept as `cancelled`.
#[utoipa::path(post, path = "/api/chat/{message_id}/cancel", tag = "chat",
    params(("message_id" = String, Path, description = "The assistant message id")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The message's status afterwards", body = CancelResult),
        (status = 400, description = "Malformed id or credentials", body = ErrorBody),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 404, description = "No such message of the caller", body = ErrorBody),
    ))]
pub async fn cancel_turn(
    State(state): State<AppState>,
    caller: Caller,
    Path(message_id): Path<String>,
) -> Result<Json<CancelResult>, ApiError> {
    let status = state.chat.cancel(&caller.subject_id, &message_id).await?;
    Ok(Json(CancelResult { message_id, status: status.as_str().into() }))
}
