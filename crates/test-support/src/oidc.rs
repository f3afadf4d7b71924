//! A fake OpenID Connect provider: discovery, JWKS, an authorize endpoint that
//! "logs in" the scripted user at once (redirecting back with a code), and a token
//! endpoint that checks client credentials, the redirect URI and the PKCE verifier
//! and returns an RS256-signed ID token. Faults can be scripted: a wrong nonce,
//! audience or issuer, an expired token, a signature by a key not in the JWKS.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::{json, Value};
use sha2::Digest;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Who logs in at the fake provider.
#[derive(Debug, Clone)]
pub struct OidcUser {
    pub sub: String,
    pub email: String,
    pub email_verified: bool,
    pub name: String,
}

/// A fault in the next ID token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidcFault {
    None,
    WrongNonce,
    WrongAudience,
    WrongIssuer,
    Expired,
    /// Signed by a key the JWKS does not have (same `kid`).
    BadSignature,
}

struct Key {
    kid: String,
    encoding: jsonwebtoken::EncodingKey,
    jwk: Value,
}

fn new_key(kid: &str) -> Key {
    let mut rng = rsa::rand_core::OsRng;
    let private = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("RSA key");
    let der = private.to_pkcs1_der().expect("PKCS#1");
    let public = private.to_public_key();
    Key {
        kid: kid.to_string(),
        encoding: jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes()),
        jwk: json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": B64.encode(public.n().to_bytes_be()), "e": B64.encode(public.e().to_bytes_be()),
        }),
    }
}

struct Pending {
    nonce: Option<String>,
    challenge: Option<String>,
    redirect_uri: String,
}

struct Shared {
    issuer: Mutex<String>,
    client_id: String,
    client_secret: String,
    key: Key,
    rogue: Key,
    user: Mutex<OidcUser>,
    fault: Mutex<OidcFault>,
    codes: Mutex<HashMap<String, Pending>>,
    token_requests: Mutex<Vec<HashMap<String, String>>>,
}

/// A running fake provider. Dropping it stops the server.
pub struct FakeOidc {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FakeOidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeOidc").field("addr", &self.addr).finish()
    }
}

impl Drop for FakeOidc {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn discovery(State(s): State<Arc<Shared>>) -> Json<Value> {
    let issuer = lock(&s.issuer).clone();
    Json(json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }))
}

async fn jwks(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({ "keys": [s.key.jwk] }))
}

async fn authorize(State(s): State<Arc<Shared>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).cloned();
    if get("client_id").as_deref() != Some(s.client_id.as_str()) || get("response_type").as_deref() != Some("code") {
        return (StatusCode::BAD_REQUEST, "invalid_request").into_response();
    }
    let Some(redirect_uri) = get("redirect_uri") else {
        return (StatusCode::BAD_REQUEST, "redirect_uri missing").into_response();
    };
    let code = B64.encode(rand::random::<[u8; 16]>());
    lock(&s.codes).insert(
        code.clone(),
        Pending { nonce: get("nonce"), challenge: get("code_challenge"), redirect_uri: redirect_uri.clone() },
    );
    let state = get("state").unwrap_or_default();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{redirect_uri}{sep}code={code}&state={}", urlencode(&state))).into_response()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn token_error(code: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": code }))).into_response()
}

async fn token(State(s): State<Arc<Shared>>, headers: HeaderMap, Form(f): Form<HashMap<String, String>>) -> Response {
    lock(&s.token_requests).push(f.clone());
    // client_secret_basic or client_secret_post.
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let (id, secret) = match basic {
        Some(pair) => match pair.split_once(':') {
            Some((a, b)) => (a.to_string(), b.to_string()),
            None => return token_error("invalid_client"),
        },
        None => (f.get("client_id").cloned().unwrap_or_default(), f.get("client_secret").cloned().unwrap_or_default()),
    };
    if id != s.client_id || secret != s.client_secret {
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": "invalid_client" }))).into_response();
    }
    if f.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return token_error("unsupported_grant_type");
    }
    let Some(pending) = f.get("code").and_then(|c| lock(&s.codes).remove(c)) else {
        return token_error("invalid_grant");
    };
    if f.get("redirect_uri") != Some(&pending.redirect_uri) {
        return token_error("invalid_grant");
    }
    if let Some(challenge) = &pending.challenge {
        let verifier = f.get("code_verifier").cloned().unwrap_or_default();
        if B64.encode(sha2::Sha256::digest(verifier.as_bytes())) != *challenge {
            return token_error("invalid_grant");
        }
    }
    let fault = *lock(&s.fault);
    let user = lock(&s.user).clone();
    let issuer = lock(&s.issuer).clone();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let claims = json!({
        "iss": if fault == OidcFault::WrongIssuer { "https://evil.example".to_string() } else { issuer },
        "sub": user.sub,
        "aud": if fault == OidcFault::WrongAudience { "someone-else".to_string() } else { s.client_id.clone() },
        "exp": if fault == OidcFault::Expired { now - 600 } else { now + 300 },
        "iat": if fault == OidcFault::Expired { now - 900 } else { now },
        "nonce": if fault == OidcFault::WrongNonce { Some("not-your-nonce".to_string()) } else { pending.nonce },
        "email": user.email,
        "email_verified": user.email_verified,
        "name": user.name,
    });
    let key = if fault == OidcFault::BadSignature { &s.rogue } else { &s.key };
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(s.key.kid.clone());
    let Ok(id_token) = jsonwebtoken::encode(&header, &claims, &key.encoding) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "signing failed").into_response();
    };
    Json(
        json!({ "access_token": "fake-access-token", "token_type": "Bearer", "expires_in": 300, "id_token": id_token }),
    )
    .into_response()
}

impl FakeOidc {
    pub async fn start(client_id: &str, client_secret: &str) -> Self {
        // Key generation is CPU work: off the async threads.
        let (key, rogue) =
            tokio::task::spawn_blocking(|| (new_key("k1"), new_key("k1"))).await.expect("key generation");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind fake OIDC");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Shared {
            issuer: Mutex::new(format!("http://{addr}")),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            key,
            rogue,
            user: Mutex::new(OidcUser {
                sub: "user-1".into(),
                email: "oidc.user@example.jp".into(),
                email_verified: true,
                name: "OIDC User".into(),
            }),
            fault: Mutex::new(OidcFault::None),
            codes: Mutex::new(HashMap::new()),
            token_requests: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(shared.clone());
        #[expect(clippy::disallowed_methods, reason = "the fake is owned by the test, not by an app")]
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeOidc { addr, shared, task }
    }

    /// The value for `OAUTH_ISSUER_URL`.
    pub fn issuer(&self) -> String {
        lock(&self.shared.issuer).clone()
    }

    pub fn set_user(&self, user: OidcUser) {
        *lock(&self.shared.user) = user;
    }

    pub fn set_fault(&self, fault: OidcFault) {
        *lock(&self.shared.fault) = fault;
    }

    /// The form bodies the token endpoint received.
    pub fn token_requests(&self) -> Vec<HashMap<String, String>> {
        lock(&self.shared.token_requests).clone()
    }
}
