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
        let state = AppState::new(config, store);
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
