//! Dense retrieval with the fake embeddings upstream: an entry only embeddings can
//! find is found by `/api/kb/search` and grounds a chat turn; a failing upstream
//! leaves lexical results (and says so); an edit is found by its new meaning at once.

use crate::helpers::{use_fakes, TestApp};
use serde_json::json;
use std::time::Duration;
use tenmon_ark::config::{Config, EmbeddingConfig};
use tenmon_test_support::{Behavior, FakeOpenAi};

pub(crate) const KEY: &str = "op-key-0123456789abcdef";
/// Shares no character with the entry below, only the fake model's concept.
pub(crate) const DOG_QUERY: &str = "わんこ連れてっていい？";
const CAR_QUERY: &str = "車で行っても大丈夫？";

pub(crate) fn setup(c: &mut Config, fake: &FakeOpenAi) {
    c.chat.api_key_hashes = vec![tenmon_ark::auth::hash_token(KEY)];
    use_fakes(c, &[fake]);
    c.kb.embedding = Some(EmbeddingConfig {
        model: "fake-embedding".into(),
        base_url: fake.base_url(),
        api_key: Some(secrecy::SecretString::from("sk-embed-0123456789")),
        timeout: Duration::from_secs(5),
        query_timeout: Duration::from_millis(500),
        batch: 128,
        similarity_floor: 0.3,
        similarity_full: 0.8,
    });
}

async fn start(fake: &FakeOpenAi) -> TestApp {
    fake.set_concepts(&[&["わんこ", "ペット"], &["駐車", "車で行"]]);
    TestApp::spawn_with(|c| setup(c, fake)).await
}

pub(crate) fn pet_entry() -> serde_json::Value {
    json!({"id": "pet-1", "question": "ペットと一緒に入店できますか", "phrasings": ["ペット同伴"],
           "answer": "盲導犬と介助犬のみ同伴いただけます。", "category": "店舗"})
}

pub(crate) async fn search(app: &TestApp, q: &str) -> serde_json::Value {
    let res = app.client.get(app.url("/api/kb/search")).query(&[("q", q), ("limit", "5")]).send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

pub(crate) fn ids(body: &serde_json::Value) -> Vec<&str> {
    body["results"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn an_entry_only_embeddings_find_answers_search_and_chat() {
    let fake = FakeOpenAi::start_with(Behavior::reply("盲導犬と介助犬のみご一緒いただけます [pet-1]。")).await;
    let app = start(&fake).await;
    let res = app.post_json("/api/kb/bases/mnp/entries", KEY, pet_entry()).await;
    assert_eq!(res.status(), 201);

    let found = search(&app, DOG_QUERY).await;
    assert_eq!(found["retrieval"], "hybrid", "{found}");
    assert_eq!(found["results"][0]["id"], "pet-1", "{found}");
    assert!(found["results"][0]["confidence"].as_f64().unwrap() >= 0.5, "{found}");
    let query_sent = fake.embedding_requests().iter().any(|r| r["input"] == json!([DOG_QUERY]));
    assert!(query_sent, "the query went to the embeddings endpoint");

    // A grounded turn: the entry is the source and is in the model's prompt.
    let token = app.session().await;
    let body: serde_json::Value = app
        .post_json("/api/chat", &token, json!({"message": DOG_QUERY, "assistant": "mnp-support"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["sources"][0]["id"], "pet-1", "{body}");
    let system = fake.requests().last().unwrap()["messages"][0]["content"].as_str().unwrap().to_string();
    assert!(system.contains("[pet-1]") && system.contains("盲導犬"), "{system}");

    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"kb_searches_total{retrieval="hybrid"}"#), "{metrics}");
    assert!(metrics.contains(r#"kb_embedding_requests_total{purpose="query",outcome="ok"}"#), "{metrics}");
    assert!(metrics.contains("kb_embedding_duration_seconds_bucket"), "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn a_failing_embeddings_upstream_leaves_lexical_results() {
    let fake = FakeOpenAi::start().await;
    fake.set_embeddings_default(Some(Behavior::status(500)));
    let app = start(&fake).await;
    // Writes work without vectors.
    let res = app.post_json("/api/kb/bases/mnp/entries", KEY, pet_entry()).await;
    assert_eq!(res.status(), 201, "an embedding failure never fails the write");

    let found = search(&app, "予約番号の有効期限は？").await;
    assert_eq!(found["retrieval"], "lexical", "{found}");
    assert_eq!(found["results"][0]["id"], "mnp-014", "{found}");
    assert_eq!(search(&app, "ペット同伴").await["results"][0]["id"], "pet-1", "lexically searchable at once");
    let dog = search(&app, DOG_QUERY).await;
    assert_eq!(dog["retrieval"], "lexical");
    assert!(!ids(&dog).contains(&"pet-1"), "words alone cannot find it: {dog}");
    let metrics = app.get("/metrics").await.text().await.unwrap();
    assert!(metrics.contains(r#"kb_searches_total{retrieval="lexical"}"#), "{metrics}");
    assert!(metrics.contains(r#"kb_embedding_requests_total{purpose="query",outcome="unavailable"}"#), "{metrics}");

    // The upstream recovers: the backfill embeds what the write could not.
    fake.set_embeddings_default(None);
    let embedded = app.state.kb.backfill().await.unwrap();
    assert!(embedded >= 1, "{embedded}");
    let dog = search(&app, DOG_QUERY).await;
    assert_eq!((dog["retrieval"].as_str(), dog["results"][0]["id"].as_str()), (Some("hybrid"), Some("pet-1")), "{dog}");
    app.stop().await;
}

#[tokio::test]
async fn an_edit_is_found_by_its_new_meaning_at_once() {
    let fake = FakeOpenAi::start().await;
    let app = start(&fake).await;
    app.post_json("/api/kb/bases/mnp/entries", KEY, pet_entry()).await;
    assert_eq!(search(&app, DOG_QUERY).await["results"][0]["id"], "pet-1");

    let parking = json!({"id": "pet-1", "question": "駐車場はありますか", "answer": "店舗の裏に10台分ございます。", "category": "店舗"});
    let res = app.client.put(app.url("/api/kb/entries/pet-1")).bearer_auth(KEY).json(&parking).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let car = search(&app, CAR_QUERY).await;
    assert_eq!((car["retrieval"].as_str(), car["results"][0]["id"].as_str()), (Some("hybrid"), Some("pet-1")), "{car}");
    let dog = search(&app, DOG_QUERY).await;
    let old_meaning = dog["results"].as_array().unwrap().iter().find(|r| r["id"] == "pet-1");
    assert!(old_meaning.is_none_or(|r| r["confidence"].as_f64().unwrap() < 0.5), "the old vector is gone: {dog}");
    app.stop().await;
}
