//! Masking end to end: the model never sees the personal data in a message, the
//! user reads their own data back (streamed and as JSON, even when a placeholder
//! is cut across chunks), and the database keeps the masked text by default.

use crate::helpers::{text_of, use_fakes, TestApp};
use serde_json::{json, Value};
use tenmon_test_support::{Behavior, FakeOpenAi};

const PERSONAL: [&str; 7] = [
    "090-1234-5678",
    "taro.yamada@example.co.jp",
    "〒150-0002",
    "4111 1111 1111 1111",
    "1234567890",
    "03-3123-4567",
    "1985年4月1日",
];

fn message() -> String {
    format!(
        "電話番号は{}、メールは{}、住所は{} 東京都渋谷区です。カードは{}、MNP予約番号は{}です。固定電話{}、生年月日は{}。",
        PERSONAL[0], PERSONAL[1], PERSONAL[2], PERSONAL[3], PERSONAL[4], PERSONAL[5], PERSONAL[6]
    )
}

fn db_bytes(app: &TestApp) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal"] {
        if let Ok(b) = std::fs::read(format!("{}{suffix}", app.db_path().display())) {
            all.extend(b);
        }
    }
    all
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn the_model_sees_placeholders_and_the_user_reads_the_originals() {
    let model = FakeOpenAi::start_with(Behavior::Echo { prefix: "確認します: ".into() }).await;
    let app = TestApp::spawn_with(|c| use_fakes(c, &[&model])).await;
    let token = app.session().await;
    let events = app.stream(&token, json!({"message": message()})).await.collect().await;
    let shown = text_of(&events);
    assert_eq!(shown, format!("確認します: {}", message()), "the user reads their own data back");

    let sent = model.requests()[0].to_string();
    for p in PERSONAL {
        assert!(!sent.contains(p), "{p:?} reached the model: {sent}");
    }
    for placeholder in
        ["[電話番号1]", "[EMAIL1]", "[郵便番号1]", "[カード番号1]", "[予約番号1]", "[電話番号2]", "[生年月日1]"]
    {
        assert!(sent.contains(placeholder), "{placeholder} missing from {sent}");
    }

    // Stored masked (the default): neither the question nor the answer keeps the data.
    let bytes = db_bytes(&app);
    for p in PERSONAL {
        assert!(!contains(&bytes, p), "{p:?} is in the database");
    }
    let conv = events.iter().find(|e| e.event == "meta").unwrap().data["conversation_id"].as_str().unwrap().to_string();
    let history: Value =
        app.get_auth(&format!("/api/conversations/{conv}/messages"), &token).await.json().await.unwrap();
    assert!(history.to_string().contains("[電話番号1]"));

    // A second turn keeps the numbering: the same phone is the same placeholder,
    // a new one gets the next number.
    let res = app
        .post_json(
            "/api/chat",
            &token,
            json!({"conversation_id": conv, "message": "090-1234-5678 と 080-9999-0000 です"}),
        )
        .await;
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["answer"], "確認します: 090-1234-5678 と 080-9999-0000 です");
    let sent =
        model.requests()[1]["messages"].as_array().unwrap().last().unwrap()["content"].as_str().unwrap().to_string();
    assert_eq!(sent, "[電話番号1] と [電話番号3] です");
}

#[tokio::test]
async fn originals_are_stored_when_the_setting_says_so_and_masking_can_be_off() {
    let model = FakeOpenAi::start_with(Behavior::Echo { prefix: String::new() }).await;
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[&model]);
        c.privacy.store_personal_data = true;
    })
    .await;
    let token = app.session().await;
    let res: Value =
        app.post_json("/api/chat", &token, json!({"message": "電話は090-1234-5678です"})).await.json().await.unwrap();
    assert_eq!(res["answer"], "電話は090-1234-5678です");
    assert!(!model.requests()[0].to_string().contains("090-1234-5678"));
    let history: Value = app
        .get_auth(&format!("/api/conversations/{}/messages", res["conversation_id"].as_str().unwrap()), &token)
        .await
        .json()
        .await
        .unwrap();
    let text = history.to_string();
    assert!(text.contains("電話は090-1234-5678です"), "original kept: {text}");
    assert!(!text.contains("[電話番号"), "{text}");

    let model = FakeOpenAi::start_with(Behavior::Echo { prefix: String::new() }).await;
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[&model]);
        c.privacy.mask = false;
    })
    .await;
    let token = app.session().await;
    app.post_json("/api/chat", &token, json!({"message": "電話は090-1234-5678です"})).await;
    assert!(model.requests()[0].to_string().contains("090-1234-5678"), "MASK_PERSONAL_DATA=false sends it as is");
}

#[tokio::test]
async fn the_openai_compatible_api_masks_too() {
    let model = FakeOpenAi::start_with(Behavior::Echo { prefix: "echo: ".into() }).await;
    let key = "masking-v1-key-0123456789";
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[&model]);
        c.chat.api_key_hashes = vec![tenmon_ark::auth::hash_token(key)];
    })
    .await;
    let text = "私の電話は 090-1234-5678、メールは hanako@example.jp です";
    let body = json!({"model": "default", "messages": [{"role": "user", "content": text}]});
    let res: Value = app.post_json("/v1/chat/completions", key, body.clone()).await.json().await.unwrap();
    assert_eq!(res["choices"][0]["message"]["content"], format!("echo: {text}"));
    let mut streamed = body;
    streamed["stream"] = json!(true);
    let raw = app.post_json("/v1/chat/completions", key, streamed).await.text().await.unwrap();
    let joined: String = raw
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter(|d| *d != "[DONE]")
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter_map(|v| v["choices"][0]["delta"]["content"].as_str().map(str::to_string))
        .collect();
    assert_eq!(joined, format!("echo: {text}"));
    for req in model.requests() {
        let sent = req.to_string();
        assert!(!sent.contains("090-1234-5678") && !sent.contains("hanako@example.jp"), "{sent}");
    }
}
