//! What the outer edge learns about a request, for the layers and extractors after
//! it: one extension, not one per fact (each `Extensions::insert` boxes its value,
//! and a proxied `/v1` request paid for four of them).

use axum::http::{HeaderValue, Request};
use std::net::IpAddr;

#[derive(Debug, Clone)]
pub struct RequestContext {
    /// The request id (the client's when acceptable, else a fresh UUID v7).
    pub id: HeaderValue,
    /// The client's address, as the rate limiter sees it (behind trusted proxies,
    /// from `X-Forwarded-For`).
    pub ip: IpAddr,
    /// SHA-256 (hex) of the credential presented, once the rate limiter hashed it,
    /// so the extractors do not hash it again.
    pub credential_hash: Option<String>,
    /// The body limit in force, for extractors to say in their errors.
    pub body_limit: usize,
}

impl RequestContext {
    pub fn of<B>(req: &Request<B>) -> Option<&RequestContext> {
        req.extensions().get::<RequestContext>()
    }

    pub fn id_str(&self) -> &str {
        self.id.to_str().unwrap_or("")
    }
}
