//! A fake OpenAI Chat Completions server. It streams exactly as the real API does
//! (a role chunk, content chunks, a finish chunk, a usage chunk when asked, then
//! `data: [DONE]`), answers non-streamed requests with a completion object, and can
//! be scripted to answer 429 with `Retry-After`, 500, hang, stream slowly or cut the
//! connection mid-stream. Every request body is recorded for assertions.
//!
//! `POST /v1/embeddings` answers in the real format (floats, or base64 as the
//! official SDKs ask for by default) with deterministic vectors: hashed character
//! bigrams of the NFKC, lower-cased text, plus a dimension per configured concept
//! so that words sharing no character ("やめたい", "解約") can be made similar. It
//! fails and hangs as scripted, like the chat endpoint, and counts its calls.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::ListenerExt;
use axum::{Json, Router};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the fake does with one request.
#[derive(Debug, Clone)]
pub enum Behavior {
    /// Stream these chunks, `delay` apart, then finish. Shared: every request clones
    /// the behaviour, and a benchmark's long answer is thousands of chunks.
    Stream { chunks: Arc<[String]>, delay: Duration, finish_reason: String, prompt_tokens: u32, completion_tokens: u32 },
    /// Answer with this status and the real API's error body.
    Status { status: u16, retry_after: Option<u64>, code: &'static str },
    /// Answer `307 Temporary Redirect` to `location` (a misconfigured base URL).
    Redirect { location: String },
    /// Accept the connection and never answer.
    Hang,
    /// Stream these chunks, then drop the connection without finishing.
    Cut { chunks: Vec<String>, delay: Duration },
    /// Answer with `prefix` followed by the last user message, in small chunks (so
    /// what the model was sent comes back, e.g. masking placeholders).
    Echo { prefix: String },
}

impl Behavior {
    /// A quick answer split into chunks of a few characters.
    pub fn reply(text: &str) -> Self {
        Self::slow_reply(text, Duration::ZERO)
    }

    /// An answer streamed one chunk every `delay`.
    pub fn slow_reply(text: &str, delay: Duration) -> Self {
        let chars: Vec<char> = text.chars().collect();
        let chunks: Vec<String> = chars.chunks(3).map(|c| c.iter().collect()).collect();
        let n = chunks.len() as u32;
        Behavior::Stream {
            chunks: chunks.into(),
            delay,
            finish_reason: "stop".into(),
            prompt_tokens: 12,
            completion_tokens: n,
        }
    }

    /// An error as OpenAI sends it.
    pub fn status(status: u16) -> Self {
        let code = match status {
            429 => "rate_limit_exceeded",
            401 => "invalid_api_key",
            400 => "context_length_exceeded",
            _ => "server_error",
        };
        Behavior::Status { status, retry_after: None, code }
    }
}

#[derive(Debug)]
struct Shared {
    script: Mutex<VecDeque<Behavior>>,
    default: Mutex<Behavior>,
    requests: Mutex<Vec<(HeaderMap, Value)>>,
    /// Embeddings: scripted behaviours (only `Status` and `Hang` matter; anything
    /// else answers), the default, the requests, and the concept groups.
    embed_script: Mutex<VecDeque<Behavior>>,
    embed_default: Mutex<Option<Behavior>>,
    embed_requests: Mutex<Vec<(HeaderMap, Value)>>,
    concepts: Mutex<Vec<Vec<String>>>,
    /// While false, requests are recorded and then held until `resume`.
    open: tokio::sync::watch::Sender<bool>,
    /// Whether requests are kept for `requests()`: the fake as a process (nobody can
    /// ask it) keeps none, or a benchmark's millions of requests would grow it to GiBs
    /// and stall it on every reallocation of the list.
    record: std::sync::atomic::AtomicBool,
}

/// A running fake. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeOpenAi {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeOpenAi {
    /// Start on 127.0.0.1 with a default answer.
    pub async fn start() -> Self {
        Self::start_with(Behavior::reply("こんにちは。TENMON-ARK です。")).await
    }

    /// Start with `default` as the behaviour when nothing is scripted.
    pub async fn start_with(default: Behavior) -> Self {
        Self::start_on("127.0.0.1:0", default).await
    }

    /// Start on a given address.
    pub async fn start_on(addr: &str, default: Behavior) -> Self {
        let shared = Arc::new(Shared {
            script: Mutex::new(VecDeque::new()),
            default: Mutex::new(default),
            requests: Mutex::new(Vec::new()),
            embed_script: Mutex::new(VecDeque::new()),
            embed_default: Mutex::new(None),
            embed_requests: Mutex::new(Vec::new()),
            concepts: Mutex::new(Vec::new()),
            open: tokio::sync::watch::Sender::new(true),
            record: std::sync::atomic::AtomicBool::new(true),
        });
        let app = Router::new()
            .route("/v1/chat/completions", post(completions))
            .route("/chat/completions", post(completions))
            .route("/v1/embeddings", post(embeddings))
            .route("/embeddings", post(embeddings))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind(addr).await.expect("bind fake OpenAI");
        let addr = listener.local_addr().expect("local addr");
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        #[expect(clippy::disallowed_methods, reason = "the fake is owned by the test, not by an app")]
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeOpenAi { addr, shared, task }
    }

    /// Keep no more requests (for a fake run as a process, where nobody reads them).
    pub fn stop_recording(&self) {
        self.shared.record.store(false, std::sync::atomic::Ordering::Relaxed);
    }

    /// The base URL to configure (`…/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Answer the next requests in this order, then fall back to the default.
    pub fn script(&self, behaviors: impl IntoIterator<Item = Behavior>) {
        self.shared.script.lock().expect("lock").extend(behaviors);
    }

    /// Change the default behaviour.
    pub fn set_default(&self, behavior: Behavior) {
        *self.shared.default.lock().expect("lock") = behavior;
    }

    /// Hold every request (after recording it) until `resume`: proves that a caller
    /// does not wait for the model, without timing anything.
    pub fn pause(&self) {
        self.shared.open.send_replace(false);
    }

    pub fn resume(&self) {
        self.shared.open.send_replace(true);
    }

    /// The bodies of every request received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.shared.requests.lock().expect("lock").iter().map(|(_, b)| b.clone()).collect()
    }

    /// Answer the next embeddings requests in this order (`Status` fails, `Hang`
    /// never answers, anything else answers), then as the default.
    pub fn script_embeddings(&self, behaviors: impl IntoIterator<Item = Behavior>) {
        self.shared.embed_script.lock().expect("lock").extend(behaviors);
    }

    /// How embeddings requests are answered when nothing is scripted (`None`: they
    /// succeed).
    pub fn set_embeddings_default(&self, behavior: Option<Behavior>) {
        *self.shared.embed_default.lock().expect("lock") = behavior;
    }

    /// Word groups that share a dimension of the vectors: a text containing any
    /// word of a group points that way (up to 16 groups).
    pub fn set_concepts(&self, groups: &[&[&str]]) {
        *self.shared.concepts.lock().expect("lock") =
            groups.iter().take(CONCEPT_DIMS).map(|g| g.iter().map(|w| fold(w)).collect()).collect();
    }

    /// The bodies of every embeddings request received so far.
    pub fn embedding_requests(&self) -> Vec<Value> {
        self.shared.embed_requests.lock().expect("lock").iter().map(|(_, b)| b.clone()).collect()
    }

    /// Embeddings requests received so far.
    pub fn embedding_calls(&self) -> usize {
        self.shared.embed_requests.lock().expect("lock").len()
    }

    /// The `Authorization` headers of the embeddings requests.
    pub fn embedding_authorizations(&self) -> Vec<Option<String>> {
        self.shared
            .embed_requests
            .lock()
            .expect("lock")
            .iter()
            .map(|(h, _)| h.get("authorization").and_then(|v| v.to_str().ok()).map(String::from))
            .collect()
    }

    /// The fake's vector of a text (what `/v1/embeddings` answers), for assertions.
    pub fn vector_of(&self, text: &str) -> Vec<f32> {
        vector(text, &self.shared.concepts.lock().expect("lock"))
    }

    /// The `Authorization` header of every request received so far.
    pub fn authorizations(&self) -> Vec<Option<String>> {
        self.shared
            .requests
            .lock()
            .expect("lock")
            .iter()
            .map(|(h, _)| h.get("authorization").and_then(|v| v.to_str().ok()).map(String::from))
            .collect()
    }
}

fn chunk(model: &str, delta: Value, finish: Option<&str>) -> Bytes {
    let body = json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
    });
    Bytes::from(format!("data: {body}\n\n"))
}

/// The fields of a request that every answer needs. The messages are only skipped
/// over: a fake run as a benchmark's upstream should not spend the shared cores
/// building a JSON tree of each prompt (that is not the server's cost).
#[derive(serde::Deserialize)]
struct RequestHead<'a> {
    #[serde(borrow)]
    model: Option<std::borrow::Cow<'a, str>>,
    stream: Option<bool>,
    stream_options: Option<HeadStreamOptions>,
}

#[derive(serde::Deserialize)]
struct HeadStreamOptions {
    include_usage: Option<bool>,
}

async fn completions(State(shared): State<Arc<Shared>>, headers: HeaderMap, raw: Bytes) -> Response {
    let Ok(head) = serde_json::from_slice::<RequestHead>(&raw) else {
        return (StatusCode::BAD_REQUEST, "not a chat completions request").into_response();
    };
    // The whole document only for tests that read it (and the echo behaviour).
    let whole = || serde_json::from_slice::<Value>(&raw).unwrap_or(Value::Null);
    if shared.record.load(std::sync::atomic::Ordering::Relaxed) {
        shared.requests.lock().expect("lock").push((headers, whole()));
    }
    let _ = shared.open.subscribe().wait_for(|open| *open).await;
    let behavior = {
        let next = shared.script.lock().expect("lock").pop_front();
        next.unwrap_or_else(|| shared.default.lock().expect("lock").clone())
    };
    let model = head.model.as_deref().unwrap_or("gpt-fake").to_string();
    let streaming = head.stream.unwrap_or(false);
    let include_usage = head.stream_options.is_some_and(|o| o.include_usage == Some(true));
    let behavior = match behavior {
        Behavior::Echo { prefix } => {
            let body = whole();
            let last = body["messages"]
                .as_array()
                .and_then(|m| m.iter().rev().find(|m| m["role"] == "user"))
                .and_then(|m| m["content"].as_str())
                .unwrap_or("")
                .to_string();
            // Two characters a chunk: placeholders arrive cut in pieces, as real tokens do.
            let chars: Vec<char> = format!("{prefix}{last}").chars().collect();
            let chunks: Vec<String> = chars.chunks(2).map(|c| c.iter().collect()).collect();
            let n = chunks.len() as u32;
            Behavior::Stream {
                chunks: chunks.into(),
                delay: Duration::from_millis(2),
                finish_reason: "stop".into(),
                prompt_tokens: 10,
                completion_tokens: n,
            }
        }
        other => other,
    };
    match behavior {
        // Turned into a stream above.
        Behavior::Echo { .. } | Behavior::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        Behavior::Status { status, retry_after, code } => error_response(status, retry_after, code),
        Behavior::Redirect { location } => {
            (StatusCode::TEMPORARY_REDIRECT, [(axum::http::header::LOCATION, location)]).into_response()
        }
        Behavior::Stream { chunks, delay, finish_reason, prompt_tokens, completion_tokens } if !streaming => {
            tokio::time::sleep(delay * chunks.len() as u32).await;
            Json(json!({
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": chunks.concat(), "refusal": null}, "logprobs": null, "finish_reason": finish_reason}],
                "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
            }))
            .into_response()
        }
        Behavior::Stream { chunks, delay, finish_reason, prompt_tokens, completion_tokens } => {
            let m = model.clone();
            let head = futures::stream::once(async move {
                chunk(&m, json!({"role": "assistant", "content": "", "refusal": null}), None)
            });
            let m = model.clone();
            let texts = (0..chunks.len()).map(move |i| chunks[i].clone());
            let body_chunks = futures::stream::iter(texts).then(move |text| {
                let m = m.clone();
                async move {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    chunk(&m, json!({"content": text}), None)
                }
            });
            let m = model.clone();
            let mut tail = vec![chunk(&m, json!({}), Some(&finish_reason))];
            if include_usage {
                let usage = json!({
                    "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1_700_000_000, "model": m,
                    "choices": [],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
                });
                tail.push(Bytes::from(format!("data: {usage}\n\n")));
            }
            tail.push(Bytes::from_static(b"data: [DONE]\n\n"));
            let stream = head.chain(body_chunks).chain(futures::stream::iter(tail)).map(Ok::<_, std::io::Error>);
            sse(Body::from_stream(stream))
        }
        Behavior::Cut { chunks, delay } => {
            let m = model.clone();
            let stream = futures::stream::iter(chunks)
                .then(move |text| {
                    let m = m.clone();
                    async move {
                        tokio::time::sleep(delay).await;
                        Ok::<_, std::io::Error>(chunk(&m, json!({"content": text}), None))
                    }
                })
                .chain(futures::stream::once(async {
                    // Let the chunks reach the client first: hyper drops unflushed
                    // writes when a body fails, and a real cut comes after bytes sent.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "cut by the test"))
                }));
            sse(Body::from_stream(stream))
        }
    }
}

fn sse(body: Body) -> Response {
    Response::builder()
        .header("content-type", "text/event-stream; charset=utf-8")
        .header("cache-control", "no-cache")
        .body(body)
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// Dimensions of the fake's vectors, the last `CONCEPT_DIMS` for concepts.
pub const EMBEDDING_DIMS: usize = 256;
const CONCEPT_DIMS: usize = 16;
/// How much a concept outweighs one bigram.
const CONCEPT_WEIGHT: f32 = 8.0;

fn fold(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    s.nfkc().collect::<String>().to_lowercase()
}

/// FNV-1a of two characters: stable across runs and platforms.
fn bigram_dim(a: char, b: char) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for c in [a, b] {
        for byte in (c as u32).to_le_bytes() {
            h ^= u32::from(byte);
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    (h as usize) % (EMBEDDING_DIMS - CONCEPT_DIMS)
}

/// A unit vector: character bigrams (single characters for a one-character text)
/// hashed into buckets, and the concepts the text mentions.
fn vector(text: &str, concepts: &[Vec<String>]) -> Vec<f32> {
    let folded = fold(text);
    let chars: Vec<char> = folded.chars().filter(|c| !c.is_whitespace()).collect();
    let mut v = vec![0.0f32; EMBEDDING_DIMS];
    if chars.len() == 1 {
        v[bigram_dim(chars[0], chars[0])] += 1.0;
    }
    for w in chars.windows(2) {
        v[bigram_dim(w[0], w[1])] += 1.0;
    }
    for (i, group) in concepts.iter().enumerate() {
        if group.iter().any(|w| folded.contains(w.as_str())) {
            v[EMBEDDING_DIMS - CONCEPT_DIMS + i] += CONCEPT_WEIGHT;
        }
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

fn invalid(message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": {"message": message, "type": "invalid_request_error", "param": "input", "code": null}})),
    )
        .into_response()
}

async fn embeddings(State(shared): State<Arc<Shared>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if shared.record.load(std::sync::atomic::Ordering::Relaxed) {
        shared.embed_requests.lock().expect("lock").push((headers, body.clone()));
    }
    let behavior = {
        let next = shared.embed_script.lock().expect("lock").pop_front();
        next.or_else(|| shared.embed_default.lock().expect("lock").clone())
    };
    match behavior {
        Some(Behavior::Hang) => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return StatusCode::GATEWAY_TIMEOUT.into_response();
        }
        Some(Behavior::Status { status, retry_after, code }) => {
            return error_response(status, retry_after, code);
        }
        _ => {}
    }
    let inputs: Vec<String> = match &body["input"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) if !a.is_empty() && a.len() <= 2048 => {
            match a.iter().map(|v| v.as_str().map(String::from)).collect::<Option<Vec<_>>>() {
                Some(v) => v,
                None => return invalid("'$.input' is invalid: expected strings"),
            }
        }
        _ => return invalid("'$.input' is invalid"),
    };
    if inputs.iter().any(|s| s.is_empty()) {
        return invalid("'$.input' is invalid: empty strings are not allowed");
    }
    let Some(model) = body["model"].as_str().map(String::from) else {
        return invalid("you must provide a model parameter");
    };
    let base64 = match body["encoding_format"].as_str() {
        None | Some("float") => false,
        Some("base64") => true,
        Some(_) => return invalid("'encoding_format' must be float or base64"),
    };
    let concepts = shared.concepts.lock().expect("lock").clone();
    let tokens: usize = inputs.iter().map(|s| s.chars().count().div_ceil(2)).sum();
    let data: Vec<Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let v = vector(text, &concepts);
            let embedding = if base64 {
                use base64::Engine;
                let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
                json!(base64::engine::general_purpose::STANDARD.encode(bytes))
            } else {
                json!(v)
            };
            json!({"object": "embedding", "index": i, "embedding": embedding})
        })
        .collect();
    Json(json!({
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }))
    .into_response()
}

fn error_response(status: u16, retry_after: Option<u64>, code: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let kind = if status == StatusCode::TOO_MANY_REQUESTS { "requests" } else { "invalid_request_error" };
    let mut res = (
        status,
        Json(json!({"error": {"message": format!("fake upstream says {status}: secret upstream detail"), "type": kind, "param": null, "code": code}})),
    )
        .into_response();
    if let Some(s) = retry_after {
        res.headers_mut().insert("retry-after", s.into());
    }
    res
}
