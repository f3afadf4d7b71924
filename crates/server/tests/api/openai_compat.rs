//! `/v1/*` in the OpenAI wire format, and `/api/concierge`.

use crate::helpers::{error_code, use_fakes, SseReader, TestApp};
use serde_json::json;
use std::time::Duration;
use tenmon_test_support::{Behavior, FakeOpenAi};

const KEY: &str = "op-key-0123456789abcdef";

async fn app(fake: &FakeOpenAi) -> TestApp {
    TestApp::spawn_with(|c| {
        use_fakes(c, &[fake]);
        c.chat.api_key_hashes = vec![tenmon_ark::auth::hash_token(KEY)];
    })
    .await
}

#[tokio::test]
async fn models_are_the_assistants() {
    let fake = FakeOpenAi::start().await;
    let app = app(&fake).await;
    let res = app.get_auth("/v1/models", KEY).await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["object"], "list");
    let ids: Vec<&str> = body["data"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["default", "concierge", "mnp-support"]);
    let (status, _, _) = error_code(app.get("/v1/models").await).await;
    assert_eq!(status, 401);
    let (status, _, _) = error_code(app.get_auth("/v1/models", "op-key-wrong-000000000").await).await;
    assert_eq!(status, 401);
    app.stop().await;
}

#[tokio::test]
async fn non_streamed_completion_has_the_openai_shape() {
    let fake = FakeOpenAi::start_with(Behavior::reply("はい、できます。")).await;
    let app = app(&fake).await;
    let res = app
        .post_json(
            "/v1/chat/completions",
            KEY,
            json!({"model": "mnp-support", "messages": [{"role": "user", "content": "格安SIMでも番号そのまま？"}]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["object"], "chat.completion");
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(body["model"], "mnp-support");
    assert_eq!(body["choices"][0]["message"]["role"], "assistant");
    assert_eq!(body["choices"][0]["message"]["content"], "はい、できます。");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        body["usage"]["total_tokens"],
        body["usage"]["prompt_tokens"].as_u64().unwrap() + body["usage"]["completion_tokens"].as_u64().unwrap()
    );
    // The assistant's system prompt went first; the client's message after it.
    let sent = &fake.requests()[0]["messages"];
    assert_eq!(sent[0]["role"], "system");
    assert!(sent[0]["content"].as_str().unwrap().contains("MNP"));
    assert_eq!(sent[1]["content"], "格安SIMでも番号そのまま？");
    // Asked whole, the upstream is asked whole: its usage is passed on as it said.
    assert_eq!(fake.requests()[0]["stream"], false);
    assert_eq!(body["usage"]["prompt_tokens"], 12);
    app.stop().await;
}

#[tokio::test]
async fn non_streamed_completions_retry_fall_back_and_time_out() {
    let first = FakeOpenAi::start_with(Behavior::reply("一番目")).await;
    let second = FakeOpenAi::start_with(Behavior::reply("二番目です")).await;
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[&first, &second]);
        c.chat.api_key_hashes = vec![tenmon_ark::auth::hash_token(KEY)];
        c.llm.completion_timeout = Duration::from_millis(500);
    })
    .await;
    let ask = || {
        app.post_json(
            "/v1/chat/completions",
            KEY,
            json!({"model": "default", "messages": [{"role": "user", "content": "質問"}]}),
        )
    };
    // A 429 then a 500 are retried on the same upstream.
    first.script([
        Behavior::Status { status: 429, retry_after: Some(0), code: "rate_limit_exceeded" },
        Behavior::status(500),
    ]);
    let body: serde_json::Value = ask().await.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "一番目", "{body}");
    assert_eq!(first.requests().len(), 3);
    // Still failing after the retries: the next upstream answers.
    first.script([Behavior::status(503), Behavior::status(503), Behavior::status(503)]);
    let body: serde_json::Value = ask().await.json().await.unwrap();
    assert_eq!(body["choices"][0]["message"]["content"], "二番目です", "{body}");
    assert_eq!(second.requests().last().unwrap()["stream"], false);
    // An upstream that never finishes its answer: 504, not a hang. A timeout is not
    // retried elsewhere (as with a stream's first token): the second is not asked.
    first.set_default(Behavior::Hang);
    let asked_second = second.requests().len();
    let (status, code, _) = error_code(ask().await).await;
    assert_eq!((status, code.as_str()), (504, "upstream_timeout"));
    assert_eq!(second.requests().len(), asked_second);
    // Refused credentials are not the client's fault, and the body never leaks.
    first.set_default(Behavior::status(401));
    second.set_default(Behavior::status(500));
    let res = ask().await;
    assert_eq!(res.status(), 502);
    let text = res.text().await.unwrap();
    assert!(text.contains("upstream_unavailable") && !text.contains("secret upstream detail"), "{text}");

    // Counted like chat turns: 2 retries (429, 500), 2 (503s, then the fallback), none
    // for the timeout, 2 on the second upstream (500s) after the first refused the key.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains("\nchat_upstream_retries_total 6\n"), "{metrics}");
    assert!(metrics.contains("\nchat_upstream_errors_total{kind=\"timeout\"} 1\n"), "{metrics}");
    assert!(metrics.contains("\nchat_upstream_errors_total{kind=\"unavailable\"} 1\n"), "{metrics}");
    let out = metrics.lines().find_map(|l| l.strip_prefix("chat_tokens_total{direction=\"out\"} "));
    assert!(out.and_then(|n| n.parse::<u64>().ok()).is_some_and(|n| n > 0), "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn streamed_completion_ends_with_usage_and_done() {
    let fake = FakeOpenAi::start_with(Behavior::reply("番号はそのまま使えます。")).await;
    let app = app(&fake).await;
    let res = app
        .post_json(
            "/v1/chat/completions",
            KEY,
            json!({"model": "default", "stream": true, "stream_options": {"include_usage": true},
                   "messages": [{"role": "user", "content": [{"type": "text", "text": "こんにちは"}]}]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let raw = res.text().await.unwrap();
    let datas: Vec<&str> = raw.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    assert_eq!(*datas.last().unwrap(), "[DONE]", "{raw}");
    let chunks: Vec<serde_json::Value> =
        datas[..datas.len() - 1].iter().map(|d| serde_json::from_str(d).unwrap()).collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(text, "番号はそのまま使えます。");
    let finish = chunks.iter().find(|c| c["choices"][0]["finish_reason"] == "stop").unwrap();
    assert_eq!(finish["object"], "chat.completion.chunk");
    let usage = chunks.last().unwrap();
    assert_eq!(usage["choices"], json!([]));
    let completion_tokens = usage["usage"]["completion_tokens"].as_u64().unwrap();
    assert!(completion_tokens > 0);
    // The tokens are counted as a chat turn's are.
    let metrics = app.get("/metrics").await.text().await.unwrap();
    let line = format!("\nchat_tokens_total{{direction=\"out\"}} {completion_tokens}\n");
    assert!(metrics.contains(&line), "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn unknown_model_and_bad_messages_are_clear_errors() {
    let fake = FakeOpenAi::start().await;
    let app = app(&fake).await;
    let (status, code, _) = error_code(
        app.post_json(
            "/v1/chat/completions",
            KEY,
            json!({"model": "gpt-9", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await,
    )
    .await;
    assert_eq!((status, code.as_str()), (404, "not_found"));
    let (status, _, body) =
        error_code(app.post_json("/v1/chat/completions", KEY, json!({"model": "default", "messages": []})).await).await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("messages")));
    let (status, _, body) = error_code(
        app.post_json(
            "/v1/chat/completions",
            KEY,
            json!({"model": "default", "messages": [{"role": "tool", "content": "x"}]}),
        )
        .await,
    )
    .await;
    assert_eq!((status, body["error"]["field"].as_str()), (422, Some("messages[0].role")));
    for content in [json!(5), json!({"text": "x"}), json!([{"type": "text", "text": 5}])] {
        let (status, _, body) = error_code(
            app.post_json(
                "/v1/chat/completions",
                KEY,
                json!({"model": "default", "messages": [{"role": "user", "content": content}]}),
            )
            .await,
        )
        .await;
        let field = body["error"]["field"].as_str().unwrap_or_default().to_string();
        assert_eq!(status, 422, "{content}: {body}");
        assert!(field.starts_with("messages[0].content"), "{content}: {body}");
    }
    assert!(fake.requests().is_empty());
    app.stop().await;
}

#[tokio::test]
async fn concierge_answers_as_json_or_sse() {
    let fake = FakeOpenAi::start_with(Behavior::reply("ようこそ。ご案内します。")).await;
    let app = app(&fake).await;
    let token = app.session().await;
    let body: serde_json::Value =
        app.post_json("/api/concierge", &token, json!({"message": "何ができますか"})).await.json().await.unwrap();
    assert_eq!(body["assistant"], "concierge");
    assert_eq!(body["answer"], "ようこそ。ご案内します。");
    assert!(fake.requests()[0]["messages"][0]["content"].as_str().unwrap().contains("コンシェルジュ"));
    let res = app
        .client
        .post(app.url("/api/concierge"))
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .json(&json!({"message": "MNPの相談は？"}))
        .send()
        .await
        .unwrap();
    let events = SseReader::new(res).collect().await;
    assert_eq!(events[0].event, "meta");
    assert_eq!(events[0].data["assistant"], "concierge");
    assert_eq!(events.last().unwrap().event, "done");
    app.stop().await;
}

#[tokio::test]
async fn config_file_assistants_are_listed_usable_and_in_the_spec() {
    let fake = FakeOpenAi::start_with(Behavior::reply("営業です。")).await;
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[&fake]);
        c.chat.api_key_hashes = vec![tenmon_ark::auth::hash_token(KEY)];
        let mut sales = tenmon_chat::Assistants::builtin().get("default").unwrap().clone();
        sales.id = "sales".into();
        sales.system_prompt = "あなたは営業担当です。".into();
        c.assistants = vec![tenmon_ark::config::AssistantConfig(sales)];
    })
    .await;
    let list: serde_json::Value = app.get("/api/assistants").await.json().await.unwrap();
    let ids: Vec<&str> = list["assistants"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["default", "concierge", "mnp-support", "sales"]);
    assert!(list.to_string().find("system_prompt").is_none(), "system prompts stay on the server");
    let spec: serde_json::Value = app.get("/api/openapi.json").await.json().await.unwrap();
    assert_eq!(
        spec["components"]["schemas"]["ChatBody"]["properties"]["assistant"]["pattern"],
        "^(default|concierge|mnp-support|sales)$"
    );
    let res = app
        .post_json(
            "/v1/chat/completions",
            KEY,
            json!({"model": "sales", "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(fake.requests()[0]["messages"][0]["content"], "あなたは営業担当です。");
    app.stop().await;
}

#[tokio::test]
async fn a_whole_answer_gets_the_models_time_not_the_request_timeout() {
    // Three chunks 300 ms apart: the whole answer comes after ~0.9 s.
    let fake = FakeOpenAi::start_with(Behavior::slow_reply("ゆっくり答えます。", Duration::from_millis(300))).await;
    let app = TestApp::spawn_with(|c| {
        use_fakes(c, &[&fake]);
        c.chat.api_key_hashes = vec![tenmon_ark::auth::hash_token(KEY)];
        c.server.request_timeout = Duration::from_millis(400);
        c.llm.completion_timeout = Duration::from_secs(5);
    })
    .await;
    let body = json!({"model": "default", "messages": [{"role": "user", "content": "質問"}]});
    let res = app.post_json("/v1/chat/completions", KEY, body).await;
    assert_eq!(res.status(), 200, "{:?}", res.text().await);
    app.stop().await;
}

#[tokio::test]
async fn an_oversized_whole_answer_is_refused_not_buffered() {
    // 6 million kana: 18 MB of JSON from a misbehaving upstream (the cap is 16 MiB).
    let fake = FakeOpenAi::start_with(Behavior::reply(&"あ".repeat(6_000_000))).await;
    let app = app(&fake).await;
    let body = json!({"model": "default", "messages": [{"role": "user", "content": "質問"}]});
    let (status, code, _) = error_code(app.post_json("/v1/chat/completions", KEY, body).await).await;
    assert_eq!((status, code.as_str()), (502, "upstream_unavailable"));
    app.stop().await;
}

/// A whole completion's JSON body.
async fn completion(app: &TestApp, body: serde_json::Value) -> serde_json::Value {
    app.post_json("/v1/chat/completions", KEY, body).await.json().await.unwrap()
}

#[tokio::test]
async fn v1_answers_are_grounded_like_chat_turns() {
    let fake = FakeOpenAi::start_with(Behavior::reply("発行日を含めて15日間です [mnp-014]。")).await;
    let app = app(&fake).await;
    let ask = |model: &'static str, content: &'static str, stream: bool| {
        json!({"model": model, "stream": stream, "stream_options": {"include_usage": true},
               "messages": [{"role": "user", "content": "こんにちは"}, {"role": "assistant", "content": "はい"},
                            {"role": "user", "content": content}]})
    };
    // The knowledge-base assistant gets the entries matching the last user message.
    let body = completion(&app, ask("mnp-support", "予約番号っていつまで使える？", false)).await;
    assert_eq!(body["choices"][0]["message"]["content"], "発行日を含めて15日間です [mnp-014]。");
    let system = fake.requests()[0]["messages"][0]["content"].as_str().unwrap().to_string();
    assert!(system.contains("[mnp-014]") && system.contains("15日"), "{system}");

    // Nothing fits: the knowledge-only assistant hands off without asking the model,
    // whole or streamed, and the question is counted as unanswered.
    let before = fake.requests().len();
    let body = completion(&app, ask("mnp-support", "おすすめのラーメン屋を教えて", false)).await;
    assert_eq!(body["object"], "chat.completion");
    assert!(body["choices"][0]["message"]["content"].as_str().unwrap().contains("サポート窓口"), "{body}");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert!(body["usage"]["completion_tokens"].as_u64().unwrap() > 0);
    let raw = app
        .post_json("/v1/chat/completions", KEY, ask("mnp-support", "おすすめのラーメン屋を教えて", true))
        .await
        .text()
        .await
        .unwrap();
    let datas: Vec<&str> = raw.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
    assert_eq!(*datas.last().unwrap(), "[DONE]", "{raw}");
    let chunks: Vec<serde_json::Value> =
        datas[..datas.len() - 1].iter().map(|d| serde_json::from_str(d).unwrap()).collect();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let text: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert!(text.contains("サポート窓口"), "{raw}");
    assert!(chunks.iter().all(|c| c["id"] == chunks[0]["id"]), "one id for every chunk: {raw}");
    assert_eq!(chunks.last().unwrap()["choices"], json!([]));
    assert_eq!(fake.requests().len(), before);
    let list: serde_json::Value = app.get_auth("/api/kb/unanswered", KEY).await.json().await.unwrap();
    assert_eq!(list["questions"][0]["sample"], "おすすめのラーメン屋を教えて", "{list}");
    assert_eq!(list["questions"][0]["count"], 2);
    // The general assistant still asks the model.
    app.post_json("/v1/chat/completions", KEY, ask("default", "おすすめのラーメン屋を教えて", false)).await;
    assert_eq!(fake.requests().len(), before + 1);
    app.stop().await;
}

#[tokio::test]
async fn without_a_model_v1_answers_from_the_knowledge_base() {
    let app = TestApp::spawn_with(|c| c.chat.api_key_hashes = vec![tenmon_ark::auth::hash_token(KEY)]).await;
    let body = completion(
        &app,
        json!({"model": "default", "messages": [{"role": "user", "content": "予約番号の有効期限は？"}]}),
    )
    .await;
    let answer = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(answer.contains("15日") && answer.contains("生成AIによる回答はオフ"), "{body}");
    assert_eq!(body["model"], "default");
    app.stop().await;
}
