//! Knowledge bases, their entries, settings and unanswered questions.

use crate::events::{created, ev};
use crate::harness::TestDb;
use tenmon_store::{DayStats, EntryUse, EventPayload, KbEntryRow, KnowledgeBaseRow, NewEvent, Usage};

on_every_backend!(
    knowledge_bases_and_entries,
    settings_are_upserted,
    unanswered_questions_are_counted,
    analytics_count_per_day_and_rank_sources,
);

pub fn base(id: &str, at: i64) -> KnowledgeBaseRow {
    KnowledgeBaseRow {
        id: id.into(),
        name: format!("名前 {id}"),
        description: "説明".into(),
        created_at_ms: at,
        updated_at_ms: at,
    }
}

pub fn entry(id: &str, kb: &str, version: i64) -> KbEntryRow {
    KbEntryRow {
        id: id.into(),
        kb_id: kb.into(),
        question: "MNP予約番号の有効期限は？".into(),
        phrasings: vec!["予約番号 期限".into(), "いつまで".into()],
        answer: "発行日を含めて15日間です。".repeat(if version > 1 { 3_000 } else { 1 }),
        keywords: vec!["MNP".into()],
        category: "手続き".into(),
        source_url: Some("https://example.jp/mnp".into()),
        question_en: None,
        answer_en: Some("15 days".into()),
        enabled: version % 2 == 1,
        version,
        created_at_ms: 1,
        updated_at_ms: version,
    }
}

async fn knowledge_bases_and_entries(t: TestDb) {
    let s = &t.store;
    s.kb_put_base(&base("b", 1)).await.unwrap();
    s.kb_put_base(&base("a", 2)).await.unwrap();
    s.kb_put_base(&KnowledgeBaseRow { name: "新しい名前".into(), ..base("b", 3) }).await.unwrap();
    let bases = s.kb_bases().await.unwrap();
    assert_eq!(bases.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(
        (bases[1].name.as_str(), bases[1].created_at_ms, bases[1].updated_at_ms),
        ("新しい名前", 1, 3),
        "created_at stays"
    );

    s.kb_put_entries(&[entry("e2", "a", 1), entry("e1", "a", 1), entry("E3", "b", 1)]).await.unwrap();
    // An edit: a long answer (over MySQL's TEXT), disabled, version bumped.
    s.kb_put_entries(&[entry("e1", "a", 2)]).await.unwrap();
    assert_eq!(s.kb_entry("e1").await.unwrap(), Some(entry("e1", "a", 2)));
    assert_eq!(s.kb_entry("e2").await.unwrap(), Some(entry("e2", "a", 1)));
    let ids = |v: Vec<KbEntryRow>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    assert_eq!(ids(s.kb_entries(Some("a")).await.unwrap()), ["e1", "e2"]);
    assert_eq!(ids(s.kb_entries(None).await.unwrap()), ["E3", "e1", "e2"]);
    assert!(s.kb_delete_entry("e2").await.unwrap());
    assert!(!s.kb_delete_entry("e2").await.unwrap());
    assert!(s.kb_delete_base("a").await.unwrap());
    assert!(!s.kb_delete_base("a").await.unwrap());
    assert_eq!(ids(s.kb_entries(None).await.unwrap()), ["E3"], "a base's entries go with it");
    assert!(s.kb_entry("e1").await.unwrap().is_none());
}

async fn settings_are_upserted(t: TestDb) {
    let s = &t.store;
    assert!(s.setting("synonyms").await.unwrap().is_none());
    s.put_setting("synonyms", "MNP=ナンバーポータビリティ", 1).await.unwrap();
    let big = "携帯=スマホ\n".repeat(10_000);
    s.put_setting("synonyms", &big, 2).await.unwrap();
    assert_eq!(s.setting("synonyms").await.unwrap().as_deref(), Some(big.as_str()));
    assert!(s.setting("Synonyms").await.unwrap().is_none());
}

async fn unanswered_questions_are_counted(t: TestDb) {
    let s = &t.store;
    // Texts a case- or accent-insensitive collation would merge stay apart.
    for (text, n) in [("🍣", 3), ("🍺", 1), ("はは", 2), ("ぱぱ", 1), ("abc", 1), ("ABC", 1)] {
        for i in 0..n {
            s.record_unanswered("default", text, &format!("sample {text}"), 10 + i).await.unwrap();
        }
    }
    s.record_unanswered("other", "🍣", "other assistant", 50).await.unwrap();
    let rows = s.unanswered(100).await.unwrap();
    assert_eq!(rows.len(), 7, "{rows:?}");
    assert_eq!((rows[0].normalized.as_str(), rows[0].hits), ("🍣", 3));
    assert_eq!((rows[0].first_seen_ms, rows[0].last_seen_ms, rows[0].sample.as_str()), (10, 12, "sample 🍣"));
    assert_eq!((rows[1].normalized.as_str(), rows[1].hits), ("はは", 2));
    assert_eq!(rows[2].assistant, "other", "then by last seen");
    assert_eq!(s.unanswered(2).await.unwrap().len(), 2);
    let long = "長".repeat(500);
    s.record_unanswered("default", &long, "long", 60).await.unwrap();
    s.record_unanswered("default", &long, "long", 61).await.unwrap();
    assert!(s.unanswered(100).await.unwrap().iter().any(|r| r.normalized == long && r.hits == 2));
}

/// A user message and an answer from `model` with these sources, ending `end`.
fn exchange(n: &str, at: i64, model: &str, sources: Option<serde_json::Value>, failed: bool) -> Vec<NewEvent> {
    let (q, a) = (format!("{n}-q"), format!("{n}-a"));
    let mut out = vec![
        ev(EventPayload::UserMessage { message_id: q, content: "質問".into() }, at),
        ev(EventPayload::AssistantStarted { message_id: a.clone(), model: model.into() }, at),
    ];
    if let Some(sources) = sources {
        out.push(ev(EventPayload::Sources { message_id: a.clone(), sources }, at));
    }
    out.push(if failed {
        ev(EventPayload::AssistantFailed { message_id: a, code: "x".into(), message: "x".into(), latency_ms: 1 }, at)
    } else {
        ev(
            EventPayload::AssistantCompleted {
                message_id: a,
                model: model.into(),
                finish_reason: "stop".into(),
                usage: Usage { prompt_tokens: 7, completion_tokens: 5 },
                latency_ms: 1,
            },
            at,
        )
    });
    out
}

async fn analytics_count_per_day_and_rank_sources(t: TestDb) {
    let s = &t.store;
    let day = 86_400_000;
    let (d, since) = (20_000, 20_000 * day);
    let src = |id: &str| {
        Some(serde_json::json!([{"id": id, "kb": "faq", "question": format!("{id} の質問")}, {"id": "second"}]))
    };
    let mut c1 = vec![created("u", "c1", since + 1)];
    c1.extend(exchange("1", since + 1, "gpt", src("e1"), false));
    let mut c2 = vec![created("u", "c2", since + 2)];
    c2.extend(exchange("2", since + 2, "knowledge-base", None, false));
    c2.extend(exchange("3", since + 3, "knowledge-base", Some(serde_json::json!([])), false));
    let mut c3 = vec![created("u", "c3", since + day)];
    c3.extend(exchange("4", since + day, "gpt", None, true));
    c3.extend(exchange("5", since + day, "gpt", src("e1"), false));
    c3.extend(exchange("6", since + day, "knowledge-base", src("E2"), false));
    c3.extend(exchange("7", since + day, "gpt", src("e0"), false));
    let mut old = vec![created("u", "old", since - 1)];
    old.extend(exchange("8", since - 1, "gpt", src("e0"), false));
    for (id, events) in [("c1", c1), ("c2", c2), ("c3", c3), ("old", old)] {
        s.append(id, 1, &events).await.unwrap();
    }
    let a = s.analytics(since).await.unwrap();
    assert_eq!(
        a.days,
        [
            DayStats { day: d, conversations: 2, messages: 6, answered: 1, unanswered: 2, tokens: 36 },
            DayStats { day: d + 1, conversations: 1, messages: 8, answered: 3, unanswered: 1, tokens: 36 },
        ]
    );
    let entry =
        |id: &str, count| EntryUse { id: id.into(), kb: "faq".into(), question: format!("{id} の質問"), count };
    assert_eq!(a.top_entries, [entry("e1", 2), entry("E2", 1), entry("e0", 1)]);
    assert!(s.analytics(since + 2 * day).await.unwrap().days.is_empty());
}
