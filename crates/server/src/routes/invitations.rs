//! Invitations (admins): with `SIGNUP_MODE=invite-only` only their holders can sign
//! up; each is single-use, expires, may be tied to one email, and carries the role
//! the new account gets. The token is shown once and stored hashed.

use crate::app::AppState;
use crate::auth::{hash_token, new_token, Admin};
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::routes::session::rfc3339;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tenmon_store::InvitationRow;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationBody {
    /// Only this email may use it (any when absent).
    #[schema(max_length = 320)]
    pub email: Option<String>,
    /// `user` (default), `operator` or `admin`.
    pub role: Option<String>,
    /// 1 to 90 (default 7).
    pub expires_in_days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Invitation {
    pub id: String,
    pub email: Option<String>,
    pub role: String,
    pub created_at: String,
    pub expires_at: String,
    /// `open`, `used`, `revoked` or `expired`.
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedInvitation {
    #[serde(flatten)]
    pub invitation: Invitation,
    /// Shown this once: give it to the invitee.
    pub token: String,
    /// The sign-up page with the token filled in.
    pub signup_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationList {
    pub invitations: Vec<Invitation>,
}

fn view(i: &InvitationRow, now: i64) -> Invitation {
    let status = if i.used_at_ms.is_some() {
        "used"
    } else if i.revoked_at_ms.is_some() {
        "revoked"
    } else if i.expires_at_ms <= now {
        "expired"
    } else {
        "open"
    };
    Invitation {
        id: i.id.clone(),
        email: i.email.clone(),
        role: i.role.clone(),
        created_at: rfc3339(i.created_at_ms),
        expires_at: rfc3339(i.expires_at_ms),
        status: status.into(),
    }
}

/// An open invitation for this token (and email): one answer for every failure.
pub async fn check(state: &AppState, token: &str, email: &str) -> Result<InvitationRow, ApiError> {
    let invalid = || ApiError::Forbidden("the invitation is invalid, used or expired".into());
    let inv = state.store.invitation_by_hash(&hash_token(token)).await?.ok_or_else(invalid)?;
    let now = tenmon_chat::now_ms();
    if inv.used_at_ms.is_some() || inv.revoked_at_ms.is_some() || inv.expires_at_ms <= now {
        return Err(invalid());
    }
    if inv.email.as_deref().is_some_and(|e| !e.eq_ignore_ascii_case(email.trim())) {
        return Err(invalid());
    }
    Ok(inv)
}

/// Invite someone.
#[utoipa::path(post, path = "/api/admin/invitations", tag = "admin", request_body = InvitationBody, security(("bearer" = [])),
    responses(
        (status = 201, description = "Created; the token is in this answer only", body = CreatedInvitation),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(b): ApiJson<InvitationBody>,
) -> Result<(StatusCode, Json<CreatedInvitation>), ApiError> {
    let role = b.role.unwrap_or_else(|| "user".into());
    if !["user", "operator", "admin"].contains(&role.as_str()) {
        return Err(ApiError::validation("role", "role: must be user, operator or admin"));
    }
    let days = b.expires_in_days.unwrap_or(7);
    if !(1..=90).contains(&days) {
        return Err(ApiError::validation("expires_in_days", "expires_in_days: must be 1 to 90"));
    }
    let email = match b.email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => Some(
            crate::accounts::validate_email(e)
                .map_err(|_| ApiError::validation("email", "email: not an email address"))?,
        ),
        None => None,
    };
    let token = format!("inv_{}", new_token());
    let now = tenmon_chat::now_ms();
    let row = InvitationRow {
        id: uuid::Uuid::now_v7().to_string(),
        token_hash: hash_token(&token),
        email,
        role,
        created_by: admin.subject_id.clone(),
        created_at_ms: now,
        expires_at_ms: now + i64::from(days) * 86_400_000,
        used_at_ms: None,
        used_by: None,
        revoked_at_ms: None,
    };
    state.store.create_invitation(&row).await?;
    crate::audit::record(
        &state,
        Some(&admin.subject_id),
        "invitation.created",
        Some(&row.id),
        json!({"role": row.role, "days": days}),
    )
    .await;
    let signup_url = format!("/login?invite={token}");
    Ok((StatusCode::CREATED, Json(CreatedInvitation { invitation: view(&row, now), token, signup_url })))
}

/// Invitations, newest first (never their tokens).
#[utoipa::path(get, path = "/api/admin/invitations", tag = "admin", security(("bearer" = [])),
    responses(
        (status = 200, description = "The invitations", body = InvitationList),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
pub async fn list(State(state): State<AppState>, _admin: Admin) -> Result<Json<InvitationList>, ApiError> {
    let now = tenmon_chat::now_ms();
    let invitations = state.store.invitations(500).await?.iter().map(|i| view(i, now)).collect();
    Ok(Json(InvitationList { invitations }))
}

/// Withdraw an unused invitation.
#[utoipa::path(delete, path = "/api/admin/invitations/{id}", tag = "admin", params(("id" = String, Path, description = "Invitation id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such open invitation", body = ErrorBody),
    ))]
pub async fn revoke(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if state.store.revoke_invitation(&id, tenmon_chat::now_ms()).await? {
        crate::audit::record(&state, Some(&admin.subject_id), "invitation.revoked", Some(&id), json!({})).await;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("no such open invitation".into()))
    }
}
