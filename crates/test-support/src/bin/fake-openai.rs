//! The fake OpenAI server as a process, for the Python SDK tests and benchmarks:
//! `fake-openai [ADDR] [--delay-ms N]` prints its base URL on stdout, then serves
//! until killed.

use std::io::Write;
use std::time::Duration;
use tenmon_test_support::{Behavior, FakeOpenAi};

const ANSWER: &str = "MNP予約番号は、現在ご契約中の携帯電話会社で無料で発行できる10桁の番号です。";

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr =
        args.iter().find(|a| !a.starts_with("--") && a.contains(':')).cloned().unwrap_or_else(|| "127.0.0.1:0".into());
    let delay = args
        .iter()
        .position(|a| a == "--delay-ms")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    let fake = FakeOpenAi::start_on(&addr, Behavior::slow_reply(ANSWER, Duration::from_millis(delay))).await;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", fake.base_url());
    let _ = out.flush();
    std::future::pending::<()>().await;
}
