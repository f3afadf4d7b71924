//! Who is calling. One extractor reads every credential form (the session cookie,
//! `Authorization: Bearer`, `x-api-key`) through one code path, and examines exactly
//! one of them, so no route can check a key on one path and skip it on another.

use crate::app::AppState;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, COOKIE};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "tenmon_session";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Owner id of everything the caller creates.
    pub subject_id: String,
    pub session_id: String,
    /// `guest`, `user` or `api_key`.
    pub kind: String,
    /// `guest`, `user`, `operator`, `admin`, or `operator` for an operator key; read
    /// from the database on every request, so a demotion applies at once.
    pub role: String,
    pub expires_at_ms: i64,
}

impl Caller {
    /// May manage knowledge bases.
    pub fn is_operator(&self) -> bool {
        matches!(self.role.as_str(), "operator" | "admin")
    }
}

fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.split('.').count() == 3
}

/// A fresh session token: 32 random bytes, URL-safe.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("tks_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// What is stored instead of the token.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Lower-case hex (on every request's path: no `format!` per byte).
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Where a credential came from. Only the cookie is sent by browsers on their own,
/// so only it needs CSRF protection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialSource {
    Header,
    Cookie,
}

/// The readable cookie holding the CSRF token for the web UI.
pub const CSRF_COOKIE: &str = "tenmon_csrf";

/// The CSRF token of a session: an HMAC (keyed by `SESSION_SECRET`) of the session
/// token, which the page cannot read (HttpOnly), so a forged request cannot know it.
pub fn csrf_token(secret: &str, session_token: &str) -> String {
    use hmac::Mac;
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else {
        return hash_token(&format!("csrf:{session_token}"))[..32].to_string();
    };
    mac.update(b"csrf:");
    mac.update(session_token.as_bytes());
    hex(&mac.finalize().into_bytes()[..16])
}

/// `csrf_token` with this server's key.
pub fn csrf_for(state: &AppState, session_token: &str) -> String {
    csrf_token(secrecy::ExposeSecret::expose_secret(&state.config.auth.session_secret), session_token)
}

/// The one place credentials are read from a request. Exactly one is examined, by a
/// fixed precedence: `Authorization: Bearer`, then `x-api-key`, then the session
/// cookie. An explicit header that fails is a 401; it never falls back to a cookie.
pub fn presented_credential(headers: &HeaderMap) -> Result<Option<(String, CredentialSource)>, ApiError> {
    if let Some(value) = headers.get(AUTHORIZATION) {
        let value = value.to_str().map_err(|_| ApiError::Unauthorized)?;
        let token =
            value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer ")).ok_or(ApiError::Unauthorized)?;
        return Ok(Some((token.trim().to_string(), CredentialSource::Header)));
    }
    if let Some(value) = headers.get("x-api-key") {
        return Ok(Some((
            value.to_str().map_err(|_| ApiError::Unauthorized)?.trim().to_string(),
            CredentialSource::Header,
        )));
    }
    Ok(cookie_value(headers, SESSION_COOKIE).map(|t| (t.to_string(), CredentialSource::Cookie)))
}

/// The credential alone.
pub fn presented_token(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    Ok(presented_credential(headers)?.map(|(t, _)| t))
}

/// Unsafe methods authenticated by the cookie must carry `X-CSRF-Token`.
fn check_csrf(state: &AppState, parts: &Parts, token: &str, source: CredentialSource) -> Result<(), ApiError> {
    let safe = matches!(parts.method, axum::http::Method::GET | axum::http::Method::HEAD | axum::http::Method::OPTIONS);
    if safe || source != CredentialSource::Cookie {
        return Ok(());
    }
    let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
    let expected = csrf_for(state, token);
    if bool::from(subtle::ConstantTimeEq::ct_eq(sent.as_bytes(), expected.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(
            "missing or wrong X-CSRF-Token (required with the session cookie on unsafe methods)".into(),
        ))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let (token, source) = presented_credential(&parts.headers)?.ok_or(ApiError::Unauthorized)?;
        check_csrf(state, parts, &token, source)?;
        // Hashed once by the rate limiter (it is on every request's path); taken,
        // since the extractor runs once per request.
        let ctx = parts.extensions.get_mut::<crate::middleware::context::RequestContext>();
        let hash = match ctx.and_then(|c| c.credential_hash.take()) {
            Some(h) => h,
            None => hash_token(&token),
        };
        // Operator keys from API_KEYS, compared in constant time.
        let key_match =
            state.config.chat.api_key_hashes.iter().fold(false, |found, k| {
                found | bool::from(subtle::ConstantTimeEq::ct_eq(k.as_bytes(), hash.as_bytes()))
            });
        if key_match {
            let caller = Caller {
                subject_id: format!("apikey:{}", &hash[..16]),
                session_id: String::new(),
                kind: "api_key".into(),
                role: "operator".into(),
                expires_at_ms: i64::MAX,
            };
            parts.extensions.insert(caller.clone());
            return Ok(caller);
        }
        if token.starts_with("tka_") {
            // A user's API key: live, unexpired, and never more than its user's role.
            let key = state.store.api_key_by_hash(&hash).await?.ok_or(ApiError::Unauthorized)?;
            let now = tenmon_chat::now_ms();
            if key.revoked_at_ms.is_some() || key.expires_at_ms.is_some_and(|e| e <= now) {
                return Err(ApiError::Unauthorized);
            }
            let user = state
                .store
                .user_by_id(&key.user_id)
                .await?
                .filter(|u| u.disabled_at_ms.is_none())
                .ok_or(ApiError::Unauthorized)?;
            let role =
                if key.scopes.iter().any(|s| s == "kb:write") && matches!(user.role.as_str(), "operator" | "admin") {
                    "operator".to_string()
                } else {
                    "user".to_string()
                };
            if let Err(e) = state.store.touch_api_key(&key.id, now).await {
                tracing::warn!(error = %e, "could not record an API key's use");
            }
            let caller = Caller {
                subject_id: user.id,
                session_id: key.id,
                kind: "api_key".into(),
                role,
                expires_at_ms: key.expires_at_ms.unwrap_or(i64::MAX),
            };
            parts.extensions.insert(caller.clone());
            return Ok(caller);
        }
        if looks_like_jwt(&token) {
            // An access token: signature, algorithm and expiry, then the login must
            // still be live and the role is the user's current one.
            let claims = state.accounts.verify_access(&token).map_err(|_| ApiError::Unauthorized)?;
            let user = state
                .accounts
                .user_for_login(&claims.sub, &claims.sid)
                .await
                .map_err(|_| ApiError::Unauthorized)?
                .filter(|u| u.disabled_at_ms.is_none())
                .ok_or(ApiError::Unauthorized)?;
            let caller = Caller {
                subject_id: user.id,
                session_id: claims.sid,
                kind: "user".into(),
                role: user.role,
                expires_at_ms: claims.exp * 1000,
            };
            parts.extensions.insert(caller.clone());
            return Ok(caller);
        }
        let session =
            state.store.session_by_token_hash(&hash, tenmon_chat::now_ms()).await?.ok_or(ApiError::Unauthorized)?;
        let role = if session.kind == "user" {
            // A login's cookie: the login must be live, the role is read now.
            let user = state
                .accounts
                .user_for_login(&session.subject_id, &session.id)
                .await
                .map_err(|_| ApiError::Unauthorized)?
                .filter(|u| u.disabled_at_ms.is_none())
                .ok_or(ApiError::Unauthorized)?;
            user.role
        } else {
            "guest".to_string()
        };
        let caller = Caller {
            subject_id: session.subject_id,
            session_id: session.id,
            kind: session.kind,
            role,
            expires_at_ms: session.expires_at_ms,
        };
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn one_credential_by_fixed_precedence() {
        let mut h = HeaderMap::new();
        assert_eq!(presented_token(&h).unwrap(), None);
        h.insert(COOKIE, HeaderValue::from_static("theme=dark; tenmon_session=from-cookie"));
        assert_eq!(presented_token(&h).unwrap().as_deref(), Some("from-cookie"));
        h.insert("x-api-key", HeaderValue::from_static("from-key-header"));
        assert_eq!(presented_token(&h).unwrap().as_deref(), Some("from-key-header"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer from-bearer"));
        assert_eq!(presented_token(&h).unwrap().as_deref(), Some("from-bearer"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic dXNlcjpwYXNz"));
        assert!(presented_token(&h).is_err(), "a non-bearer Authorization is refused, not skipped");
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_session() {
        let (a, b) = (new_token(), new_token());
        let key = "a-session-secret-of-at-least-32-chars";
        assert_eq!(csrf_token(key, &a), csrf_token(key, &a));
        assert_ne!(csrf_token(key, &a), csrf_token(key, &b));
        assert_ne!(csrf_token(key, &a), csrf_token("another-secret-of-at-least-32-chars!!", &a));
        assert!(!csrf_token(key, &a).contains(&a[4..12]));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(a.len() > 40);
        assert_eq!(hash_token(&a).len(), 64);
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_ne!(hash_token(&a), hash_token(&b));
    }
}

/// A caller allowed to manage knowledge bases: an operator or admin, or a holder of
/// an operator key (`API_KEYS`). Everyone else gets 403.
#[derive(Debug, Clone)]
pub struct Operator(pub Caller);

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.is_operator() {
            Ok(Operator(caller))
        } else {
            Err(ApiError::Forbidden("operators only".into()))
        }
    }
}

/// A caller allowed to manage users and settings: an admin.
#[derive(Debug, Clone)]
pub struct Admin(pub Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.role == "admin" {
            Ok(Admin(caller))
        } else {
            Err(ApiError::Forbidden("admins only".into()))
        }
    }
}

/// A signed-in account (not a guest, not an API key): decided before any body is read.
#[derive(Debug, Clone)]
pub struct Account(pub Caller);

impl FromRequestParts<AppState> for Account {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.kind == "user" {
            Ok(Account(caller))
        } else {
            Err(ApiError::Forbidden("this needs a signed-in account".into()))
        }
    }
}
