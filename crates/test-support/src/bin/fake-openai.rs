//! The fake OpenAI server as a process, for the Python SDK tests, the browser tests
//! and benchmarks: `fake-openai [ADDR] [--delay-ms N] [--answer TEXT]` prints its base
//! URL on stdout, then serves until killed. Every completion streams TEXT (default: an
//! MNP answer), one character group per chunk, N ms apart; `/v1/embeddings` answers
//! with the fake's deterministic vectors (e.g. for `kb eval` with `EMBEDDING_MODEL`).

use std::io::Write;
use std::time::Duration;
use tenmon_test_support::{Behavior, FakeOpenAi};

const ANSWER: &str = "MNP予約番号は、現在ご契約中の携帯電話会社で無料で発行できる10桁の番号です。";

fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // The address is the first argument that is neither a flag nor a flag's value.
    let addr = args
        .iter()
        .enumerate()
        .find(|(i, a)| !a.starts_with("--") && (*i == 0 || !args[i - 1].starts_with("--")))
        .map(|(_, a)| a.clone())
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let delay = flag(&args, "--delay-ms").and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    let answer = flag(&args, "--answer").cloned().unwrap_or_else(|| ANSWER.to_string());
    let fake = FakeOpenAi::start_on(&addr, Behavior::slow_reply(&answer, Duration::from_millis(delay))).await;
    fake.stop_recording();
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", fake.base_url());
    let _ = out.flush();
    std::future::pending::<()>().await;
}
