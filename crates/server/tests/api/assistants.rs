//! Admins define assistants in the database: validated, used at once (chat,
//! `/api/assistants`, `/v1/models`, the OpenAPI document), overriding a built-in
//! until deleted; admins only.

use crate::helpers::{access_token, error_code, use_fakes, TestApp};
use serde_json::{json, Value};
use tenmon_test_support::{Behavior, FakeOpenAi};

async fn admin_app(model: &FakeOpenAi) -> (TestApp, String) {
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[model]);
        c.auth.admin = Some(("admin@example.jp".into(), secrecy::SecretString::from("an admin passphrase")));
    })
    .await;
    let token = access_token(&app, "admin@example.jp", "an admin passphrase").await;
    (app, token)
}

async fn put(app: &TestApp, token: &str, id: &str, body: Value) -> reqwest::Response {
    app.client.put(app.url(&format!("/api/admin/assistants/{id}"))).bearer_auth(token).json(&body).send().await.unwrap()
}

fn sales() -> Value {
    json!({
        "name_ja": "営業アシスタント", "name_en": "Sales", "system_prompt": "あなたは営業担当です。料金プランを案内してください。",
        "temperature": 0.2, "knowledge_bases": ["mnp"], "greeting_ja": "料金のご相談はこちら", "greeting_en": "Ask about plans"
    })
}

#[tokio::test]
async fn admins_define_assistants_used_at_once() {
    let model = FakeOpenAi::start_with(Behavior::reply("プランのご案内です。")).await;
    let (app, admin) = admin_app(&model).await;
    let guest = app.session().await;
    assert_eq!(put(&app, &guest, "sales", sales()).await.status(), 403, "admins only");

    for (field, body) in [
        ("temperature", json!({"name_ja": "x", "name_en": "x", "system_prompt": "x", "temperature": 3.0})),
        ("knowledge_bases", json!({"name_ja": "x", "name_en": "x", "system_prompt": "x", "knowledge_bases": ["nope"]})),
        ("system_prompt", json!({"name_ja": "x", "name_en": "x", "system_prompt": "  "})),
        ("id", json!({"id": "other", "name_ja": "x", "name_en": "x", "system_prompt": "x"})),
    ] {
        let (status, code, b) = error_code(put(&app, &admin, "sales", body).await).await;
        assert_eq!(
            (status, code.as_str(), b["error"]["field"].as_str()),
            (422, "validation_failed", Some(field)),
            "{b}"
        );
    }
    let (status, _, _) = error_code(put(&app, &admin, "Bad_Id", sales()).await).await;
    assert_eq!(status, 422);

    let res = put(&app, &admin, "sales", sales()).await;
    assert_eq!(res.status(), 201);
    assert_eq!(put(&app, &admin, "sales", sales()).await.status(), 200, "a second put replaces");

    // Used at once, everywhere.
    let list: Value = app.get("/api/assistants").await.json().await.unwrap();
    assert!(list.to_string().contains("営業アシスタント"), "{list}");
    let spec: Value = app.get("/api/openapi.json").await.json().await.unwrap();
    assert!(spec.to_string().contains("|sales)$"), "the document names it");
    let res = app.post_json("/api/chat", &guest, json!({"message": "料金を教えて", "assistant": "sales"})).await;
    assert_eq!(res.status(), 200);
    let sent = model.requests().pop().unwrap();
    assert!(sent["messages"][0]["content"].as_str().unwrap().starts_with("あなたは営業担当です"));
    assert_eq!(sent["temperature"], 0.2);
    let admin_list: Value = app.get_auth("/api/admin/assistants", &admin).await.json().await.unwrap();
    let sources: Vec<(String, String)> = admin_list["assistants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["id"].as_str().unwrap().to_string(), a["source"].as_str().unwrap().to_string()))
        .collect();
    assert!(
        sources.contains(&("sales".into(), "database".into()))
            && sources.contains(&("default".into(), "builtin".into()))
    );

    // Overriding a built-in, then deleting the override brings the built-in back.
    let mut custom = sales();
    custom["system_prompt"] = json!("カスタムの既定アシスタント");
    put(&app, &admin, "default", custom).await;
    let admin_list: Value = app.get_auth("/api/admin/assistants", &admin).await.json().await.unwrap();
    let overridden =
        admin_list["assistants"].as_array().unwrap().iter().find(|a| a["id"] == "default").unwrap().clone();
    assert_eq!((overridden["source"].clone(), overridden["overrides"].clone()), (json!("database"), json!(true)));
    app.post_json("/api/chat", &guest, json!({"message": "こんにちは"})).await;
    assert_eq!(model.requests().pop().unwrap()["messages"][0]["content"], "カスタムの既定アシスタント");
    let del = app.client.delete(app.url("/api/admin/assistants/default")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(del.status(), 204);
    app.post_json("/api/chat", &guest, json!({"message": "こんにちは"})).await;
    assert!(model.requests().pop().unwrap()["messages"][0]["content"].as_str().unwrap().contains("TENMON-ARK"));
    let del = app.client.delete(app.url("/api/admin/assistants/default")).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(del.status(), 404, "a built-in cannot be deleted");

    // Survives a restart: loaded from the database.
    let state = tenmon_ark::app::AppState::build(app.state.config.clone(), app.state.store.clone()).await.unwrap();
    assert!(state.chat.assistants().get("sales").is_some());
}
