//! The web UI served from web/dist (read from disk in debug builds; `make test`
//! builds it first): cache headers, revalidation, the SPA fallback, the JSON 404
//! kept for API paths and missing files, and the frameable widget page.

use crate::helpers::{error_code, TestApp};

#[tokio::test]
async fn the_ui_is_served_with_the_right_cache_headers_and_fallback() {
    assert!(tenmon_ark::routes::web::ui_present(), "web/dist is missing: `make test` builds it (or run `make web`)");
    let app = TestApp::spawn_with(|c| {
        c.server.cors = tenmon_ark::config::CorsOrigins::List(vec!["https://shop.example".parse().unwrap()]);
    })
    .await;
    let res = app.get("/").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-cache");
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let html = res.text().await.unwrap();
    assert!(html.contains("<title>TENMON-ARK</title>"));
    // Revalidation.
    let again = app.client.get(app.url("/")).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    // Hashed assets never change.
    let asset = html.split("src=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    assert!(asset.starts_with("/assets/"), "{asset}");
    let res = app.get(&asset).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert!(res.headers()["content-type"].to_str().unwrap().contains("javascript"));
    // Client-side routes get the app; API paths and missing files keep the JSON 404.
    for route in ["/chat", "/chat/0192-abc", "/admin", "/settings", "/login"] {
        let res = app.get(route).await;
        assert_eq!(res.status(), 200, "{route}");
        assert!(res.text().await.unwrap().contains("<div id=\"root\">"), "{route}");
    }
    for path in ["/api/nope", "/v1/nope", "/assets/nope.js", "/nope.png"] {
        let (status, code, _) = error_code(app.get(path).await).await;
        assert_eq!((status, code.as_str()), (404, "not_found"), "{path}");
    }
    // The widget loader is not hashed: revalidated on every load.
    let res = app.get("/widget.js").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "no-cache");
    // Only the widget page may be framed, and only by the CORS origins.
    let res = app.get("/widget?assistant=mnp-support").await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get("x-frame-options").is_none());
    let csp = res.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'self' https://shop.example"), "{csp}");
}
