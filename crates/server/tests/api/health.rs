use crate::helpers::TestApp;

#[tokio::test]
async fn health_reports_every_check() {
    let app = TestApp::spawn().await;
    for path in ["/health", "/api/health"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), 200, "{path}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["status"], "ok", "{body}");
        assert_eq!(body["message"], "OK");
        assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
        assert!(body["uptime"].as_f64().unwrap() >= 0.0);
        assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
        assert_eq!(body["checks"]["database"]["status"], "ok");
        assert!(body["checks"]["database"]["latency_ms"].as_f64().is_some());
        assert!(body["checks"]["memory"]["rss_bytes"].as_u64().unwrap() > 0);
        assert!(body["checks"]["disk"]["free_bytes"].as_u64().is_some());
    }
    let live: serde_json::Value = app.get("/health/live").await.json().await.unwrap();
    assert_eq!(live["status"], "ok");
    assert_eq!(app.get("/health/ready").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn health_is_503_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    assert_eq!(app.get("/health").await.status(), 200);
    // The file vanishes under the running server (a wiped volume, a bad restore):
    // the open handles still answer, but nothing written would survive.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", app.db_path().display()));
    }
    let res = app.get("/api/health").await;
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "error", "{body}");
    assert_eq!(body["checks"]["database"]["status"], "error");
    assert!(body["message"].as_str().unwrap().contains("database"));
    assert!(!body.to_string().contains(app.dir.path().to_str().unwrap()), "no file paths on a public endpoint");
    assert_eq!(app.get("/health/ready").await.status(), 503);
    assert_eq!(app.get("/health/live").await.status(), 200, "the process itself is alive");
    app.stop().await;
}

#[tokio::test]
async fn degraded_disk_still_serves() {
    let app = TestApp::spawn_with(|c| c.health.disk_min_free_bytes = u64::MAX).await;
    let res = app.get("/health").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["disk"]["status"], "degraded");
    app.stop().await;
}

#[tokio::test]
async fn readiness_turns_503_when_shutdown_begins() {
    let app = TestApp::spawn().await;
    let report = tenmon_ark::routes::health::report(&app.state, false).await;
    assert_eq!(report.0, 200);
    app.state.shutdown.cancel();
    let report = tenmon_ark::routes::health::report(&app.state, false).await;
    assert_eq!(report.0, 503);
    assert_eq!(report.1.message, "shutting down");
    app.stop().await;
}
