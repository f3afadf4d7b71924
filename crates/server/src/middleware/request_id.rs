//! `x-request-id`: kept from the client (or nginx) when it is sane, generated (UUID
//! v7) otherwise, and echoed on the response.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};

pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

fn acceptable(v: &HeaderValue) -> bool {
    let b = v.as_bytes();
    !b.is_empty() && b.len() <= 128 && b.iter().all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
}

/// The request's id: the client's when acceptable, else a fresh one. The caller
/// keeps it in the [`RequestContext`](super::context::RequestContext) and echoes it
/// on the response.
pub fn assign(req: &Request) -> HeaderValue {
    match req.headers().get(&X_REQUEST_ID) {
        Some(v) if acceptable(v) => v.clone(),
        _ => {
            let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
            let text = uuid::Uuid::now_v7().hyphenated().encode_lower(&mut buf);
            HeaderValue::from_str(text).unwrap_or(HeaderValue::from_static("unknown"))
        }
    }
}
