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
