//! How requests reach the model upstream: pooled keep-alive connections (reused, and
//! replaced when the upstream closed one), and the configured proxies (with
//! `NO_PROXY`). The upstream here is a bare HTTP/1.1 server that records each
//! request's head, so the tests see the wire: request lines, `Host`, connections.

use crate::helpers::TestApp;
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const KEY: &str = "sk-transport-key-0123456789";

/// A bare upstream answering every request with one streamed completion.
struct RawUpstream {
    addr: std::net::SocketAddr,
    heads: Arc<Mutex<Vec<String>>>,
    connections: Arc<AtomicUsize>,
}

impl RawUpstream {
    /// With `close_after_first`, each connection is closed a moment after its first
    /// answer, without `Connection: close` (as an upstream's keep-alive timeout does).
    async fn start(close_after_first: bool) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let heads = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(AtomicUsize::new(0));
        let (h, c) = (heads.clone(), connections.clone());
        tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve_connection(sock, h.clone(), close_after_first));
            }
        });
        RawUpstream { addr, heads, connections }
    }

    fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

async fn serve_connection(mut sock: tokio::net::TcpStream, heads: Arc<Mutex<Vec<String>>>, close_after_first: bool) {
    let mut buf = Vec::new();
    loop {
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i;
            }
            match sock.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        let len: usize = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
            .unwrap_or(0);
        while buf.len() < end + 4 + len {
            match sock.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        buf.drain(..end + 4 + len);
        heads.lock().unwrap().push(head);
        let chunk = |delta: serde_json::Value, finish: Option<&str>| json!({"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
        let body = format!(
            "data: {}\n\ndata: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
            chunk(json!({"role": "assistant", "content": ""}), None),
            chunk(json!({"content": "生の上流からの回答です。"}), None),
            chunk(json!({}), Some("stop")),
        );
        let answer = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if sock.write_all(answer.as_bytes()).await.is_err() {
            return;
        }
        if close_after_first {
            tokio::time::sleep(Duration::from_millis(20)).await;
            return;
        }
    }
}

async fn app_on(base_url: &str, proxies: tenmon_llm::Proxies) -> TestApp {
    let base_url = base_url.to_string();
    TestApp::spawn_with(move |c| {
        c.llm.upstreams = vec![tenmon_ark::config::UpstreamConfig {
            name: "raw".into(),
            base_url,
            api_key: Some(secrecy::SecretString::from(KEY)),
            model: "raw-model".into(),
        }];
        c.llm.proxies = proxies;
        c.llm.retry_base = Duration::from_millis(10);
    })
    .await
}

async fn ask(app: &TestApp, token: &str) -> serde_json::Value {
    let res = app.post_json("/api/chat", token, json!({"message": "こんにちは"})).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn upstream_connections_are_kept_alive_and_reused() {
    let upstream = RawUpstream::start(false).await;
    let app = app_on(&format!("http://{}/v1", upstream.addr), Default::default()).await;
    let token = app.session().await;
    for _ in 0..5 {
        assert_eq!(ask(&app, &token).await["answer"], "生の上流からの回答です。");
    }
    assert_eq!(upstream.connections.load(Ordering::SeqCst), 1, "one keep-alive connection for five turns in a row");
    let heads = upstream.heads();
    assert_eq!(heads.len(), 5);
    let first = heads[0].to_ascii_lowercase();
    assert!(first.starts_with("post /v1/chat/completions http/1.1\r\n"), "{first}");
    assert!(first.contains(&format!("\r\nhost: {}", upstream.addr)), "{first}");
    assert!(first.contains(&format!("\r\nauthorization: bearer {}", KEY.to_ascii_lowercase())), "{first}");
    assert!(first.contains("\r\naccept: text/event-stream"), "{first}");
    app.stop().await;
}

#[tokio::test]
async fn a_connection_the_upstream_closed_is_replaced_without_an_error() {
    let upstream = RawUpstream::start(true).await;
    let app = app_on(&format!("http://{}/v1", upstream.addr), Default::default()).await;
    let token = app.session().await;
    for _ in 0..3 {
        assert_eq!(ask(&app, &token).await["answer"], "生の上流からの回答です。");
        // The upstream closes the pooled connection meanwhile.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(upstream.connections.load(Ordering::SeqCst), 3, "a new connection each time");
    assert_eq!(upstream.heads().len(), 3, "and no request sent twice");
    let retries = app.get("/metrics").await.text().await.unwrap();
    assert!(
        !retries.lines().any(|l| l.starts_with("chat_upstream_retries_total") && !l.ends_with(" 0")),
        "no retries: {retries}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_configured_proxy_carries_upstream_requests() {
    // The upstream's host does not resolve: only the proxy can reach it.
    let proxy = RawUpstream::start(false).await;
    let proxies = tenmon_llm::Proxies { http: Some(format!("http://{}", proxy.addr)), ..Default::default() };
    let app = app_on("http://upstream.invalid:8080/v1", proxies).await;
    let token = app.session().await;
    assert_eq!(ask(&app, &token).await["answer"], "生の上流からの回答です。");
    let head = proxy.heads()[0].to_ascii_lowercase();
    assert!(head.starts_with("post http://upstream.invalid:8080/v1/chat/completions http/1.1\r\n"), "{head}");
    app.stop().await;
}

#[tokio::test]
async fn no_proxy_hosts_are_reached_directly() {
    let upstream = RawUpstream::start(false).await;
    let proxies = tenmon_llm::Proxies {
        // Nothing listens there: going through it would fail the turn.
        all: Some("http://127.0.0.1:9".into()),
        no_proxy: Some("localhost,127.0.0.1".into()),
        ..Default::default()
    };
    let app = app_on(&format!("http://{}/v1", upstream.addr), proxies).await;
    let token = app.session().await;
    assert_eq!(ask(&app, &token).await["answer"], "生の上流からの回答です。");
    assert!(upstream.heads()[0].to_ascii_lowercase().starts_with("post /v1/chat/completions "));
    app.stop().await;
}
