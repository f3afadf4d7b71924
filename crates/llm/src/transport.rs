//! How a request reaches an OpenAI-compatible server.
//!
//! A plain `http://` upstream with no proxy in the way (vLLM, llama.cpp, Ollama on the
//! LAN; the fakes in tests and benchmarks) is asked over hyper HTTP/1.1 connections
//! kept in a small pool and driven on the caller's own task: no connection task, no
//! channel hop and no cross-thread wake-up per request. On the 2-core bench machine
//! that costs ~15 µs of CPU per proxied request against reqwest's ~25–40 µs (a
//! measured A/B of one axum server with either client, same fake upstream), which is
//! most of what `/v1/chat/completions` adds at concurrency 64.
//!
//! Everything else (`https://`, or a proxy from `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`)
//! goes through reqwest, which does TLS and proxies (with `NO_PROXY`) well; there the
//! model's own latency dwarfs the client's.

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::StreamExt;
use http_body_util::Full;
use hyper::body::Body as _;
use hyper::body::Incoming;
use hyper::client::conn::http1::{Connection, SendRequest};
use hyper::header::{HeaderMap, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::LlmError;

/// Proxies as the usual variables name them (`HTTP_PROXY`, `HTTPS_PROXY`,
/// `ALL_PROXY`, `NO_PROXY`), read once by the server's configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    pub http: Option<String>,
    pub https: Option<String>,
    pub all: Option<String>,
    /// Hosts, domains and networks reached directly (comma-separated, as in `NO_PROXY`).
    pub no_proxy: Option<String>,
}

impl Proxies {
    /// The proxy for plain `http://` URLs, if any.
    fn for_http(&self) -> Option<&str> {
        self.http.as_deref().filter(|p| !p.is_empty()).or(self.all.as_deref().filter(|p| !p.is_empty()))
    }
}

/// The reqwest client for an OpenAI-compatible server: no Nagle delay on small
/// writes, idle connections kept a minute, redirects not followed (an API answers
/// where it is asked; a redirected POST is a misconfigured base URL, better reported
/// than replayed elsewhere with the key), and exactly the configured proxies.
pub(crate) fn http_client(connect_timeout: Duration, proxies: &Proxies) -> Result<reqwest::Client, LlmError> {
    let bad = |e: reqwest::Error| LlmError::Unavailable(format!("proxy setting: {e}"));
    let mut builder = reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .tcp_nodelay(true)
        .pool_idle_timeout(IDLE_FOR)
        .redirect(reqwest::redirect::Policy::none())
        // The environment was read once, into `proxies`; reqwest must not read it again.
        .no_proxy();
    let exempt = || proxies.no_proxy.as_deref().and_then(reqwest::NoProxy::from_string);
    let set = |p: &Option<String>| p.as_deref().filter(|p| !p.is_empty()).map(str::to_string);
    if let Some(p) = set(&proxies.http) {
        builder = builder.proxy(reqwest::Proxy::http(p).map_err(bad)?.no_proxy(exempt()));
    }
    if let Some(p) = set(&proxies.https) {
        builder = builder.proxy(reqwest::Proxy::https(p).map_err(bad)?.no_proxy(exempt()));
    }
    if let Some(p) = set(&proxies.all) {
        builder = builder.proxy(reqwest::Proxy::all(p).map_err(bad)?.no_proxy(exempt()));
    }
    builder.build().map_err(|e| LlmError::Unavailable(format!("http client: {e}")))
}

// Built at compile time (`from_static` at run time checks each byte per request).
static USER_AGENT_VALUE: HeaderValue = HeaderValue::from_static(concat!("tenmon-ark/", env!("CARGO_PKG_VERSION")));
static JSON: HeaderValue = HeaderValue::from_static("application/json");
static EVENT_STREAM: HeaderValue = HeaderValue::from_static("text/event-stream");

/// Idle connections are closed after this long (either client).
const IDLE_FOR: Duration = Duration::from_secs(60);
/// At most this many idle connections are kept per upstream.
const MAX_IDLE: usize = 256;

/// One upstream's way of sending: pooled hyper connections or reqwest.
#[derive(Debug)]
pub(crate) enum Transport {
    Pooled(Arc<Pool>),
    Client(reqwest::Client),
}

impl Transport {
    /// The transport for `url`: pooled for plain HTTP without a proxy, else reqwest.
    pub fn new(url: &reqwest::Url, connect_timeout: Duration, proxies: &Proxies) -> Result<Self, LlmError> {
        if url.scheme() == "http" && proxies.for_http().is_none() {
            return Ok(Transport::Pooled(Arc::new(Pool::new(url, connect_timeout)?)));
        }
        Ok(Transport::Client(http_client(connect_timeout, proxies)?))
    }

    /// POST a JSON body; the answer's status and headers, with the body to read.
    pub async fn post_json(
        &self,
        url: &reqwest::Url,
        body: Vec<u8>,
        accept: &'static str,
        auth: Option<&HeaderValue>,
    ) -> Result<Reply, LlmError> {
        match self {
            Transport::Pooled(pool) => pool.post_json(body, accept, auth).await,
            Transport::Client(http) => {
                let mut req =
                    http.post(url.clone()).header(CONTENT_TYPE, "application/json").header(ACCEPT, accept).body(body);
                if let Some(value) = auth {
                    req = req.header(AUTHORIZATION, value.clone());
                }
                let mut response = req.send().await.map_err(|e| {
                    if e.is_timeout() {
                        LlmError::Timeout("connect")
                    } else {
                        // The error's Display can include the URL but never the key.
                        LlmError::Unavailable(if e.is_connect() {
                            "connection failed".into()
                        } else {
                            "request failed".into()
                        })
                    }
                })?;
                let headers = std::mem::take(response.headers_mut());
                Ok(Reply { status: response.status().as_u16(), headers, body: ReplyBody::Client(response) })
            }
        }
    }
}

/// The body of an answer could not be read whole.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("the answer was cut")]
    Cut,
    #[error("the answer is over {0} bytes")]
    TooLarge(usize),
}

/// An upstream's answer: status and headers read, the body still to come.
pub(crate) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    body: ReplyBody,
}

enum ReplyBody {
    Pooled(PooledBody),
    Client(reqwest::Response),
}

impl Reply {
    /// The body as it arrives.
    pub fn into_stream(self) -> BoxStream<'static, Result<Bytes, BodyError>> {
        match self.body {
            ReplyBody::Pooled(body) => body.boxed(),
            ReplyBody::Client(response) => response.bytes_stream().map(|r| r.map_err(|_| BodyError::Cut)).boxed(),
        }
    }

    /// The whole body, refusing more than `max` bytes. A body that arrives in one
    /// piece (a completion usually does) is handed on as it came, not copied.
    pub async fn bytes(self, max: usize) -> Result<Bytes, BodyError> {
        match self.body {
            ReplyBody::Pooled(body) => collect(body, max).await,
            ReplyBody::Client(response) => {
                collect(response.bytes_stream().map(|r| r.map_err(|_| BodyError::Cut)), max).await
            }
        }
    }

    /// The body as text for an error report (at most 64 KiB, empty if unreadable).
    pub async fn text(self) -> String {
        self.bytes(64 << 10).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default()
    }
}

/// The pieces of `body` joined, refusing more than `max` bytes.
async fn collect(body: impl futures::Stream<Item = Result<Bytes, BodyError>>, max: usize) -> Result<Bytes, BodyError> {
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut len = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        len += chunk.len();
        if len > max {
            return Err(BodyError::TooLarge(max));
        }
        match &first {
            None => first = Some(chunk),
            Some(head) => {
                if joined.is_empty() {
                    joined.extend_from_slice(head);
                }
                joined.extend_from_slice(&chunk);
            }
        }
    }
    Ok(if joined.is_empty() { first.unwrap_or_default() } else { Bytes::from(joined) })
}

/// One HTTP/1.1 connection: the sender, and the connection future that does its IO
/// whenever the task using it polls it.
struct Conn {
    send: SendRequest<Full<Bytes>>,
    io: Pin<Box<Connection<TokioIo<tokio::net::TcpStream>, Full<Bytes>>>>,
    /// The connection future finished: the connection is closed.
    closed: bool,
    /// The event loop whose reactor watches the socket (see [`home`]).
    home: Home,
}

/// Which event loop a connection belongs to: `Some(thread)` when it was opened on a
/// single-threaded runtime (the server's HTTP threads each run one), `None` on the
/// shared multi-threaded one. A socket's readiness is reported by the reactor of the
/// runtime that opened it; used from another single-threaded runtime, its wake-ups
/// would wait until that other loop, busy with its own requests, next polls its
/// reactor. So a request takes only idle connections of its own loop.
type Home = Option<std::thread::ThreadId>;

fn home() -> Home {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::CurrentThread) => Some(std::thread::current().id()),
        _ => None,
    }
}

impl Conn {
    /// Poll the connection's IO once; note when it has closed.
    fn drive(&mut self, cx: &mut Context<'_>) {
        if !self.closed && self.io.as_mut().poll(cx).is_ready() {
            self.closed = true;
        }
    }

    /// Still usable: not closed by the peer while idle (polling reads the EOF).
    async fn is_alive(&mut self) -> bool {
        std::future::poll_fn(|cx| {
            self.drive(cx);
            Poll::Ready(!self.closed && !self.send.is_closed())
        })
        .await
    }

    /// Send `req` and wait for the answer's head, driving the connection meanwhile.
    /// A request that never left is handed back (the connection was stale).
    async fn exchange(&mut self, req: http::Request<Full<Bytes>>) -> Result<http::Response<Incoming>, Failed> {
        let Conn { send, io, closed, .. } = self;
        let work = async {
            if send.ready().await.is_err() {
                return Err(Failed::Unsent(Box::new(req)));
            }
            send.try_send_request(req).await.map_err(|mut e| match e.take_message() {
                Some(req) => Failed::Unsent(Box::new(req)),
                None => Failed::Sent(e.into_error()),
            })
        };
        let mut work = std::pin::pin!(work);
        std::future::poll_fn(|cx| {
            if !*closed && io.as_mut().poll(cx).is_ready() {
                *closed = true;
            }
            work.as_mut().poll(cx)
        })
        .await
    }
}

enum Failed {
    Unsent(Box<http::Request<Full<Bytes>>>),
    Sent(hyper::Error),
}

/// Pooled connections to one `http://` upstream.
pub(crate) struct Pool {
    /// `host:port` to connect to.
    connect: String,
    /// The `Host` header.
    authority: HeaderValue,
    /// Path and query of the chat completions URL (the request target).
    path: http::Uri,
    connect_timeout: Duration,
    /// Idle connections, oldest first; the newest is taken first (warm).
    idle: Mutex<Vec<(Conn, Instant)>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("connect", &self.connect).finish_non_exhaustive()
    }
}

impl Pool {
    fn new(url: &reqwest::Url, connect_timeout: Duration) -> Result<Self, LlmError> {
        let bad = |what: &str| LlmError::Unavailable(format!("bad base URL: {what}"));
        let host = url.host_str().ok_or_else(|| bad("no host"))?;
        let port = url.port_or_known_default().ok_or_else(|| bad("no port"))?;
        let authority = match url.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_string(),
        };
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        Ok(Pool {
            connect: format!("{host}:{port}"),
            authority: HeaderValue::from_str(&authority).map_err(|_| bad("host"))?,
            path: path.parse().map_err(|_| bad("path"))?,
            connect_timeout,
            idle: Mutex::new(Vec::new()),
        })
    }

    #[expect(clippy::expect_used, reason = "the lock is never held across a panic")]
    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<(Conn, Instant)>> {
        self.idle.lock().expect("pool lock")
    }

    /// An idle connection that is still open, if any.
    async fn checkout_idle(&self) -> Option<Conn> {
        let here = home();
        loop {
            let (mut conn, since) = {
                let mut idle = self.idle();
                let at = idle.iter().rposition(|(c, _)| c.home == here)?;
                idle.remove(at)
            };
            if since.elapsed() > IDLE_FOR {
                // The rest of this loop's are older still.
                let now = Instant::now();
                let stale: Vec<_> = {
                    let mut idle = self.idle();
                    let (stale, fresh) = std::mem::take(&mut *idle)
                        .into_iter()
                        .partition(|(c, t)| c.home == here || now.duration_since(*t) > IDLE_FOR);
                    *idle = fresh;
                    stale
                };
                drop(stale);
                return None;
            }
            if conn.is_alive().await {
                return Some(conn);
            }
        }
    }

    fn checkin(&self, conn: Conn) {
        if conn.closed || conn.send.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut idle = self.idle();
        if idle.first().is_some_and(|(_, t)| now.duration_since(*t) > IDLE_FOR) {
            idle.retain(|(_, t)| now.duration_since(*t) <= IDLE_FOR);
        }
        if idle.len() < MAX_IDLE {
            idle.push((conn, now));
        }
    }

    async fn connect(&self) -> Result<Conn, LlmError> {
        let connect = async {
            let tcp = tokio::net::TcpStream::connect(&self.connect).await?;
            // Small writes must not wait for Nagle's algorithm.
            tcp.set_nodelay(true)?;
            hyper::client::conn::http1::handshake(TokioIo::new(tcp)).await.map_err(std::io::Error::other)
        };
        match tokio::time::timeout(self.connect_timeout, connect).await {
            Err(_) => Err(LlmError::Timeout("connect")),
            Ok(Err(_)) => Err(LlmError::Unavailable("connection failed".into())),
            Ok(Ok((send, io))) => Ok(Conn { send, io: Box::pin(io), closed: false, home: home() }),
        }
    }

    async fn post_json(
        self: &Arc<Self>,
        body: Vec<u8>,
        accept: &'static str,
        auth: Option<&HeaderValue>,
    ) -> Result<Reply, LlmError> {
        let mut req = http::Request::new(Full::new(Bytes::from(body)));
        *req.method_mut() = http::Method::POST;
        *req.uri_mut() = self.path.clone();
        let headers = req.headers_mut();
        headers.reserve(5);
        headers.insert(HOST, self.authority.clone());
        headers.insert(USER_AGENT, USER_AGENT_VALUE.clone());
        headers.insert(CONTENT_TYPE, JSON.clone());
        headers.insert(ACCEPT, if accept == "text/event-stream" { EVENT_STREAM.clone() } else { JSON.clone() });
        if let Some(value) = auth {
            headers.insert(AUTHORIZATION, value.clone());
        }
        // A pooled connection the upstream closed meanwhile fails before the request
        // leaves: that request goes once more, on a new connection.
        let mut pooled = self.checkout_idle().await;
        loop {
            let reused = pooled.is_some();
            let mut conn = match pooled.take() {
                Some(c) => c,
                None => self.connect().await?,
            };
            match conn.exchange(req).await {
                Ok(response) => {
                    let (head, body) = response.into_parts();
                    let body = PooledBody { body, conn: Some(conn), pool: self.clone() };
                    return Ok(Reply {
                        status: head.status.as_u16(),
                        headers: head.headers,
                        body: ReplyBody::Pooled(body),
                    });
                }
                Err(Failed::Unsent(again)) if reused => req = *again,
                Err(Failed::Unsent(_)) => return Err(LlmError::Unavailable("connection failed".into())),
                Err(Failed::Sent(e)) => {
                    tracing::debug!(error = %e, "upstream connection failed mid-request");
                    return Err(LlmError::Unavailable("request failed".into()));
                }
            }
        }
    }
}

/// A pooled answer's body. Polling it drives the connection; read to its end, the
/// connection goes back to the pool (dropped early, it is closed).
struct PooledBody {
    body: Incoming,
    conn: Option<Conn>,
    pool: Arc<Pool>,
}

impl futures::Stream for PooledBody {
    type Item = Result<Bytes, BodyError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(conn) = this.conn.as_mut() {
            conn.drive(cx);
        }
        loop {
            match Pin::new(&mut this.body).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) if !data.is_empty() => return Poll::Ready(Some(Ok(data))),
                    // Empty data or trailers: nothing to hand on.
                    _ => continue,
                },
                Poll::Ready(Some(Err(_))) => {
                    this.conn = None;
                    return Poll::Ready(Some(Err(BodyError::Cut)));
                }
                Poll::Ready(None) => {
                    if let Some(mut conn) = this.conn.take() {
                        // Let the connection see the end of the message before reuse.
                        conn.drive(cx);
                        this.pool.checkin(conn);
                    }
                    return Poll::Ready(None);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_without_a_proxy_is_pooled() {
        let url = reqwest::Url::parse("http://127.0.0.1:8000/v1/chat/completions").unwrap();
        let t = Duration::from_secs(1);
        assert!(matches!(Transport::new(&url, t, &Proxies::default()).unwrap(), Transport::Pooled(_)));
        let https = reqwest::Url::parse("https://api.openai.com/v1/chat/completions").unwrap();
        assert!(matches!(Transport::new(&https, t, &Proxies::default()).unwrap(), Transport::Client(_)));
        let proxied = Proxies { all: Some("http://proxy:3128".into()), ..Proxies::default() };
        assert!(matches!(Transport::new(&url, t, &proxied).unwrap(), Transport::Client(_)));
        // An HTTPS-only proxy leaves plain HTTP direct.
        let https_only = Proxies { https: Some("http://proxy:3128".into()), ..Proxies::default() };
        assert!(matches!(Transport::new(&url, t, &https_only).unwrap(), Transport::Pooled(_)));
    }

    #[test]
    fn the_pool_asks_for_the_path_with_the_host_header() {
        let url = reqwest::Url::parse("http://[::1]:8000/v1/chat/completions?api-version=2024").unwrap();
        let pool = Pool::new(&url, Duration::from_secs(1)).unwrap();
        assert_eq!(pool.connect, "[::1]:8000");
        assert_eq!(pool.authority, "[::1]:8000");
        assert_eq!(pool.path, "/v1/chat/completions?api-version=2024");
        let default_port = reqwest::Url::parse("http://vllm.internal/v1/chat/completions").unwrap();
        let pool = Pool::new(&default_port, Duration::from_secs(1)).unwrap();
        assert_eq!((pool.connect.as_str(), pool.authority.to_str().unwrap()), ("vllm.internal:80", "vllm.internal"));
    }

    #[tokio::test]
    async fn a_body_is_joined_within_its_limit_and_one_piece_is_not_copied() {
        let pieces = |parts: &[&'static str]| {
            futures::stream::iter(
                parts.iter().map(|p| Ok::<_, BodyError>(Bytes::from_static(p.as_bytes()))).collect::<Vec<_>>(),
            )
        };
        let one = Bytes::from_static(b"{\"whole\":true}");
        let got = collect(futures::stream::iter([Ok(one.clone())]), 1024).await.unwrap();
        assert_eq!(got.as_ptr(), one.as_ptr(), "handed on, not copied");
        assert_eq!(collect(pieces(&["{\"a\":", "", "1", "}"]), 1024).await.unwrap(), &b"{\"a\":1}"[..]);
        assert_eq!(collect(pieces(&["", "x"]), 1024).await.unwrap(), &b"x"[..]);
        assert!(collect(pieces(&[]), 1024).await.unwrap().is_empty());
        assert!(matches!(collect(pieces(&["12345", "678"]), 7).await, Err(BodyError::TooLarge(7))));
        let cut = futures::stream::iter([Ok(Bytes::from_static(b"{")), Err(BodyError::Cut)]);
        assert!(matches!(collect(cut, 1024).await, Err(BodyError::Cut)));
    }

    /// A keep-alive HTTP/1.1 server answering `{}` to every request, counting the
    /// connections it accepted.
    fn counting_upstream() -> (reqwest::Url, Arc<std::sync::atomic::AtomicUsize>) {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url =
            reqwest::Url::parse(&format!("http://{}/v1/chat/completions", listener.local_addr().unwrap())).unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for sock in listener.incoming() {
                let Ok(mut sock) = sock else { return };
                count.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                            match sock.read(&mut chunk) {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                            continue;
                        };
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map_or(0, |v| v.trim().parse().unwrap());
                        while buf.len() < end + 4 + len {
                            match sock.read(&mut chunk) {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.drain(..end + 4 + len);
                        let answer =
                            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}";
                        if sock.write_all(answer).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, accepted)
    }

    /// One request through `pool`, read to its end (the connection goes back idle).
    async fn ask(pool: &Arc<Pool>) {
        let reply = pool.post_json(b"{}".to_vec(), "application/json", None).await.unwrap();
        assert_eq!(reply.status, 200);
        assert_eq!(reply.bytes(1024).await.unwrap(), &b"{}"[..]);
    }

    /// A request on one single-threaded runtime (an HTTP thread of the server) takes
    /// only idle connections that runtime opened: another loop's socket would be
    /// watched by a reactor that is busy elsewhere. The shared multi-threaded runtime
    /// has one reactor, so its connections serve any of its workers.
    #[test]
    fn idle_connections_stay_with_the_event_loop_that_opened_them() {
        use std::sync::atomic::Ordering;
        let (url, accepted) = counting_upstream();
        let pool = Arc::new(Pool::new(&url, Duration::from_secs(5)).unwrap());
        let on_loop = |pool: Arc<Pool>, times: usize| {
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                rt.block_on(async {
                    for _ in 0..times {
                        ask(&pool).await;
                    }
                });
                // The runtime (and its reactor) stays alive while its connections are
                // idle in the pool: hand it back to keep.
                rt
            })
            .join()
            .unwrap()
        };
        let _a = on_loop(pool.clone(), 3);
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "one loop reuses its connection");
        let _b = on_loop(pool.clone(), 2);
        assert_eq!(accepted.load(Ordering::SeqCst), 2, "another loop opens its own");
        assert_eq!(pool.idle().len(), 2);

        let shared = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        shared.block_on(async {
            ask(&pool).await;
            ask(&pool).await;
        });
        assert_eq!(accepted.load(Ordering::SeqCst), 3, "the shared runtime opens one and reuses it");
        assert_eq!(pool.idle().len(), 3);
    }
}
