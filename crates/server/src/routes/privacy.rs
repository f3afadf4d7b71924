//! Data subject rights (GDPR; Japan's APPI asks the same): export my data, erase
//! me, an admin erasing a user, and consent to the privacy notice.

use crate::app::AppState;
use crate::auth::{Admin, Caller};
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, SET_COOKIE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct PrivacyInfo {
    /// The version of the privacy notice in force.
    pub notice_version: String,
    /// Whether chat needs consent to that notice first.
    pub consent_required: bool,
    /// The caller's consent is on record for this version (false without a caller).
    pub consented: bool,
    /// Personal data is replaced by placeholders before reaching a model.
    pub masking: bool,
    /// Stored messages keep the original text (false: the masked text).
    pub stores_personal_data: bool,
    /// Conversations idle this many days are deleted (null: kept).
    pub retention_days: Option<u32>,
}

/// What this server does with personal data, and whether the caller consented.
#[utoipa::path(get, path = "/api/privacy", tag = "privacy",
    responses((status = 200, description = "The privacy settings", body = PrivacyInfo)))]
pub async fn info(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
) -> Result<Json<PrivacyInfo>, ApiError> {
    let p = &state.config.privacy;
    let consented = match &caller {
        Ok(c) => state.store.consent(&c.subject_id).await?.as_deref() == Some(p.notice_version.as_str()),
        Err(_) => false,
    };
    Ok(Json(PrivacyInfo {
        notice_version: p.notice_version.clone(),
        consent_required: p.require_consent,
        consented,
        masking: p.mask,
        stores_personal_data: p.store_personal_data,
        retention_days: p.retention_days,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentBody {
    /// The notice version consented to (must be the one in force).
    pub version: String,
}

/// Record the caller's consent to the privacy notice.
#[utoipa::path(post, path = "/api/me/consent", tag = "privacy", request_body = ConsentBody,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Recorded"),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 409, description = "Not the notice version in force (conflict)", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
pub async fn consent(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ConsentBody>,
) -> Result<StatusCode, ApiError> {
    let current = &state.config.privacy.notice_version;
    if &body.version != current {
        // Well-formed but stale (or future): the notice changed under the client.
        return Err(ApiError::Conflict(format!("the privacy notice in force is version {current}")));
    }
    state.store.record_consent(&caller.subject_id, current, tenmon_chat::now_ms()).await?;
    crate::audit::record(
        &state,
        Some(&caller.subject_id),
        "privacy.consent",
        None,
        serde_json::json!({"version": current}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}

/// Chat needs consent when the deployment asks for it (`GDPR_COMPLIANCE`).
pub async fn ensure_consent(state: &AppState, caller: &Caller) -> Result<(), ApiError> {
    let p = &state.config.privacy;
    if !p.require_consent || caller.kind == "api_key" {
        return Ok(());
    }
    if state.store.consent(&caller.subject_id).await?.as_deref() == Some(p.notice_version.as_str()) {
        return Ok(());
    }
    Err(ApiError::ConsentRequired(p.notice_version.clone()))
}

/// Everything stored about the caller, as one JSON document.
#[utoipa::path(get, path = "/api/me/export", tag = "privacy", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The archive (JSON, as an attachment): every table's rows about the caller", body = Object),
        (status = 401, description = "No valid credentials", body = ErrorBody),
    ))]
pub async fn export(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let data = crate::privacy::export(&state, &caller.subject_id).await?;
    crate::audit::record(
        &state,
        Some(&caller.subject_id),
        "privacy.export",
        Some(&caller.subject_id),
        serde_json::json!({}),
    )
    .await;
    let now = tenmon_chat::now_ms();
    let body = serde_json::json!({
        "format": crate::privacy::EXPORT_FORMAT,
        "generated_at": crate::routes::session::rfc3339(now),
        "subject_id": caller.subject_id,
        "tables": data.tables,
    });
    let mut res = Json(body).into_response();
    let day = crate::routes::session::rfc3339(now).chars().take(10).collect::<String>();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"tenmon-ark-export-{day}.json\"")) {
        res.headers_mut().insert(CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Erased {
    /// Rows deleted, per table.
    pub erased: BTreeMap<String, u64>,
}

/// Erase the caller: conversations, messages, events, sessions, keys, the account.
#[utoipa::path(delete, path = "/api/me", tag = "privacy", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Erased; the session cookie is cleared", body = Erased),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Operator keys have no personal data to erase", body = ErrorBody),
    ))]
pub async fn erase_me(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    if !matches!(caller.kind.as_str(), "user" | "guest") {
        return Err(ApiError::Forbidden("only a user or guest session can erase itself".into()));
    }
    let counts = crate::privacy::erase(&state, &caller.subject_id).await?;
    crate::audit::record(
        &state,
        None,
        "privacy.erase",
        Some(&caller.subject_id),
        serde_json::json!({"by": "self", "rows": counts.total()}),
    )
    .await;
    let mut res = Json(Erased { erased: counts.tables }).into_response();
    res.headers_mut()
        .insert(SET_COOKIE, HeaderValue::from_static("tenmon_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
    res.headers_mut().append(SET_COOKIE, HeaderValue::from_static("tenmon_csrf=; Path=/; SameSite=Lax; Max-Age=0"));
    Ok(res)
}

/// Erase a user (admins).
#[utoipa::path(delete, path = "/api/admin/users/{id}", tag = "admin", params(("id" = String, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Erased", body = Erased),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn erase_user(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<Erased>, ApiError> {
    if state.store.user_by_id(&id).await?.is_none() {
        return Err(ApiError::NotFound("no such user".into()));
    }
    let counts = crate::privacy::erase(&state, &id).await?;
    crate::audit::record(
        &state,
        Some(&admin.subject_id),
        "privacy.erase",
        Some(&id),
        serde_json::json!({"by": "admin", "rows": counts.total()}),
    )
    .await;
    Ok(Json(Erased { erased: counts.tables }))
}
