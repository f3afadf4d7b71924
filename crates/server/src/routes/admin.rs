//! User administration (admins): list users, read one, change a role. A role change
//! ends the user's logins, so nobody keeps rights they no longer have.

use crate::app::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::session::rfc3339;
use axum::extract::{Path, State};
use axum::Json;
use serde::{Deserialize, Serialize};
use tenmon_store::UserRow;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub email: String,
    pub display_name: String,
    /// `admin`, `operator` or `user`.
    pub role: String,
    pub locale: String,
    pub created_at: String,
    /// Disabled by an admin: cannot sign in.
    pub disabled: bool,
}

impl From<UserRow> for UserView {
    fn from(u: UserRow) -> Self {
        UserView {
            id: u.id,
            email: u.email,
            display_name: u.display_name,
            role: u.role,
            locale: u.locale,
            created_at: rfc3339(u.created_at_ms),
            disabled: u.disabled_at_ms.is_some(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub users: Vec<UserView>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListParams {
    /// The last id of the previous page.
    pub after: Option<String>,
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    #[schema(pattern = "^(admin|operator|user)$")]
    pub role: String,
}

/// Users, oldest first.
#[utoipa::path(get, path = "/api/admin/users", tag = "admin", params(UserListParams), security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "A page of users", body = UserPage),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 422, description = "Bad parameter", body = ErrorBody),
    ))]
pub async fn list_users(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(p): ApiQuery<UserListParams>,
) -> Result<Json<UserPage>, ApiError> {
    let limit = p.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::validation("limit", "limit: must be between 1 and 200"));
    }
    let mut users = state.store.list_users(p.after.as_deref(), limit + 1).await?;
    let next = if users.len() > limit as usize {
        users.truncate(limit as usize);
        users.last().map(|u| u.id.clone())
    } else {
        None
    };
    Ok(Json(UserPage { users: users.into_iter().map(Into::into).collect(), next }))
}

/// One user.
#[utoipa::path(get, path = "/api/admin/users/{id}", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn get_user(
    State(state): State<AppState>,
    _admin: Admin,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(state.store.user_by_id(&id).await?.ok_or_else(|| ApiError::NotFound("user not found".into()))?.into()))
}

/// Change a user's role; their logins end.
#[utoipa::path(patch, path = "/api/admin/users/{id}", tag = "admin", request_body = RoleBody, security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Changed", body = UserView),
        (status = 400, description = "Malformed JSON or id", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "The last admin cannot be demoted", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Unknown role", body = ErrorBody),
    ))]
pub async fn set_role(
    State(state): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
    ApiJson(b): ApiJson<RoleBody>,
) -> Result<Json<UserView>, ApiError> {
    if !["admin", "operator", "user"].contains(&b.role.as_str()) {
        return Err(ApiError::validation("role", "role: must be admin, operator or user"));
    }
    let user = state.store.user_by_id(&id).await?.ok_or_else(|| ApiError::NotFound("user not found".into()))?;
    if user.role == "admin" && b.role != "admin" {
        let admins = state.store.list_users(None, 10_000).await?.iter().filter(|u| u.role == "admin").count();
        if admins <= 1 {
            return Err(ApiError::Conflict("the last admin cannot be demoted".into()));
        }
    }
    if user.role != b.role {
        state.accounts.set_role(&id, &b.role).await?;
        tracing::info!(actor = %me.subject_id, target = %id, role = %b.role, "role changed");
        crate::audit::record(
            &state,
            Some(&me.subject_id),
            "user.role_changed",
            Some(&id),
            serde_json::json!({"from": user.role, "to": b.role}),
        )
        .await;
    }
    Ok(Json(state.store.user_by_id(&id).await?.ok_or_else(|| ApiError::NotFound("user not found".into()))?.into()))
}

async fn set_disabled(
    state: &AppState,
    me: &crate::auth::Caller,
    id: &str,
    disable: bool,
) -> Result<Json<UserView>, ApiError> {
    let user = state.store.user_by_id(id).await?.ok_or_else(|| ApiError::NotFound("user not found".into()))?;
    if disable && user.id == me.subject_id {
        return Err(ApiError::Conflict("you cannot disable your own account".into()));
    }
    let now = tenmon_chat::now_ms();
    state.store.set_user_disabled(id, disable.then_some(now), now).await?;
    if disable {
        // Every login and key ends now: Socket.IO connections close at their next check.
        state.store.revoke_user(id, now).await?;
        for key in state.store.api_keys(id).await? {
            if key.revoked_at_ms.is_none() {
                state.store.revoke_api_key(id, &key.id, now).await?;
            }
        }
    }
    let action = if disable { "user.disabled" } else { "user.enabled" };
    crate::audit::record(state, Some(&me.subject_id), action, Some(id), serde_json::json!({})).await;
    Ok(Json(state.store.user_by_id(id).await?.ok_or_else(|| ApiError::NotFound("user not found".into()))?.into()))
}

/// Disable an account: it cannot sign in, and its logins and API keys end now.
#[utoipa::path(post, path = "/api/admin/users/{id}/disable", tag = "admin", params(("id" = String, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Disabled", body = UserView),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 409, description = "Admins cannot disable themselves", body = ErrorBody),
    ))]
pub async fn disable_user(
    State(state): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    set_disabled(&state, &me, &id, true).await
}

/// Enable a disabled account again (its user signs in anew).
#[utoipa::path(post, path = "/api/admin/users/{id}/enable", tag = "admin", params(("id" = String, Path, description = "User id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Enabled", body = UserView),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ))]
pub async fn enable_user(
    State(state): State<AppState>,
    Admin(me): Admin,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    set_disabled(&state, &me, &id, false).await
}
