//! Security headers on every response. The CSP is strict: the web UI ships its
//! scripts and styles from this origin; nothing inline runs.

use axum::http::{header, HeaderName, HeaderValue};
use tower_http::set_header::SetResponseHeaderLayer;

pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; \
media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The headers every response carries (set only where a handler did not set its own).
/// Values built at compile time: `HeaderValue::from_static` at run time checks every
/// byte again (the CSP alone is ~270) on every response.
static HEADERS: [(HeaderName, HeaderValue); 6] = [
    (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
    (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
    (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
    (header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin")),
    (HeaderName::from_static("cross-origin-opener-policy"), HeaderValue::from_static("same-origin")),
    (HeaderName::from_static("permissions-policy"), HeaderValue::from_static("camera=(), geolocation=(), payment=()")),
];

/// The security headers, each unless the handler set its own (one middleware, not a
/// layer per header: every layer costs each request a boxed service and future).
/// The support widget's page may be framed by the allowed origins (its CSP says
/// which); `X-Frame-Options: DENY` would forbid that, so it is dropped there only.
pub fn apply(resp: &mut axum::response::Response) {
    let frameable = resp.extensions().get::<crate::routes::web::Frameable>().is_some();
    let h = resp.headers_mut();
    for (name, value) in &HEADERS {
        h.entry(name).or_insert_with(|| value.clone());
    }
    if frameable {
        h.remove(header::X_FRAME_OPTIONS);
    }
}

/// HSTS, added only on the TLS listener.
pub fn hsts() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::if_not_present(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000; includeSubDomains"),
    )
}
