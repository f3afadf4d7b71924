//! A safety net: error responses made by layers (timeout, body limit, method
//! routing) carry no JSON. Rewrite them into the API error body so every error has
//! one shape.

use crate::error::ApiError;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};

/// `response` as it is, or, when it is an error without a JSON body, the API error
/// for its status (`limit` names the body limit in a 413).
pub fn rewrite(response: Response, limit: usize) -> Response {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("application/problem+json"));
    if is_json {
        return response;
    }
    let (parts, _) = response.into_parts();
    let mut fresh = ApiError::from_status(status, limit).into_response();
    // Keep headers such as `Allow`, `Retry-After` and `WWW-Authenticate`.
    for (name, value) in parts.headers.iter() {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            fresh.headers_mut().insert(name.clone(), value.clone());
        }
    }
    *fresh.status_mut() = status;
    fresh
}
