use crate::helpers::TestApp;
use secrecy::SecretString;

fn parse(text: &str) -> prometheus_parse::Scrape {
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap()
}

#[tokio::test]
async fn metrics_use_route_templates_and_include_process_metrics() {
    let app = TestApp::spawn().await;
    app.get("/health").await;
    app.get("/api/does-not-exist/12345").await;
    app.get("/api/also-missing/67890").await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/openmetrics-text"));
    let text = res.text().await.unwrap();
    let scrape = parse(&text);

    let requests: Vec<_> = scrape.samples.iter().filter(|s| s.metric == "http_requests_total").collect();
    let health = requests
        .iter()
        .find(|s| s.labels.get("route") == Some("/health") && s.labels.get("method") == Some("GET"))
        .unwrap_or_else(|| panic!("no /health sample in {text}"));
    assert_eq!(health.labels.get("status"), Some("200"));
    let unmatched = requests.iter().find(|s| s.labels.get("route") == Some("unmatched")).unwrap();
    assert!(
        matches!(unmatched.value, prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Untyped(v) if v == 2.0),
        "{:?}",
        unmatched.value
    );
    assert!(!text.contains("12345") && !text.contains("does-not-exist"), "raw paths must never be labels");

    for name in [
        "http_request_duration_seconds",
        "http_requests_in_flight",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "process_open_fds",
        "process_start_time_seconds",
        "tenmon_ark_build_info",
    ] {
        assert!(scrape.samples.iter().any(|s| s.metric == name), "{name} missing from\n{text}");
    }
    // The same document under /api.
    assert_eq!(app.get("/api/metrics").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn metrics_token_is_required_when_set() {
    let app = TestApp::spawn_with(|c| c.metrics_token = Some(SecretString::from("s3cret-token"))).await;
    let res = app.get("/metrics").await;
    assert_eq!(res.status(), 401);
    assert!(res.headers().contains_key("www-authenticate"));
    let wrong = app.client.get(app.url("/api/metrics")).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    let right = app.client.get(app.url("/metrics")).bearer_auth("s3cret-token").send().await.unwrap();
    assert_eq!(right.status(), 200);
    app.stop().await;
}

/// Open connections per HTTP event loop, from a scrape.
async fn loop_connections(app: &TestApp) -> Vec<f64> {
    let text = app.get("/metrics").await.text().await.unwrap();
    let mut open: Vec<(String, f64)> = parse(&text)
        .samples
        .into_iter()
        .filter(|s| s.metric == "tenmon_http_connections")
        .map(|s| {
            let v = match s.value {
                prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Untyped(v) => v,
                other => panic!("{other:?}"),
            };
            (s.labels.get("event_loop").unwrap().to_string(), v)
        })
        .collect();
    open.sort_by(|a, b| a.0.cmp(&b.0));
    open.into_iter().map(|(_, v)| v).collect()
}

/// New connections go to the event loop with the fewest open, so a burst of
/// keep-alive connections is split evenly, and closed ones are counted out.
#[tokio::test]
async fn connections_are_spread_evenly_over_the_event_loops() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(|c| c.server.http_threads = 2).await;
    let mut held = Vec::new();
    for _ in 0..6 {
        let mut conn = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        conn.write_all(b"GET /health/live HTTP/1.1\r\nhost: test\r\n\r\n").await.unwrap();
        let mut head = [0u8; 12];
        conn.read_exact(&mut head).await.unwrap();
        assert_eq!(&head, b"HTTP/1.1 200", "served, and kept open");
        held.push(conn);
    }
    // The scrape's own connection is the seventh.
    let open = loop_connections(&app).await;
    assert_eq!(open.len(), 2, "{open:?}");
    assert_eq!(open.iter().sum::<f64>(), 7.0, "{open:?}");
    assert!(open.iter().all(|&n| n == 3.0 || n == 4.0), "uneven: {open:?}");

    drop(held);
    let mut open = Vec::new();
    for _ in 0..100 {
        open = loop_connections(&app).await;
        if open.iter().sum::<f64>() == 1.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(open.iter().sum::<f64>(), 1.0, "closed connections are counted out: {open:?}");
    app.stop().await;
}
