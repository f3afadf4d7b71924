//! The LINE channel against the fake LINE API and the fake model: signature
//! checks before parsing, acknowledgement before the answer, redeliveries once,
//! reply → push fallback, retries with one retry key, splitting, quick replies.

use crate::helpers::{error_code, use_fakes, TestApp};
use serde_json::{json, Value};
use std::time::Duration;
use tenmon_ark::config::{Config, LineConfig};
use tenmon_ark::line::signature::sign;
use tenmon_test_support::{Behavior, FakeLine, FakeOpenAi};

const SECRET: &str = "line-channel-secret-0123456789abcdef";
const TOKEN: &str = "line-channel-access-token";
const OPERATOR_KEY: &str = "line-operator-key-0123456789";

fn line_config(fake: &FakeLine) -> LineConfig {
    LineConfig {
        channel_secret: SECRET.to_string().into(),
        access_token: TOKEN.to_string().into(),
        assistant: "mnp-support".into(),
        api_base: fake.base_url(),
        greeting: "ようこそ".into(),
        reply_token_ttl: Duration::from_secs(50),
        max_retries: 4,
        retry_base: Duration::from_millis(5),
    }
}

struct Line {
    app: TestApp,
    fake: FakeLine,
    model: FakeOpenAi,
}

async fn start(answer: &str, adjust: impl FnOnce(&mut Config)) -> Line {
    let fake = FakeLine::start(TOKEN).await;
    let model = FakeOpenAi::start_with(Behavior::reply(answer)).await;
    let line = line_config(&fake);
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[&model]);
        c.line = Some(line);
        c.chat.api_key_hashes = vec![tenmon_ark::auth::hash_token(OPERATOR_KEY)];
        adjust(c);
    })
    .await;
    Line { app, fake, model }
}

fn now_ms() -> i64 {
    tenmon_chat::now_ms()
}

fn text_event(id: &str, user: &str, text: &str) -> Value {
    json!({
        "type": "message", "mode": "active", "timestamp": now_ms(),
        "source": {"type": "user", "userId": user},
        "webhookEventId": id, "deliveryContext": {"isRedelivery": false},
        "replyToken": format!("reply-{id}"),
        "message": {"id": format!("m-{id}"), "type": "text", "quoteToken": "q", "text": text}
    })
}

fn body(events: &[Value]) -> String {
    json!({"destination": "Uxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "events": events}).to_string()
}

impl Line {
    async fn post_raw(&self, body: &str, signature: Option<&str>) -> reqwest::Response {
        let mut req = self
            .app
            .client
            .post(self.app.url("/api/line/webhook"))
            .header("content-type", "application/json")
            .body(body.to_string());
        if let Some(sig) = signature {
            req = req.header("x-line-signature", sig);
        }
        req.send().await.unwrap()
    }

    async fn post(&self, events: &[Value]) -> reqwest::Response {
        let body = body(events);
        let sig = sign(SECRET.as_bytes(), body.as_bytes());
        self.post_raw(&body, Some(&sig)).await
    }

    /// Wait until `n` messages were delivered (by reply or push).
    async fn wait_delivered(&self, n: usize) -> Vec<tenmon_test_support::LineCall> {
        for _ in 0..600 {
            let done: Vec<_> = self
                .fake
                .calls()
                .into_iter()
                .filter(|c| (c.op == "reply" || c.op == "push") && c.status < 300)
                .collect();
            if done.len() >= n {
                return done;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("fewer than {n} deliveries: {:?}", self.fake.calls());
    }

    async fn conversations_of(&self, user: &str) -> Vec<String> {
        let rows: Vec<(String,)> = sqlx_rows(&self.app, &format!("line:{user}")).await;
        rows.into_iter().map(|r| r.0).collect()
    }
}

/// Conversation ids owned by `owner`, read through the store.
async fn sqlx_rows(app: &TestApp, owner: &str) -> Vec<(String,)> {
    let page = app.state.store.list_conversations(owner, None, 100).await.unwrap();
    page.into_iter().map(|c| (c.id,)).collect()
}

fn texts(call: &tenmon_test_support::LineCall) -> Vec<String> {
    call.body["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn bad_or_missing_signatures_are_refused_before_parsing_and_nothing_happens() {
    let l = start("答え", |_| {}).await;
    let body = body(&[text_event("e1", "Ua", "MNPとは？")]);
    let good = sign(SECRET.as_bytes(), body.as_bytes());
    let wrong_key = sign(b"another-secret", body.as_bytes());
    for sig in [None, Some(""), Some("garbage"), Some(wrong_key.as_str())] {
        let (status, code, _) = error_code(l.post_raw(&body, sig).await).await;
        assert_eq!((status, code.as_str()), (401, "invalid_signature"), "{sig:?}");
    }
    // The signature covers the exact bytes: re-serialised JSON is refused.
    let tampered = body.replace("MNPとは？", "MNPとは!");
    assert_eq!(l.post_raw(&tampered, Some(&good)).await.status(), 401);
    // Not even garbage JSON gets past the signature check to the parser.
    let (status, code, _) = error_code(l.post_raw("{not json", Some("x")).await).await;
    assert_eq!((status, code.as_str()), (401, "invalid_signature"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(l.fake.calls().is_empty());
    assert!(l.model.requests().is_empty());
    assert!(l.conversations_of("Ua").await.is_empty());
    assert!(l.app.state.store.line_claim_event("e1", 0).await.unwrap(), "the event id was not recorded");
}

#[tokio::test]
async fn bad_json_with_a_valid_signature_is_400_and_stores_nothing() {
    let l = start("答え", |_| {}).await;
    for body in ["{not json", r#"{"destination":"U1"}"#, r#"{"events":[{"timestamp":1}]}"#] {
        let sig = sign(SECRET.as_bytes(), body.as_bytes());
        let (status, code, _) = error_code(l.post_raw(body, Some(&sig)).await).await;
        assert_eq!((status, code.as_str()), (400, "bad_request"), "{body}");
    }
    // LINE's "verify" button sends an empty event list.
    let res = l.post(&[]).await;
    assert_eq!(res.status(), 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(l.fake.calls().is_empty());
}

#[tokio::test]
async fn a_text_message_is_answered_by_reply_with_loading_and_related_questions() {
    let l = start("MNP予約番号は携帯電話会社で発行できます。", |_| {}).await;
    let res = l.post(&[text_event("e1", "Uabc", "MNP予約番号とは何ですか")]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["accepted"], 1);
    let done = l.wait_delivered(1).await;
    assert_eq!(done[0].op, "reply");
    assert_eq!(done[0].body["replyToken"], "reply-e1");
    assert_eq!(texts(&done[0]), vec!["MNP予約番号は携帯電話会社で発行できます。"]);
    let items = done[0].body["messages"][0]["quickReply"]["items"].as_array().expect("quick replies");
    assert!(!items.is_empty());
    assert!(items.iter().all(|i| i["action"]["data"].as_str().unwrap().starts_with("faq:")));
    // The loading animation was shown to the user first.
    let loading = l.fake.delivered("loading");
    assert_eq!(loading.len(), 1);
    assert_eq!(loading[0].body["chatId"], "Uabc");
    // The model was grounded in the FAQ (the mnp-support assistant).
    let prompt = l.model.requests()[0].to_string();
    assert!(prompt.contains("予約番号"), "{prompt}");
    // One conversation, owned by the LINE identity; a second message continues it.
    assert_eq!(l.conversations_of("Uabc").await.len(), 1);
    l.post(&[text_event("e2", "Uabc", "有効期限は？")]).await;
    l.wait_delivered(2).await;
    assert_eq!(l.conversations_of("Uabc").await.len(), 1);
    let history = l.model.requests()[1]["messages"].to_string();
    assert!(history.contains("MNP予約番号とは何ですか"), "the second turn carries the first: {history}");

    // Choosing a quick reply asks that FAQ entry's question.
    let data = items[0]["action"]["data"].as_str().unwrap();
    let postback = json!({
        "type": "postback", "mode": "active", "timestamp": now_ms(),
        "source": {"type": "user", "userId": "Uabc"}, "webhookEventId": "e3",
        "deliveryContext": {"isRedelivery": false}, "replyToken": "reply-e3",
        "postback": {"data": data}
    });
    l.post(&[postback]).await;
    l.wait_delivered(3).await;
    let asked = l.model.requests()[2]["messages"].as_array().unwrap().last().unwrap()["content"].clone();
    let label = items[0]["action"]["displayText"].as_str().unwrap();
    assert_eq!(asked.as_str().unwrap(), label);
}

#[tokio::test]
async fn redeliveries_are_processed_once() {
    let l = start("答えです。", |_| {}).await;
    let ev = text_event("dup-1", "Ur", "MNPとは");
    assert_eq!(l.post(std::slice::from_ref(&ev)).await.json::<Value>().await.unwrap()["accepted"], 1);
    let mut again = ev.clone();
    again["deliveryContext"]["isRedelivery"] = json!(true);
    let res = l.post(&[again]).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap()["accepted"], 0);
    l.wait_delivered(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(l.model.requests().len(), 1);
    assert_eq!(l.fake.calls().iter().filter(|c| c.op != "loading").count(), 1);
}

#[tokio::test]
async fn an_expired_reply_token_falls_back_to_push_and_old_tokens_are_not_tried() {
    let l = start("プッシュで届く答え", |_| {}).await;
    l.fake.expire_reply_tokens();
    l.post(&[text_event("e1", "Up", "MNPとは")]).await;
    let done = l.wait_delivered(1).await;
    assert_eq!(done[0].op, "push");
    assert_eq!(done[0].body["to"], "Up");
    assert!(done[0].retry_key.as_deref().is_some_and(|k| k.len() == 36), "a UUID retry key");
    assert_eq!(texts(&done[0]), vec!["プッシュで届く答え"]);
    let replies: Vec<_> = l.fake.calls().into_iter().filter(|c| c.op == "reply").collect();
    assert_eq!(replies.len(), 1, "the reply was tried once");
    assert_eq!(replies[0].status, 400);

    // An event older than the token's life goes straight to push.
    let mut old = text_event("e2", "Up", "有効期限は");
    old["timestamp"] = json!(now_ms() - 120_000);
    l.post(&[old]).await;
    l.wait_delivered(2).await;
    assert_eq!(l.fake.calls().iter().filter(|c| c.op == "reply").count(), 1);
}

#[tokio::test]
async fn pushes_are_retried_with_one_retry_key_and_failures_are_recorded_for_admins() {
    let l = start("再送される答え", |_| {}).await;
    l.fake.expire_reply_tokens();
    l.fake.fail_pushes(&[429, 500, 503]);
    l.post(&[text_event("e1", "Uq", "MNPとは")]).await;
    let done = l.wait_delivered(1).await;
    assert_eq!(done[0].op, "push");
    let pushes: Vec<_> = l.fake.calls().into_iter().filter(|c| c.op == "push").collect();
    assert_eq!(pushes.iter().map(|c| c.status).collect::<Vec<_>>(), vec![429, 500, 503, 200]);
    let key = pushes[0].retry_key.clone().unwrap();
    assert!(pushes.iter().all(|c| c.retry_key.as_deref() == Some(key.as_str())));

    // Five failures in a row exhaust the retries: recorded, visible to operators only.
    l.fake.fail_pushes(&[500; 5]);
    l.post(&[text_event("e2", "Uq", "有効期限は")]).await;
    let mut failures = Value::Null;
    for _ in 0..400 {
        failures = l
            .app
            .client
            .get(l.app.url("/api/admin/line/failures"))
            .bearer_auth(OPERATOR_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !failures["items"].as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let item = &failures["items"][0];
    assert_eq!(item["chat_id"], "Uq");
    assert_eq!(item["operation"], "push");
    assert_eq!(item["status"], 500);
    assert!(!item.to_string().contains("有効期限"), "no message text in the failure record");
    let guest = l.app.session().await;
    assert_eq!(l.app.get_auth("/api/admin/line/failures", &guest).await.status(), 403);
    assert_eq!(l.app.get("/api/admin/line/failures").await.status(), 401);
}

#[tokio::test]
async fn long_answers_are_split_to_line_limits() {
    let paragraph = format!("{}。\n\n", "番号ポータビリティの説明".repeat(40));
    let answer = paragraph.repeat(40); // ~19,000 characters
    let l = start(&answer, |_| {}).await;
    l.post(&[text_event("e1", "Ul", "MNPの予約番号について詳しく教えて")]).await;
    let done = l.wait_delivered(1).await;
    let parts = texts(&done[0]);
    assert!(parts.len() >= 4 && parts.len() <= 5, "{}", parts.len());
    assert!(parts.iter().all(|p| p.chars().count() <= 5000));
    let joined: String = parts.concat().chars().filter(|c| !c.is_whitespace()).collect();
    let expected: String = answer.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(joined, expected);
}

#[tokio::test]
async fn follow_unfollow_and_non_text_messages() {
    let l = start("答え", |_| {}).await;
    let follow = json!({"type": "follow", "mode": "active", "timestamp": now_ms(), "webhookEventId": "f1",
        "source": {"type": "user", "userId": "Uf"}, "replyToken": "reply-f1", "deliveryContext": {"isRedelivery": false}});
    l.post(&[follow]).await;
    let done = l.wait_delivered(1).await;
    assert_eq!(texts(&done[0]), vec!["ようこそ"]);

    let sticker = json!({"type": "message", "mode": "active", "timestamp": now_ms(), "webhookEventId": "s1",
        "source": {"type": "user", "userId": "Uf"}, "replyToken": "reply-s1", "deliveryContext": {"isRedelivery": false},
        "message": {"id": "1", "type": "sticker", "packageId": "1", "stickerId": "1"}});
    l.post(&[sticker]).await;
    let done = l.wait_delivered(2).await;
    assert!(texts(&done[1])[0].contains("テキストメッセージのみ"));
    assert!(l.model.requests().is_empty());

    l.post(&[text_event("t1", "Uf", "MNPとは")]).await;
    l.wait_delivered(3).await;
    let unfollow = json!({"type": "unfollow", "mode": "active", "timestamp": now_ms(), "webhookEventId": "u1",
        "source": {"type": "user", "userId": "Uf"}, "deliveryContext": {"isRedelivery": false}});
    l.post(&[unfollow]).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    l.post(&[text_event("t2", "Uf", "MNPとは")]).await;
    l.wait_delivered(4).await;
    assert_eq!(l.conversations_of("Uf").await.len(), 2, "a new conversation after unfollow");
}

#[tokio::test]
async fn a_burst_of_200_events_is_acknowledged_before_any_answer_and_all_are_answered() {
    let l = start("バーストへの答え", |c| c.llm.first_token_timeout = Duration::from_secs(60)).await;
    l.model.pause();
    let mut acks = Vec::new();
    for batch in 0..20 {
        let posts = (0..10).map(|i| {
            let n = batch * 10 + i;
            let ev = text_event(&format!("burst-{n}"), &format!("U{n:03}"), "MNPとは何ですか");
            let l = &l;
            async move { l.post(&[ev]).await.status().as_u16() }
        });
        acks.extend(futures::future::join_all(posts).await);
    }
    assert_eq!(acks, vec![200; 200]);
    // Every webhook was acknowledged while the model had not answered anything.
    assert!(l.fake.calls().iter().all(|c| c.op == "loading"), "an answer went out before the acks");
    l.model.resume();
    let done = l.wait_delivered(200).await;
    assert!(done.iter().all(|c| texts(c) == vec!["バーストへの答え"]));
    let mut users: Vec<&str> = done.iter().filter_map(|c| c.body["replyToken"].as_str()).collect();
    users.sort();
    users.dedup();
    assert_eq!(users.len(), 200);
}

#[tokio::test]
async fn without_line_settings_the_webhook_is_404() {
    let app = TestApp::spawn().await;
    let res = app.client.post(app.url("/api/line/webhook")).body("{}").send().await.unwrap();
    let (status, code, _) = error_code(res).await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
}

#[tokio::test]
async fn masking_applies_on_line_as_on_the_web() {
    let fake = FakeLine::start(TOKEN).await;
    let model = FakeOpenAi::start_with(Behavior::Echo { prefix: "承りました: ".into() }).await;
    let line = line_config(&fake);
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[&model]);
        c.line = Some(line);
    })
    .await;
    let l = Line { app, fake, model };
    let text = "090-1234-5678 の予約番号 1234567890 について";
    l.post(&[text_event("pii-1", "Upii", text)]).await;
    let done = l.wait_delivered(1).await;
    assert_eq!(texts(&done[0]), vec![format!("承りました: {text}")], "the LINE user reads their own data");
    let sent = l.model.requests()[0].to_string();
    assert!(!sent.contains("090-1234-5678") && !sent.contains("1234567890"), "{sent}");
    assert!(sent.contains("[電話番号1]") && sent.contains("[予約番号1]"), "{sent}");
}
