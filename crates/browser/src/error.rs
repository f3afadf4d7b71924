//! The one error type of the reader: every refusal and failure, with a stable code.

use std::net::IpAddr;

use http::StatusCode;

use crate::policy::Refusal;

/// Why a page could not be read.
///
/// `code()` is stable and machine-readable (the API's `error.code`); the `Display` text is
/// for people and may change. `suggested_status()` is what the server should answer with.
#[derive(Debug, Clone, thiserror::Error)]
pub enum FetchError {
    /// The URL (or a redirect's `Location`) does not parse, has no host, or is too long.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
    /// Only `http` and `https` are fetched.
    #[error("the {0}: scheme is not allowed; use http or https")]
    SchemeNotAllowed(String),
    /// The host is, or resolves to, an address the policy refuses (SSRF protection).
    #[error("{}", address_message(host.as_deref(), addr.as_ref(), reason))]
    AddressNotAllowed {
        /// The name that was resolved; `None` when the URL's host is an IP literal.
        host: Option<String>,
        /// The refused address; `None` when the name itself is refused (`localhost`).
        addr: Option<IpAddr>,
        /// Which kind of address it is.
        reason: Refusal,
    },
    /// The name did not resolve, or resolved to nothing.
    #[error("could not resolve {host}: {detail}")]
    DnsFailed { host: String, detail: String },
    /// The redirect chain is longer than `max_redirects`.
    #[error("more than {0} redirects")]
    TooManyRedirects(usize),
    /// The whole fetch (every hop, headers and body) took longer than the timeout.
    #[error("the page took too long to load")]
    Timeout,
    /// The server answered with a type we do not read (an image, a PDF, ...).
    #[error("unsupported content type: {0}")]
    UnsupportedContentType(String),
    /// The server answered, but not with a page: an error status, or a redirect without `Location`.
    #[error("the server answered {0}")]
    UpstreamStatus(StatusCode),
    /// Connecting, the TLS handshake, or reading the response failed.
    #[error("connection failed: {0}")]
    ConnectFailed(String),
    /// The settings are unusable (a malformed allowlist entry, a client that cannot be built).
    #[error("invalid browser setting: {0}")]
    InvalidSetting(String),
}

fn address_message(host: Option<&str>, addr: Option<&IpAddr>, reason: &Refusal) -> String {
    match (host, addr) {
        (Some(host), Some(ip)) => format!("{host} resolves to {ip}, {reason}"),
        (None, Some(ip)) => format!("{ip} is {reason}"),
        (Some(host), None) => format!("{host} is {reason}"),
        (None, None) => format!("the address is {reason}"),
    }
}

impl FetchError {
    /// The stable snake_case code, for API bodies, logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidUrl(_) => "invalid_url",
            Self::SchemeNotAllowed(_) => "scheme_not_allowed",
            Self::AddressNotAllowed { .. } => "address_not_allowed",
            Self::DnsFailed { .. } => "dns_failed",
            Self::TooManyRedirects(_) => "too_many_redirects",
            Self::Timeout => "timeout",
            Self::UnsupportedContentType(_) => "unsupported_content_type",
            Self::UpstreamStatus(_) => "upstream_status",
            Self::ConnectFailed(_) => "connect_failed",
            Self::InvalidSetting(_) => "invalid_setting",
        }
    }

    /// The status the server should answer with: 4xx for what the user asked for,
    /// 502/504 for what the remote site did, 500 for our own misconfiguration.
    pub fn suggested_status(&self) -> StatusCode {
        match self {
            Self::InvalidUrl(_) | Self::SchemeNotAllowed(_) | Self::AddressNotAllowed { .. } => StatusCode::BAD_REQUEST,
            Self::UnsupportedContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::DnsFailed { .. } | Self::TooManyRedirects(_) | Self::UpstreamStatus(_) | Self::ConnectFailed(_) => {
                StatusCode::BAD_GATEWAY
            }
            Self::InvalidSetting(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_address_and_why() {
        let literal =
            FetchError::AddressNotAllowed { host: None, addr: Some([127, 0, 0, 1].into()), reason: Refusal::Loopback };
        assert_eq!(literal.to_string(), "127.0.0.1 is a loopback address");
        let v6 =
            FetchError::AddressNotAllowed { host: None, addr: Some("::1".parse().unwrap()), reason: Refusal::Loopback };
        assert_eq!(v6.to_string(), "::1 is a loopback address");
        let named = FetchError::AddressNotAllowed {
            host: Some("intranet.test".into()),
            addr: Some([10, 0, 0, 1].into()),
            reason: Refusal::Private,
        };
        assert_eq!(named.to_string(), "intranet.test resolves to 10.0.0.1, a private address");
        let name = FetchError::AddressNotAllowed {
            host: Some("foo.localhost".into()),
            addr: None,
            reason: Refusal::Localhost,
        };
        assert_eq!(name.to_string(), "foo.localhost is a localhost name");
    }

    #[test]
    fn codes_and_statuses() {
        assert_eq!(FetchError::Timeout.code(), "timeout");
        assert_eq!(FetchError::Timeout.suggested_status(), StatusCode::GATEWAY_TIMEOUT);
        let e = FetchError::UpstreamStatus(StatusCode::NOT_FOUND);
        assert_eq!((e.code(), e.suggested_status()), ("upstream_status", StatusCode::BAD_GATEWAY));
        let e = FetchError::UnsupportedContentType("image/png".into());
        assert_eq!(e.suggested_status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        assert_eq!(FetchError::InvalidUrl("x".into()).suggested_status(), StatusCode::BAD_REQUEST);
    }
}
