use crate::helpers::TestApp;

#[tokio::test]
async fn spec_is_openapi_3_1_and_covers_every_route() {
    let app = TestApp::spawn().await;
    let spec: serde_json::Value = app.get("/api/openapi.json").await.json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"), "{}", spec["openapi"]);
    let paths = spec["paths"].as_object().unwrap();
    for p in
        ["/health", "/api/health", "/health/live", "/health/ready", "/metrics", "/api/metrics", "/api/openapi.json"]
    {
        assert!(paths.contains_key(p), "{p} missing from the spec");
    }
    // Every documented GET answers something other than 404/405, so the document
    // and the router agree.
    for (path, item) in paths {
        if item.get("get").is_some() && !path.contains('{') {
            let res = app.get(path).await;
            let status = res.status().as_u16();
            // A feature that is off (no identity provider…) answers a documented 404
            // that says so; anything else means the router and the document disagree.
            let off = status == 404
                && item["get"]["responses"].get("404").is_some()
                && res.text().await.unwrap().contains("configured");
            assert!(off || (status != 404 && status != 405), "{path} is documented but answers {status}");
        }
    }
    // Every path parameter is in its path template (a query struct documented as
    // `in: path` sends generated clients astray).
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["in"] == "path" {
                    let name = p["name"].as_str().unwrap();
                    assert!(path.contains(&format!("{{{name}}}")), "{method} {path}: {name} is not a path parameter");
                }
            }
        }
    }
    assert!(spec["components"]["schemas"]["ErrorBody"].is_object());
    app.stop().await;
}
