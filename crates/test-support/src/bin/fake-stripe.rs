//! The fake Stripe API as a process, for the Python and browser suites:
//! `fake-stripe [ADDR] [--key SECRET_KEY]` prints its base URL (the value for
//! `STRIPE_API_BASE`) on stdout, then serves until killed. `GET /__calls` lists
//! the calls received, `POST /__fail {"statuses":[500]}` scripts failures and
//! `POST /__deliver {"url","event","secret"[,"timestamp"]}` sends a signed webhook.

use std::io::Write;
use tenmon_test_support::FakeStripe;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let key = args
        .iter()
        .position(|a| a == "--key")
        .and_then(|i| args.get(i + 1))
        .cloned()
        .unwrap_or_else(|| FakeStripe::SECRET_KEY.to_string());
    let addr = args
        .iter()
        .enumerate()
        .find(|(i, a)| !a.starts_with("--") && (*i == 0 || !args[i - 1].starts_with("--")))
        .map(|(_, a)| a.clone())
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let fake = FakeStripe::start_on(&addr, &key).await;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{}", fake.base_url());
    let _ = out.flush();
    std::future::pending::<()>().await;
}
