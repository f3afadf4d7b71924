//! Browser endpoints of "Sign in with …" (OpenID Connect). Both answer with
//! redirects: to the provider, then back into the app (or to `/login?error=…`).

use crate::app::AppState;
use crate::error::ApiError;
use crate::extract::ApiQuery;
use crate::oidc::{open_flow, seal_flow, OidcError, FLOW_COOKIE};
use crate::routes::auth::{adopt, set_session_cookies, MaybeGuest};
use axum::extract::State;
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Serialize, ToSchema)]
pub struct Provider {
    pub id: String,
    /// For the button: "Sign in with {name}".
    pub name: String,
    /// Where the browser goes to start (add `?return_to=/path`).
    pub login_url: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Providers {
    pub providers: Vec<Provider>,
}

/// Identity providers configured for "Sign in with …".
#[utoipa::path(get, path = "/api/auth/providers", tag = "auth",
    responses((status = 200, description = "The providers (empty when none is configured)", body = Providers)))]
pub async fn providers(State(state): State<AppState>) -> Json<Providers> {
    let providers = state
        .oidc
        .iter()
        .map(|o| Provider {
            id: "oidc".into(),
            name: o.config().name.clone(),
            login_url: "/api/auth/oidc/login".into(),
        })
        .collect();
    Json(Providers { providers })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoginQuery {
    /// A path on this site to return to after login (default /chat).
    pub return_to: Option<String>,
}

fn redirect(to: &str) -> Response {
    let mut res = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        res.headers_mut().insert(LOCATION, v);
    }
    res.headers_mut().insert("cache-control", HeaderValue::from_static("no-store"));
    res
}

fn flow_cookie(state: &AppState, value: &str, max_age: i64) -> Option<HeaderValue> {
    let secure = if state.config.chat.cookie_secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{FLOW_COOKIE}={value}; Path=/api/auth/oidc; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
    ))
    .ok()
}

/// Start a login at the identity provider (a redirect).
#[utoipa::path(get, path = "/api/auth/oidc/login", tag = "auth", params(LoginQuery),
    responses(
        (status = 302, description = "To the provider, with state, nonce and a PKCE challenge"),
        (status = 404, description = "No provider configured", body = crate::error::ErrorBody),
        (status = 503, description = "The provider cannot be reached", body = crate::error::ErrorBody),
    ))]
pub async fn login(State(state): State<AppState>, ApiQuery(q): ApiQuery<LoginQuery>) -> Result<Response, ApiError> {
    let Some(oidc) = &state.oidc else {
        return Err(ApiError::NotFound("no identity provider is configured (OAUTH_ISSUER_URL)".into()));
    };
    let (url, flow) = oidc.begin(q.return_to.as_deref()).await.map_err(|e| match e {
        OidcError::Unreachable(m) | OidcError::Provider(m) => {
            ApiError::ServiceUnavailable(format!("identity provider: {m}"))
        }
        other => ApiError::Internal(other.to_string()),
    })?;
    let mut res = redirect(&url);
    let sealed = seal_flow(state.config.auth.session_secret.expose_secret(), &flow);
    if let Some(c) = flow_cookie(&state, &sealed, 600) {
        res.headers_mut().append(SET_COOKIE, c);
    }
    Ok(res)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    /// Set by the provider when the user declined or it failed.
    pub error: Option<String>,
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The provider sends the browser back here with a code.
#[utoipa::path(get, path = "/api/auth/oidc/callback", tag = "auth", params(CallbackQuery),
    responses(
        (status = 302, description = "Logged in (the session cookie is set) and back to the app, or to /login?error=…"),
        (status = 404, description = "No provider configured", body = crate::error::ErrorBody),
        (status = 422, description = "Bad parameter", body = crate::error::ErrorBody),
    ))]
pub async fn callback(
    State(state): State<AppState>,
    MaybeGuest(guest): MaybeGuest,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> Result<Response, ApiError> {
    let Some(oidc) = &state.oidc else {
        return Err(ApiError::NotFound("no identity provider is configured (OAUTH_ISSUER_URL)".into()));
    };
    let secret = state.config.auth.session_secret.expose_secret().to_string();
    let flow = cookie(&headers, FLOW_COOKIE).and_then(|v| open_flow(&secret, &v));
    let result = async {
        if let Some(e) = &q.error {
            return Err(OidcError::Provider(e.chars().take(100).collect()));
        }
        let (Some(flow), Some(code), Some(st)) = (&flow, &q.code, &q.state) else {
            return Err(OidcError::InvalidState);
        };
        let identity = oidc.finish(flow, st, code).await?;
        let user = link(&state, &oidc.config().issuer, &identity).await?;
        Ok((user, flow.return_to.clone()))
    }
    .await;
    let mut res = match result {
        Ok((user, return_to)) => {
            let tokens = state.accounts.login_verified(&user).await.map_err(ApiError::from)?;
            crate::audit::record(&state, Some(&user.id), "auth.login", Some(&user.id), json!({"method": "oidc"})).await;
            adopt(&state, guest, &user.id).await;
            let mut res = redirect(&return_to);
            set_session_cookies(&state, &mut res, &tokens)?;
            res
        }
        Err(e) => {
            tracing::info!(reason = e.code(), "OIDC login failed: {e}");
            crate::audit::record(
                &state,
                None,
                "auth.login_failed",
                None,
                json!({"method": "oidc", "reason": e.code()}),
            )
            .await;
            redirect(&format!("/login?error={}", e.code()))
        }
    };
    // The flow is single-use.
    if let Some(c) = flow_cookie(&state, "", 0) {
        res.headers_mut().append(SET_COOKIE, c);
    }
    Ok(res)
}

/// The account of a verified identity: linked before, or linked now by verified
/// email, or created (when sign-up is open).
async fn link(state: &AppState, issuer: &str, id: &crate::oidc::Identity) -> Result<tenmon_store::UserRow, OidcError> {
    let store = &state.store;
    if let Some(user_id) = store.identity_user(issuer, &id.sub).await? {
        if let Some(user) = store.user_by_id(&user_id).await? {
            if user.disabled_at_ms.is_some() {
                return Err(OidcError::Disabled);
            }
            return Ok(user);
        }
    }
    let email = match (&id.email, id.email_verified) {
        (Some(e), Some(true)) => e.clone(),
        _ => return Err(OidcError::EmailNotVerified),
    };
    let user = match store.user_by_email(&email).await? {
        Some(u) => u,
        None => {
            if state.config.auth.signup != crate::accounts::SignupMode::Open {
                return Err(OidcError::SignupClosed);
            }
            let name = id.name.clone().unwrap_or_default();
            match state.accounts.create_external(&email, &name).await {
                Ok(u) => u,
                Err(crate::accounts::AccountError::Store(e)) => return Err(e.into()),
                Err(e) => return Err(OidcError::Provider(e.to_string())),
            }
        }
    };
    if user.disabled_at_ms.is_some() {
        return Err(OidcError::Disabled);
    }
    store.link_identity(issuer, &id.sub, &user.id, tenmon_chat::now_ms()).await?;
    Ok(user)
}
