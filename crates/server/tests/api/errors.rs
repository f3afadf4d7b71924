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
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn_with(|c| c.server.request_timeout = std::time::Duration::from_millis(300)).await;
    let token = app.session().await;
    // A client that stops sending its body half way.
    let mut conn = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/chat HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"message\": "
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), conn.read_to_end(&mut answer)).await;
    read.expect("answered and closed, not left hanging").unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/json") && answer.contains("\"request_timeout\""), "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn rate_limits_answer_429_with_retry_after_and_headers() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limit.api.max = 5;
        c.rate_limit.api.window = std::time::Duration::from_secs(60);
    })
    .await;
    for i in 0..5 {
        let res = app.get("/api/assistants").await;
        assert_eq!(res.status(), 200, "request {i}");
        assert_eq!(res.headers()["ratelimit-limit"], "5");
        assert_eq!(res.headers()["ratelimit-remaining"].to_str().unwrap(), (4 - i).to_string());
    }
    let res = app.get("/api/assistants").await;
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=12).contains(&retry), "{retry}");
    let (status, code, _) = error_code(res).await;
    assert_eq!((status, code.as_str()), (429, "rate_limited"));
    // Probes are never limited.
    assert_eq!(app.get("/health/ready").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn login_brute_force_is_stopped_per_ip_without_locking_the_account_for_others() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limit.auth.max = 3;
        c.rate_limit.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let res = app
        .client
        .post(app.url("/api/auth/signup"))
        .header("x-forwarded-for", "192.0.2.1")
        .json(&serde_json::json!({"email": "victim@example.jp", "password": "the right passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let attempt = |ip: &'static str, password: &'static str| {
        app.client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", ip)
            .json(&serde_json::json!({"email": "victim@example.jp", "password": password}))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(attempt("203.0.113.66", "guess guess guess").await.unwrap().status(), 401);
    }
    let blocked = attempt("203.0.113.66", "the right passphrase").await.unwrap();
    assert_eq!(blocked.status(), 429, "the guessing address is stopped, even with the right password");
    assert!(blocked.headers().contains_key("retry-after"));
    assert_eq!(
        attempt("198.51.100.7", "the right passphrase").await.unwrap().status(),
        200,
        "the owner, elsewhere, still gets in"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = TestApp::spawn_with(|c| {
        c.rate_limit.api.max = 2;
        c.rate_limit.trusted_proxies = vec![];
    })
    .await;
    for ip in ["203.0.113.1", "203.0.113.2"] {
        assert_eq!(
            app.client.get(app.url("/api/assistants")).header("x-forwarded-for", ip).send().await.unwrap().status(),
            200
        );
    }
    // A new "address" per request would reset the limit if the header were believed.
    let res = app.client.get(app.url("/api/assistants")).header("x-forwarded-for", "203.0.113.3").send().await.unwrap();
    assert_eq!(res.status(), 429);
    app.stop().await;
}

fn cookies(res: &reqwest::Response) -> (String, String) {
    let mut session = String::new();
    let mut csrf = String::new();
    for v in res.headers().get_all("set-cookie") {
        let pair = v.to_str().unwrap().split(';').next().unwrap().to_string();
        if pair.starts_with("tenmon_session=") {
            session = pair;
        } else if let Some(value) = pair.strip_prefix("tenmon_csrf=") {
            csrf = value.to_string();
        }
    }
    (session, csrf)
}

#[tokio::test]
async fn cookie_authenticated_unsafe_requests_need_the_csrf_token() {
    let app = TestApp::spawn().await;
    let res = app.client.post(app.url("/api/session")).send().await.unwrap();
    let (session, csrf) = cookies(&res);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["csrf_token"], csrf.as_str(), "the body and the readable cookie agree");
    let chat = |header: Option<&str>| {
        let mut req = app
            .client
            .post(app.url("/api/chat"))
            .header("cookie", &session)
            .json(&serde_json::json!({"message": "予約番号とは？"}));
        if let Some(h) = header {
            req = req.header("x-csrf-token", h);
        }
        req.send()
    };
    let (status, code, body) = error_code(chat(None).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"), "{body}");
    assert_eq!(error_code(chat(Some("forged-value")).await.unwrap()).await.0, 403);
    assert_eq!(chat(Some(&csrf)).await.unwrap().status(), 200);
    // Safe methods with the cookie, and any method with a bearer token, need none.
    assert_eq!(
        app.client.get(app.url("/api/conversations")).header("cookie", &session).send().await.unwrap().status(),
        200
    );
    let bearer = app.session().await;
    assert_eq!(
        app.post_json("/api/chat", &bearer, serde_json::json!({"message": "予約番号とは？"})).await.status(),
        200
    );
    app.stop().await;
}
