//! The web UI: the files of `web/dist`, embedded in release builds (read from disk
//! in debug builds), served for every GET that no API route takes.
//!
//! Caching follows Vite's layout: `assets/*` carry a content hash in their names
//! and never change (`immutable`); everything else (`index.html`, `widget.js`) is
//! revalidated on each load (`no-cache` + ETag), so a deploy is picked up at once.
//! Paths without a file extension fall back to `index.html` (client-side routes);
//! API-looking paths and missing files keep the JSON 404.

use crate::app::AppState;
use crate::config::CorsOrigins;
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use rust_embed::Embed;

#[derive(Embed)]
#[folder = "../../web/dist"]
#[allow_missing = true]
struct Assets;

/// Paths that belong to the API, probes and metrics: never answered with the UI.
fn is_api_path(path: &str) -> bool {
    ["/api/", "/v1/", "/health", "/metrics"].iter().any(|p| path.starts_with(p)) || path == "/api" || path == "/v1"
}

/// Marks a response that may be framed by other origins (the support widget), so
/// the security layer leaves out `X-Frame-Options`.
#[derive(Clone, Copy, Debug)]
pub struct Frameable;

/// Whether a UI build is present (the binary still serves the API without one).
pub fn ui_present() -> bool {
    Assets::get("index.html").is_some()
}

fn file_response(path: &str, headers: &HeaderMap, method: &Method) -> Option<Response> {
    let file = Assets::get(path)?;
    let etag = format!("\"{}\"", hex_prefix(&file.metadata.sha256_hash()));
    let cache = if path.starts_with("assets/") { "public, max-age=31536000, immutable" } else { "no-cache" };
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut builder = Response::builder()
        .header(header::CACHE_CONTROL, cache)
        .header(header::ETAG, &etag)
        .header(header::CONTENT_TYPE, file.metadata.mimetype());
    if not_modified {
        builder = builder.status(StatusCode::NOT_MODIFIED);
        return builder.body(Body::empty()).ok();
    }
    let body = if *method == Method::HEAD { Body::empty() } else { Body::from(file.data.into_owned()) };
    builder.body(body).ok()
}

fn hex_prefix(hash: &[u8; 32]) -> String {
    hash[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// `frame-ancestors` for the widget page: the origins allowed to call the API.
fn widget_csp(cors: &CorsOrigins) -> String {
    let ancestors = match cors {
        CorsOrigins::None => "'self'".to_string(),
        CorsOrigins::Any => "*".to_string(),
        CorsOrigins::List(list) => {
            let mut s = String::from("'self'");
            for origin in list {
                if let Ok(o) = origin.to_str() {
                    s.push(' ');
                    s.push_str(o);
                }
            }
            s
        }
    };
    crate::middleware::security::CSP.replace("frame-ancestors 'none'", &format!("frame-ancestors {ancestors}"))
}

/// The fallback for every request no route takes.
pub async fn fallback(State(state): State<AppState>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path();
    if !(method == Method::GET || method == Method::HEAD) || is_api_path(path) {
        return ApiError::NotFound(format!("no route for {method} {path}")).into_response();
    }
    let rel = path.trim_start_matches('/');
    if !rel.is_empty() && !rel.ends_with('/') {
        if let Some(resp) = file_response(rel, &headers, &method) {
            return resp;
        }
    }
    let last = rel.rsplit('/').next().unwrap_or("");
    if last.contains('.') {
        return ApiError::NotFound(format!("no file {path}")).into_response();
    }
    let Some(mut resp) = file_response("index.html", &headers, &method) else {
        return ApiError::NotFound(format!("no route for {method} {path} (the web UI is not built: run `make build`)"))
            .into_response();
    };
    if path == "/widget" || path.starts_with("/widget/") {
        if let Ok(v) = HeaderValue::from_str(&widget_csp(&state.config.server.cors)) {
            resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            resp.extensions_mut().insert(Frameable);
        }
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_never_get_the_ui() {
        for p in ["/api/x", "/api", "/v1/models", "/health/live", "/metrics", "/v1"] {
            assert!(is_api_path(p), "{p}");
        }
        for p in ["/", "/chat", "/chat/abc", "/admin", "/widget", "/widget.js", "/assets/a.js", "/apix"] {
            assert!(!is_api_path(p), "{p}");
        }
    }

    #[test]
    fn widget_csp_lists_the_cors_origins_only() {
        let list = CorsOrigins::List(vec![HeaderValue::from_static("https://shop.example")]);
        let csp = widget_csp(&list);
        assert!(csp.contains("frame-ancestors 'self' https://shop.example"), "{csp}");
        assert!(!csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(widget_csp(&CorsOrigins::None).contains("frame-ancestors 'self'"));
    }
}
