//! Chat turns end to end against the fake OpenAI server.

use crate::helpers::{error_code, text_of, use_fakes, SseReader, TestApp};
use serde_json::json;
use std::time::Duration;
use tenmon_test_support::{Behavior, FakeOpenAi};

const ANSWER: &str =
    "MNP予約番号は、現在の携帯電話会社で発行される10桁の番号です。有効期限は発行日を含めて15日間です。";

async fn app_with(fake: &FakeOpenAi) -> TestApp {
    TestApp::spawn_with(|c| use_fakes(c, &[fake])).await
}

fn ids(events: &[crate::helpers::SseEvent]) -> Vec<i64> {
    events.iter().map(|e| e.id.as_deref().unwrap().parse().unwrap()).collect()
}

#[tokio::test]
async fn stream_sends_meta_deltas_done_in_order_and_stores_the_answer() {
    let fake = FakeOpenAi::start_with(Behavior::reply(ANSWER)).await;
    let app = app_with(&fake).await;
    let token = app.session().await;
    let events = app.stream(&token, json!({"message": "予約番号って何？"})).await.collect().await;

    assert_eq!(events.first().unwrap().event, "meta");
    assert_eq!(events.last().unwrap().event, "done");
    assert!(events[1..events.len() - 1].iter().all(|e| e.event == "delta"), "{events:?}");
    let seqs = ids(&events);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "ids strictly increase: {seqs:?}");
    assert_eq!(text_of(&events), ANSWER);
    let done = &events.last().unwrap().data;
    assert_eq!(done["status"], "complete");
    assert_eq!(done["finish_reason"], "stop");
    assert_eq!(done["usage"]["prompt_tokens"], 12, "usage comes from the upstream's usage chunk");
    assert_eq!(done["model"], "fake-model-0");

    let meta = &events[0].data;
    let conv = meta["conversation_id"].as_str().unwrap();
    let stored = app.wait_final(&token, conv, meta["message_id"].as_str().unwrap()).await;
    assert_eq!(stored["content"], ANSWER);
    assert_eq!(stored["status"], "complete");
    assert!(stored["latency_ms"].as_u64().is_some());
    // Deltas were coalesced: fewer writes than upstream chunks.
    let chunks = ANSWER.chars().count().div_ceil(3);
    let deltas = events.iter().filter(|e| e.event == "delta").count();
    assert!(deltas <= chunks, "{deltas} delta events for {chunks} chunks");

    // The upstream got the system prompt and the question, with our key.
    let req = &fake.requests()[0];
    assert_eq!(req["messages"][0]["role"], "system");
    assert_eq!(req["messages"].as_array().unwrap().last().unwrap()["content"], "予約番号って何？");
    assert_eq!(req["stream"], true);
    assert_eq!(fake.authorizations()[0].as_deref(), Some("Bearer sk-test-key-0123456789"));
    app.stop().await;
}

#[tokio::test]
async fn json_chat_answers_and_the_conversation_is_listed() {
    let fake = FakeOpenAi::start_with(Behavior::reply(ANSWER)).await;
    let app = app_with(&fake).await;
    let token = app.session().await;
    let res = app
        .post_json("/api/chat", &token, json!({"message": "MNPの予約番号について教えて", "assistant": "mnp-support"}))
        .await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["answer"], ANSWER);
    assert_eq!(body["status"], "complete");
    assert_eq!(body["assistant"], "mnp-support");
    assert!(body["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    assert_eq!(body["sources"][0]["id"], "mnp-010", "grounded on the FAQ: {}", body["sources"]);

    // A second turn in the same conversation sends the history.
    let conv = body["conversation_id"].as_str().unwrap();
    let res = app.post_json("/api/chat", &token, json!({"conversation_id": conv, "message": "有効期限は？"})).await;
    assert_eq!(res.status(), 200);
    let sent = &fake.requests()[1]["messages"];
    assert_eq!(sent.as_array().unwrap().len(), 4, "system, q1, a1, q2: {sent}");
    assert_eq!(sent[2]["content"], ANSWER);

    let list: serde_json::Value = app.get_auth("/api/conversations", &token).await.json().await.unwrap();
    assert_eq!(list["conversations"][0]["id"], conv);
    assert_eq!(list["conversations"][0]["title"], "MNPの予約番号について教えて");
    assert_eq!(list["conversations"][0]["assistant"], "mnp-support");
    let msgs: serde_json::Value =
        app.get_auth(&format!("/api/conversations/{conv}/messages"), &token).await.json().await.unwrap();
    assert_eq!(msgs["messages"].as_array().unwrap().len(), 4);
    app.stop().await;
}

#[tokio::test]
async fn the_answer_is_stored_complete_after_the_client_disconnects() {
    let fake = FakeOpenAi::start_with(Behavior::slow_reply(ANSWER, Duration::from_millis(20))).await;
    let app = app_with(&fake).await;
    let token = app.session().await;
    let mut sse = app.stream(&token, json!({"message": "q"})).await;
    let meta = sse.next().await.unwrap();
    let first = sse.next().await.unwrap();
    assert_eq!(first.event, "delta");
    drop(sse); // the browser tab closes
    let stored = app
        .wait_final(&token, meta.data["conversation_id"].as_str().unwrap(), meta.data["message_id"].as_str().unwrap())
        .await;
    assert_eq!(stored["status"], "complete");
    assert_eq!(stored["content"], ANSWER);
    app.stop().await;
}

#[tokio::test]
async fn resume_mid_turn_and_after_it_ended_without_gap_or_duplicate() {
    let fake = FakeOpenAi::start_with(Behavior::slow_reply(ANSWER, Duration::from_millis(25))).await;
    let app = app_with(&fake).await;
    let token = app.session().await;
    let mut sse = app.stream(&token, json!({"message": "q"})).await;
    let meta = sse.next().await.unwrap();
    let mut seen = vec![meta.clone()];
    for _ in 0..2 {
        seen.push(sse.next().await.unwrap());
    }
    drop(sse);
    let message_id = meta.data["message_id"].as_str().unwrap();
    let last_id = seen.last().unwrap().id.clone().unwrap();

    // Mid-turn: the rest, in order.
    let res = app
        .client
        .get(app.url(&format!("/api/chat/stream/{message_id}")))
        .bearer_auth(&token)
        .header("last-event-id", &last_id)
        .send()
        .await
        .unwrap();
    let rest = SseReader::new(res).collect().await;
    assert!(rest.iter().all(|e| e.event != "meta"), "meta was already seen");
    assert!(rest.first().unwrap().id.as_deref().unwrap().parse::<i64>().unwrap() > last_id.parse::<i64>().unwrap());
    let mut all = seen.clone();
    all.extend(rest.clone());
    assert_eq!(text_of(&all), ANSWER, "no gap, no duplicate");
    assert_eq!(all.last().unwrap().event, "done");

    // After the end: a full replay from the start, and nothing after the last id.
    let res = app.get_auth(&format!("/api/chat/stream/{message_id}"), &token).await;
    let replay = SseReader::new(res).collect().await;
    assert_eq!(replay[0].event, "meta");
    assert_eq!(text_of(&replay), ANSWER);
    assert_eq!(ids(&replay[1..]), ids(&all[1..]), "the same ids every time");
    let done_id = all.last().unwrap().id.clone().unwrap();
    let res = app
        .client
        .get(app.url(&format!("/api/chat/stream/{message_id}")))
        .bearer_auth(&token)
        .header("last-event-id", done_id)
        .send()
        .await
        .unwrap();
    let after_end = tokio::time::timeout(Duration::from_secs(5), SseReader::new(res).collect()).await;
    assert!(after_end.expect("a finished turn's stream ends at once").is_empty());
    app.stop().await;
}

#[tokio::test]
async fn retries_429_and_500_before_the_first_token() {
    let fake = FakeOpenAi::start_with(Behavior::reply(ANSWER)).await;
    fake.script([
        Behavior::status(500),
        Behavior::Status { status: 429, retry_after: Some(0), code: "rate_limit_exceeded" },
    ]);
    let app = app_with(&fake).await;
    let token = app.session().await;
    let res = app.post_json("/api/chat", &token, json!({"message": "q"})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["answer"], ANSWER);
    assert_eq!(fake.requests().len(), 3);
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("chat_upstream_retries_total 2"), "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn falls_back_to_the_second_upstream() {
    let down = FakeOpenAi::start_with(Behavior::status(503)).await;
    let backup = FakeOpenAi::start_with(Behavior::reply("バックアップからの回答です。")).await;
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[&down, &backup]);
        c.llm.max_retries = 1;
    })
    .await;
    let token = app.session().await;
    let body: serde_json::Value =
        app.post_json("/api/chat", &token, json!({"message": "q"})).await.json().await.unwrap();
    assert_eq!(body["answer"], "バックアップからの回答です。");
    assert_eq!(body["model"], "fake-model-1", "the fallback's own model");
    assert_eq!(down.requests().len(), 2, "one try and one retry on the first upstream");
    assert_eq!(backup.requests()[0]["model"], "fake-model-1");
    app.stop().await;
}

#[tokio::test]
async fn a_redirecting_upstream_is_not_followed_but_falls_back() {
    // The redirect points at a server that would answer: following it would replay
    // the request, key and all, to wherever a misconfigured base URL leads.
    let elsewhere = FakeOpenAi::start_with(Behavior::reply("よそからの回答です。")).await;
    let moved =
        FakeOpenAi::start_with(Behavior::Redirect { location: format!("{}/chat/completions", elsewhere.base_url()) })
            .await;
    let backup = FakeOpenAi::start_with(Behavior::reply("バックアップからの回答です。")).await;
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[&moved, &backup]);
        c.llm.max_retries = 2;
    })
    .await;
    let token = app.session().await;
    let body: serde_json::Value =
        app.post_json("/api/chat", &token, json!({"message": "q"})).await.json().await.unwrap();
    assert_eq!(body["answer"], "バックアップからの回答です。", "{body}");
    assert_eq!(moved.requests().len(), 1, "a redirect is not retried");
    assert!(elsewhere.requests().is_empty(), "nor followed");
    app.stop().await;
}

#[tokio::test]
async fn first_token_timeout_gives_an_error_event_and_a_failed_turn() {
    let fake = FakeOpenAi::start_with(Behavior::Hang).await;
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[&fake]);
        c.llm.first_token_timeout = Duration::from_millis(300);
    })
    .await;
    let token = app.session().await;
    let events = app.stream(&token, json!({"message": "q"})).await.collect().await;
    let last = events.last().unwrap();
    assert_eq!(last.event, "error");
    assert_eq!(last.data["code"], "upstream_timeout");
    let meta = &events[0].data;
    let stored =
        app.wait_final(&token, meta["conversation_id"].as_str().unwrap(), meta["message_id"].as_str().unwrap()).await;
    assert_eq!(stored["status"], "failed");
    let (status, code, _) = error_code(app.post_json("/api/chat", &token, json!({"message": "q"})).await).await;
    assert_eq!((status, code.as_str()), (504, "upstream_timeout"));
    app.stop().await;
}

#[tokio::test]
async fn upstream_errors_are_mapped_and_never_leak_the_key_or_body() {
    let fake = FakeOpenAi::start_with(Behavior::status(401)).await;
    let app = app_with(&fake).await;
    let token = app.session().await;
    let res = app.post_json("/api/chat", &token, json!({"message": "q"})).await;
    let (status, code, body) = error_code(res).await;
    assert_eq!((status, code.as_str()), (502, "upstream_unavailable"));
    let text = body.to_string();
    assert!(!text.contains("secret upstream detail") && !text.contains("sk-test-key"), "{text}");
    assert_eq!(fake.requests().len(), 1, "a refused key is not retried");

    fake.set_default(Behavior::status(400));
    let (status, code, _) = error_code(app.post_json("/api/chat", &token, json!({"message": "q"})).await).await;
    assert_eq!((status, code.as_str()), (422, "context_too_long"));
    app.stop().await;
}

#[tokio::test]
async fn a_cut_stream_keeps_the_partial_answer_as_failed() {
    let fake = FakeOpenAi::start_with(Behavior::Cut {
        chunks: vec!["前半".into(), "の回答".into()],
        delay: Duration::from_millis(10),
    })
    .await;
    let app = app_with(&fake).await;
    let token = app.session().await;
    let events = app.stream(&token, json!({"message": "q"})).await.collect().await;
    assert_eq!(events.last().unwrap().event, "error", "{events:?}");
    assert_eq!(events.last().unwrap().data["code"], "upstream_unavailable");
    let meta = &events[0].data;
    let stored =
        app.wait_final(&token, meta["conversation_id"].as_str().unwrap(), meta["message_id"].as_str().unwrap()).await;
    assert_eq!(stored["status"], "failed");
    assert_eq!(stored["content"], "前半の回答");
    app.stop().await;
}

#[tokio::test]
async fn cancel_stops_the_turn_and_keeps_the_partial_answer() {
    let long = "あいうえお".repeat(40);
    let fake = FakeOpenAi::start_with(Behavior::slow_reply(&long, Duration::from_millis(30))).await;
    let app = app_with(&fake).await;
    let token = app.session().await;
    let mut sse = app.stream(&token, json!({"message": "q"})).await;
    let meta = sse.next().await.unwrap();
    sse.next().await.unwrap();
    let message_id = meta.data["message_id"].as_str().unwrap();
    let res = app.post_json(&format!("/api/chat/{message_id}/cancel"), &token, json!({})).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["status"], "cancelled");
    let rest = sse.collect().await;
    let done = rest.last().unwrap();
    assert_eq!((done.event.as_str(), done.data["status"].as_str()), ("done", Some("cancelled")));
    let stored = app.wait_final(&token, meta.data["conversation_id"].as_str().unwrap(), message_id).await;
    let content = stored["content"].as_str().unwrap();
    assert_eq!(stored["status"], "cancelled");
    assert!(!content.is_empty() && content.len() < long.len() && long.starts_with(content), "{content}");
    // Cancelling again is harmless.
    let again: serde_json::Value =
        app.post_json(&format!("/api/chat/{message_id}/cancel"), &token, json!({})).await.json().await.unwrap();
    assert_eq!(again["status"], "cancelled");
    app.stop().await;
}

#[tokio::test]
async fn history_is_cut_to_the_token_budget_oldest_first() {
    let fake = FakeOpenAi::start_with(Behavior::reply("了解しました。")).await;
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[&fake]);
        c.chat.history_token_budget = 700;
    })
    .await;
    let token = app.session().await;
    let first = format!("最初の質問{}", "あ".repeat(300));
    let body: serde_json::Value =
        app.post_json("/api/chat", &token, json!({"message": first})).await.json().await.unwrap();
    let conv = body["conversation_id"].as_str().unwrap();
    for q in [format!("二番目{}", "い".repeat(300)), "三番目の質問".to_string()] {
        let res = app.post_json("/api/chat", &token, json!({"conversation_id": conv, "message": q})).await;
        assert_eq!(res.status(), 200);
    }
    let last = &fake.requests()[2]["messages"];
    let contents: Vec<&str> = last.as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(last[0]["role"], "system", "the system prompt is kept");
    assert_eq!(*contents.last().unwrap(), "三番目の質問");
    assert!(!contents.iter().any(|c| c.starts_with("最初の質問")), "the oldest turn was dropped: {contents:?}");
    app.stop().await;
}

#[tokio::test]
async fn another_caller_cannot_see_or_touch_a_conversation() {
    let fake = FakeOpenAi::start_with(Behavior::reply(ANSWER)).await;
    let app = app_with(&fake).await;
    let (alice, mallory) = (app.session().await, app.session().await);
    let body: serde_json::Value =
        app.post_json("/api/chat", &alice, json!({"message": "秘密の相談"})).await.json().await.unwrap();
    let conv = body["conversation_id"].as_str().unwrap();
    let msg = body["message_id"].as_str().unwrap();

    for (method, path) in [
        ("GET", format!("/api/conversations/{conv}")),
        ("GET", format!("/api/conversations/{conv}/messages")),
        ("PATCH", format!("/api/conversations/{conv}")),
        ("DELETE", format!("/api/conversations/{conv}")),
        ("GET", format!("/api/chat/stream/{msg}")),
        ("POST", format!("/api/chat/{msg}/cancel")),
    ] {
        let req = app.client.request(method.parse().unwrap(), app.url(&path)).bearer_auth(&mallory);
        let req = if method == "PATCH" { req.json(&json!({"title": "pwned"})) } else { req };
        let (status, code, _) = error_code(req.send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), (404, "not_found"), "{method} {path}");
    }
    // Continuing someone else's conversation is a 404 too, and nothing was appended.
    let res = app.post_json("/api/chat", &mallory, json!({"conversation_id": conv, "message": "x"})).await;
    assert_eq!(res.status(), 404);
    let list: serde_json::Value = app.get_auth("/api/conversations", &mallory).await.json().await.unwrap();
    assert_eq!(list["conversations"], json!([]));
    let msgs: serde_json::Value =
        app.get_auth(&format!("/api/conversations/{conv}/messages"), &alice).await.json().await.unwrap();
    assert_eq!(msgs["messages"].as_array().unwrap().len(), 2);
    // Without any session: 401.
    let (status, code, _) = error_code(app.get(&format!("/api/conversations/{conv}")).await).await;
    assert_eq!((status, code.as_str()), (401, "unauthorized"));
    app.stop().await;
}

#[tokio::test]
async fn rename_delete_and_paginate() {
    let fake = FakeOpenAi::start().await;
    let app = app_with(&fake).await;
    let token = app.session().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let body: serde_json::Value =
            app.post_json("/api/chat", &token, json!({"message": format!("質問{i}")})).await.json().await.unwrap();
        ids.push(body["conversation_id"].as_str().unwrap().to_string());
    }
    let page1: serde_json::Value = app.get_auth("/api/conversations?limit=2", &token).await.json().await.unwrap();
    assert_eq!(page1["conversations"].as_array().unwrap().len(), 2);
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2: serde_json::Value =
        app.get_auth(&format!("/api/conversations?limit=10&cursor={cursor}"), &token).await.json().await.unwrap();
    assert_eq!(page2["conversations"].as_array().unwrap().len(), 3);
    assert!(page2["next_cursor"].is_null());
    let mut seen: Vec<String> = page1["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .chain(page2["conversations"].as_array().unwrap())
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);

    let res = app
        .client
        .patch(app.url(&format!("/api/conversations/{}", ids[0])))
        .bearer_auth(&token)
        .json(&json!({"title": "  乗り換えの相談  "}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["title"], "乗り換えの相談");
    let res = app
        .client
        .patch(app.url(&format!("/api/conversations/{}", ids[0])))
        .bearer_auth(&token)
        .json(&json!({"title": ""}))
        .send()
        .await
        .unwrap();
    let (status, code, body) = error_code(res).await;
    assert_eq!((status, code.as_str(), body["error"]["field"].as_str()), (422, "validation_failed", Some("title")));
    let res =
        app.client.delete(app.url(&format!("/api/conversations/{}", ids[1]))).bearer_auth(&token).send().await.unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(app.get_auth(&format!("/api/conversations/{}", ids[1]), &token).await.status(), 404);
    let (status, _, _) = error_code(app.get_auth("/api/conversations?cursor=garbage!", &token).await).await;
    assert_eq!(status, 422);
    app.stop().await;
}

#[tokio::test]
async fn bad_chat_requests_get_clear_errors() {
    let fake = FakeOpenAi::start().await;
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[&fake]);
        c.server.body_limit = 8192;
    })
    .await;
    let token = app.session().await;
    let url = app.url("/api/chat");
    let cases: Vec<(reqwest::RequestBuilder, u16, &str, Option<&str>)> = vec![
        (
            app.client.post(&url).bearer_auth(&token).header("content-type", "text/plain").body("hi"),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            app.client.post(&url).bearer_auth(&token).header("content-type", "application/json").body("{\"message\": "),
            400,
            "invalid_json",
            None,
        ),
        (app.client.post(&url).bearer_auth(&token).json(&json!({"msg": "hi"})), 422, "validation_failed", None),
        (app.client.post(&url).bearer_auth(&token).json(&json!({})), 422, "validation_failed", Some("message")),
        (
            app.client.post(&url).bearer_auth(&token).json(&json!({"message": 42})),
            422,
            "validation_failed",
            Some("message"),
        ),
        (
            app.client.post(&url).bearer_auth(&token).json(&json!({"message": "   "})),
            422,
            "validation_failed",
            Some("message"),
        ),
        (
            app.client.post(&url).bearer_auth(&token).json(&json!({"message": "hi", "assistant": "nope"})),
            422,
            "validation_failed",
            Some("assistant"),
        ),
        (
            app.client.post(&url).bearer_auth(&token).json(&json!({"message": "x".repeat(20_000)})),
            413,
            "payload_too_large",
            None,
        ),
        (app.client.post(&url).json(&json!({"message": "hi"})), 401, "unauthorized", None),
        (app.client.post(&url).bearer_auth("tks_forged").json(&json!({"message": "hi"})), 401, "unauthorized", None),
    ];
    for (req, want_status, want_code, want_field) in cases {
        let (status, code, body) = error_code(req.send().await.unwrap()).await;
        assert_eq!((status, code.as_str()), (want_status, want_code), "{body}");
        if let Some(f) = want_field {
            assert_eq!(body["error"]["field"], f, "{body}");
        }
    }
    assert!(fake.requests().is_empty(), "nothing reached the model");
    app.stop().await;
}

#[tokio::test]
async fn session_cookie_works_like_the_token() {
    let fake = FakeOpenAi::start().await;
    let app = app_with(&fake).await;
    let res = app.client.post(app.url("/api/session")).send().await.unwrap();
    let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && cookie.contains("Path=/"), "{cookie}");
    let pair = cookie.split(';').next().unwrap().to_string();
    let me = app.client.get(app.url("/api/session")).header("cookie", &pair).send().await.unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(me.json::<serde_json::Value>().await.unwrap()["kind"], "guest");
    app.stop().await;
}

#[tokio::test]
async fn a_client_gone_while_its_message_is_stored_leaves_no_turn_unfinished() {
    let fake = FakeOpenAi::start_with(Behavior::reply(ANSWER)).await;
    let app = app_with(&fake).await;
    let token = app.session().await;
    // Requests dropped at moments spread over their first milliseconds: some while
    // the user's message and the `streaming` answer are being stored.
    for i in 0..160u64 {
        let send =
            app.client.post(app.url("/api/chat/stream")).bearer_auth(&token).json(&json!({"message": "q"})).send();
        let _ = tokio::time::timeout(Duration::from_micros(40 * (i % 50)), send).await;
    }
    // Every answer that was stored is finished by its turn, none left `streaming`.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let left = app.state.store.streaming_messages().await.unwrap();
        if left.is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{} answers left streaming", left.len());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let conversations =
        app.get_auth("/api/conversations?limit=100", &token).await.json::<serde_json::Value>().await.unwrap();
    assert!(!conversations["conversations"].as_array().map(Vec::is_empty).unwrap_or(true), "some turns were stored");
    app.stop().await;
}

/// A JSON turn that outlasts the request's time answers 202 with where to read the
/// rest, never a 408 that would make the client send its message again.
#[tokio::test]
async fn a_json_turn_longer_than_the_request_time_answers_202_with_its_stream() {
    let fake = FakeOpenAi::start_with(Behavior::slow_reply(ANSWER, Duration::from_millis(100))).await;
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[&fake]);
        c.server.request_timeout = Duration::from_secs(1);
    })
    .await;
    let token = app.session().await;
    let res = app.post_json("/api/chat", &token, json!({"message": "予約番号の有効期限は？"})).await;
    assert_eq!(res.status(), 202);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "running");
    let message_id = body["message_id"].as_str().unwrap();
    assert_eq!(body["stream_url"], format!("/api/chat/stream/{message_id}"));
    assert_eq!(location, body["stream_url"]);

    // The rest, from the stream; the turn was asked for once.
    let events = SseReader::new(app.get_auth(&location, &token).await).collect().await;
    assert_eq!(events.last().unwrap().event, "done", "{events:?}");
    assert_eq!(text_of(&events), ANSWER);
    assert_eq!(fake.requests().len(), 1);
    let conversation = body["conversation_id"].as_str().unwrap();
    let res = app.get_auth(&format!("/api/conversations/{conversation}/messages"), &token).await;
    let listed: serde_json::Value = res.json().await.unwrap();
    let messages = listed["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2, "{listed}");
    assert_eq!(messages[1]["content"], ANSWER);

    // Another caller cannot read it by its id.
    let other = app.session().await;
    assert_eq!(app.get_auth(&location, &other).await.status(), 404);
    app.stop().await;
}
