//! `TestApp`: the real router on 127.0.0.1:0 with a fresh SQLite file, and helpers
//! to run the real binary.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use tenmon_ark::app::AppState;
use tenmon_ark::config::Config;
use tokio::task::JoinHandle;

pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    pub dir: tempfile::TempDir,
    server: JoinHandle<anyhow::Result<()>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Start with settings adjusted by `adjust`.
    pub async fn spawn_with(adjust: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::for_tests(&format!("sqlite://{}/test.db", dir.path().display()));
        adjust(&mut config);
        let store = tenmon_store::open(&config.database.url, &config.database.pool).await.unwrap();
        store.migrate().await.unwrap();
        let state = AppState::build(config, store).await.unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(tenmon_ark::serve::run(state.clone(), listener, None));
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        TestApp { addr, client, state, dir, server }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("test.db")
    }

    /// Begin shutdown and wait for the server to finish draining.
    pub async fn stop(self) {
        self.state.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.server).await.unwrap().unwrap().unwrap();
    }
}

/// The error body's `code`, asserting the shape on the way.
pub async fn error_code(res: reqwest::Response) -> (u16, String, serde_json::Value) {
    let status = res.status().as_u16();
    let ct = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_string()).unwrap_or_default();
    assert!(ct.starts_with("application/json"), "status {status} has content-type {ct:?}");
    let body: serde_json::Value = res.json().await.unwrap();
    let code = body["error"]["code"].as_str().unwrap_or_else(|| panic!("no error.code in {body}")).to_string();
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "no message in {body}");
    (status, code, body)
}

/// The real binary, with a clean environment, in `dir`.
pub fn binary(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tenmon-ark"));
    cmd.env_clear().env("PATH", "/usr/bin:/bin").env("LOG_FORMAT", "json").current_dir(dir).stdin(Stdio::null());
    cmd
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Poll `url` until it answers 200 or the deadline passes.
pub async fn wait_healthy(url: &str) {
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if let Ok(res) = client.get(url).send().await {
            if res.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{url} never became healthy");
}

/// Point the app at fake upstreams, with short timeouts and quick retries.
pub fn use_fakes(config: &mut Config, fakes: &[&tenmon_test_support::FakeOpenAi]) {
    config.llm.upstreams = fakes
        .iter()
        .enumerate()
        .map(|(i, f)| tenmon_ark::config::UpstreamConfig {
            name: format!("fake-{i}"),
            base_url: f.base_url(),
            api_key: Some(secrecy::SecretString::from("sk-test-key-0123456789")),
            model: format!("fake-model-{i}"),
        })
        .collect();
    config.llm.retry_base = Duration::from_millis(10);
    config.llm.first_token_timeout = Duration::from_secs(5);
}

impl TestApp {
    /// A new guest session's token.
    pub async fn session(&self) -> String {
        let res = self.client.post(self.url("/api/session")).send().await.unwrap();
        assert_eq!(res.status(), 201);
        let body: serde_json::Value = res.json().await.unwrap();
        body["token"].as_str().unwrap().to_string()
    }

    pub async fn post_json(&self, path: &str, token: &str, body: serde_json::Value) -> reqwest::Response {
        self.client.post(self.url(path)).bearer_auth(token).json(&body).send().await.unwrap()
    }

    pub async fn get_auth(&self, path: &str, token: &str) -> reqwest::Response {
        self.client.get(self.url(path)).bearer_auth(token).send().await.unwrap()
    }

    /// Start a streamed turn.
    pub async fn stream(&self, token: &str, body: serde_json::Value) -> SseReader {
        let res = self.post_json("/api/chat/stream", token, body).await;
        assert_eq!(res.status(), 200, "{:?}", res.text().await);
        SseReader::new(res)
    }

    /// Wait until the message reaches a final status; returns it.
    pub async fn wait_final(&self, token: &str, conversation_id: &str, message_id: &str) -> serde_json::Value {
        for _ in 0..400 {
            let body: serde_json::Value = self
                .get_auth(&format!("/api/conversations/{conversation_id}/messages"), token)
                .await
                .json()
                .await
                .unwrap();
            if let Some(m) = body["messages"].as_array().unwrap().iter().find(|m| m["id"] == message_id) {
                if m["status"] != "streaming" {
                    return m.clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("message {message_id} never finished");
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: serde_json::Value,
}

/// Reads SSE events from a response, as a browser's EventSource would.
pub struct SseReader {
    res: reqwest::Response,
    buf: String,
}

impl SseReader {
    pub fn new(res: reqwest::Response) -> Self {
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
        SseReader { res, buf: String::new() }
    }

    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let (mut event, mut id, mut data) = ("message".to_string(), None, String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("id:") {
                        id = Some(v.trim().to_string());
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some(SseEvent { event, id, data: serde_json::from_str(&data).unwrap() });
            }
            match tokio::time::timeout(Duration::from_secs(15), self.res.chunk()).await.expect("SSE stalled") {
                Ok(Some(bytes)) => self.buf.push_str(std::str::from_utf8(&bytes).unwrap()),
                _ => return None,
            }
        }
    }

    /// Every remaining event.
    pub async fn collect(mut self) -> Vec<SseEvent> {
        let mut out = Vec::new();
        while let Some(ev) = self.next().await {
            out.push(ev);
        }
        out
    }
}

/// The text of the `delta` events.
pub fn text_of(events: &[SseEvent]) -> String {
    events.iter().filter(|e| e.event == "delta").map(|e| e.data["text"].as_str().unwrap()).collect()
}

/// Log in and return the access token.
pub async fn access_token(app: &TestApp, email: &str, password: &str) -> String {
    let res = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{email}");
    res.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
}
