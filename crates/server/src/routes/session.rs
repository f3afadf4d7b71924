//! Sessions: `POST /api/session` makes a guest session (a token, also set as an
//! HttpOnly cookie); `GET /api/session` says who the caller is.

use crate::app::AppState;
use crate::auth::{hash_token, new_token, Caller, SESSION_COOKIE};
use crate::error::{ApiError, ErrorBody};
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use tenmon_store::SessionRow;
use utoipa::ToSchema;

/// A new session. `token` is shown only here.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionCreated {
    pub token: String,
    /// Send as `X-CSRF-Token` on unsafe requests that use the session cookie (also
    /// set as the readable cookie `tenmon_csrf`).
    pub csrf_token: String,
    pub session_id: String,
    /// `guest` until accounts exist.
    pub kind: String,
    /// RFC 3339.
    pub expires_at: String,
}

/// The caller's session.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    pub session_id: String,
    pub kind: String,
    pub expires_at: String,
}

pub fn rfc3339(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_millis(t).to_string()
}

/// Create a guest session.
#[utoipa::path(post, path = "/api/session", tag = "sessions",
    responses(
        (status = 201, description = "Created; the token is also set as the HttpOnly cookie tenmon_session", body = SessionCreated),
    ))]
pub async fn create_session(State(state): State<AppState>) -> Result<Response, ApiError> {
    let token = new_token();
    let now = tenmon_chat::now_ms();
    let ttl = state.config.chat.session_ttl;
    let id = uuid::Uuid::now_v7().to_string();
    let session = SessionRow {
        id: id.clone(),
        token_hash: hash_token(&token),
        subject_id: format!("guest:{id}"),
        kind: "guest".into(),
        created_at_ms: now,
        expires_at_ms: now + ttl.as_millis() as i64,
    };
    state.store.create_session(&session).await?;
    let secure = if state.config.chat.cookie_secure { "; Secure" } else { "" };
    let cookie = format!("{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}", ttl.as_secs());
    let csrf = crate::auth::csrf_for(&state, &token);
    let csrf_cookie =
        format!("{}={csrf}; Path=/; SameSite=Lax; Max-Age={}{secure}", crate::auth::CSRF_COOKIE, ttl.as_secs());
    let body = SessionCreated {
        token,
        csrf_token: csrf,
        session_id: id,
        kind: "guest".into(),
        expires_at: rfc3339(session.expires_at_ms),
    };
    let mut res = (StatusCode::CREATED, Json(body)).into_response();
    res.headers_mut()
        .insert(SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?);
    res.headers_mut()
        .append(SET_COOKIE, HeaderValue::from_str(&csrf_cookie).map_err(|e| ApiError::Internal(e.to_string()))?);
    res.headers_mut().insert("cache-control", HeaderValue::from_static("no-store"));
    Ok(res)
}

/// The caller's session.
#[utoipa::path(get, path = "/api/session", tag = "sessions",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The session", body = SessionInfo),
        (status = 401, description = "No valid session", body = ErrorBody),
    ))]
pub async fn get_session(caller: Caller) -> Json<SessionInfo> {
    Json(SessionInfo { session_id: caller.session_id, kind: caller.kind, expires_at: rfc3339(caller.expires_at_ms) })
}

/// An assistant, as the UI shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssistantView {
    pub id: String,
    pub name_ja: String,
    pub name_en: String,
    pub greeting_ja: String,
    pub greeting_en: String,
    /// Knowledge bases it answers from.
    pub knowledge_bases: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AssistantList {
    pub assistants: Vec<AssistantView>,
}

/// The assistants a caller can pick.
#[utoipa::path(get, path = "/api/assistants", tag = "sessions",
    responses((status = 200, description = "The assistants", body = AssistantList)))]
pub async fn list_assistants(State(state): State<AppState>) -> Json<AssistantList> {
    let assistants = state
        .chat
        .assistants()
        .all()
        .iter()
        .map(|a| AssistantView {
            id: a.id.clone(),
            name_ja: a.name_ja.clone(),
            name_en: a.name_en.clone(),
            greeting_ja: a.greeting_ja.clone(),
            greeting_en: a.greeting_en.clone(),
            knowledge_bases: a.knowledge_bases.clone(),
        })
        .collect();
    Json(AssistantList { assistants })
}
