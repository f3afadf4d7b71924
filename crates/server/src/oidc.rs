//! "Sign in with …": OpenID Connect, authorization code flow with PKCE, state and
//! nonce. The flow's secrets (state, nonce, PKCE verifier, where to return) travel
//! in a short-lived HttpOnly cookie signed with `SESSION_SECRET`, so any replica can
//! finish a login another one started. The ID token is checked for its RS256/ES256
//! signature against the provider's JWKS (refetched once for an unknown key id),
//! issuer, audience, expiry and nonce; accounts are linked by (issuer, subject), or
//! by a *verified* email the first time.

use crate::config::OidcConfig;
use base64::Engine;
use hmac::Mac;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;
/// How long a login may take at the provider.
const FLOW_TTL_SECS: i64 = 600;
pub const FLOW_COOKIE: &str = "tenmon_oidc";

/// Why a login failed (the code goes to the login page as `?error=`).
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    #[error("the login expired or was started elsewhere; please try again")]
    InvalidState,
    #[error("the provider refused: {0}")]
    Provider(String),
    #[error("the provider cannot be reached: {0}")]
    Unreachable(String),
    #[error("the ID token is invalid: {0}")]
    InvalidToken(String),
    #[error("the provider did not give a verified email")]
    EmailNotVerified,
    #[error("sign-up is closed")]
    SignupClosed,
    #[error("the account is disabled")]
    Disabled,
    #[error(transparent)]
    Store(#[from] tenmon_store::StoreError),
}

impl OidcError {
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::InvalidState => "oidc_state",
            OidcError::Provider(_) => "oidc_provider",
            OidcError::Unreachable(_) => "oidc_unreachable",
            OidcError::InvalidToken(_) => "oidc_token",
            OidcError::EmailNotVerified => "oidc_email",
            OidcError::SignupClosed => "signup_closed",
            OidcError::Disabled => "account_disabled",
            OidcError::Store(_) => "server_error",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// What the login cookie carries.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Flow {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    pub return_to: String,
    pub exp: i64,
}

/// The verified identity from an ID token.
#[derive(Debug, Clone, Deserialize)]
pub struct Identity {
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: Option<bool>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

#[derive(Debug)]
pub struct Oidc {
    config: OidcConfig,
    http: reqwest::Client,
    discovery: tokio::sync::OnceCell<Discovery>,
    jwks: Mutex<Option<(jsonwebtoken::jwk::JwkSet, Instant)>>,
}

fn random(n: usize) -> String {
    let bytes: Vec<u8> = (0..n).map(|_| rand::random::<u8>()).collect();
    B64.encode(bytes)
}

fn now_secs() -> i64 {
    tenmon_chat::now_ms() / 1000
}

/// Only same-site paths: never an open redirect.
pub fn safe_return(path: Option<&str>) -> String {
    match path {
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') && !p.contains("://") => {
            p.to_string()
        }
        _ => "/chat".into(),
    }
}

impl Oidc {
    pub fn new(config: OidcConfig) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(15))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { config, http, discovery: tokio::sync::OnceCell::new(), jwks: Mutex::new(None) }
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    async fn discovery(&self) -> Result<&Discovery, OidcError> {
        self.discovery
            .get_or_try_init(|| async {
                let url = format!("{}/.well-known/openid-configuration", self.config.issuer);
                let res = self
                    .http
                    .get(&url)
                    .send()
                    .await
                    .map_err(|e| OidcError::Unreachable(e.without_url().to_string()))?;
                if !res.status().is_success() {
                    return Err(OidcError::Unreachable(format!("discovery answered {}", res.status())));
                }
                let d: Discovery = res.json().await.map_err(|e| OidcError::Provider(format!("bad discovery: {e}")))?;
                // The document must be about the issuer we were told to trust.
                if d.issuer.trim_end_matches('/') != self.config.issuer {
                    return Err(OidcError::Provider(format!("discovery names issuer {:?}", d.issuer)));
                }
                Ok(d)
            })
            .await
    }

    /// Start a login: the provider URL to redirect to, and the flow for the cookie.
    pub async fn begin(&self, return_to: Option<&str>) -> Result<(String, Flow), OidcError> {
        let d = self.discovery().await?;
        let flow = Flow {
            state: random(24),
            nonce: random(24),
            verifier: random(48),
            return_to: safe_return(return_to),
            exp: now_secs() + FLOW_TTL_SECS,
        };
        let challenge = B64.encode(<sha2::Sha256 as sha2::Digest>::digest(flow.verifier.as_bytes()));
        let mut url = reqwest::Url::parse(&d.authorization_endpoint)
            .map_err(|e| OidcError::Provider(format!("bad authorization endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.config.client_id)
            .append_pair("redirect_uri", &self.config.redirect_url)
            .append_pair("scope", &self.config.scopes)
            .append_pair("state", &flow.state)
            .append_pair("nonce", &flow.nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok((url.to_string(), flow))
    }

    /// Exchange the code and verify the ID token against the flow.
    pub async fn finish(&self, flow: &Flow, state: &str, code: &str) -> Result<Identity, OidcError> {
        if flow.exp < now_secs() || !bool::from(subtle::ConstantTimeEq::ct_eq(flow.state.as_bytes(), state.as_bytes()))
        {
            return Err(OidcError::InvalidState);
        }
        let d = self.discovery().await?;
        let res = self
            .http
            .post(&d.token_endpoint)
            .basic_auth(&self.config.client_id, Some(self.config.client_secret.expose_secret()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.config.redirect_url),
                ("code_verifier", &flow.verifier),
            ])
            .send()
            .await
            .map_err(|e| OidcError::Unreachable(e.without_url().to_string()))?;
        let status = res.status();
        let body: serde_json::Value = res.json().await.unwrap_or_default();
        if !status.is_success() {
            let err = body["error"].as_str().unwrap_or("unknown_error");
            return Err(OidcError::Provider(format!("token endpoint answered {status}: {err}")));
        }
        let id_token = body["id_token"].as_str().ok_or_else(|| OidcError::Provider("no id_token".into()))?;
        let identity = self.verify(id_token, d).await?;
        if identity.nonce.as_deref().map(|n| subtle::ConstantTimeEq::ct_eq(n.as_bytes(), flow.nonce.as_bytes()).into())
            != Some(true)
        {
            return Err(OidcError::InvalidToken("nonce mismatch".into()));
        }
        Ok(identity)
    }

    async fn jwk_set(&self, d: &Discovery, refresh: bool) -> Result<jsonwebtoken::jwk::JwkSet, OidcError> {
        if !refresh {
            if let Some((set, at)) = self.jwks.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
                if at.elapsed() < Duration::from_secs(3600) {
                    return Ok(set.clone());
                }
            }
        }
        let res =
            self.http.get(&d.jwks_uri).send().await.map_err(|e| OidcError::Unreachable(e.without_url().to_string()))?;
        let set: jsonwebtoken::jwk::JwkSet =
            res.json().await.map_err(|e| OidcError::Provider(format!("bad JWKS: {e}")))?;
        *self.jwks.lock().unwrap_or_else(|p| p.into_inner()) = Some((set.clone(), Instant::now()));
        Ok(set)
    }

    async fn verify(&self, token: &str, d: &Discovery) -> Result<Identity, OidcError> {
        use jsonwebtoken::Algorithm;
        let header = jsonwebtoken::decode_header(token).map_err(|e| OidcError::InvalidToken(e.to_string()))?;
        // Asymmetric algorithms only: `none` and HS* (keyed by the public client id
        // or secret) are refused.
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(OidcError::InvalidToken(format!("algorithm {:?} not accepted", header.alg)));
        }
        let kid = header.kid.clone().unwrap_or_default();
        let mut set = self.jwk_set(d, false).await?;
        if set.find(&kid).is_none() {
            set = self.jwk_set(d, true).await?;
        }
        let jwk = set.find(&kid).ok_or_else(|| OidcError::InvalidToken("unknown signing key".into()))?;
        let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| OidcError::InvalidToken(e.to_string()))?;
        let mut validation = jsonwebtoken::Validation::new(header.alg);
        validation.set_issuer(&[d.issuer.as_str(), self.config.issuer.as_str()]);
        validation.set_audience(&[self.config.client_id.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 60;
        let data = jsonwebtoken::decode::<Identity>(token, &key, &validation)
            .map_err(|e| OidcError::InvalidToken(e.to_string()))?;
        Ok(data.claims)
    }
}

/// The flow as a signed cookie value: base64(json).base64(hmac).
pub fn seal_flow(secret: &str, flow: &Flow) -> String {
    let json = serde_json::to_vec(flow).unwrap_or_default();
    let body = B64.encode(json);
    format!("{body}.{}", sign(secret, &body))
}

pub fn open_flow(secret: &str, value: &str) -> Option<Flow> {
    let (body, sig) = value.split_once('.')?;
    let expected = sign(secret, body);
    if !bool::from(subtle::ConstantTimeEq::ct_eq(sig.as_bytes(), expected.as_bytes())) {
        return None;
    }
    serde_json::from_slice(&B64.decode(body).ok()?).ok()
}

fn sign(secret: &str, body: &str) -> String {
    let Ok(mut mac) = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()) else { return String::new() };
    mac.update(b"oidc-flow:");
    mac.update(body.as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_paths_stay_on_this_site() {
        assert_eq!(safe_return(Some("/chat/abc")), "/chat/abc");
        for bad in ["//evil.example", "https://evil.example", "/\\evil", "chat", ""] {
            assert_eq!(safe_return(Some(bad)), "/chat", "{bad}");
        }
        assert_eq!(safe_return(None), "/chat");
    }

    #[test]
    fn the_flow_cookie_is_tamper_evident() {
        let flow =
            Flow { state: "s".into(), nonce: "n".into(), verifier: "v".into(), return_to: "/chat".into(), exp: 1 };
        let sealed = seal_flow("secret-a", &flow);
        assert_eq!(open_flow("secret-a", &sealed), Some(flow.clone()));
        assert_eq!(open_flow("secret-b", &sealed), None);
        let (body, sig) = sealed.split_once('.').unwrap();
        let mut other = flow;
        other.return_to = "https://evil.example".into();
        let forged = format!("{}.{sig}", B64.encode(serde_json::to_vec(&other).unwrap()));
        assert_ne!(forged.split_once('.').unwrap().0, body);
        assert_eq!(open_flow("secret-a", &forged), None);
    }
}
