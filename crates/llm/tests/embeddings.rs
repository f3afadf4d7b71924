//! The embeddings client against the fake OpenAI server: batches, the wire format,
//! retries of 429 and 5xx, no retry of a refused key, timeouts, and errors that
//! never carry the key or the upstream's words.
#![allow(clippy::unwrap_used, reason = "tests")]

use secrecy::SecretString;
use std::time::Duration;
use tenmon_llm::{EmbeddingsConfig, LlmError, OpenAiEmbeddings, RetryPolicy};
use tenmon_test_support::{Behavior, FakeOpenAi, EMBEDDING_DIMS};

const KEY: &str = "sk-embed-secret-0123456789";

fn client(fake: &FakeOpenAi, batch: usize, timeout: Duration) -> OpenAiEmbeddings {
    OpenAiEmbeddings::new(EmbeddingsConfig {
        base_url: fake.base_url(),
        api_key: Some(SecretString::from(KEY)),
        model: "text-embedding-3-small".into(),
        connect_timeout: Duration::from_secs(2),
        timeout,
        batch,
        retry: RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
        },
        proxies: Default::default(),
    })
    .unwrap()
}

#[tokio::test]
async fn inputs_go_in_batches_and_come_back_in_order() {
    let fake = FakeOpenAi::start().await;
    let texts: Vec<String> = (0..300).map(|i| format!("質問 {i} について")).collect();
    let vectors = client(&fake, 128, Duration::from_secs(5)).embed(&texts).await.unwrap();
    assert_eq!(vectors.len(), 300);
    assert_eq!(fake.embedding_calls(), 3, "128 + 128 + 44");
    for (t, v) in texts.iter().zip(&vectors) {
        assert_eq!(v.len(), EMBEDDING_DIMS);
        assert_eq!(*v, fake.vector_of(t), "{t}");
    }
    let first = &fake.embedding_requests()[0];
    assert_eq!(first["model"], "text-embedding-3-small");
    assert_eq!(first["encoding_format"], "float");
    assert_eq!(first["input"].as_array().unwrap().len(), 128);
    assert_eq!(fake.embedding_authorizations()[0].as_deref(), Some(format!("Bearer {KEY}").as_str()));
    assert!(fake.requests().is_empty(), "the chat endpoint saw nothing");
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried_and_a_bad_key_is_not() {
    let fake = FakeOpenAi::start().await;
    fake.script_embeddings([
        Behavior::Status { status: 429, retry_after: Some(0), code: "rate_limit_exceeded" },
        Behavior::status(500),
    ]);
    let c = client(&fake, 128, Duration::from_secs(5));
    let v = c.embed(&["解約したい".to_string()]).await.unwrap();
    assert_eq!(v[0], fake.vector_of("解約したい"));
    assert_eq!(fake.embedding_calls(), 3);

    fake.script_embeddings([Behavior::status(401)]);
    let err = c.embed(&["x".to_string()]).await.unwrap_err();
    assert_eq!(err, LlmError::Auth);
    assert_eq!(fake.embedding_calls(), 4, "a refused key is not retried");

    fake.set_embeddings_default(Some(Behavior::status(503)));
    let err = c.embed(&["x".to_string()]).await.unwrap_err();
    assert!(matches!(err, LlmError::Unavailable(_)), "{err:?}");
    assert_eq!(fake.embedding_calls(), 7, "the first try and two retries");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains(KEY) && !shown.contains("secret upstream detail"), "{shown}");
}

#[tokio::test]
async fn a_silent_upstream_times_out() {
    let fake = FakeOpenAi::start().await;
    fake.set_embeddings_default(Some(Behavior::Hang));
    let start = std::time::Instant::now();
    let err = client(&fake, 8, Duration::from_millis(200)).embed(&["x".to_string()]).await.unwrap_err();
    assert_eq!(err, LlmError::Timeout("embeddings"));
    assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
}

#[tokio::test]
async fn the_fake_answers_base64_as_the_official_sdks_ask() {
    use base64::Engine;
    let fake = FakeOpenAi::start().await;
    fake.set_concepts(&[&["やめたい", "解約"]]);
    let res: serde_json::Value = reqwest::Client::new()
        .post(format!("{}/embeddings", fake.base_url()))
        .json(&serde_json::json!({"model": "m", "input": ["やめたい", "解約の手続き"], "encoding_format": "base64"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(res["object"], "list");
    assert_eq!(res["data"][1]["index"], 1);
    assert!(res["usage"]["prompt_tokens"].as_u64().unwrap() > 0);
    let decode = |i: usize| -> Vec<f32> {
        let b =
            base64::engine::general_purpose::STANDARD.decode(res["data"][i]["embedding"].as_str().unwrap()).unwrap();
        b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
    };
    let (a, b) = (decode(0), decode(1));
    assert_eq!(a, fake.vector_of("やめたい"));
    let cos: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
    assert!(cos > 0.6, "a shared concept makes texts without a common character similar: {cos}");
    // Without the concept they share nothing.
    fake.set_concepts(&[]);
    let cos: f32 = fake.vector_of("やめたい").iter().zip(fake.vector_of("解約の手続き")).map(|(x, y)| x * y).sum();
    assert!(cos.abs() < 1e-6, "{cos}");
}
