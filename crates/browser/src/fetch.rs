//! Fetching one page for the reader, safely: every hop checked, every byte and second capped.
//!
//! The decisions, so a reviewer need not reverse-engineer them:
//! - Only `http` and `https`. Any port is allowed: the address policy is what keeps us off this
//!   machine and its network, and a public host's odd port is still the public internet.
//! - Credentials in the URL (`user:pass@`) are dropped, never sent; fragments are never sent.
//! - Names are resolved by our [`Resolver`] and every answer is checked before reqwest connects
//!   to exactly those addresses (see `resolve.rs`); IP literals are checked before the request.
//! - Redirects are followed by hand, at most `max_redirects`, each `Location` resolved against
//!   the current URL and checked like a new URL. An https page may redirect to http: we carry no
//!   cookies or credentials to leak, and the user could have asked for the http URL directly.
//! - No proxy from the environment, no cookies, no `Referer`.
//! - gzip and deflate are asked for and decoded (most servers compress, and some do whether
//!   asked or not); the cap applies to the compressed bytes read and again to what they
//!   inflate to, so a decompression bomb yields at most `max_bytes`, flagged `truncated`.
//!   Other codings (br, zstd) are refused with a clear error.
//! - A body larger than `max_bytes` is cut there and the page flagged `truncated`: a reader
//!   would rather show the first 5 MiB of a page than nothing.
//! - `timeout` covers everything: DNS, every hop, headers and body.

use std::error::Error as _;
use std::sync::Arc;
use std::time::Duration;

use http::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Serialize;
use url::{Host, Url};

use crate::charset::{self, ContentType};
use crate::error::FetchError;
use crate::policy::{AllowList, Policy};
use crate::readable::{self, Link, Readable};
use crate::resolve::{GuardedResolver, Resolver, SystemResolver};

/// Longer URLs are refused: nothing legitimate needs them, and they end up in logs and the DB.
const MAX_URL_LEN: usize = 8 * 1024;

/// How the reader fetches; `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    /// `BROWSER_ALLOWED_HOSTS`: names, `*.suffix` patterns and CIDRs that may be private
    /// (see [`AllowList`]).
    pub allowed_hosts: Vec<String>,
    /// Bytes of body read at most; the rest is dropped and the page flagged truncated.
    pub max_bytes: usize,
    /// Characters of readable text kept at most.
    pub max_chars: usize,
    /// The whole fetch, redirects and body included.
    pub timeout: Duration,
    /// Each TCP connect (and TLS handshake).
    pub connect_timeout: Duration,
    pub max_redirects: usize,
    pub user_agent: String,
}

impl Default for FetchSettings {
    fn default() -> Self {
        Self {
            allowed_hosts: Vec::new(),
            max_bytes: 5 * 1024 * 1024,
            max_chars: 200_000,
            timeout: Duration::from_secs(15),
            connect_timeout: Duration::from_secs(5),
            max_redirects: 5,
            user_agent: concat!("TENMON-ARK-Browser/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// A page as the reader shows it. `text` is plain text, never HTML: render it as text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page {
    /// The final URL, after redirects, without credentials or fragment.
    pub url: String,
    pub status: u16,
    pub title: Option<String>,
    pub description: Option<String>,
    pub text: String,
    /// The body hit `max_bytes`, the text hit `max_chars`, or the HTML was too costly to parse whole.
    pub truncated: bool,
    /// The response's media type without parameters, e.g. `text/html`.
    pub content_type: String,
    /// Body bytes read (at most `max_bytes`).
    pub fetched_bytes: usize,
    /// Links in the main content, absolute, at most [`readable::MAX_LINKS`].
    pub links: Vec<Link>,
}

/// What kind of body we are reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Html,
    Text,
    /// No `Content-Type`: decided by looking at the body.
    Unknown,
}

/// Fetches pages. Cheap to clone; one per server is enough (it pools connections).
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    policy: Arc<Policy>,
    settings: Arc<FetchSettings>,
}

impl Fetcher {
    /// A fetcher on the operating system's resolver.
    pub fn new(settings: FetchSettings) -> Result<Self, FetchError> {
        Self::with_resolver(settings, Arc::new(SystemResolver))
    }

    /// A fetcher on another resolver (tests use one that plays a rebinding DNS server).
    pub fn with_resolver(settings: FetchSettings, resolver: Arc<dyn Resolver>) -> Result<Self, FetchError> {
        let policy = Arc::new(Policy::new(AllowList::parse(&settings.allowed_hosts)?));
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("text/html,application/xhtml+xml,text/plain;q=0.9,text/markdown;q=0.9,*/*;q=0.1"),
        );
        headers.insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip, deflate"));
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver::new(resolver, Arc::clone(&policy))))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .referer(false)
            .connect_timeout(settings.connect_timeout)
            .user_agent(settings.user_agent.as_str())
            .default_headers(headers)
            .build()
            .map_err(|e| FetchError::InvalidSetting(format!("HTTP client: {e}")))?;
        Ok(Self { client, policy, settings: Arc::new(settings) })
    }

    /// Fetches `url` and extracts its readable text.
    pub async fn fetch(&self, url: &str) -> Result<Page, FetchError> {
        if url.len() > MAX_URL_LEN {
            return Err(FetchError::InvalidUrl(format!("longer than {MAX_URL_LEN} bytes")));
        }
        let url = Url::parse(url.trim()).map_err(|e| FetchError::InvalidUrl(e.to_string()))?;
        let url = self.check(url)?;
        tokio::time::timeout(self.settings.timeout, self.follow(url)).await.map_err(|_| FetchError::Timeout)?
    }

    /// Checks a URL (the user's or a redirect's) and strips what must not be sent.
    fn check(&self, mut url: Url) -> Result<Url, FetchError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(FetchError::SchemeNotAllowed(url.scheme().to_owned()));
        }
        match url.host() {
            None => return Err(FetchError::InvalidUrl("no host".into())),
            Some(Host::Ipv4(ip)) => self.policy.check_ip(ip.into())?,
            Some(Host::Ipv6(ip)) => self.policy.check_ip(ip.into())?,
            // Resolved and checked by the guarded resolver at connect time.
            Some(Host::Domain(name)) => self.policy.check_name(name)?,
        }
        // Cannot fail for http(s) URLs with a host, which is all that reaches here.
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.set_fragment(None);
        Ok(url)
    }

    async fn follow(&self, mut url: Url) -> Result<Page, FetchError> {
        for hop in 0..=self.settings.max_redirects {
            tracing::debug!(%url, hop, "browser fetch");
            let response = self.client.get(url.clone()).send().await.map_err(from_reqwest)?;
            let status = response.status();
            if !is_redirect(status) {
                if !status.is_success() {
                    return Err(FetchError::UpstreamStatus(status));
                }
                return self.read(url, response).await;
            }
            let location = response
                .headers()
                .get(LOCATION)
                .ok_or(FetchError::UpstreamStatus(status))?
                .to_str()
                .map_err(|_| FetchError::InvalidUrl("redirect Location is not text".into()))?;
            let next =
                url.join(location).map_err(|e| FetchError::InvalidUrl(format!("redirect to {location:?}: {e}")))?;
            url = self.check(next)?;
        }
        Err(FetchError::TooManyRedirects(self.settings.max_redirects))
    }

    async fn read(&self, url: Url, mut response: reqwest::Response) -> Result<Page, FetchError> {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(ContentType::parse)
            .unwrap_or(ContentType { essence: String::new(), charset: None });
        let kind = match content_type.essence.as_str() {
            "text/html" | "application/xhtml+xml" => Kind::Html,
            "text/plain" | "text/markdown" | "text/x-markdown" => Kind::Text,
            "" => Kind::Unknown,
            other => return Err(FetchError::UnsupportedContentType(other.to_owned())),
        };
        // `None`: the body is as sent.
        let coding = match response.headers().get(CONTENT_ENCODING) {
            None => None,
            Some(value) => {
                let name = value.to_str().unwrap_or("unknown").trim().to_ascii_lowercase();
                match name.as_str() {
                    "identity" | "" => None,
                    "gzip" | "x-gzip" => Some(Coding::Gzip),
                    "deflate" => Some(Coding::Deflate),
                    _ => {
                        let essence = content_type.essence;
                        return Err(FetchError::UnsupportedContentType(format!("{essence} with {name} encoding")));
                    }
                }
            }
        };

        let max = self.settings.max_bytes;
        let declared =
            response.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<usize>().ok()).unwrap_or(0);
        let mut body = Vec::with_capacity(declared.min(max));
        let mut cut = false;
        while let Some(chunk) = response.chunk().await.map_err(from_reqwest)? {
            let room = max - body.len();
            if chunk.len() > room {
                body.extend_from_slice(&chunk[..room]);
                cut = true;
                break;
            }
            body.extend_from_slice(&chunk);
        }

        let (mut body, cut) = match coding {
            None => (body, cut),
            // Inflating is CPU work: off the async threads.
            Some(coding) => {
                let inflated = tokio::task::spawn_blocking(move || inflate(&body, coding, max)).await;
                let (body, inflated_cut) =
                    inflated.map_err(|e| FetchError::ConnectFailed(format!("decoding task: {e}")))??;
                (body, cut || inflated_cut)
            }
        };

        let fetched_bytes = body.len();
        if cut {
            // A UTF-8 body cut inside a character is still UTF-8 without that character's
            // start; left in, it makes the charset guess take the page for a legacy encoding.
            if let Err(e) = std::str::from_utf8(&body) {
                if e.error_len().is_none() {
                    body.truncate(e.valid_up_to());
                }
            }
        }

        let kind = match kind {
            Kind::Unknown => sniff(&body).ok_or_else(|| FetchError::UnsupportedContentType("(none)".into()))?,
            known => known,
        };
        let text = charset::decode(&body, content_type.charset.as_deref(), kind == Kind::Html);
        let max_chars = self.settings.max_chars;
        let readable = if kind == Kind::Html {
            readable::from_html(&text, &url, max_chars)
        } else {
            readable::from_plain_text(&text, max_chars)
        };
        let Readable { title, description, text, truncated, links } = readable;
        let content_type = match (kind, content_type.essence.is_empty()) {
            (Kind::Html, true) => "text/html".to_owned(),
            (Kind::Text, true) => "text/plain".to_owned(),
            _ => content_type.essence,
        };
        Ok(Page {
            url: url.into(),
            status,
            title,
            description,
            text,
            truncated: truncated || cut,
            content_type,
            fetched_bytes,
            links,
        })
    }
}

/// A body's `Content-Encoding`, of those we decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Coding {
    Gzip,
    /// HTTP's "deflate" is zlib-wrapped; some servers send it raw.
    Deflate,
}

/// `body` inflated, at most `max` bytes of it; whether it was cut (over `max`, or the
/// compressed bytes were cut short: what inflated before the cut is kept).
fn inflate(body: &[u8], coding: Coding, max: usize) -> Result<(Vec<u8>, bool), FetchError> {
    use std::io::Read;
    let run = |reader: &mut dyn Read| {
        let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(max));
        let ended = reader.take(max as u64 + 1).read_to_end(&mut out).is_ok();
        let cut = !ended || out.len() > max;
        out.truncate(max);
        (out, ended, cut)
    };
    let (out, ended, cut) = match coding {
        Coding::Gzip => run(&mut flate2::read::MultiGzDecoder::new(body)),
        Coding::Deflate => match run(&mut flate2::read::ZlibDecoder::new(body)) {
            (out, false, _) if out.is_empty() => run(&mut flate2::read::DeflateDecoder::new(body)),
            done => done,
        },
    };
    if !ended && out.is_empty() {
        return Err(FetchError::ConnectFailed(format!("the body does not decode as {coding:?}")));
    }
    Ok((out, cut))
}

fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// Decides an untyped body: HTML if it starts like HTML, text if it is UTF-8 without NULs.
fn sniff(body: &[u8]) -> Option<Kind> {
    let head = &body[..body.len().min(1024)];
    let start = head.trim_ascii_start().to_ascii_lowercase();
    if start.starts_with(b"<!doctype html") || start.starts_with(b"<html") {
        Some(Kind::Html)
    } else if !head.contains(&0) && std::str::from_utf8(body).is_ok() {
        Some(Kind::Text)
    } else {
        None
    }
}

/// Turns reqwest's error into ours. A refusal raised inside the guarded resolver travels in
/// the error's source chain; it is the answer when present.
fn from_reqwest(err: reqwest::Error) -> FetchError {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = err.source();
    let mut root = None;
    while let Some(current) = cause {
        if let Some(ours) = current.downcast_ref::<FetchError>() {
            return ours.clone();
        }
        root = Some(current);
        cause = current.source();
    }
    if err.is_timeout() {
        return FetchError::Timeout;
    }
    FetchError::ConnectFailed(root.map_or_else(|| err.to_string(), ToString::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetcher(allowed: &[&str]) -> Fetcher {
        let settings =
            FetchSettings { allowed_hosts: allowed.iter().map(|s| s.to_string()).collect(), ..Default::default() };
        Fetcher::new(settings).unwrap()
    }

    fn check(f: &Fetcher, url: &str) -> Result<String, FetchError> {
        f.check(Url::parse(url).map_err(|e| FetchError::InvalidUrl(e.to_string()))?).map(String::from)
    }

    #[test]
    fn checks_strip_credentials_and_fragments() {
        let f = fetcher(&[]);
        assert_eq!(check(&f, "https://user:pw@example.com/a#top").unwrap(), "https://example.com/a");
        assert_eq!(check(&f, "ftp://example.com/").unwrap_err().code(), "scheme_not_allowed");
        assert_eq!(check(&f, "http://10.0.0.1/").unwrap_err().to_string(), "10.0.0.1 is a private address");
        assert_eq!(check(&f, "http://public.example@127.0.0.1/").unwrap_err().code(), "address_not_allowed");
        assert_eq!(check(&f, "http://foo.localhost/").unwrap_err().code(), "address_not_allowed");
        assert!(check(&fetcher(&["10.0.0.0/8"]), "http://10.0.0.1:8080/").is_ok());
    }

    #[test]
    fn sniffing() {
        assert_eq!(sniff(b"  <!DOCTYPE html><p>x"), Some(Kind::Html));
        assert_eq!(sniff(b"<html>"), Some(Kind::Html));
        assert_eq!(sniff("plain 日本語".as_bytes()), Some(Kind::Text));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0"), None);
    }

    #[test]
    fn invalid_allowlist_is_a_setting_error() {
        let settings = FetchSettings { allowed_hosts: vec!["10.0.0.0/40".into()], ..Default::default() };
        assert_eq!(Fetcher::new(settings).unwrap_err().code(), "invalid_setting");
    }

    #[tokio::test]
    async fn overlong_and_unparsable_urls() {
        let f = fetcher(&[]);
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert_eq!(f.fetch(&long).await.unwrap_err().code(), "invalid_url");
        assert_eq!(f.fetch("example.com").await.unwrap_err().code(), "invalid_url");
        assert_eq!(f.fetch("http://").await.unwrap_err().code(), "invalid_url");
    }
}
