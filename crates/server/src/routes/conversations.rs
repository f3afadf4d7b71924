//! The caller's conversations: list (cursor pagination), read, rename, delete, and
//! their messages. Every query names the owner, so another caller's id is a 404.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::session::rfc3339;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use base64::Engine;
use serde::{Deserialize, Serialize};
use tenmon_store::{ConversationRow, EventPayload, MessageRow, NewEvent};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct Conversation {
    pub id: String,
    pub title: String,
    pub assistant: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<ConversationRow> for Conversation {
    fn from(c: ConversationRow) -> Self {
        Conversation {
            id: c.id,
            title: c.title,
            assistant: c.assistant,
            created_at: rfc3339(c.created_at_ms),
            updated_at: rfc3339(c.updated_at_ms),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConversationPage {
    pub conversations: Vec<Conversation>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// From a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameBody {
    /// 1 to 200 characters, not blank.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub title: String,
}

/// Token usage of an answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsageView {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Message {
    pub id: String,
    /// `user` or `assistant`.
    pub role: String,
    pub content: String,
    /// `streaming`, `complete`, `cancelled`, `failed` or `interrupted`.
    pub status: String,
    pub model: Option<String>,
    pub finish_reason: Option<String>,
    pub usage: Option<UsageView>,
    pub latency_ms: Option<u64>,
    #[schema(value_type = Vec<Object>)]
    pub sources: serde_json::Value,
    pub created_at: String,
}

impl From<MessageRow> for Message {
    fn from(m: MessageRow) -> Self {
        Message {
            id: m.id,
            role: m.role,
            content: m.content,
            status: m.status.as_str().into(),
            model: m.model,
            finish_reason: m.finish_reason,
            usage: m
                .usage
                .map(|u| UsageView { prompt_tokens: u.prompt_tokens, completion_tokens: u.completion_tokens }),
            latency_ms: m.latency_ms,
            sources: m.sources.unwrap_or_else(|| serde_json::json!([])),
            created_at: rfc3339(m.created_at_ms),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageList {
    pub messages: Vec<Message>,
}

fn encode_cursor(c: &ConversationRow) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{}|{}", c.updated_at_ms, c.id))
}

fn decode_cursor(raw: &str) -> Result<(i64, String), ApiError> {
    let bad = || ApiError::validation("cursor", "cursor: not a cursor from this API");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (ts, id) = text.split_once('|').ok_or_else(bad)?;
    Ok((ts.parse().map_err(|_| bad())?, id.to_string()))
}

/// The caller's conversations, most recently active first.
#[utoipa::path(get, path = "/api/conversations", tag = "conversations", params(ListParams),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "A page of conversations", body = ConversationPage),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 422, description = "Bad cursor or limit", body = ErrorBody),
    ))]
pub async fn list_conversations(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<ConversationPage>, ApiError> {
    let limit = params.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation("limit", "limit: must be between 1 and 100"));
    }
    let before = params.cursor.as_deref().map(decode_cursor).transpose()?;
    let mut rows = state.store.list_conversations(&caller.subject_id, before, limit + 1).await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(encode_cursor)
    } else {
        None
    };
    Ok(Json(ConversationPage { conversations: rows.into_iter().map(Into::into).collect(), next_cursor }))
}

async fn owned(state: &AppState, caller: &Caller, id: &str) -> Result<ConversationRow, ApiError> {
    state
        .store
        .conversation(&caller.subject_id, id)
        .await?
        .ok_or_else(|| ApiError::NotFound("conversation not found".into()))
}

/// One conversation.
#[utoipa::path(get, path = "/api/conversations/{id}", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The conversation", body = Conversation),
        (status = 400, description = "Malformed id or credentials", body = ErrorBody),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 404, description = "No such conversation of the caller", body = ErrorBody),
    ))]
pub async fn get_conversation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, ApiError> {
    Ok(Json(owned(&state, &caller, &id).await?.into()))
}

async fn append_one(state: &AppState, conv: &ConversationRow, payload: EventPayload) -> Result<(), ApiError> {
    let next = state.store.next_seq(&conv.id).await?;
    state.store.append(&conv.id, next, &[NewEvent { payload, at_ms: tenmon_chat::now_ms() }]).await?;
    Ok(())
}

/// Rename a conversation.
#[utoipa::path(patch, path = "/api/conversations/{id}", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id")),
    request_body = RenameBody,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Renamed", body = Conversation),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 404, description = "No such conversation of the caller", body = ErrorBody),
        (status = 409, description = "Changed concurrently; retry", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid title", body = ErrorBody),
    ))]
pub async fn rename_conversation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RenameBody>,
) -> Result<Json<Conversation>, ApiError> {
    let title = body.title.trim();
    let len = title.chars().count();
    if len == 0 || len > 200 || title.chars().any(char::is_control) {
        return Err(ApiError::validation("title", "title: must be 1 to 200 characters, without control characters"));
    }
    let conv = owned(&state, &caller, &id).await?;
    append_one(&state, &conv, EventPayload::ConversationRenamed { title: title.to_string() }).await?;
    Ok(Json(owned(&state, &caller, &id).await?.into()))
}

/// Delete a conversation.
#[utoipa::path(delete, path = "/api/conversations/{id}", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed id or credentials", body = ErrorBody),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 404, description = "No such conversation of the caller", body = ErrorBody),
        (status = 409, description = "Changed concurrently; retry", body = ErrorBody),
    ))]
pub async fn delete_conversation(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let conv = owned(&state, &caller, &id).await?;
    append_one(&state, &conv, EventPayload::ConversationDeleted {}).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The messages of a conversation, oldest first.
#[utoipa::path(get, path = "/api/conversations/{id}/messages", tag = "conversations",
    params(("id" = String, Path, description = "Conversation id")),
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The messages", body = MessageList),
        (status = 400, description = "Malformed id or credentials", body = ErrorBody),
        (status = 401, description = "No valid session", body = ErrorBody),
        (status = 404, description = "No such conversation of the caller", body = ErrorBody),
    ))]
pub async fn list_messages(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<MessageList>, ApiError> {
    owned(&state, &caller, &id).await?;
    let messages = state.store.messages(&caller.subject_id, &id).await?;
    Ok(Json(MessageList { messages: messages.into_iter().map(Into::into).collect() }))
}
