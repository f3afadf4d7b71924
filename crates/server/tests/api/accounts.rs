//! Accounts: sign-up, login, tokens, revocation.

use crate::helpers::{error_code, TestApp};
use serde_json::json;

const SECRET: &str = "test-jwt-secret-0123456789-abcdefghij";

async fn app() -> TestApp {
    TestApp::spawn_with(|c| c.auth.jwt_secret = secrecy::SecretString::from(SECRET)).await
}

async fn signup(app: &TestApp, email: &str) -> serde_json::Value {
    let res = app
        .client
        .post(app.url("/api/auth/signup"))
        .json(&json!({"email": email, "password": "a long passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{:?}", res.text().await);
    res.json().await.unwrap()
}

async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

fn craft(claims: serde_json::Value, key: &str, alg: jsonwebtoken::Algorithm) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn signup_login_and_me_with_token_or_cookie() {
    let app = app().await;
    let tokens = signup(&app, "Taro@Example.jp").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let me: serde_json::Value =
        app.get_auth("/api/me", tokens["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!((me["email"].as_str(), me["role"].as_str()), (Some("Taro@Example.jp"), Some("user")));

    let res = login(&app, "taro@example.JP", "a long passphrase").await;
    assert_eq!(res.status(), 200, "emails match ignoring case");
    let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let me: serde_json::Value =
        app.client.get(app.url("/api/me")).header("cookie", cookie).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["role"], "user");

    let res = app
        .client
        .post(app.url("/api/auth/signup"))
        .json(&json!({"email": "TARO@example.jp", "password": "another passphrase"}))
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_code(res).await;
    assert_eq!((status, code.as_str()), (409, "conflict"), "unique ignoring case");
    let res = app
        .client
        .post(app.url("/api/auth/signup"))
        .json(&json!({"email": "x@example.jp", "password": "short"}))
        .send()
        .await
        .unwrap();
    let (status, _, body) = error_code(res).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("password")));
    app.stop().await;
}

#[tokio::test]
async fn wrong_password_and_unknown_email_look_the_same() {
    let app = app().await;
    signup(&app, "hanako@example.jp").await;
    let (s1, c1, b1) = error_code(login(&app, "hanako@example.jp", "wrong passphrase").await).await;
    let (s2, c2, b2) = error_code(login(&app, "nobody@example.jp", "wrong passphrase").await).await;
    assert_eq!((s1, c1.as_str()), (401, "unauthorized"));
    assert_eq!((s1, c1, b1["error"]["message"].clone()), (s2, c2, b2["error"]["message"].clone()));
    app.stop().await;
}

#[tokio::test]
async fn forged_and_expired_access_tokens_are_refused() {
    let app = app().await;
    let tokens = signup(&app, "jiro@example.jp").await;
    let good = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.get_auth("/api/me", good).await.status(), 200);
    let payload: serde_json::Value = {
        use base64::Engine;
        let part = good.split('.').nth(1).unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    let now = chrono_like_now();
    let mut expired = payload.clone();
    expired["exp"] = json!(now - 60);
    let mut refresh_typed = payload.clone();
    refresh_typed["typ"] = json!("refresh");
    // Tampered: a signature that does not match the payload.
    let mut parts: Vec<String> = good.split('.').map(String::from).collect();
    let mut admin = payload.clone();
    admin["sub"] = json!("someone-else");
    parts[1] = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(admin.to_string())
    };
    let tampered = parts.join(".");
    let alg_none = format!(
        "{}.{}.",
        {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#)
        },
        good.split('.').nth(1).unwrap()
    );
    for (name, token) in [
        ("tampered", tampered),
        ("expired", craft(expired, SECRET, jsonwebtoken::Algorithm::HS256)),
        ("wrong key", craft(payload.clone(), "another-secret-0123456789-abcdefghijkl", jsonwebtoken::Algorithm::HS256)),
        ("HS512", craft(payload.clone(), SECRET, jsonwebtoken::Algorithm::HS512)),
        ("not an access token", craft(refresh_typed, SECRET, jsonwebtoken::Algorithm::HS256)),
        ("alg none", alg_none),
    ] {
        let (status, _, _) = error_code(app.get_auth("/api/me", &token).await).await;
        assert_eq!(status, 401, "{name}");
    }
    app.stop().await;
}

fn chrono_like_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.client.post(app.url("/api/auth/refresh")).json(&json!({"refresh_token": token})).send().await.unwrap()
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reuse_ends_the_login() {
    let app = app().await;
    let t1 = signup(&app, "saburo@example.jp").await;
    let r1 = t1["refresh_token"].as_str().unwrap().to_string();
    let res = refresh(&app, &r1).await;
    assert_eq!(res.status(), 200);
    let t2: serde_json::Value = res.json().await.unwrap();
    let (r2, a2) =
        (t2["refresh_token"].as_str().unwrap().to_string(), t2["access_token"].as_str().unwrap().to_string());
    assert_ne!(r1, r2);
    assert_eq!(app.get_auth("/api/me", &a2).await.status(), 200);
    // r1 again: a thief replaying it. The whole login ends.
    assert_eq!(refresh(&app, &r1).await.status(), 401);
    assert_eq!(refresh(&app, &r2).await.status(), 401, "the family is revoked");
    assert_eq!(app.get_auth("/api/me", &a2).await.status(), 401, "and its access tokens with it");
    // Another login of the same user is untouched.
    let other: serde_json::Value = login(&app, "saburo@example.jp", "a long passphrase").await.json().await.unwrap();
    assert_eq!(app.get_auth("/api/me", other["access_token"].as_str().unwrap()).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn logout_and_password_change_end_sessions() {
    let app = app().await;
    signup(&app, "shiro@example.jp").await;
    let res = login(&app, "shiro@example.jp", "a long passphrase").await;
    let cookie = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_string();
    let t: serde_json::Value = res.json().await.unwrap();
    let access = t["access_token"].as_str().unwrap().to_string();
    let res = app.client.post(app.url("/api/auth/logout")).bearer_auth(&access).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(app.get_auth("/api/me", &access).await.status(), 401);
    assert_eq!(app.client.get(app.url("/api/me")).header("cookie", &cookie).send().await.unwrap().status(), 401);
    assert_eq!(refresh(&app, t["refresh_token"].as_str().unwrap()).await.status(), 401);

    let a: serde_json::Value = login(&app, "shiro@example.jp", "a long passphrase").await.json().await.unwrap();
    let b: serde_json::Value = login(&app, "shiro@example.jp", "a long passphrase").await.json().await.unwrap();
    let res = app
        .client
        .post(app.url("/api/me/password"))
        .bearer_auth(a["access_token"].as_str().unwrap())
        .json(&json!({"current_password": "a long passphrase", "new_password": "a newer passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    for t in [&a, &b] {
        assert_eq!(
            app.get_auth("/api/me", t["access_token"].as_str().unwrap()).await.status(),
            401,
            "every login ends"
        );
    }
    assert_eq!(login(&app, "shiro@example.jp", "a long passphrase").await.status(), 401);
    assert_eq!(login(&app, "shiro@example.jp", "a newer passphrase").await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn a_demotion_takes_effect_at_once() {
    let app = app().await;
    signup(&app, "ops@example.jp").await;
    let user = app.state.store.user_by_email("ops@example.jp").await.unwrap().unwrap();
    app.state.accounts.set_role(&user.id, "operator").await.unwrap();
    let t: serde_json::Value = login(&app, "ops@example.jp", "a long passphrase").await.json().await.unwrap();
    let access = t["access_token"].as_str().unwrap().to_string();
    let entry = json!({"question": "デモ用の質問ですか？", "answer": "はい。"});
    assert_eq!(app.post_json("/api/kb/bases/mnp/entries", &access, entry.clone()).await.status(), 201);
    app.state.accounts.set_role(&user.id, "user").await.unwrap();
    let (status, _, _) = error_code(app.post_json("/api/kb/bases/mnp/entries", &access, entry).await).await;
    assert_eq!(status, 401, "the old operator login is over");
    app.stop().await;
}

#[tokio::test]
async fn a_guest_who_signs_up_keeps_their_conversations() {
    let app = app().await;
    let guest = app.session().await;
    let body: serde_json::Value =
        app.post_json("/api/chat", &guest, json!({"message": "予約番号の有効期限は？"})).await.json().await.unwrap();
    let conv = body["conversation_id"].as_str().unwrap().to_string();
    let res = app
        .client
        .post(app.url("/api/auth/signup"))
        .bearer_auth(&guest)
        .json(&json!({"email": "guest@example.jp", "password": "a long passphrase"}))
        .send()
        .await
        .unwrap();
    let t: serde_json::Value = res.json().await.unwrap();
    let list: serde_json::Value =
        app.get_auth("/api/conversations", t["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(list["conversations"][0]["id"], conv.as_str());
    let old: serde_json::Value = app.get_auth("/api/conversations", &guest).await.json().await.unwrap();
    assert_eq!(old["conversations"], json!([]), "the guest no longer holds it");
    // The move is an event: a replay keeps it.
    app.state.store.replay().await.unwrap();
    let list: serde_json::Value =
        app.get_auth("/api/conversations", t["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(list["conversations"][0]["id"], conv.as_str());
    app.stop().await;
}

#[tokio::test]
async fn the_first_admin_comes_from_the_environment_and_signup_can_be_closed() {
    let app = TestApp::spawn_with(|c| {
        c.auth.jwt_secret = secrecy::SecretString::from(SECRET);
        c.auth.admin = Some(("root@example.jp".into(), secrecy::SecretString::from("an admin passphrase")));
        c.auth.signup = tenmon_ark::accounts::SignupMode::Closed;
    })
    .await;
    let t: serde_json::Value = login(&app, "root@example.jp", "an admin passphrase").await.json().await.unwrap();
    let me: serde_json::Value =
        app.get_auth("/api/me", t["access_token"].as_str().unwrap()).await.json().await.unwrap();
    assert_eq!(me["role"], "admin");
    let res = app
        .client
        .post(app.url("/api/auth/signup"))
        .json(&json!({"email": "x@example.jp", "password": "a long passphrase"}))
        .send()
        .await
        .unwrap();
    let (status, code, _) = error_code(res).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"));
    app.stop().await;
}

#[tokio::test]
async fn admins_change_roles_and_the_change_ends_the_users_logins() {
    let app = TestApp::spawn_with(|c| {
        c.auth.jwt_secret = secrecy::SecretString::from(SECRET);
        c.auth.admin = Some(("root@example.jp".into(), secrecy::SecretString::from("an admin passphrase")));
    })
    .await;
    let admin: serde_json::Value = login(&app, "root@example.jp", "an admin passphrase").await.json().await.unwrap();
    let admin = admin["access_token"].as_str().unwrap().to_string();
    let user_tokens = signup(&app, "staff@example.jp").await;
    let user_access = user_tokens["access_token"].as_str().unwrap().to_string();
    let page: serde_json::Value = app.get_auth("/api/admin/users?limit=1", &admin).await.json().await.unwrap();
    assert_eq!(page["users"].as_array().unwrap().len(), 1);
    let next = page["next"].as_str().unwrap();
    let page2: serde_json::Value =
        app.get_auth(&format!("/api/admin/users?after={next}"), &admin).await.json().await.unwrap();
    let staff = page2["users"].as_array().unwrap().iter().find(|u| u["email"] == "staff@example.jp").unwrap().clone();
    let id = staff["id"].as_str().unwrap();

    let res = app
        .client
        .patch(app.url(&format!("/api/admin/users/{id}")))
        .bearer_auth(&admin)
        .json(&json!({"role": "operator"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["role"], "operator");
    assert_eq!(app.get_auth("/api/me", &user_access).await.status(), 401, "the login from before the change is over");
    let res = app
        .client
        .patch(app.url(&format!("/api/admin/users/{id}")))
        .bearer_auth(&admin)
        .json(&json!({"role": "superuser"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 422);
    // The only admin cannot demote themselves into a locked-out server.
    let me: serde_json::Value = app.get_auth("/api/me", &admin).await.json().await.unwrap();
    let res = app
        .client
        .patch(app.url(&format!("/api/admin/users/{}", me["id"].as_str().unwrap())))
        .bearer_auth(&admin)
        .json(&json!({"role": "user"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    app.stop().await;
}

#[tokio::test]
async fn api_keys_are_shown_once_scoped_and_revocable() {
    let app = TestApp::spawn_with(|c| c.auth.jwt_secret = secrecy::SecretString::from(SECRET)).await;
    let t = signup(&app, "dev@example.jp").await;
    let access = t["access_token"].as_str().unwrap().to_string();
    let res = app.post_json("/api/api-keys", &access, json!({"name": "CI", "expires_in_days": 30})).await;
    assert_eq!(res.status(), 201);
    let created: serde_json::Value = res.json().await.unwrap();
    let key = created["key"].as_str().unwrap().to_string();
    assert!(key.starts_with("tka_") && key.starts_with(created["prefix"].as_str().unwrap()));
    assert_eq!(created["scopes"], json!(["chat"]));

    // The key works on /v1 and the chat API, through every header form.
    assert_eq!(app.get_auth("/v1/models", &key).await.status(), 200);
    let via_x_api_key = app.client.get(app.url("/v1/models")).header("x-api-key", &key).send().await.unwrap();
    assert_eq!(via_x_api_key.status(), 200);
    // Listed without the key itself, with its last use.
    let list: serde_json::Value = app.get_auth("/api/api-keys", &access).await.json().await.unwrap();
    assert!(!list.to_string().contains(&key));
    assert!(list["keys"][0]["last_used_at"].is_string());
    // A user's key is not an operator, whatever it asks for.
    let (status, _, _) =
        error_code(app.post_json("/api/api-keys", &access, json!({"name": "x", "scopes": ["kb:write"]})).await).await;
    assert_eq!(status, 403);
    assert_eq!(error_code(app.get_auth("/api/kb/bases", &key).await).await.0, 403);
    // Keys cannot make keys.
    assert_eq!(error_code(app.post_json("/api/api-keys", &key, json!({"name": "child"})).await).await.0, 403);
    // Revoked: refused at once, in every header.
    let id = created["id"].as_str().unwrap();
    let res = app.client.delete(app.url(&format!("/api/api-keys/{id}"))).bearer_auth(&access).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(app.get_auth("/v1/models", &key).await.status(), 401);
    assert_eq!(app.client.get(app.url("/v1/models")).header("x-api-key", &key).send().await.unwrap().status(), 401);
    // Another user cannot revoke it (404, not 403: ids are not an oracle).
    let other = signup(&app, "other@example.jp").await;
    let res = app
        .client
        .delete(app.url(&format!("/api/api-keys/{id}")))
        .bearer_auth(other["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn daily_token_quotas_stop_turns_until_midnight() {
    let fake = tenmon_test_support::FakeOpenAi::start().await;
    let app = TestApp::spawn_with(|c| {
        crate::helpers::use_fakes(c, &[&fake]);
        c.auth.jwt_secret = secrecy::SecretString::from(SECRET);
        c.chat.daily_tokens_user = 10;
        c.chat.daily_tokens_api_key = 10;
    })
    .await;
    // A guest: the first turn runs (12 + n tokens), the second is refused.
    let guest = app.session().await;
    assert_eq!(app.post_json("/api/chat", &guest, json!({"message": "q"})).await.status(), 200);
    let res = app.post_json("/api/chat/stream", &guest, json!({"message": "q"})).await;
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&retry));
    let (status, code, _) = error_code(res).await;
    assert_eq!((status, code.as_str()), (429, "quota_exceeded"));
    assert_eq!(fake.requests().len(), 1, "the refused turn never reached the model");

    // An API key has its own quota on /v1, and what it uses counts for its user too.
    let t = signup(&app, "quota@example.jp").await;
    let access = t["access_token"].as_str().unwrap().to_string();
    let key: serde_json::Value =
        app.post_json("/api/api-keys", &access, json!({"name": "k"})).await.json().await.unwrap();
    let key = key["key"].as_str().unwrap().to_string();
    let v1 = json!({"model": "default", "messages": [{"role": "user", "content": "x"}]});
    assert_eq!(app.post_json("/v1/chat/completions", &key, v1.clone()).await.status(), 200);
    let key_id = app.state.store.api_key_by_hash(&tenmon_ark::auth::hash_token(&key)).await.unwrap().unwrap().id;
    for _ in 0..100 {
        if app.state.store.token_usage(&format!("key:{key_id}"), tenmon_chat::today()).await.unwrap() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (status, code, _) = error_code(app.post_json("/v1/chat/completions", &key, v1).await).await;
    assert_eq!((status, code.as_str()), (429, "quota_exceeded"));
    // The key's tokens count for its user too: the user's quota is also used up now.
    let (status, code, _) = error_code(app.post_json("/api/chat", &access, json!({"message": "q"})).await).await;
    assert_eq!((status, code.as_str()), (429, "quota_exceeded"));
    app.stop().await;
}

#[tokio::test]
async fn invite_only_sign_up_takes_a_single_use_invitation_with_its_role() {
    let app = TestApp::spawn_with(|c| {
        c.auth.jwt_secret = secrecy::SecretString::from(SECRET);
        c.auth.signup = tenmon_ark::accounts::SignupMode::InviteOnly;
        c.auth.admin = Some(("root@example.jp".into(), secrecy::SecretString::from("an admin passphrase")));
    })
    .await;
    let admin: serde_json::Value = login(&app, "root@example.jp", "an admin passphrase").await.json().await.unwrap();
    let admin = admin["access_token"].as_str().unwrap().to_string();
    let signup_with = |email: &str, invitation: Option<&str>| {
        let mut body = json!({"email": email, "password": "a long passphrase"});
        if let Some(i) = invitation {
            body["invitation"] = json!(i);
        }
        app.client.post(app.url("/api/auth/signup")).json(&body).send()
    };
    // Without an invitation: refused.
    let (status, code, _) = error_code(signup_with("nobody@example.jp", None).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"));

    let res =
        app.post_json("/api/admin/invitations", &admin, json!({"role": "operator", "email": "Staff@Example.jp"})).await;
    assert_eq!(res.status(), 201);
    let inv: serde_json::Value = res.json().await.unwrap();
    let token = inv["token"].as_str().unwrap().to_string();
    assert!(inv["signup_url"].as_str().unwrap().ends_with(&token));
    // Someone else's email cannot use it; a made-up token neither.
    assert_eq!(signup_with("other@example.jp", Some(&token)).await.unwrap().status(), 403);
    assert_eq!(signup_with("staff@example.jp", Some("inv_made_up")).await.unwrap().status(), 403);
    // The invitee gets the invitation's role.
    let res = signup_with("staff@example.jp", Some(&token)).await.unwrap();
    assert_eq!(res.status(), 201);
    let access = res.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_string();
    let me: serde_json::Value = app.get_auth("/api/me", &access).await.json().await.unwrap();
    assert_eq!(me["role"], "operator");
    // Single use.
    assert_eq!(signup_with("staff2@example.jp", Some(&token)).await.unwrap().status(), 403);
    // Listed without tokens; revoking an open one works, a used one is 404.
    let list: serde_json::Value = app.get_auth("/api/admin/invitations", &admin).await.json().await.unwrap();
    assert_eq!(list["invitations"][0]["status"], "used");
    assert!(!list.to_string().contains(&token));
    let open: serde_json::Value =
        app.post_json("/api/admin/invitations", &admin, json!({})).await.json().await.unwrap();
    let del =
        |id: String| app.client.delete(app.url(&format!("/api/admin/invitations/{id}"))).bearer_auth(&admin).send();
    assert_eq!(del(open["id"].as_str().unwrap().into()).await.unwrap().status(), 204);
    assert_eq!(signup_with("late@example.jp", Some(open["token"].as_str().unwrap())).await.unwrap().status(), 403);
    assert_eq!(del(inv["id"].as_str().unwrap().into()).await.unwrap().status(), 404);
    // Only admins invite.
    assert_eq!(app.post_json("/api/admin/invitations", &access, json!({})).await.status(), 403);
    let (status, _, _) =
        error_code(app.post_json("/api/admin/invitations", &admin, json!({"role": "god"})).await).await;
    assert_eq!(status, 422);
}

#[tokio::test]
async fn a_disabled_account_loses_every_credential_until_enabled() {
    let app = TestApp::spawn_with(|c| {
        c.auth.jwt_secret = secrecy::SecretString::from(SECRET);
        c.auth.admin = Some(("root@example.jp".into(), secrecy::SecretString::from("an admin passphrase")));
    })
    .await;
    let admin: serde_json::Value = login(&app, "root@example.jp", "an admin passphrase").await.json().await.unwrap();
    let admin_token = admin["access_token"].as_str().unwrap().to_string();
    let tokens = signup(&app, "worker@example.jp").await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    let key: serde_json::Value =
        app.post_json("/api/api-keys", &access, json!({"name": "k"})).await.json().await.unwrap();
    let key = key["key"].as_str().unwrap().to_string();
    let me: serde_json::Value = app.get_auth("/api/me", &access).await.json().await.unwrap();
    let id = me["id"].as_str().unwrap().to_string();

    let res = app.post_json(&format!("/api/admin/users/{id}/disable"), &admin_token, json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["disabled"], true);
    // Access token, API key, refresh token and password: all refused.
    assert_eq!(app.get_auth("/api/me", &access).await.status(), 401);
    assert_eq!(app.get_auth("/api/me", &key).await.status(), 401);
    let refresh = app
        .client
        .post(app.url("/api/auth/refresh"))
        .json(&json!({"refresh_token": tokens["refresh_token"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(refresh.status(), 401);
    assert_eq!(login(&app, "worker@example.jp", "a long passphrase").await.status(), 401);
    let list: serde_json::Value = app.get_auth("/api/admin/users", &admin_token).await.json().await.unwrap();
    assert!(list.to_string().contains("\"disabled\":true"));
    // Admins cannot lock themselves out; others cannot disable anyone.
    let root_id = app.get_auth("/api/me", &admin_token).await.json::<serde_json::Value>().await.unwrap()["id"].clone();
    let res = app
        .post_json(&format!("/api/admin/users/{}/disable", root_id.as_str().unwrap()), &admin_token, json!({}))
        .await;
    assert_eq!(res.status(), 409);
    // Enabled again: a fresh login works (the old credentials stay revoked).
    let res = app.post_json(&format!("/api/admin/users/{id}/enable"), &admin_token, json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(login(&app, "worker@example.jp", "a long passphrase").await.status(), 200);
    assert_eq!(app.get_auth("/api/me", &key).await.status(), 401);
}
