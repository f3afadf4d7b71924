//! Sign-up, login, token refresh, logout, the caller's profile and password change.
//! Login answers with tokens for API clients and sets the HttpOnly session cookie
//! for the web UI; a guest who signs up or logs in keeps their conversations.

use crate::accounts::{AccountError, SignupMode, Tokens};
use crate::app::AppState;
use crate::audit;
use crate::auth::{presented_token, Account, Caller, SESSION_COOKIE};
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use crate::middleware::rate_limit::refused;
use crate::ratelimit::Bucket;
use axum::extract::{FromRequestParts, State};
use axum::http::header::SET_COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

impl From<AccountError> for ApiError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::InvalidCredentials | AccountError::InvalidToken => ApiError::Unauthorized,
            AccountError::EmailTaken => ApiError::Conflict("an account with this email exists".into()),
            AccountError::SignupClosed => ApiError::Forbidden("sign-up is closed".into()),
            AccountError::Invalid { field, message } => ApiError::validation(field, format!("{field}: {message}")),
            AccountError::Store(e) => e.into(),
            AccountError::Hashing => ApiError::Internal("password hashing failed".into()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupBody {
    #[schema(
        min_length = 3,
        max_length = 320,
        pattern = r"^[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+@[^@.\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*\.[^@\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*[^@.\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]$"
    )]
    pub email: String,
    /// 10 to 256 characters.
    #[schema(min_length = 10, max_length = 256)]
    pub password: String,
    #[serde(default)]
    #[schema(max_length = 100, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub display_name: String,
    /// An invitation token (required when sign-up is invite-only); the account gets
    /// the invitation's role.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub invitation: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginBody {
    #[schema(max_length = 320)]
    pub email: String,
    #[schema(max_length = 256)]
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    pub refresh_token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordBody {
    pub current_password: String,
    #[schema(min_length = 10, max_length = 256)]
    pub new_password: String,
}

/// Tokens for API clients (the web UI uses the cookie set alongside).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

/// The caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    /// Absent for guests.
    pub id: Option<String>,
    pub email: Option<String>,
    pub display_name: Option<String>,
    /// `guest`, `user`, `operator` or `admin`.
    pub role: String,
    pub locale: Option<String>,
}

/// A guest credential on the request, if any (it is fine to have none).
pub struct MaybeGuest(pub Option<Caller>);

impl FromRequestParts<AppState> for MaybeGuest {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if presented_token(&parts.headers).ok().flatten().is_none() {
            return Ok(MaybeGuest(None));
        }
        Ok(MaybeGuest(Caller::from_request_parts(parts, state).await.ok().filter(|c| c.kind == "guest")))
    }
}

/// Set the session cookie and its CSRF companion on `res`.
pub fn set_session_cookies(state: &AppState, res: &mut Response, tokens: &Tokens) -> Result<(), ApiError> {
    if tokens.cookie_token.is_empty() {
        return Ok(());
    }
    let secure = if state.config.chat.cookie_secure { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        tokens.cookie_token,
        state.config.auth.refresh_ttl.as_secs()
    );
    res.headers_mut()
        .append(SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?);
    let csrf = format!(
        "{}={}; Path=/; SameSite=Lax; Max-Age={}{secure}",
        crate::auth::CSRF_COOKIE,
        crate::auth::csrf_for(state, &tokens.cookie_token),
        state.config.auth.refresh_ttl.as_secs()
    );
    res.headers_mut().append(SET_COOKIE, HeaderValue::from_str(&csrf).map_err(|e| ApiError::Internal(e.to_string()))?);
    Ok(())
}

fn with_tokens(state: &AppState, status: StatusCode, tokens: &Tokens) -> Result<Response, ApiError> {
    let body = TokenResponse {
        access_token: tokens.access_token.clone(),
        refresh_token: tokens.refresh_token.clone(),
        token_type: "Bearer".into(),
        expires_in: tokens.expires_in,
    };
    let mut res = (status, Json(body)).into_response();
    set_session_cookies(state, &mut res, tokens)?;
    res.headers_mut().insert("cache-control", HeaderValue::from_static("no-store"));
    Ok(res)
}

pub async fn adopt(state: &AppState, guest: Option<Caller>, user_id: &str) {
    if let Some(g) = guest {
        match state.accounts.adopt_guest(&g.subject_id, user_id).await {
            Ok(n) if n > 0 => tracing::info!(conversations = n, "a guest's conversations moved to their account"),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "could not move a guest's conversations"),
        }
    }
}

/// Create an account and log in.
#[utoipa::path(post, path = "/api/auth/signup", tag = "auth", request_body = SignupBody,
    responses(
        (status = 201, description = "Created and logged in; the session cookie is set", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 403, description = "Sign-up is closed", body = ErrorBody),
        (status = 409, description = "The email is taken (ignoring case)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid email, password or name", body = ErrorBody),
    ))]
pub async fn signup(
    State(state): State<AppState>,
    MaybeGuest(guest): MaybeGuest,
    ApiJson(b): ApiJson<SignupBody>,
) -> Result<Response, ApiError> {
    let invitation = match b.invitation.as_deref().filter(|t| !t.is_empty()) {
        Some(token) => Some(crate::routes::invitations::check(&state, token, &b.email).await?),
        None => None,
    };
    match (state.config.auth.signup, &invitation) {
        (SignupMode::Closed, _) => return Err(AccountError::SignupClosed.into()),
        (SignupMode::InviteOnly, None) => {
            return Err(ApiError::Forbidden("sign-up is by invitation only: an invitation token is required".into()))
        }
        _ => {}
    }
    let role = invitation.as_ref().map_or("user", |i| i.role.as_str());
    let created = state.accounts.signup(&b.email, &b.password, &b.display_name, role).await?;
    if let Some(inv) = &invitation {
        // Single use: a concurrent sign-up with the same invitation loses, and its
        // account is removed again.
        if !state.store.claim_invitation(&inv.id, &created.id, tenmon_chat::now_ms()).await? {
            let _ = state.store.erase_subjects(std::slice::from_ref(&created.id), &[]).await;
            return Err(ApiError::Conflict("the invitation was used or has expired".into()));
        }
        audit::record(&state, Some(&created.id), "invitation.used", Some(&inv.id), json!({"role": inv.role})).await;
    }
    let (user, tokens) = state.accounts.login(&b.email, &b.password).await?;
    audit::record(&state, Some(&user.id), "auth.signup", Some(&user.id), json!({})).await;
    adopt(&state, guest, &user.id).await;
    with_tokens(&state, StatusCode::CREATED, &tokens)
}

/// Log in with email and password.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth", request_body = LoginBody,
    responses(
        (status = 200, description = "Logged in; the session cookie is set", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Wrong email or password (the same answer for both)", body = ErrorBody),
        (status = 429, description = "Too many attempts from this address or for this account", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
pub async fn login(
    State(state): State<AppState>,
    MaybeGuest(guest): MaybeGuest,
    ApiJson(b): ApiJson<LoginBody>,
) -> Result<Response, ApiError> {
    let per_account = state.limiter.check(Bucket::Account, &format!("acct:{}", b.email.trim().to_lowercase())).await;
    if !per_account.allowed {
        return Ok(refused(&per_account));
    }
    let (user, tokens) = match state.accounts.login(&b.email, &b.password).await {
        Ok(ok) => ok,
        Err(e) => {
            let err = ApiError::from(e);
            // The email is personal data (and erasable): the record names it by a hash.
            let who = audit::email_ref(&b.email);
            audit::record(&state, None, "auth.login_failed", Some(&who), json!({"reason": err.code()})).await;
            return Err(err);
        }
    };
    audit::record(&state, Some(&user.id), "auth.login", Some(&user.id), json!({})).await;
    adopt(&state, guest, &user.id).await;
    with_tokens(&state, StatusCode::OK, &tokens)
}

/// Exchange a refresh token for a new pair. Each refresh token works once: a reused
/// one ends the whole login.
#[utoipa::path(post, path = "/api/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses(
        (status = 200, description = "New tokens", body = TokenResponse),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "Invalid, expired, revoked or reused refresh token", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
pub async fn refresh(State(state): State<AppState>, ApiJson(b): ApiJson<RefreshBody>) -> Result<Response, ApiError> {
    let tokens = match state.accounts.refresh(&b.refresh_token).await {
        Ok(t) => t,
        Err(e) => {
            let err = ApiError::from(e);
            audit::record(&state, None, "auth.refresh_failed", None, json!({"reason": err.code()})).await;
            return Err(err);
        }
    };
    with_tokens(&state, StatusCode::OK, &tokens)
}

/// End this login (its tokens and its cookie).
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Logged out; the cookie is cleared"),
        (status = 401, description = "No valid credentials", body = ErrorBody),
    ))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    if caller.kind == "user" {
        state.accounts.logout(&caller.session_id).await?;
        audit::record(&state, Some(&caller.subject_id), "auth.logout", Some(&caller.subject_id), json!({})).await;
    }
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(SET_COOKIE, HeaderValue::from_static("tenmon_session=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"));
    res.headers_mut().append(SET_COOKIE, HeaderValue::from_static("tenmon_csrf=; Path=/; SameSite=Lax; Max-Age=0"));
    Ok(res)
}

/// Who the caller is.
#[utoipa::path(get, path = "/api/me", tag = "auth", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 401, description = "No valid credentials", body = ErrorBody),
    ))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, ApiError> {
    if caller.kind != "user" {
        return Ok(Json(Me { id: None, email: None, display_name: None, role: caller.role, locale: None }));
    }
    let user = state.store.user_by_id(&caller.subject_id).await?.ok_or(ApiError::Unauthorized)?;
    Ok(Json(Me {
        id: Some(user.id),
        email: Some(user.email),
        display_name: Some(user.display_name),
        role: user.role,
        locale: Some(user.locale),
    }))
}

/// Change the password; every login of the account ends (log in again).
#[utoipa::path(post, path = "/api/me/password", tag = "auth", request_body = PasswordBody, security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Changed; all logins ended"),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid credentials, or the current password is wrong", body = ErrorBody),
        (status = 403, description = "Guests have no password", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "The new password is too weak", body = ErrorBody),
    ))]
pub async fn change_password(
    State(state): State<AppState>,
    Account(caller): Account,
    ApiJson(b): ApiJson<PasswordBody>,
) -> Result<StatusCode, ApiError> {
    let user = state.store.user_by_id(&caller.subject_id).await?.ok_or(ApiError::Unauthorized)?;
    state.accounts.change_password(&user, &b.current_password, &b.new_password).await?;
    audit::record(&state, Some(&user.id), "auth.password_changed", Some(&user.id), json!({})).await;
    Ok(StatusCode::NO_CONTENT)
}
