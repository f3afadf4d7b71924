//! Personal data: export is all and only the caller's; erasure leaves nothing in
//! the database file; retention keeps one day in and purges one day out; consent;
//! the audit log records actions without secrets and its chain catches tampering.

use crate::helpers::{access_token, error_code, use_fakes, TestApp};
use serde_json::{json, Value};
use std::time::Duration;
use tenmon_store::{EventPayload, NewEvent};
use tenmon_test_support::{Behavior, FakeOpenAi};

const ADMIN_EMAIL: &str = "root@example.jp";
const ADMIN_PASSWORD: &str = "an admin passphrase";

async fn app_with(model: &FakeOpenAi, adjust: impl FnOnce(&mut tenmon_ark::config::Config)) -> TestApp {
    TestApp::spawn_with(|c| {
        use_fakes(c, &[model]);
        c.auth.jwt_secret = secrecy::SecretString::from("privacy-test-jwt-secret-0123456789");
        c.auth.admin = Some((ADMIN_EMAIL.into(), secrecy::SecretString::from(ADMIN_PASSWORD)));
        adjust(c);
    })
    .await
}

async fn signup(app: &TestApp, email: &str) -> String {
    let res = app
        .client
        .post(app.url("/api/auth/signup"))
        .json(&json!({"email": email, "password": "a long passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
}

async fn chat(app: &TestApp, token: &str, message: &str, assistant: &str) -> Value {
    let res = app.post_json("/api/chat", token, json!({"message": message, "assistant": assistant})).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    res.json().await.unwrap()
}

/// Every byte of the database (main file, WAL, shared memory).
fn database_bytes(app: &TestApp) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", app.db_path().display());
        if let Ok(b) = std::fs::read(&path) {
            all.extend(b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn export_holds_all_and_only_the_callers_data() {
    let model = FakeOpenAi::start_with(Behavior::reply("はい、承知しました。")).await;
    let app = app_with(&model, |_| {}).await;
    let a = signup(&app, "a-person@example.jp").await;
    let b = app.session().await;
    chat(&app, &a, "Aさんの質問その一", "default").await;
    chat(&app, &a, "Aさんの質問その二", "default").await;
    chat(&app, &b, "Bさんの秘密の質問", "default").await;
    let key = app.post_json("/api/api-keys", &a, json!({"name": "mine"})).await;
    assert_eq!(key.status(), 201);
    let secret_key = key.json::<Value>().await.unwrap()["key"].as_str().unwrap().to_string();

    let res = app.get_auth("/api/me/export", &a).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    let export: Value = res.json().await.unwrap();
    assert_eq!(export["format"], "tenmon-ark-export/1");
    let text = export.to_string();
    assert!(text.contains("Aさんの質問その一") && text.contains("Aさんの質問その二"));
    assert!(text.contains("a-person@example.jp"));
    assert!(!text.contains("Bさん"), "another person's data leaked into the export");
    assert!(!text.contains(&secret_key) && !text.contains("password_hash") && !text.contains("key_hash"));
    let tables = &export["tables"];
    assert_eq!(tables["conversations"].as_array().unwrap().len(), 2);
    assert_eq!(tables["messages"].as_array().unwrap().len(), 4);
    assert_eq!(tables["users"].as_array().unwrap().len(), 1);
    assert_eq!(tables["api_keys"].as_array().unwrap().len(), 1);
    assert!(!tables["events"].as_array().unwrap().is_empty());
    // A guest's export holds the guest's conversation.
    let guest: Value = app.get_auth("/api/me/export", &b).await.json().await.unwrap();
    assert!(guest.to_string().contains("Bさんの秘密の質問"));
    assert!(!guest.to_string().contains("Aさん"));
    assert_eq!(app.get("/api/me/export").await.status(), 401);
}

#[tokio::test]
async fn erasure_leaves_nothing_in_the_database_file() {
    let model = FakeOpenAi::start_with(Behavior::reply("回答します。")).await;
    let app = app_with(&model, |_| {}).await;
    let email = "erase-me@example.jp";
    let token = signup(&app, email).await;
    let other = app.session().await;
    // A question the MNP assistant cannot answer is also counted as unanswered.
    let unique = "ヤマダタロウの全く関係ない質問ゾウリムシ";
    chat(&app, &token, unique, "mnp-support").await;
    chat(&app, &token, "もう一つの固有文ハマグリ", "default").await;
    chat(&app, &other, "残るべき他人の文タンポポ", "default").await;
    // The operator sees the unanswered question before the erasure.
    let admin = access_token(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let unanswered: Value = app.get_auth("/api/kb/unanswered", &admin).await.json().await.unwrap();
    assert!(unanswered.to_string().contains("ゾウリムシ"), "{unanswered}");
    // A search is cached under its text.
    app.get(&format!("/api/kb/search?q={}", "ゾウリムシの検索")).await;
    assert!(contains(&database_bytes(&app), "ハマグリ"));

    let res = app.client.delete(app.url("/api/me")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let erased: Value = res.json().await.unwrap();
    assert_eq!(erased["erased"]["users"], 1);
    assert_eq!(erased["erased"]["conversations"], 2);
    assert!(erased["erased"]["unanswered_questions"].as_u64().unwrap() >= 1);

    let bytes = database_bytes(&app);
    for needle in [unique, "ハマグリ", email, "ゾウリムシ"] {
        assert!(!contains(&bytes, needle), "{needle:?} is still in the database file");
    }
    assert!(contains(&bytes, "タンポポ"), "someone else's data must stay");
    // The login is gone; the old access token no longer works.
    assert_eq!(app.get_auth("/api/me", &token).await.status(), 401);
    let relogin = app
        .client
        .post(app.url("/api/auth/login"))
        .json(&json!({"email": email, "password": "a long passphrase"}))
        .send()
        .await
        .unwrap();
    assert_eq!(relogin.status(), 401);
    let unanswered: Value = app.get_auth("/api/kb/unanswered", &admin).await.json().await.unwrap();
    assert!(!unanswered.to_string().contains("ゾウリムシ"));
    // An operator key (no person behind it) cannot "erase itself".
    let key = app.post_json("/api/api-keys", &admin, json!({"name": "k"})).await.json::<Value>().await.unwrap();
    let key = key["key"].as_str().unwrap();
    let res = app.client.delete(app.url("/api/me")).bearer_auth(key).send().await.unwrap();
    assert_eq!(error_code(res).await.0, 403);
}

#[tokio::test]
async fn admins_erase_users_and_others_cannot() {
    let model = FakeOpenAi::start().await;
    let app = app_with(&model, |_| {}).await;
    let victim = signup(&app, "victim@example.jp").await;
    chat(&app, &victim, "消される予定の文", "default").await;
    let me: Value = app.get_auth("/api/me", &victim).await.json().await.unwrap();
    let id = me["id"].as_str().unwrap().to_string();
    let bystander = signup(&app, "bystander@example.jp").await;
    let res =
        app.client.delete(app.url(&format!("/api/admin/users/{id}"))).bearer_auth(&bystander).send().await.unwrap();
    assert_eq!(res.status(), 403);
    let admin = access_token(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let res = app.client.delete(app.url("/api/admin/users/no-such-user")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(error_code(res).await.0, 404);
    let res = app.client.delete(app.url(&format!("/api/admin/users/{id}"))).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(!contains(&database_bytes(&app), "消される予定の文"));
    assert!(!contains(&database_bytes(&app), "victim@example.jp"));
    // Recorded in the audit log, by ids only.
    let audit: Value = app.get_auth("/api/admin/audit?action=privacy.erase", &admin).await.json().await.unwrap();
    let item = &audit["items"][0];
    assert_eq!(item["target"], id.as_str());
    assert!(!audit.to_string().contains("victim@example.jp"));
}

#[tokio::test]
async fn retention_keeps_one_day_in_and_purges_one_day_out() {
    let model = FakeOpenAi::start().await;
    let app = app_with(&model, |_| {}).await;
    let day = 86_400_000i64;
    let now = tenmon_chat::now_ms();
    for (id, age_days, text) in [("conv-in", 29, "保持される文"), ("conv-out", 31, "削除される文")] {
        let at_ms = now - age_days * day;
        let events = vec![
            NewEvent {
                payload: EventPayload::ConversationCreated {
                    owner_id: "guest:old".into(),
                    title: "t".into(),
                    assistant: "default".into(),
                },
                at_ms,
            },
            NewEvent {
                payload: EventPayload::UserMessage { message_id: format!("m-{id}"), content: text.into() },
                at_ms,
            },
        ];
        app.state.store.append(id, 1, &events).await.unwrap();
    }
    let dry = tenmon_ark::privacy::purge(&app.state, 30, true).await.unwrap();
    assert_eq!(dry.get("conversations"), 1);
    assert_eq!(dry.get("events"), 2);
    assert!(contains(&database_bytes(&app), "削除される文"), "a dry run deletes nothing");
    let done = tenmon_ark::privacy::purge(&app.state, 30, false).await.unwrap();
    assert_eq!(done, dry);
    let bytes = database_bytes(&app);
    assert!(!contains(&bytes, "削除される文"));
    assert!(contains(&bytes, "保持される文"));
    assert!(app.state.store.conversation("guest:old", "conv-in").await.unwrap().is_some());
    assert!(app.state.store.conversation("guest:old", "conv-out").await.unwrap().is_none());
    // Counted in the metrics.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("tenmon_retention_purged_rows_total{table=\"conversations\"} 1"), "{metrics}");
}

#[tokio::test]
async fn consent_is_asked_for_before_the_first_turn_when_required() {
    let model = FakeOpenAi::start().await;
    let app = app_with(&model, |c| c.privacy.require_consent = true).await;
    let guest = app.session().await;
    let info: Value = app.get_auth("/api/privacy", &guest).await.json().await.unwrap();
    assert_eq!(info["consent_required"], true);
    assert_eq!(info["consented"], false);
    let version = info["notice_version"].as_str().unwrap().to_string();
    let res = app.post_json("/api/chat", &guest, json!({"message": "こんにちは"})).await;
    let (status, code, _) = error_code(res).await;
    assert_eq!((status, code.as_str()), (403, "consent_required"));
    assert!(model.requests().is_empty());
    let res = app.post_json("/api/me/consent", &guest, json!({"version": "1999-01"})).await;
    assert_eq!(error_code(res).await.0, 409);
    let res = app.post_json("/api/me/consent", &guest, json!({"version": version})).await;
    assert_eq!(res.status(), 204);
    let info: Value = app.get_auth("/api/privacy", &guest).await.json().await.unwrap();
    assert_eq!(info["consented"], true);
    chat(&app, &guest, "こんにちは", "default").await;
}

#[tokio::test]
async fn the_audit_log_records_actions_without_secrets_and_verifies() {
    let model = FakeOpenAi::start().await;
    let app = app_with(&model, |_| {}).await;
    let admin = access_token(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let bad = app
        .client
        .post(app.url("/api/auth/login"))
        .header("user-agent", "audit-test-agent")
        .header("x-request-id", "req-audit-0001")
        .json(&json!({"email": "nobody@example.jp", "password": "wrong password!"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let user = signup(&app, "audited@example.jp").await;
    let key = app.post_json("/api/api-keys", &user, json!({"name": "ci"})).await.json::<Value>().await.unwrap();
    let entry = app
        .post_json("/api/kb/bases/mnp/entries", &admin, json!({"question": "監査テストの質問", "answer": "答え"}))
        .await;
    assert_eq!(entry.status(), 201);

    let page: Value = app.get_auth("/api/admin/audit?limit=100", &admin).await.json().await.unwrap();
    let actions: Vec<&str> = page["items"].as_array().unwrap().iter().map(|i| i["action"].as_str().unwrap()).collect();
    for a in ["auth.login_failed", "auth.login", "auth.signup", "api_key.created", "kb.entry_created"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let failed = page["items"].as_array().unwrap().iter().find(|i| i["action"] == "auth.login_failed").unwrap();
    assert_eq!(failed["user_agent"], "audit-test-agent");
    assert_eq!(failed["request_id"], "req-audit-0001");
    assert_eq!(failed["ip"], "127.0.0.1");
    let text = page.to_string();
    for secret in
        ["wrong password!", "nobody@example.jp", "audited@example.jp", key["key"].as_str().unwrap(), ADMIN_PASSWORD]
    {
        assert!(!text.contains(secret), "{secret:?} in the audit log");
    }
    // Pages and filters.
    let first: Value = app.get_auth("/api/admin/audit?limit=2", &admin).await.json().await.unwrap();
    let cursor = first["next_cursor"].as_str().unwrap();
    let second: Value =
        app.get_auth(&format!("/api/admin/audit?limit=2&cursor={cursor}"), &admin).await.json().await.unwrap();
    assert!(second["items"][0]["seq"].as_i64().unwrap() < first["items"][1]["seq"].as_i64().unwrap() + 1);
    let only: Value = app.get_auth("/api/admin/audit?action=auth.signup", &admin).await.json().await.unwrap();
    assert!(only["items"].as_array().unwrap().iter().all(|i| i["action"] == "auth.signup"));
    assert_eq!(app.get_auth("/api/admin/audit", &user).await.status(), 403);
    // The chain verifies.
    let (n, _) = tenmon_ark::audit::verify(app.state.store.as_ref(), None).await.unwrap();
    assert!(n >= 5);
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// Run SQL against the test database file directly (as an attacker with file access would).
async fn tamper(app: &TestApp, sql: &str) {
    use sqlx::ConnectOptions;
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new().filename(app.db_path()).connect().await.unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
}

#[tokio::test]
async fn audit_verify_catches_edits_removals_and_reordering() {
    for (what, sql) in [
        ("edit", "UPDATE audit_log SET target = 'someone-else' WHERE seq = 2"),
        ("edit details", "UPDATE audit_log SET details = '{\"n\":99}' WHERE seq = 3"),
        ("remove", "DELETE FROM audit_log WHERE seq = 2"),
        (
            "reorder",
            "UPDATE audit_log SET seq = 100 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 3;
             UPDATE audit_log SET seq = 3 WHERE seq = 100;",
        ),
    ] {
        let model = FakeOpenAi::start().await;
        let app = app_with(&model, |_| {}).await;
        for i in 0..4 {
            tenmon_ark::audit::record(
                &app.state,
                Some("actor"),
                "test.action",
                Some(&format!("t{i}")),
                json!({"n": i}),
            )
            .await;
        }
        let (n, head) = tenmon_ark::audit::verify(app.state.store.as_ref(), None).await.unwrap();
        assert_eq!(n, 4);
        tamper(&app, sql).await;
        let err = tenmon_ark::audit::verify(app.state.store.as_ref(), None).await.unwrap_err();
        assert!(!err.is_empty(), "{what}");
        // Removing the newest record leaves a valid chain: only the noted head tells.
        let _ = head;
    }
    let model = FakeOpenAi::start().await;
    let app = app_with(&model, |_| {}).await;
    for i in 0..3 {
        tenmon_ark::audit::record(&app.state, None, "test.action", None, json!({"n": i})).await;
    }
    let (_, head) = tenmon_ark::audit::verify(app.state.store.as_ref(), None).await.unwrap();
    tamper(&app, "DELETE FROM audit_log WHERE seq = 3").await;
    assert!(tenmon_ark::audit::verify(app.state.store.as_ref(), None).await.is_ok());
    assert!(tenmon_ark::audit::verify(app.state.store.as_ref(), Some(&head)).await.is_err());
}

const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

async fn encrypted_app(model: &FakeOpenAi, keys: &str, dir: Option<&std::path::Path>) -> TestApp {
    let keys = keys.to_string();
    let db = dir.map(|d| format!("sqlite://{}/test.db", d.display()));
    TestApp::spawn_with(move |c| {
        use_fakes(c, &[model]);
        c.privacy.encryption_key = Some(secrecy::SecretString::from(keys));
        if let Some(db) = db {
            c.database.url = tenmon_store::DatabaseUrl::parse(&db).unwrap();
        }
    })
    .await
}

#[tokio::test]
async fn with_an_encryption_key_the_database_file_holds_no_message_text() {
    let model = FakeOpenAi::start_with(Behavior::reply("暗号化された回答のサンプルテキストです")).await;
    let app = encrypted_app(&model, KEY_A, None).await;
    let token = app.session().await;
    let question = "暗号化の確認用の質問アメンボ";
    let answer = chat(&app, &token, question, "default").await;
    let conv = answer["conversation_id"].as_str().unwrap().to_string();
    // An unanswered question (knowledge-only assistant) is sealed too.
    chat(&app, &token, "全く無関係な質問オオサンショウウオ", "mnp-support").await;
    let bytes = database_bytes(&app);
    for needle in [question, "アメンボ", "暗号化された回答", "オオサンショウウオ"] {
        assert!(!contains(&bytes, needle), "{needle:?} is in the database file in the clear");
    }
    // Everything reads back in the clear through the API.
    let msgs: Value = app.get_auth(&format!("/api/conversations/{conv}/messages"), &token).await.json().await.unwrap();
    let text = msgs.to_string();
    assert!(text.contains(question) && text.contains("暗号化された回答のサンプルテキストです"), "{text}");
    let list: Value = app.get_auth("/api/conversations", &token).await.json().await.unwrap();
    assert!(list.to_string().contains("暗号化の確認用の質問"), "titles read back: {list}");
    let admin_view = app.state.store.unanswered(10).await.unwrap();
    assert!(admin_view.iter().any(|u| u.sample.contains("オオサンショウウオ")));
    // Resuming the stream replays the log, opened.
    let mid = answer["message_id"].as_str().unwrap();
    let replay = app.client.get(app.url(&format!("/api/chat/stream/{mid}"))).bearer_auth(&token).send().await.unwrap();
    assert!(replay.text().await.unwrap().contains("サンプルテキスト"));
    // The export is readable too.
    let export: Value = app.get_auth("/api/me/export", &token).await.json().await.unwrap();
    assert!(export.to_string().contains("アメンボ"));
    assert!(!export.to_string().contains("enc:v1:"), "{export}");
}

#[tokio::test]
async fn key_rotation_keeps_every_message_readable() {
    let model = FakeOpenAi::start_with(Behavior::reply("回転前の回答")).await;
    let dir = tempfile::tempdir().unwrap();
    let app = encrypted_app(&model, KEY_A, Some(dir.path())).await;
    let token = app.session().await;
    let first = chat(&app, &token, "回転前の質問", "default").await;
    let conv = first["conversation_id"].as_str().unwrap().to_string();
    let owner = app.state.store.export_subjects(&[]).await.unwrap();
    assert!(owner.tables.is_empty());
    app.stop().await;

    // New key first, old one still listed: old data reads, new data is written.
    let app = encrypted_app(&model, &format!("{KEY_B},{KEY_A}"), Some(dir.path())).await;
    let second = app.post_json("/api/chat", &token, json!({"message": "回転中の質問", "conversation_id": conv})).await;
    assert_eq!(second.status(), 200);
    let ring = tenmon_privacy::Keyring::parse(&format!("{KEY_B},{KEY_A}")).unwrap();
    let raw = tenmon_store::open(&app.state.config.database.url, &app.state.config.database.pool).await.unwrap();
    let rotated = tenmon_store::EncryptedStore::new(raw.clone(), ring).rotate().await.unwrap();
    assert!(rotated >= 1, "keys were rewrapped");
    raw.close().await;
    app.stop().await;

    // Old key gone: everything still reads.
    let app = encrypted_app(&model, KEY_B, Some(dir.path())).await;
    let msgs: Value = app.get_auth(&format!("/api/conversations/{conv}/messages"), &token).await.json().await.unwrap();
    let text = msgs.to_string();
    assert!(text.contains("回転前の質問") && text.contains("回転中の質問") && text.contains("回転前の回答"), "{text}");
    app.stop().await;

    // The old key alone can no longer open anything: the data keys moved on.
    let app = encrypted_app(&model, KEY_A, Some(dir.path())).await;
    let res = app.get_auth(&format!("/api/conversations/{conv}/messages"), &token).await;
    assert_eq!(res.status(), 500);
}
