//! Rate limiting for every request but probes and metrics: per client IP, and per
//! credential when one is presented. Answers 429 with `Retry-After`, the
//! `RateLimit-*` headers and the JSON error; allowed responses carry the headers too.

use crate::app::AppState;
use crate::auth::{hash_token, presented_token, CredentialHash};
use crate::error::ApiError;
use crate::ratelimit::{client_ip, Bucket, Decision};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};

/// The client's address, as the rate limiter saw it.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

const AUTH_PATHS: [&str; 3] = ["/api/auth/login", "/api/auth/signup", "/api/auth/refresh"];

/// Probes, metrics, and signed webhooks: LINE delivers bursts from a few addresses,
/// and an HMAC check refuses forgeries more cheaply than a limiter lookup.
fn exempt(path: &str) -> bool {
    path.starts_with("/health")
        || path == "/metrics"
        || path == "/api/metrics"
        || path == "/api/health"
        || path == "/api/line/webhook"
        || path == "/api/billing/webhook"
}

pub fn set_headers(headers: &mut HeaderMap, d: &Decision) {
    for (name, value) in [
        ("ratelimit-limit", d.limit as u64),
        ("ratelimit-remaining", d.remaining as u64),
        ("ratelimit-reset", d.reset_secs),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value.to_string()) {
            headers.insert(name, v);
        }
    }
}

pub fn refused(d: &Decision) -> Response {
    let mut res = ApiError::RateLimited { retry_after_secs: d.retry_after_secs }.into_response();
    set_headers(res.headers_mut(), d);
    res
}

pub async fn rate_limit(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let peer =
        req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    let ip = client_ip(peer, forwarded, &state.config.rate_limit.trusted_proxies);
    req.extensions_mut().insert(ClientIp(ip));
    let path = req.uri().path();
    if exempt(path) {
        return next.run(req).await;
    }
    let bucket = if AUTH_PATHS.contains(&path) { Bucket::Auth } else { Bucket::Api };
    let credential = presented_token(req.headers()).ok().flatten().map(|t| hash_token(&t));
    if let Some(h) = &credential {
        req.extensions_mut().insert(CredentialHash(h.clone()));
    }
    let mut decision = state.limiter.check(bucket, &format!("ip:{ip}")).await;
    if decision.allowed && bucket == Bucket::Api {
        if let Some(hash) = &credential {
            let per_credential = state.limiter.check(Bucket::Api, &format!("cred:{}", &hash[..24])).await;
            if !per_credential.allowed || per_credential.remaining < decision.remaining {
                decision = per_credential;
            }
        }
    }
    if !decision.allowed {
        return refused(&decision);
    }
    let mut res = next.run(req).await;
    set_headers(res.headers_mut(), &decision);
    res
}
