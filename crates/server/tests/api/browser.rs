//! The /browser reader: pages on loopback reached through the allowlist, read and
//! chatted about (cited); every SSRF trick refused with a clear error before any
//! connection; owner checks; the no-model answer.

use crate::helpers::{error_code, use_fakes, TestApp};
use axum::response::{Html, IntoResponse, Redirect};
use axum::routing::get;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tenmon_test_support::{Behavior, FakeOpenAi};

const PAGE: &str = r#"<!doctype html><html><head><title>番号移行のご案内</title>
<meta name="description" content="MNPの手順"></head><body><nav>メニュー</nav>
<article><h1>MNPの手順</h1><p>予約番号の有効期限は15日間です。</p>
<p>&lt;script&gt;alert(1)&lt;/script&gt; は文字として表示されます。</p>
<script>document.write("evil")</script><img src=x onerror="alert(2)"></article></body></html>"#;

/// A site on loopback; counts every request it gets.
async fn site() -> (String, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let count = move || {
        h.fetch_add(1, Ordering::SeqCst);
    };
    let (c1, c2, c3) = (count.clone(), count.clone(), count);
    let app = axum::Router::new()
        .route(
            "/page",
            get(move || async move {
                c1();
                Html(PAGE)
            }),
        )
        .route(
            "/moved",
            get(move || async move {
                c2();
                Redirect::temporary("/page")
            }),
        )
        .route(
            "/image",
            get(move || async move {
                c3();
                ([("content-type", "image/png")], vec![0x89u8, b'P']).into_response()
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://127.0.0.1:{}", addr.port()), hits)
}

#[tokio::test]
async fn a_page_is_read_attached_and_cited() {
    let (base, hits) = site().await;
    let model = FakeOpenAi::start_with(Behavior::reply("有効期限は15日間です [1]。")).await;
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[&model]);
        c.browser.allowed_hosts = vec!["127.0.0.1/32".into()];
    })
    .await;
    let t = app.session().await;
    let res = app.post_json("/api/browser/read", &t, json!({"url": format!("{base}/moved")})).await;
    assert_eq!(res.status(), 200);
    let read: Value = res.json().await.unwrap();
    assert_eq!(read["page"]["url"], format!("{base}/page"), "the final URL after the redirect");
    assert_eq!(read["page"]["title"], "番号移行のご案内");
    let text = read["page"]["text"].as_str().unwrap();
    assert!(text.contains("予約番号の有効期限は15日間です。"), "{text}");
    assert!(!text.contains("evil") && !text.contains("onerror") && !text.contains("メニュー"), "{text}");
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    let conv = read["conversation_id"].clone();
    let convs: Value = app.get_auth("/api/conversations", &t).await.json().await.unwrap();
    assert!(convs.to_string().contains("番号移行のご案内"), "{convs}");
    let res = app
        .post_json("/api/chat", &t, json!({"conversation_id": conv, "message": "このページを要約してください"}))
        .await;
    assert_eq!(res.status(), 200);
    let answer: Value = res.json().await.unwrap();
    let page = answer["sources"].as_array().unwrap().iter().find(|s| s["kind"] == "page").cloned().unwrap();
    assert_eq!(
        (page["source_url"].clone(), page["question"].clone()),
        (json!(format!("{base}/page")), json!("番号移行のご案内"))
    );
    let system = model.requests().pop().unwrap()["messages"][0]["content"].as_str().unwrap().to_string();
    assert!(system.contains("予約番号の有効期限は15日間") && system.contains("not instructions"), "{system}");

    // Another person cannot attach to (or learn about) this conversation.
    let other = app.session().await;
    let res = app
        .post_json("/api/browser/read", &other, json!({"url": format!("{base}/page"), "conversation_id": conv}))
        .await;
    assert_eq!(error_code(res).await.0, 404);
    // Not an HTML page.
    let res = app.post_json("/api/browser/read", &t, json!({"url": format!("{base}/image")})).await;
    assert_eq!(error_code(res).await.1, "unsupported_content_type");
}

#[tokio::test]
async fn ssrf_tricks_are_refused_before_any_connection() {
    let (base, hits) = site().await;
    let port = base.rsplit(':').next().unwrap().to_string();
    // No allowlist: loopback is as private as anything else.
    let app = TestApp::spawn().await;
    let t = app.session().await;
    let cases = [
        (format!("{base}/page"), "address_not_allowed"),
        (format!("http://localhost:{port}/page"), "address_not_allowed"),
        (format!("http://[::1]:{port}/page"), "address_not_allowed"),
        (format!("http://[::ffff:127.0.0.1]:{port}/page"), "address_not_allowed"),
        (format!("http://2130706433:{port}/page"), "address_not_allowed"),
        (format!("http://0x7f.1:{port}/page"), "address_not_allowed"),
        (format!("http://0177.0.0.1:{port}/page"), "address_not_allowed"),
        (format!("http://127.1:{port}/page"), "address_not_allowed"),
        (format!("http://0.0.0.0:{port}/page"), "address_not_allowed"),
        (format!("http://public.example@127.0.0.1:{port}/page"), "address_not_allowed"),
        ("http://169.254.169.254/latest/meta-data/".into(), "address_not_allowed"),
        ("http://10.0.0.1/".into(), "address_not_allowed"),
        ("http://192.168.1.1/".into(), "address_not_allowed"),
        ("http://[fd00::1]/".into(), "address_not_allowed"),
        ("file:///etc/passwd".into(), "scheme_not_allowed"),
        ("gopher://127.0.0.1:70/".into(), "scheme_not_allowed"),
        ("not a url".into(), "invalid_url"),
    ];
    for (url, want) in &cases {
        let res = app.post_json("/api/browser/read", &t, json!({"url": url})).await;
        let (status, code, body) = error_code(res).await;
        assert_eq!((status, code.as_str()), (400, *want), "{url}: {body}");
    }
    let res = app.post_json("/api/browser/read", &t, json!({"url": format!("{base}/page")})).await;
    let (_, _, body) = error_code(res).await;
    assert!(body["error"]["message"].as_str().unwrap().contains("loopback"), "{body}");
    assert_eq!(hits.load(Ordering::SeqCst), 0, "no request reached the site");

    // Allowlisting 127.0.0.1 does not open a redirect to ::1.
    let app = TestApp::spawn_with(|c| c.browser.allowed_hosts = vec!["127.0.0.1/32".into()]).await;
    let t = app.session().await;
    let (base2, hits2) = site().await;
    let evil = axum::Router::new().route(
        "/",
        get({
            let port = base2.rsplit(':').next().unwrap().to_string();
            move || async move { Redirect::temporary(&format!("http://[::1]:{port}/page")) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let evil_url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, evil).await.unwrap() });
    let res = app.post_json("/api/browser/read", &t, json!({"url": evil_url})).await;
    assert_eq!(error_code(res).await.1, "address_not_allowed");
    assert_eq!(hits2.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn without_a_model_the_page_opening_is_the_answer() {
    let (base, _) = site().await;
    let app = TestApp::spawn_with(|c| c.browser.allowed_hosts = vec!["127.0.0.1/32".into()]).await;
    let t = app.session().await;
    let read: Value =
        app.post_json("/api/browser/read", &t, json!({"url": format!("{base}/page")})).await.json().await.unwrap();
    let res = app
        .post_json("/api/chat", &t, json!({"conversation_id": read["conversation_id"], "message": "要約して"}))
        .await;
    let answer: Value = res.json().await.unwrap();
    let text = answer["answer"].as_str().unwrap();
    assert!(
        text.starts_with("生成AIによる回答がオフのため、「番号移行のご案内」の冒頭") && text.contains("15日間"),
        "{text}"
    );
    assert_eq!(answer["sources"][0]["kind"], "page");
}
