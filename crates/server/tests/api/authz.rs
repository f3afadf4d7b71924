//! The authorization matrix: every operation of the live OpenAPI document, called as
//! anonymous, guest, user, operator and admin. Each route's rule comes from the
//! document itself (no `security`: public; tag `kb-admin`: operators and admins;
//! tag `admin`: admins; tags `account` and `billing`: accounts, not guests; otherwise any caller
//! with credentials), so a new route is covered the day it is added.
//! Ids in paths name nothing and bodies are `{}`: an allowed caller gets 404 or 422,
//! never 401/403, and nothing is changed.

use crate::helpers::{access_token, TestApp};
use serde_json::json;

const SECRET: &str = "test-jwt-secret-0123456789-abcdefghij";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Rule {
    Public,
    SignedIn,
    Operator,
    Admin,
    /// Signed-in accounts, not guests.
    Account,
}

#[tokio::test]
async fn every_route_answers_each_role_as_declared() {
    let app = TestApp::spawn_with(|c| {
        c.auth.jwt_secret = secrecy::SecretString::from(SECRET);
        c.auth.admin = Some(("admin@example.jp".into(), secrecy::SecretString::from("an admin passphrase")))
    })
    .await;
    let guest = app.session().await;
    for email in ["user@example.jp", "operator@example.jp"] {
        let res = app
            .client
            .post(app.url("/api/auth/signup"))
            .json(&json!({"email": email, "password": "a long passphrase"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let op = app.state.store.user_by_email("operator@example.jp").await.unwrap().unwrap();
    app.state.accounts.set_role(&op.id, "operator").await.unwrap();
    let callers: Vec<(&str, Option<String>)> = vec![
        ("anonymous", None),
        ("guest", Some(guest)),
        ("user", Some(access_token(&app, "user@example.jp", "a long passphrase").await)),
        ("operator", Some(access_token(&app, "operator@example.jp", "a long passphrase").await)),
        ("admin", Some(access_token(&app, "admin@example.jp", "an admin passphrase").await)),
    ];

    let spec: serde_json::Value = app.get("/api/openapi.json").await.json().await.unwrap();
    let mut checked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if ["/api/auth/logout", "/api/me/password"].contains(&path.as_str()) {
                continue; // they end the caller's own login; tested in accounts.rs
            }
            let secured = op.get("security").and_then(|s| s.as_array()).is_some_and(|s| !s.is_empty());
            let tagged = |name: &str| op["tags"].as_array().is_some_and(|t| t.iter().any(|t| t == name));
            let rule = if !secured {
                Rule::Public
            } else if tagged("admin") {
                Rule::Admin
            } else if tagged("kb-admin") || tagged("line-admin") {
                Rule::Operator
            } else if tagged("account") || tagged("billing") {
                Rule::Account
            } else {
                Rule::SignedIn
            };
            // Self-erasure would end the callers' sessions for the rest of the table;
            // who may erase is tested in privacy.rs.
            if path == "/api/me" && method == "delete" {
                continue;
            }
            let url = path
                .split('/')
                .map(|seg| if seg.starts_with('{') { "no-such-id-0000" } else { seg })
                .collect::<Vec<_>>()
                .join("/");
            for (who, token) in &callers {
                let mut req = app.client.request(method.to_uppercase().parse().unwrap(), app.url(&url));
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                if ["post", "put", "patch"].contains(&method.as_str()) {
                    req = req.json(&json!({}));
                }
                let status = req.send().await.unwrap().status().as_u16();
                let allowed = match rule {
                    Rule::Public => true,
                    Rule::SignedIn => *who != "anonymous",
                    Rule::Operator => matches!(*who, "operator" | "admin"),
                    Rule::Admin => *who == "admin",
                    Rule::Account => !matches!(*who, "anonymous" | "guest"),
                };
                if allowed {
                    assert!(
                        status != 401 && status != 403,
                        "{method} {path} as {who}: {status}, expected access ({rule:?})"
                    );
                } else {
                    let expected = if *who == "anonymous" { 401 } else { 403 };
                    assert_eq!(status, expected, "{method} {path} as {who} ({rule:?})");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 5 * 40, "only {checked} calls: did the document lose routes?");
    app.stop().await;
}
