//! "Sign in with …" end to end against the fake OpenID Connect provider: discovery,
//! PKCE, state and nonce, RS256 ID tokens, account linking, and every failure
//! ending on /login?error=… without a session.

use crate::helpers::TestApp;
use serde_json::Value;
use tenmon_ark::config::OidcConfig;
use tenmon_test_support::{FakeOidc, OidcFault, OidcUser};

const CLIENT: &str = "tenmon-client";
const SECRET: &str = "tenmon-client-secret";
const REDIRECT: &str = "http://tenmon.test/api/auth/oidc/callback";

async fn start(adjust: impl FnOnce(&mut tenmon_ark::config::Config)) -> (TestApp, FakeOidc) {
    let fake = FakeOidc::start(CLIENT, SECRET).await;
    let oidc = OidcConfig {
        issuer: fake.issuer(),
        client_id: CLIENT.into(),
        client_secret: SECRET.to_string().into(),
        redirect_url: REDIRECT.into(),
        name: "Example ID".into(),
        scopes: "openid email profile".into(),
    };
    let app = TestApp::spawn_with(|c| {
        c.auth.oidc = Some(oidc);
        adjust(c);
    })
    .await;
    (app, fake)
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect()
}

fn cookie_value(cookies: &[String], name: &str) -> Option<String> {
    cookies
        .iter()
        .filter_map(|c| c.split(';').next())
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, v)| *k == name && !v.is_empty())
        .map(|(_, v)| v.to_string())
}

struct Outcome {
    location: String,
    session: Option<String>,
}

/// Run the browser's part: start, the provider's redirect, the callback (with an
/// optional change to the callback query, to play an attacker).
async fn login(app: &TestApp, return_to: &str, tamper: impl FnOnce(String) -> String, send_cookie: bool) -> Outcome {
    let client = no_redirects();
    let res = client.get(app.url(&format!("/api/auth/oidc/login?return_to={return_to}"))).send().await.unwrap();
    assert_eq!(res.status(), 302);
    let to_provider = res.headers()["location"].to_str().unwrap().to_string();
    let flow = cookie_value(&set_cookies(&res), "tenmon_oidc").expect("flow cookie");
    assert!(to_provider.contains("code_challenge_method=S256") && to_provider.contains("nonce="), "{to_provider}");
    let res = client.get(&to_provider).send().await.unwrap();
    assert!(res.status().is_redirection(), "the provider redirects back");
    let back = res.headers()["location"].to_str().unwrap().to_string();
    let query = back.split_once('?').unwrap().1.to_string();
    let query = tamper(query);
    let mut req = client.get(app.url(&format!("/api/auth/oidc/callback?{query}")));
    if send_cookie {
        req = req.header("cookie", format!("tenmon_oidc={flow}"));
    }
    let res = req.send().await.unwrap();
    assert_eq!(res.status(), 302);
    let cookies = set_cookies(&res);
    // The flow cookie is always cleared.
    assert!(cookies.iter().any(|c| c.starts_with("tenmon_oidc=;")), "{cookies:?}");
    Outcome {
        location: res.headers()["location"].to_str().unwrap().to_string(),
        session: cookie_value(&cookies, "tenmon_session"),
    }
}

async fn me(app: &TestApp, session: &str) -> Value {
    app.client
        .get(app.url("/api/me"))
        .header("cookie", format!("tenmon_session={session}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn sign_in_creates_then_finds_the_account_and_links_by_verified_email() {
    let (app, fake) = start(|_| {}).await;
    let providers: Value = app.get("/api/auth/providers").await.json().await.unwrap();
    assert_eq!(providers["providers"][0]["name"], "Example ID");
    assert_eq!(providers["providers"][0]["login_url"], "/api/auth/oidc/login");

    let out = login(&app, "/chat/abc", |q| q, true).await;
    assert_eq!(out.location, "/chat/abc");
    let session = out.session.expect("a session");
    let who = me(&app, &session).await;
    assert_eq!(who["email"], "oidc.user@example.jp");
    // The code was exchanged with the PKCE verifier and client authentication.
    let req = &fake.token_requests()[0];
    assert!(req.get("code_verifier").is_some_and(|v| v.len() >= 43));
    assert_eq!(req.get("redirect_uri").map(String::as_str), Some(REDIRECT));

    // The same identity again: the same account.
    let again = login(&app, "/chat", |q| q, true).await;
    assert_eq!(me(&app, &again.session.unwrap()).await["id"], who["id"]);

    // A password account with the same verified email is linked, not duplicated.
    let res = app
        .client
        .post(app.url("/api/auth/signup"))
        .json(&serde_json::json!({"email": "hanako@example.jp", "password": "a long passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    fake.set_user(OidcUser {
        sub: "user-2".into(),
        email: "Hanako@Example.jp".into(),
        email_verified: true,
        name: "花子".into(),
    });
    let linked = login(&app, "/chat", |q| q, true).await;
    assert_eq!(me(&app, &linked.session.unwrap()).await["email"], "hanako@example.jp");

    // Open redirects are not followed.
    fake.set_user(OidcUser {
        sub: "user-1".into(),
        email: "oidc.user@example.jp".into(),
        email_verified: true,
        name: "x".into(),
    });
    let out = login(&app, "https://evil.example/steal", |q| q, true).await;
    assert_eq!(out.location, "/chat");
    let out = login(&app, "//evil.example", |q| q, true).await;
    assert_eq!(out.location, "/chat");
}

#[tokio::test]
async fn every_failure_ends_on_the_login_page_without_a_session() {
    let (app, fake) = start(|_| {}).await;
    // State tampered with, or the flow cookie missing (a login started elsewhere).
    let out = login(&app, "/chat", |q| q.replace("state=", "state=x"), true).await;
    assert_eq!((out.location.as_str(), out.session.is_none()), ("/login?error=oidc_state", true));
    let out = login(&app, "/chat", |q| q, false).await;
    assert_eq!((out.location.as_str(), out.session.is_none()), ("/login?error=oidc_state", true));
    // Each kind of bad ID token.
    for fault in [
        OidcFault::WrongNonce,
        OidcFault::BadSignature,
        OidcFault::WrongAudience,
        OidcFault::Expired,
        OidcFault::WrongIssuer,
    ] {
        fake.set_fault(fault);
        let out = login(&app, "/chat", |q| q, true).await;
        assert_eq!(out.location, "/login?error=oidc_token", "{fault:?}");
        assert!(out.session.is_none(), "{fault:?}");
    }
    fake.set_fault(OidcFault::None);
    // An unverified email neither links nor creates an account.
    fake.set_user(OidcUser {
        sub: "u-9".into(),
        email: "nine@example.jp".into(),
        email_verified: false,
        name: "n".into(),
    });
    let out = login(&app, "/chat", |q| q, true).await;
    assert_eq!(out.location, "/login?error=oidc_email");
    // A code the provider never issued (or one already used) is refused there.
    let out = login(&app, "/chat", |q| q.replace("code=", "code=reused"), true).await;
    assert_eq!(out.location, "/login?error=oidc_provider");
    // Each failure is audited.
    let failures = app
        .state
        .store
        .audit_page(&tenmon_store::AuditFilter { action: Some("auth.login_failed".into()), ..Default::default() }, 50)
        .await
        .unwrap();
    assert!(failures.len() >= 8, "{}", failures.len());
}

#[tokio::test]
async fn closed_sign_up_refuses_new_accounts_and_no_provider_means_404() {
    let (app, _fake) = start(|c| c.auth.signup = tenmon_ark::accounts::SignupMode::Closed).await;
    let out = login(&app, "/chat", |q| q, true).await;
    assert_eq!(out.location, "/login?error=signup_closed");
    let plain = TestApp::spawn().await;
    let providers: Value = plain.get("/api/auth/providers").await.json().await.unwrap();
    assert_eq!(providers["providers"].as_array().unwrap().len(), 0);
    assert_eq!(no_redirects().get(plain.url("/api/auth/oidc/login")).send().await.unwrap().status(), 404);
}
