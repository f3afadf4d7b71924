//! The knowledge base over HTTP, grounded chat answers, and no-LLM mode.

use crate::helpers::{error_code, use_fakes, TestApp};
use serde_json::json;
use tenmon_test_support::{Behavior, FakeOpenAi};

const KEY: &str = "op-key-0123456789abcdef";

fn operator(c: &mut tenmon_ark::config::Config) {
    c.chat.api_key_hashes = vec![tenmon_ark::auth::hash_token(KEY)];
}

#[tokio::test]
async fn search_finds_the_faq_in_everyday_japanese() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/kb/search?q=%E4%BA%88%E7%B4%84%E7%95%AA%E5%8F%B7%E3%81%AE%E6%9C%9F%E9%99%90%E3%81%A3%E3%81%A6%E4%BD%95%E6%97%A5%EF%BC%9F&kb=mnp&limit=3").await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    let top = &body["results"][0];
    assert_eq!(top["id"], "mnp-014", "{body}");
    assert_eq!(top["kb"], "mnp");
    assert!(top["answer"].as_str().unwrap().contains("15日"));
    assert!(!top["highlights"].as_array().unwrap().is_empty());
    assert!(body["took_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(body["results"].as_array().unwrap().len(), 3);
    let entry: serde_json::Value = app.get("/api/kb/entries/mnp-014").await.json().await.unwrap();
    assert_eq!(entry["id"], "mnp-014");
    let (status, _, _) = error_code(app.get("/api/kb/search?q=").await).await;
    assert_eq!(status, 422);
    app.stop().await;
}

#[tokio::test]
async fn without_a_model_the_kb_answers_through_chat_and_the_stream() {
    let app = TestApp::spawn().await;
    let token = app.session().await;
    let body: serde_json::Value =
        app.post_json("/api/chat", &token, json!({"message": "予約番号の有効期限は？"})).await.json().await.unwrap();
    assert_eq!(body["status"], "complete", "{body}");
    assert_eq!(body["model"], "knowledge-base");
    assert!(body["answer"].as_str().unwrap().contains("15日"), "{body}");
    assert!(body["answer"].as_str().unwrap().contains("生成AIによる回答はオフ"));
    assert_eq!(body["sources"][0]["id"], "mnp-014");

    let events =
        app.stream(&token, json!({"message": "how long is the reservation number valid"})).await.collect().await;
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["meta", "sources", "delta", "done"], "{events:?}");
    assert_eq!(events[1].data["sources"][0]["id"], "mnp-014");
    assert!(
        events[2].data["text"].as_str().unwrap().contains("15 days"),
        "English question, English answer: {}",
        events[2].data
    );
    app.stop().await;
}

#[tokio::test]
async fn an_unanswerable_question_is_handed_off_and_counted() {
    let app = TestApp::spawn_with(operator).await;
    let token = app.session().await;
    for _ in 0..2 {
        let body: serde_json::Value = app
            .post_json(
                "/api/chat",
                &token,
                json!({"message": "おすすめのラーメン屋を教えて", "assistant": "mnp-support"}),
            )
            .await
            .json()
            .await
            .unwrap();
        assert!(body["answer"].as_str().unwrap().contains("サポート窓口"), "{body}");
        assert_eq!(body["sources"], json!([]));
    }
    let list: serde_json::Value = app.get_auth("/api/kb/unanswered", KEY).await.json().await.unwrap();
    assert_eq!(list["questions"][0]["sample"], "おすすめのラーメン屋を教えて");
    assert_eq!(list["questions"][0]["count"], 2);
    assert_eq!(list["questions"][0]["assistant"], "mnp-support");
    app.stop().await;
}

#[tokio::test]
async fn grounded_answers_put_the_entries_in_the_prompt_and_stream_sources() {
    let fake = FakeOpenAi::start_with(Behavior::reply("有効期限は発行日を含めて15日間です [mnp-014]。")).await;
    let app = TestApp::spawn_with(|c| use_fakes(c, &[&fake])).await;
    let token = app.session().await;
    let events = app
        .stream(&token, json!({"message": "予約番号っていつまで使える？", "assistant": "mnp-support"}))
        .await
        .collect()
        .await;
    assert_eq!(events[1].event, "sources", "{events:?}");
    assert_eq!(events[1].data["sources"][0]["id"], "mnp-014");
    assert_eq!(events.last().unwrap().event, "done");
    let system = fake.requests()[0]["messages"][0]["content"].as_str().unwrap().to_string();
    assert!(system.contains("[mnp-014]") && system.contains("15日"), "{system}");
    let conv = events[0].data["conversation_id"].as_str().unwrap();
    let msgs: serde_json::Value =
        app.get_auth(&format!("/api/conversations/{conv}/messages"), &token).await.json().await.unwrap();
    assert_eq!(msgs["messages"][1]["sources"][0]["id"], "mnp-014", "sources are stored with the message");

    // The knowledge-only assistant does not ask the model when nothing fits.
    let before = fake.requests().len();
    let body: serde_json::Value = app
        .post_json("/api/chat", &token, json!({"message": "ピザを注文したい", "assistant": "mnp-support"}))
        .await
        .json()
        .await
        .unwrap();
    assert!(body["answer"].as_str().unwrap().contains("サポート窓口"));
    assert_eq!(fake.requests().len(), before);
    // The general assistant still asks the model, without knowledge.
    app.post_json("/api/chat", &token, json!({"message": "ピザを注文したい"})).await;
    assert_eq!(fake.requests().len(), before + 1);
    app.stop().await;
}

#[tokio::test]
async fn operators_edit_and_the_search_sees_it_at_once() {
    let app = TestApp::spawn_with(operator).await;
    let guest = app.session().await;
    let entry = json!({"id": "tethering", "question": "乗り換え後もテザリングは使えますか？", "phrasings": ["テザリングできる？"], "answer": "プランによります。", "category": "その他"});
    let (status, code, _) = error_code(app.post_json("/api/kb/bases/mnp/entries", &guest, entry.clone()).await).await;
    assert_eq!((status, code.as_str()), (403, "forbidden"));

    let res = app.post_json("/api/kb/bases/mnp/entries", KEY, entry.clone()).await;
    assert_eq!(res.status(), 201);
    let found: serde_json::Value =
        app.get("/api/kb/search?q=%E3%83%86%E3%82%B6%E3%83%AA%E3%83%B3%E3%82%B0&limit=1").await.json().await.unwrap();
    assert_eq!(found["results"][0]["id"], "tethering");

    let mut changed = entry.clone();
    changed["answer"] = json!("ご契約のプランによって異なります。");
    let res =
        app.client.put(app.url("/api/kb/entries/tethering")).bearer_auth(KEY).json(&changed).send().await.unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["version"], 2);
    let res = app
        .client
        .patch(app.url("/api/kb/entries/tethering"))
        .bearer_auth(KEY)
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(app.get("/api/kb/entries/tethering").await.status(), 404, "disabled entries are not public");
    let found: serde_json::Value =
        app.get("/api/kb/search?q=%E3%83%86%E3%82%B6%E3%83%AA%E3%83%B3%E3%82%B0&limit=5").await.json().await.unwrap();
    assert!(found["results"].as_array().unwrap().iter().all(|r| r["id"] != "tethering"));
    app.stop().await;
}

#[tokio::test]
async fn import_is_all_or_nothing_and_export_round_trips_in_shift_jis() {
    let app = TestApp::spawn_with(operator).await;
    let before = app.get_auth("/api/kb/bases/mnp/export?format=jsonl", KEY).await.bytes().await.unwrap();
    let bad = "{\"id\":\"mnp-001\",\"question\":\"上書き\",\"answer\":\"上書き\"}\n{\"question\":\"\",\"answer\":\"x\"}\nnot json\n";
    let res = app
        .client
        .post(app.url("/api/kb/bases/mnp/import?format=jsonl"))
        .bearer_auth(KEY)
        .body(bad)
        .send()
        .await
        .unwrap();
    let (status, code, body) = error_code(res).await;
    assert_eq!((status, code.as_str()), (422, "import_failed"));
    let lines: Vec<u64> =
        body["error"]["rows"].as_array().unwrap().iter().map(|r| r["line"].as_u64().unwrap()).collect();
    assert_eq!(lines, [2, 3], "{body}");
    let after = app.get_auth("/api/kb/bases/mnp/export?format=jsonl", KEY).await.bytes().await.unwrap();
    assert_eq!(before, after, "nothing changed");

    let res = app.get_auth("/api/kb/bases/mnp/export?format=csv&encoding=shift_jis", KEY).await;
    assert!(res.headers()["content-disposition"].to_str().unwrap().contains("mnp.csv"));
    let sjis = res.bytes().await.unwrap();
    assert!(std::str::from_utf8(&sjis).is_err(), "Shift_JIS, as Excel writes it");
    let res = app
        .client
        .post(app.url("/api/kb/bases/mnp/import"))
        .bearer_auth(KEY)
        .header("content-type", "text/csv")
        .body(sjis.to_vec())
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["updated"].as_u64().unwrap() as usize,
        before.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count(),
        "{body}"
    );
    assert_eq!(body["created"], 0);
    app.stop().await;
}

#[tokio::test]
async fn synonyms_are_editable_and_checked() {
    let app = TestApp::spawn_with(operator).await;
    let text = app.get_auth("/api/kb/synonyms", KEY).await.text().await.unwrap();
    assert!(text.contains("予約番号"));
    let q = "/api/kb/search?q=%E3%81%BB%E3%81%92%E3%81%BB%E3%81%92&kb=mnp&limit=1"; // ほげほげ
    let before: serde_json::Value = app.get(q).await.json().await.unwrap();
    let res = app
        .client
        .put(app.url("/api/kb/synonyms"))
        .bearer_auth(KEY)
        .body(format!("{text}\nほげほげ,SIMロック解除\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let after: serde_json::Value = app.get(q).await.json().await.unwrap();
    assert_ne!(before["results"].get(0).map(|r| r["id"].clone()), Some(json!("mnp-055")));
    assert!(after["results"][0]["id"].as_str().unwrap().starts_with("mnp-05"), "{after}");
    let res =
        app.client.put(app.url("/api/kb/synonyms")).bearer_auth(KEY).body("ok,fine\nひとつ\n").send().await.unwrap();
    let (status, code, body) = error_code(res).await;
    assert_eq!((status, code.as_str()), (422, "import_failed"));
    assert_eq!(body["error"]["rows"][0]["line"], 2);
    app.stop().await;
}

#[tokio::test]
async fn the_dashboard_counts_days_answers_hand_offs_top_entries_and_ttft() {
    let model = tenmon_test_support::FakeOpenAi::start_with(tenmon_test_support::Behavior::reply("回答です。")).await;
    let app = TestApp::spawn_with(|c| {
        operator(c);
        crate::helpers::use_fakes(c, &[&model]);
    })
    .await;
    let guest = app.session().await;
    for (message, assistant) in [
        ("MNP予約番号とは何ですか", "mnp-support"),
        ("MNP予約番号の有効期限は？", "mnp-support"),
        ("全然関係ない質問ダチョウ", "mnp-support"),
        ("こんにちは", "default"),
    ] {
        let res = app.post_json("/api/chat", &guest, json!({"message": message, "assistant": assistant})).await;
        assert_eq!(res.status(), 200);
    }
    let view: serde_json::Value = app.get_auth("/api/admin/analytics?days=7", KEY).await.json().await.unwrap();
    let days = view["days"].as_array().unwrap();
    assert_eq!(days.len(), 7, "every day of the range");
    let today = days.last().unwrap();
    assert_eq!(today["conversations"], 4);
    assert_eq!(today["messages"], 8);
    assert_eq!(today["answered"], 3, "{today}");
    assert_eq!(today["unanswered"], 1, "the hand-off: {today}");
    assert!(today["tokens"].as_i64().unwrap() > 0);
    assert!(days[0]["messages"] == 0);
    let top = view["top_entries"].as_array().unwrap();
    assert!(!top.is_empty() && top[0]["count"].as_i64().unwrap() >= 1, "{view}");
    assert!(top[0]["question"].as_str().unwrap().contains("予約番号"));
    assert!(view["ttft_ms"]["p50"].as_f64().unwrap() >= 0.0);
    assert!(view["ttft_ms"]["p95"].as_f64().unwrap() >= view["ttft_ms"]["p50"].as_f64().unwrap());
    assert_eq!(app.get_auth("/api/admin/analytics", &guest).await.status(), 403);
    assert_eq!(app.get_auth("/api/admin/analytics?days=0", KEY).await.status(), 422);
}
