//! Signals and crashes against the real binary, with the fake upstream.

use crate::helpers::{binary, free_port, text_of, wait_healthy, SseReader};
use serde_json::json;
use std::path::Path;
use std::time::Duration;
use tenmon_test_support::{Behavior, FakeOpenAi};

const ANSWER: &str = "乗り換え先で回線切替が完了すると、元の契約は自動的に解約されます。";

struct Proc {
    child: tokio::process::Child,
    base: String,
}

async fn start(dir: &Path, fake: &FakeOpenAi, grace: u32) -> Proc {
    start_with(dir, fake, grace, None).await
}

/// With `HTTP_THREADS` set (else the default: two event loops per core).
async fn start_with(dir: &Path, fake: &FakeOpenAi, grace: u32, http_threads: Option<&str>) -> Proc {
    let port = free_port();
    let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("server.log")).unwrap();
    let child = tokio::process::Command::from(binary(dir))
        .env("PORT", port.to_string())
        .env("OPENAI_BASE_URL", fake.base_url())
        .env("OPENAI_API_KEY", "sk-test")
        .env("SHUTDOWN_GRACE_SECONDS", grace.to_string())
        .envs(http_threads.map(|n| ("HTTP_THREADS", n)))
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(&format!("{base}/health")).await;
    Proc { child, base }
}

impl Proc {
    fn signal(&self, sig: rustix::process::Signal) {
        let pid = rustix::process::Pid::from_raw(self.child.id().unwrap() as i32).unwrap();
        rustix::process::kill_process(pid, sig).unwrap();
    }

    async fn exit_code(mut self) -> Option<i32> {
        tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await.unwrap().unwrap().code()
    }
}

async fn session(base: &str) -> String {
    let body: serde_json::Value =
        reqwest::Client::new().post(format!("{base}/api/session")).send().await.unwrap().json().await.unwrap();
    body["token"].as_str().unwrap().to_string()
}

async fn stream(base: &str, token: &str) -> SseReader {
    let res = reqwest::Client::new()
        .post(format!("{base}/api/chat/stream"))
        .bearer_auth(token)
        .json(&json!({"message": "q"}))
        .send()
        .await
        .unwrap();
    SseReader::new(res)
}

async fn messages(base: &str, token: &str, conversation_id: &str) -> Vec<serde_json::Value> {
    let body: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/api/conversations/{conversation_id}/messages"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["messages"].as_array().unwrap().clone()
}

/// Both ways of serving: event loops of their own (the default) and the shared runtime.
#[tokio::test]
async fn sigterm_mid_stream_lets_the_turn_finish_and_exits_0() {
    let fake = FakeOpenAi::start_with(Behavior::slow_reply(ANSWER, Duration::from_millis(80))).await;
    for threads in [None, Some("0")] {
        let dir = tempfile::tempdir().unwrap();
        let proc = start_with(dir.path(), &fake, 20, threads).await;
        let token = session(&proc.base).await;
        let mut sse = stream(&proc.base, &token).await;
        let meta = sse.next().await.unwrap();
        let first = sse.next().await.unwrap();
        proc.signal(rustix::process::Signal::TERM);
        let mut events = vec![meta, first];
        events.extend(sse.collect().await);
        assert_eq!(events.last().unwrap().event, "done", "HTTP_THREADS={threads:?}: {events:?}");
        assert_eq!(text_of(&events), ANSWER, "the whole answer reached the client");
        assert_eq!(proc.exit_code().await, Some(0));
    }
}

#[tokio::test]
async fn a_turn_longer_than_the_grace_period_is_stored_as_interrupted() {
    let long = "長い回答です。".repeat(20);
    let fake = FakeOpenAi::start_with(Behavior::slow_reply(&long, Duration::from_millis(150))).await;
    let dir = tempfile::tempdir().unwrap();
    let proc = start(dir.path(), &fake, 1).await;
    let token = session(&proc.base).await;
    let mut sse = stream(&proc.base, &token).await;
    let meta = sse.next().await.unwrap();
    sse.next().await.unwrap();
    proc.signal(rustix::process::Signal::TERM);
    let rest = sse.collect().await;
    let last = rest.last().unwrap();
    assert_eq!((last.event.as_str(), last.data["code"].as_str()), ("error", Some("interrupted")), "{rest:?}");
    assert_eq!(proc.exit_code().await, Some(0));

    let proc = start(dir.path(), &fake, 1).await;
    let msgs = messages(&proc.base, &token, meta.data["conversation_id"].as_str().unwrap()).await;
    let answer = msgs.iter().find(|m| m["id"] == meta.data["message_id"]).unwrap();
    assert_eq!(answer["status"], "interrupted");
    let content = answer["content"].as_str().unwrap();
    assert!(!content.is_empty() && long.starts_with(content) && content.len() < long.len(), "{content}");
    proc.signal(rustix::process::Signal::TERM);
    assert_eq!(proc.exit_code().await, Some(0));
}

#[tokio::test]
async fn turns_left_running_by_a_crash_are_marked_interrupted_at_start() {
    let fake = FakeOpenAi::start_with(Behavior::Hang).await;
    let dir = tempfile::tempdir().unwrap();
    let proc = start(dir.path(), &fake, 5).await;
    let token = session(&proc.base).await;
    let mut sse = stream(&proc.base, &token).await;
    let meta = sse.next().await.unwrap();
    proc.signal(rustix::process::Signal::KILL);
    assert_eq!(proc.exit_code().await, None, "killed by a signal");

    let proc = start(dir.path(), &fake, 5).await;
    let conversation_id = meta.data["conversation_id"].as_str().unwrap();
    let msgs = messages(&proc.base, &token, conversation_id).await;
    let answer = msgs.iter().find(|m| m["id"] == meta.data["message_id"]).unwrap();
    assert_eq!(answer["status"], "interrupted");
    // Resuming its stream ends at once with the interrupted error.
    let res = reqwest::Client::new()
        .get(format!("{}/api/chat/stream/{}", proc.base, meta.data["message_id"].as_str().unwrap()))
        .bearer_auth(&token)
        .header("last-event-id", meta.id.clone().unwrap())
        .send()
        .await
        .unwrap();
    let events = SseReader::new(res).collect().await;
    assert_eq!(events.last().unwrap().data["code"], "interrupted");
    proc.signal(rustix::process::Signal::TERM);
    assert_eq!(proc.exit_code().await, Some(0));
}
