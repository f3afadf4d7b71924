use crate::helpers::{error_code, TestApp};

#[tokio::test]
async fn unknown_api_path_is_json_404() {
    let app = TestApp::spawn().await;
    let (status, code, body) = error_code(app.get("/api/nope").await).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    assert!(body["error"]["message"].as_str().unwrap().contains("/api/nope"));
    app.stop().await;
}

#[tokio::test]
async fn wrong_method_is_json_405_with_allow() {
    let app = TestApp::spawn().await;
    let res = app.client.delete(app.url("/api/health")).send().await.unwrap();
    let allow = res.headers().get("allow").map(|v| v.to_str().unwrap().to_string());
    let (status, code, _) = error_code(res).await;
    assert_eq!((status, code.as_str()), (405, "method_not_allowed"));
    assert!(allow.unwrap().contains("GET"));
    app.stop().await;
}

#[tokio::test]
async fn oversized_body_is_json_413() {
    let app = TestApp::spawn_with(|c| c.server.body_limit = 4096).await;
    let res = app
        .client
        .post(app.url("/api/health"))
        .header("content-type", "application/json")
        .body(vec![b' '; 10_000])
        .send()
        .await
        .unwrap();
    let (status, code, body) = error_code(res).await;
    assert_eq!((status, code.as_str()), (413, "payload_too_large"), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("4096"));
    app.stop().await;
}

#[tokio::test]
async fn request_id_is_generated_or_propagated() {
    let app = TestApp::spawn().await;
    let res = app.get("/health/live").await;
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(uuid::Uuid::parse_str(&generated).unwrap().get_version_num(), 7);
    let res = app.client.get(app.url("/health/live")).header("x-request-id", "edge-abc-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "edge-abc-123");
    // Junk (here, a header-injection attempt) is replaced, not echoed.
    let res = app.client.get(app.url("/health/live")).header("x-request-id", "a b<script>").send().await.unwrap();
    assert_ne!(res.headers()["x-request-id"], "a b<script>");
    app.stop().await;
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let app = TestApp::spawn().await;
    for path in ["/health", "/api/nope", "/api/openapi.json"] {
        let res = app.get(path).await;
        let h = res.headers();
        assert!(h["content-security-policy"].to_str().unwrap().contains("default-src 'self'"), "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(h.contains_key("referrer-policy"), "{path}");
        assert!(!h.contains_key("strict-transport-security"), "no HSTS on plain HTTP");
    }
    app.stop().await;
}

#[tokio::test]
async fn cors_allows_only_configured_origins() {
    let app = TestApp::spawn_with(|c| {
        c.server.cors =
            tenmon_ark::config::CorsOrigins::List(vec![http::HeaderValue::from_static("https://shop.example.jp")]);
    })
    .await;
    let ok = app.client.get(app.url("/health")).header("origin", "https://shop.example.jp").send().await.unwrap();
    assert_eq!(ok.headers()["access-control-allow-origin"], "https://shop.example.jp");
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/health"))
        .header("origin", "https://shop.example.jp")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    let evil = app.client.get(app.url("/health")).header("origin", "https://evil.example").send().await.unwrap();
    assert!(!evil.headers().contains_key("access-control-allow-origin"));
    app.stop().await;
}

#[tokio::test]
async fn responses_are_compressed_when_asked() {
    let app = TestApp::spawn().await;
    let res = app.client.get(app.url("/api/openapi.json")).header("accept-encoding", "gzip").send().await.unwrap();
    assert_eq!(res.headers()["content-encoding"], "gzip");
    app.stop().await;
}

#[tokio::test]
async fn a_request_over_the_time_limit_is_json_408() {
    let fake = tenmon_test_support::FakeOpenAi::start_with(tenmon_test_support::Behavior::slow_reply(
        "とても遅い回答です。",
        std::time::Duration::from_millis(400),
    ))
    .await;
    let app = TestApp::spawn_with(|c| {
        crate::helpers::use_fakes(c, &[&fake]);
        c.server.request_timeout = std::time::Duration::from_millis(300);
    })
    .await;
    let token = app.session().await;
    let (status, code, _) =
        error_code(app.post_json("/api/chat", &token, serde_json::json!({"message": "q"})).await).await;
    assert_eq!((status, code.as_str()), (408, "request_timeout"));
    app.stop().await;
}
