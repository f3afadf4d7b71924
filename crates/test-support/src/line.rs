//! A fake LINE Messaging API: reply, push and the loading animation, with LINE's
//! real validation and error bodies (invalid reply token, rate limited, too many
//! messages, text too long, duplicate retry key). Reply tokens are single-use and
//! can be expired on demand; failures can be scripted. Every request is recorded.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::{HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// One call the bot made.
#[derive(Debug, Clone)]
pub struct LineCall {
    /// `reply`, `push` or `loading`.
    pub op: String,
    pub body: Value,
    pub retry_key: Option<String>,
    /// What the fake answered.
    pub status: u16,
}

#[derive(Debug, Default)]
struct Shared {
    token: String,
    calls: Mutex<Vec<LineCall>>,
    used_reply_tokens: Mutex<HashSet<String>>,
    accepted_retry_keys: Mutex<HashSet<String>>,
    expire_replies: Mutex<bool>,
    /// Statuses to answer the next push calls with, in order.
    push_failures: Mutex<VecDeque<u16>>,
    reply_failures: Mutex<VecDeque<u16>>,
}

/// A running fake. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeLine {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeLine {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn error(status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, Json(json!({ "message": message }))).into_response()
}

fn status_error(status: u16) -> Response {
    match status {
        429 => error(429, "The API rate limit has been exceeded. Try again later."),
        400 => error(400, "Invalid reply token"),
        s => error(s, "An error occurred in the server. Try again later."),
    }
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// LINE's validation of a `messages` array.
fn validate(messages: &Value) -> Option<Response> {
    let Some(list) = messages.as_array() else {
        return Some(error(400, "The request body has 1 error(s)"));
    };
    if list.is_empty() || list.len() > 5 {
        let body = json!({
            "message": "The request body has 1 error(s)",
            "details": [{ "message": "Size must be between 1 and 5", "property": "messages" }]
        });
        return Some((StatusCode::BAD_REQUEST, Json(body)).into_response());
    }
    for (i, m) in list.iter().enumerate() {
        if m["type"] == "text" {
            let text = m["text"].as_str().unwrap_or("");
            if text.is_empty() || utf16_len(text) > 5000 {
                let body = json!({
                    "message": "The request body has 1 error(s)",
                    "details": [{ "message": "Length must be between 0 and 5000", "property": format!("messages[{i}].text") }]
                });
                return Some((StatusCode::BAD_REQUEST, Json(body)).into_response());
            }
        }
        if let Some(items) = m["quickReply"]["items"].as_array() {
            if items.len() > 13 {
                return Some(error(400, "The request body has 1 error(s)"));
            }
        }
    }
    None
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {}", shared.token))
}

fn unauthorized() -> Response {
    error(
        401,
        "Authentication failed due to the following reason: invalid token. Confirm that the access token in the authorization header is valid.",
    )
}

impl Shared {
    fn record(&self, op: &str, body: Value, retry_key: Option<String>, status: u16) {
        self.calls.lock().unwrap_or_else(|p| p.into_inner()).push(LineCall { op: op.into(), body, retry_key, status });
    }
}

async fn reply(State(s): State<Arc<Shared>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !authorized(&s, &headers) {
        return unauthorized();
    }
    let scripted = s.reply_failures.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
    let token = body["replyToken"].as_str().unwrap_or("").to_string();
    let resp = if let Some(status) = scripted {
        status_error(status)
    } else if let Some(invalid) = validate(&body["messages"]) {
        invalid
    } else if *s.expire_replies.lock().unwrap_or_else(|p| p.into_inner())
        || token.is_empty()
        || !s.used_reply_tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(token)
    {
        error(400, "Invalid reply token")
    } else {
        (StatusCode::OK, Json(json!({ "sentMessages": [] }))).into_response()
    };
    s.record("reply", body, None, resp.status().as_u16());
    resp
}

async fn push(State(s): State<Arc<Shared>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !authorized(&s, &headers) {
        return unauthorized();
    }
    let retry_key = headers.get("x-line-retry-key").and_then(|v| v.to_str().ok()).map(str::to_string);
    let scripted = s.push_failures.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
    let resp = if let Some(status) = scripted {
        status_error(status)
    } else if let Some(invalid) = validate(&body["messages"]) {
        invalid
    } else if body["to"].as_str().is_none_or(str::is_empty) {
        error(400, "The property, 'to', in the request body is invalid (line: -, column: -)")
    } else if retry_key
        .as_ref()
        .is_some_and(|k| !s.accepted_retry_keys.lock().unwrap_or_else(|p| p.into_inner()).insert(k.clone()))
    {
        let mut r = error(409, "The retry key is already accepted");
        r.headers_mut().insert("x-line-accepted-request-id", HeaderValue::from_static("fake-request-id"));
        r
    } else {
        (StatusCode::OK, Json(json!({ "sentMessages": [] }))).into_response()
    };
    s.record("push", body, retry_key, resp.status().as_u16());
    resp
}

async fn loading(State(s): State<Arc<Shared>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !authorized(&s, &headers) {
        return unauthorized();
    }
    let secs = body["loadingSeconds"].as_u64().unwrap_or(20);
    let resp = if body["chatId"].as_str().is_none() || secs % 5 != 0 || !(5..=60).contains(&secs) {
        error(400, "The request body has 1 error(s)")
    } else {
        (StatusCode::ACCEPTED, Json(json!({}))).into_response()
    };
    s.record("loading", body, None, resp.status().as_u16());
    resp
}

/// For processes (the Node SDK test): every call so far, as JSON.
async fn calls(State(s): State<Arc<Shared>>) -> Json<Value> {
    let calls = s.calls.lock().unwrap_or_else(|p| p.into_inner()).clone();
    Json(Value::Array(
        calls
            .into_iter()
            .map(|c| json!({ "op": c.op, "body": c.body, "retry_key": c.retry_key, "status": c.status }))
            .collect(),
    ))
}

impl FakeLine {
    /// Start on 127.0.0.1 accepting `token` as the channel access token.
    pub async fn start(token: &str) -> Self {
        Self::start_on("127.0.0.1:0", token).await
    }

    pub async fn start_on(addr: &str, token: &str) -> Self {
        let shared = Arc::new(Shared { token: token.to_string(), ..Shared::default() });
        let app = Router::new()
            .route("/v2/bot/message/reply", post(reply))
            .route("/v2/bot/message/push", post(push))
            .route("/v2/bot/chat/loading/start", post(loading))
            .route("/__calls", get(calls))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind fake LINE");
        let addr = listener.local_addr().expect("local addr");
        #[expect(clippy::disallowed_methods, reason = "the fake is owned by the test, not by an app")]
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeLine { addr, shared, task }
    }

    /// The value for `LINE_API_BASE`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn calls(&self) -> Vec<LineCall> {
        self.shared.calls.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Calls of one kind that LINE accepted.
    pub fn delivered(&self, op: &str) -> Vec<LineCall> {
        self.calls().into_iter().filter(|c| c.op == op && c.status < 300).collect()
    }

    /// From now on every reply token is refused as expired.
    pub fn expire_reply_tokens(&self) {
        *self.shared.expire_replies.lock().unwrap_or_else(|p| p.into_inner()) = true;
    }

    /// Answer the next pushes with these statuses (429, 500, …), then normally.
    pub fn fail_pushes(&self, statuses: &[u16]) {
        self.shared.push_failures.lock().unwrap_or_else(|p| p.into_inner()).extend(statuses);
    }

    pub fn fail_replies(&self, statuses: &[u16]) {
        self.shared.reply_failures.lock().unwrap_or_else(|p| p.into_inner()).extend(statuses);
    }
}
