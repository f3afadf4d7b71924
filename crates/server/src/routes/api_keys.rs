//! Users' API keys for `/v1/*` and server-to-server calls: shown once, stored hashed,
//! with a visible prefix, scopes, an optional expiry and the time of last use.

use crate::app::AppState;
use crate::auth::{hash_token, new_token, Account};
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::routes::session::rfc3339;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use tenmon_store::ApiKeyRow;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// `chat` (the default) and, for operators, `kb:write`.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Days until the key stops working (1 to 3650); none for no expiry.
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyView {
    pub id: String,
    pub name: String,
    /// The key's first characters.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

impl From<&ApiKeyRow> for KeyView {
    fn from(k: &ApiKeyRow) -> Self {
        KeyView {
            id: k.id.clone(),
            name: k.name.clone(),
            prefix: k.prefix.clone(),
            scopes: k.scopes.clone(),
            created_at: rfc3339(k.created_at_ms),
            expires_at: k.expires_at_ms.map(rfc3339),
            last_used_at: k.last_used_at_ms.map(rfc3339),
            revoked: k.revoked_at_ms.is_some(),
        }
    }
}

/// A new key: `key` is shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    pub key: String,
    #[serde(flatten)]
    pub info: KeyView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyView>,
}

/// Create an API key.
#[utoipa::path(post, path = "/api/api-keys", tag = "account", request_body = NewKey, security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 201, description = "Created; the key is shown only now", body = CreatedKey),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Guests and API keys cannot create keys; kb:write needs an operator", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid name, scope or expiry", body = ErrorBody),
    ))]
pub async fn create_key(
    State(state): State<AppState>,
    Account(caller): Account,
    ApiJson(b): ApiJson<NewKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let name = b.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::validation("name", "name: must be 1 to 100 characters"));
    }
    let mut scopes = if b.scopes.is_empty() { vec!["chat".to_string()] } else { b.scopes };
    scopes.sort();
    scopes.dedup();
    if let Some(bad) = scopes.iter().find(|s| !["chat", "kb:write"].contains(&s.as_str())) {
        return Err(ApiError::validation("scopes", format!("scopes: unknown scope {bad:?} (chat, kb:write)")));
    }
    if scopes.iter().any(|s| s == "kb:write") && !caller.is_operator() {
        return Err(ApiError::Forbidden("kb:write is for operators".into()));
    }
    if let Some(d) = b.expires_in_days {
        if !(1..=3650).contains(&d) {
            return Err(ApiError::validation("expires_in_days", "expires_in_days: must be 1 to 3650"));
        }
    }
    let key = format!("tka_{}", new_token().trim_start_matches("tks_"));
    let now = tenmon_chat::now_ms();
    let row = ApiKeyRow {
        id: uuid::Uuid::now_v7().to_string(),
        user_id: caller.subject_id.clone(),
        name: name.to_string(),
        prefix: key.chars().take(12).collect(),
        key_hash: hash_token(&key),
        scopes,
        created_at_ms: now,
        expires_at_ms: b.expires_in_days.map(|d| now + i64::from(d) * 86_400_000),
        last_used_at_ms: None,
        revoked_at_ms: None,
    };
    state.store.create_api_key(&row).await?;
    crate::audit::record(
        &state,
        Some(&caller.subject_id),
        "api_key.created",
        Some(&row.id),
        serde_json::json!({"scopes": row.scopes}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(CreatedKey { key, info: (&row).into() })))
}

/// The caller's keys (never the keys themselves).
#[utoipa::path(get, path = "/api/api-keys", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The keys", body = KeyList),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Guests have no keys", body = ErrorBody),
    ))]
pub async fn list_keys(State(state): State<AppState>, Account(caller): Account) -> Result<Json<KeyList>, ApiError> {
    Ok(Json(KeyList { keys: state.store.api_keys(&caller.subject_id).await?.iter().map(Into::into).collect() }))
}

/// Revoke a key at once.
#[utoipa::path(delete, path = "/api/api-keys/{id}", tag = "account", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "Key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Guests have no keys", body = ErrorBody),
        (status = 404, description = "No such key of the caller", body = ErrorBody),
    ))]
pub async fn revoke_key(
    State(state): State<AppState>,
    Account(caller): Account,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.store.revoke_api_key(&caller.subject_id, &id, tenmon_chat::now_ms()).await? {
        crate::audit::record(&state, Some(&caller.subject_id), "api_key.revoked", Some(&id), serde_json::json!({}))
            .await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("key not found".into()))
    }
}
