//! The fake LINE Messaging API as a process, for the Node SDK test:
//! `fake-line [ADDR] --token TOKEN` prints its base URL on stdout, then serves until
//! killed. `GET /__calls` lists the calls received.

use std::io::Write;
use tenmon_test_support::FakeLine;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let token = args.iter().position(|a| a == "--token").and_then(|i| args.get(i + 1)).cloned().unwrap_or_default();
    let addr = args
        .iter()
        .enumerate()
        .find(|(i, a)| !a.starts_with("--") && (*i == 0 || !args[i - 1].starts_with("--")))
        .map(|(_, a)| a.clone())
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let fake = FakeLine::start_on(&addr, &token).await;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", fake.base_url());
    let _ = out.flush();
    std::future::pending::<()>().await;
}
