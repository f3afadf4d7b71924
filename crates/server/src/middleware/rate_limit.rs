//! Rate limiting for every request but probes and metrics: per client IP, and per
//! credential when one is presented. Answers 429 with `Retry-After`, the
//! `RateLimit-*` headers and the JSON error; allowed responses carry the headers too.

use super::context::RequestContext;
use crate::app::AppState;
use crate::auth::{hash_token, presented_token};
use crate::error::ApiError;
use crate::ratelimit::{client_ip, Bucket, Decision};
use axum::extract::{ConnectInfo, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};

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

static RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
static RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
static RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

pub fn set_headers(headers: &mut HeaderMap, d: &Decision) {
    headers.reserve(3);
    headers.insert(RATELIMIT_LIMIT.clone(), number(u64::from(d.limit)));
    headers.insert(RATELIMIT_REMAINING.clone(), number(u64::from(d.remaining)));
    headers.insert(RATELIMIT_RESET.clone(), number(d.reset_secs));
}

/// Numbers below this are written once and shared.
const SHARED_NUMBERS: u64 = 1024;

/// `n` as a header value: limits, counts left and seconds to a reset are mostly
/// small, and a new value is an allocation on every response.
fn number(n: u64) -> HeaderValue {
    static SMALL: std::sync::OnceLock<Vec<HeaderValue>> = std::sync::OnceLock::new();
    if n >= SHARED_NUMBERS {
        return HeaderValue::from(n);
    }
    let small = SMALL.get_or_init(|| (0..SHARED_NUMBERS).map(HeaderValue::from).collect());
    small.get(n as usize).cloned().unwrap_or_else(|| HeaderValue::from(n))
}

/// The client's address: the peer's, or behind trusted proxies the one they name.
pub fn client_ip_of(state: &AppState, req: &Request) -> IpAddr {
    let peer =
        req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()).unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let forwarded = req.headers().get("x-forwarded-for").and_then(|v| v.to_str().ok());
    client_ip(peer, forwarded, &state.config.rate_limit.trusted_proxies)
}

/// `ip:{ip}`, the limiter's key for an address. IPv4 is written by hand: this is on
/// every request's path, and `format!` of an address costs more than the lookup.
fn ip_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let mut key = String::with_capacity(18);
            key.push_str("ip:");
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    key.push('.');
                }
                if octet >= 100 {
                    key.push(char::from(b'0' + octet / 100));
                }
                if octet >= 10 {
                    key.push(char::from(b'0' + octet / 10 % 10));
                }
                key.push(char::from(b'0' + octet % 10));
            }
            key
        }
        IpAddr::V6(_) => format!("ip:{ip}"),
    }
}

async fn check(state: &AppState, bucket: Bucket, key: String) -> Decision {
    match state.limiter.check_now(bucket, &key) {
        Some(d) => d,
        None => state.limiter.check(bucket, &key).await,
    }
}

pub fn refused(d: &Decision) -> Response {
    let mut res = ApiError::RateLimited { retry_after_secs: d.retry_after_secs }.into_response();
    set_headers(res.headers_mut(), d);
    res
}

/// Decide whether `req` may go on: `Ok(None)` for exempt paths, `Ok(Some)` with the
/// decision whose headers the response carries, `Err` with the 429 to send.
/// Records the credential's hash in the [`RequestContext`], so the extractors do not
/// hash it again.
pub async fn admit(state: &AppState, req: &mut Request) -> Result<Option<Decision>, Response> {
    let ip = RequestContext::of(req).map_or_else(|| client_ip_of(state, req), |c| c.ip);
    let path = req.uri().path();
    if exempt(path) {
        return Ok(None);
    }
    let bucket = if AUTH_PATHS.contains(&path) { Bucket::Auth } else { Bucket::Api };
    let credential = presented_token(req.headers()).ok().flatten().map(|t| hash_token(&t));
    let mut decision = check(state, bucket, ip_key(ip)).await;
    if decision.allowed && bucket == Bucket::Api {
        if let Some(hash) = &credential {
            let per_credential = check(state, Bucket::Api, ["cred:", &hash[..24]].concat()).await;
            if !per_credential.allowed || per_credential.remaining < decision.remaining {
                decision = per_credential;
            }
        }
    }
    if let Some(ctx) = req.extensions_mut().get_mut::<RequestContext>() {
        ctx.credential_hash = credential;
    }
    if !decision.allowed {
        return Err(refused(&decision));
    }
    Ok(Some(decision))
}

#[cfg(test)]
mod tests {
    use super::{ip_key, number};
    use axum::http::HeaderValue;
    use std::net::IpAddr;

    #[test]
    fn numbers_are_written_whether_shared_or_not() {
        for n in [0u64, 7, 60, 1023, 1024, 86_400, 1_000_000_000, u64::MAX] {
            assert_eq!(number(n), HeaderValue::from(n), "{n}");
            assert_eq!(number(n).to_str().unwrap(), n.to_string());
        }
    }

    #[test]
    fn address_keys_are_the_addresses_as_text() {
        for ip in ["0.0.0.0", "127.0.0.1", "10.20.100.255", "192.168.1.9", "::1", "2001:db8::8a2e:370:7334"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_key(ip), format!("ip:{ip}"));
        }
    }
}
