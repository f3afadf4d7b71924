//! Request body and time limits: `BODY_LIMIT_BYTES` and `REQUEST_TIMEOUT_SECONDS`
//! for every route but uploads, which get `FILE_MAX_BYTES` (plus room for the
//! multipart framing) and `FILE_UPLOAD_TIMEOUT_SECONDS` (five minutes: 20 MiB over a
//! slow mobile link). A declared length over the limit is refused before the body is
//! kept; an undeclared one is cut off while it streams.

use crate::app::AppState;
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, Method};
use axum::response::{IntoResponse, Response};

/// Multipart boundaries and part headers around the file.
const MULTIPART_SLACK: u64 = 64 * 1024;

/// Routes that take a file upload.
pub fn is_upload(method: &Method, path: &str) -> bool {
    method == Method::POST
        && (path == "/api/files" || (path.starts_with("/api/kb/bases/") && path.ends_with("/documents")))
}

/// The OpenAI-compatible completion: a non-streamed answer starts only when the model
/// has finished, and nothing of it survives a 408 there, so it gets the model's time.
/// (`/api/chat` keeps the request timeout: its turn goes on and can be resumed.)
fn is_model_answer(method: &Method, path: &str) -> bool {
    method == Method::POST && path == "/v1/chat/completions"
}

/// The largest body any route accepts (for `DefaultBodyLimit`, which this layer
/// narrows per route).
pub fn largest(state: &AppState) -> usize {
    state.config.server.body_limit.max(upload_limit(state))
}

fn upload_limit(state: &AppState) -> usize {
    usize::try_from(state.config.files.max_bytes.saturating_add(MULTIPART_SLACK)).unwrap_or(usize::MAX)
}

/// The body limit of `req`'s route; `Err` with the 413 when the declared length is
/// over it, else the request with its body cut off at the limit.
pub fn limit(state: &AppState, req: Request) -> Result<(Request, usize), Refused> {
    let limit =
        if is_upload(req.method(), req.uri().path()) { upload_limit(state) } else { state.config.server.body_limit };
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if let Some(declared) = declared.filter(|&n| n > limit as u64) {
        let body = (declared <= DRAIN_BYTES).then(|| req.into_body());
        return Err(Refused { limit, body });
    }
    let (parts, body) = req.into_parts();
    let body = Body::new(http_body_util::Limited::new(body, limit));
    Ok((Request::from_parts(parts, body), limit))
}

/// The most of a refused body read (and thrown away) before the 413 goes out.
const DRAIN_BYTES: u64 = 64 * 1024 * 1024;
/// The longest a refused body is read for.
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// A request refused for its declared length.
///
/// Why its body is read first: the server closes the connection after the 413 (the
/// rest of the body is still coming), and a socket closed with unread data in it
/// sends a reset; a client still writing its upload then fails with "broken pipe" or
/// "connection reset" and never sees the 413 that says why. nginx reads on after its
/// answer for this ("lingering close"); hyper does not, so the body, up to
/// [`DRAIN_BYTES`] and [`DRAIN_TIME`], is read and dropped before answering. A larger
/// body gets the answer at once, with `Connection: close`.
pub struct Refused {
    limit: usize,
    body: Option<Body>,
}

impl Refused {
    /// Read what is left of the body (bounded), then the 413.
    pub async fn respond(self) -> Response {
        let drained = match self.body {
            Some(body) => tokio::time::timeout(DRAIN_TIME, drain(body)).await.unwrap_or(false),
            None => false,
        };
        let mut response = ApiError::PayloadTooLarge { limit: self.limit }.into_response();
        if !drained {
            response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
        }
        response
    }
}

/// Read `body` to its end, keeping nothing; whether it ended cleanly.
async fn drain(mut body: Body) -> bool {
    use http_body_util::BodyExt;
    loop {
        match body.frame().await {
            None => return true,
            Some(Ok(_)) => {}
            Some(Err(_)) => return false,
        }
    }
}

/// Time for work that must end before the request's 408 does (so it can answer
/// itself and clean up): a second less than `limit`, at least half of it.
pub fn within(limit: std::time::Duration) -> std::time::Duration {
    limit.saturating_sub(std::time::Duration::from_secs(1)).max(limit / 2)
}

/// The time an upload has before its 408.
pub fn upload_time(state: &AppState) -> std::time::Duration {
    state.config.server.request_timeout.max(state.config.files.upload_timeout)
}

/// The time `req`'s response has to start in before a 408.
pub fn time_limit(state: &AppState, req: &Request) -> std::time::Duration {
    let limit = state.config.server.request_timeout;
    let (method, path) = (req.method(), req.uri().path());
    if is_upload(method, path) {
        upload_time(state)
    } else if is_model_answer(method, path) {
        limit.max(state.config.llm.completion_timeout)
    } else {
        limit
    }
}
