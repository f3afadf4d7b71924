//! The event log and its read models: projection, replay, optimistic concurrency,
//! paging, ownership, soft delete, and text that must round-trip byte for byte.

use crate::harness::{Db, TestDb};
use std::sync::Arc;
use tenmon_store::{EventPayload, MessageStatus, NewEvent, ReplayStats, Store, StoreError, Usage};

on_every_backend!(
    append_projects_and_replay_rebuilds,
    second_writer_of_a_sequence_gets_conflict_and_nothing_changes,
    racing_appenders_of_one_sequence_one_wins,
    concurrent_appends_land_and_a_conflict_spoils_only_its_own,
    list_is_paged_by_cursor_and_hides_deleted,
    ids_are_case_sensitive_and_sort_bytewise,
    every_ending_of_a_turn_projects,
    owner_change_moves_the_conversation,
    text_round_trips_exactly,
    reads_are_bounded_and_ordered,
    ping_answers_until_closed,
);

pub fn ev(payload: EventPayload, at_ms: i64) -> NewEvent {
    NewEvent { payload, at_ms }
}

pub fn created(owner: &str, title: &str, at: i64) -> NewEvent {
    ev(
        EventPayload::ConversationCreated { owner_id: owner.into(), title: title.into(), assistant: "default".into() },
        at,
    )
}

pub fn turn() -> Vec<NewEvent> {
    vec![
        created("u1", "MNP", 1),
        ev(EventPayload::UserMessage { message_id: "m1".into(), content: "予約番号は？".into() }, 2),
        ev(EventPayload::AssistantStarted { message_id: "m2".into(), model: "gpt".into() }, 3),
        ev(EventPayload::AssistantDelta { message_id: "m2".into(), text: "十桁の".into() }, 4),
        ev(EventPayload::AssistantDelta { message_id: "m2".into(), text: "番号です".into() }, 5),
        ev(
            EventPayload::AssistantCompleted {
                message_id: "m2".into(),
                model: "gpt".into(),
                finish_reason: "stop".into(),
                usage: Usage { prompt_tokens: 7, completion_tokens: 5 },
                latency_ms: 42,
            },
            6,
        ),
    ]
}

async fn append_projects_and_replay_rebuilds(t: TestDb) {
    let s = &t.store;
    let stored = s.append("c1", 1, &turn()).await.unwrap();
    assert_eq!(stored.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(stored[1].payload, turn()[1].payload);
    assert_eq!(s.next_seq("c1").await.unwrap(), 7);

    let conv = s.conversation("u1", "c1").await.unwrap().unwrap();
    assert_eq!((conv.title.as_str(), conv.last_seq, conv.created_at_ms, conv.updated_at_ms), ("MNP", 6, 1, 6));
    let msgs = s.messages("u1", "c1").await.unwrap();
    assert_eq!(msgs.len(), 2);
    assert_eq!((msgs[0].role.as_str(), msgs[0].content.as_str()), ("user", "予約番号は？"));
    assert_eq!(msgs[1].content, "十桁の番号です");
    assert_eq!(msgs[1].status, MessageStatus::Complete);
    assert_eq!(msgs[1].usage, Some(Usage { prompt_tokens: 7, completion_tokens: 5 }));
    assert_eq!((msgs[1].model.as_deref(), msgs[1].finish_reason.as_deref()), (Some("gpt"), Some("stop")));
    assert_eq!((msgs[1].latency_ms, msgs[1].created_at_ms, msgs[1].updated_at_ms), (Some(42), 3, 6));
    assert_eq!(s.message("u1", "m2").await.unwrap().as_ref(), Some(&msgs[1]));
    assert!(s.messages("someone-else", "c1").await.unwrap().is_empty(), "owner checked in the query");
    assert!(s.message("someone-else", "m2").await.unwrap().is_none());
    assert!(s.conversation("someone-else", "c1").await.unwrap().is_none());

    let before = (s.conversation("u1", "c1").await.unwrap(), s.messages("u1", "c1").await.unwrap());
    assert_eq!(t.exec("UPDATE messages SET content = 'garbage'").await, 2);
    let stats = s.replay().await.unwrap();
    assert_eq!(stats, ReplayStats { events: 6, conversations: 1, messages: 2 });
    let after = (s.conversation("u1", "c1").await.unwrap(), s.messages("u1", "c1").await.unwrap());
    assert_eq!(before, after);
}

async fn second_writer_of_a_sequence_gets_conflict_and_nothing_changes(t: TestDb) {
    let s = &t.store;
    s.append("c1", 1, &turn()[..2]).await.unwrap();
    let err = s.append("c1", 2, &[ev(EventPayload::ConversationRenamed { title: "x".into() }, 9)]).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { seq: 2, ref stream_id } if stream_id == "c1"), "{err:?}");
    // A batch whose first event is free but a later one is taken fails whole.
    let err = s
        .append("c1", 0, &[ev(EventPayload::ConversationRenamed { title: "y".into() }, 9), turn()[1].clone()])
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(s.conversation("u1", "c1").await.unwrap().unwrap().title, "MNP");
    assert_eq!(s.read_stream("c1", -1, 100).await.unwrap().len(), 2);
    assert_eq!(s.read_stream("c1", 1, 100).await.unwrap()[0].seq, 2);
    assert_eq!(s.next_seq("c1").await.unwrap(), 3);
    assert!(s.append("c1", 3, &[]).await.unwrap().is_empty());
}

/// Writers on two "replicas" (two pools) race for the same sequence: one wins,
/// every other one gets a conflict, and the read models saw exactly one append.
async fn racing_appenders_of_one_sequence_one_wins(t: TestDb) {
    t.store.append("c1", 1, &[created("u1", "race", 1)]).await.unwrap();
    let other = t.reopen().await;
    let mut tasks = Vec::new();
    for i in 0..12 {
        let s: Arc<dyn Store> = if i % 2 == 0 { t.store.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            let id = format!("m{i}");
            s.append("c1", 2, &[ev(EventPayload::UserMessage { message_id: id, content: format!("{i}") }, 2)]).await
        }));
    }
    let mut won = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(stored) => {
                won += 1;
                assert_eq!(stored[0].seq, 2);
            }
            Err(StoreError::Conflict { seq: 2, .. }) => {}
            Err(e) => panic!("{:?}: expected a conflict, got {e:?}", t.db),
        }
    }
    assert_eq!(won, 1);
    assert_eq!(t.store.read_stream("c1", 0, 100).await.unwrap().len(), 2);
    assert_eq!(t.store.messages("u1", "c1").await.unwrap().len(), 1);
    assert_eq!(t.store.conversation("u1", "c1").await.unwrap().unwrap().last_seq, 2);
    other.close().await;
}

/// Many turns appending at once (on SQLite they share a transaction: group commit):
/// every append lands with its projection, and one that conflicts fails alone,
/// leaving no trace of its events or its projection.
async fn concurrent_appends_land_and_a_conflict_spoils_only_its_own(t: TestDb) {
    t.store.append("taken", 1, &[created("u1", "first", 1)]).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..60 {
        let s = t.store.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("c{i}");
            let mut events = vec![created("u1", &id, 10)];
            events.push(ev(EventPayload::UserMessage { message_id: format!("u{i}"), content: format!("質問{i}") }, 11));
            events.push(ev(EventPayload::AssistantStarted { message_id: format!("a{i}"), model: "gpt".into() }, 12));
            s.append(&id, 1, &events).await
        }));
        if i == 30 {
            let s = t.store.clone();
            tasks.push(tokio::spawn(async move {
                // Sequence 1 of "taken" exists: this whole append must fail.
                let events = [
                    created("u1", "second", 5),
                    ev(EventPayload::UserMessage { message_id: "lost".into(), content: "x".into() }, 6),
                ];
                s.append("taken", 1, &events).await
            }));
        }
    }
    let mut conflicts = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(stored) => assert_eq!(stored.len(), 3),
            Err(StoreError::Conflict { ref stream_id, seq: 1 }) if stream_id == "taken" => conflicts += 1,
            Err(e) => panic!("{:?}: {e:?}", t.db),
        }
    }
    assert_eq!(conflicts, 1);
    for i in 0..60 {
        let id = format!("c{i}");
        let conv = t.store.conversation("u1", &id).await.unwrap().unwrap();
        assert_eq!(conv.last_seq, 3, "{id}");
        let messages = t.store.messages("u1", &id).await.unwrap();
        assert_eq!(messages.len(), 2, "{id}");
        assert_eq!(messages[0].content, format!("質問{i}"));
    }
    assert_eq!(t.store.read_stream("taken", 0, 100).await.unwrap().len(), 1);
    assert_eq!(t.store.conversation("u1", "taken").await.unwrap().unwrap().title, "first");
    assert!(t.store.message("u1", "lost").await.unwrap().is_none());
}

async fn list_is_paged_by_cursor_and_hides_deleted(t: TestDb) {
    let s = &t.store;
    for i in 0..5 {
        let id = format!("c{i}");
        s.append(&id, 1, &[created("u", &id, 100 + i)]).await.unwrap();
    }
    // Same activity time: the id breaks the tie.
    s.append("c5", 1, &[created("u", "c5", 103)]).await.unwrap();
    s.append("other", 1, &[created("someone-else", "x", 500)]).await.unwrap();
    s.append("c4", 2, &[ev(EventPayload::UserMessage { message_id: "m".into(), content: "hi".into() }, 150)])
        .await
        .unwrap();
    s.append("c4", 3, &[ev(EventPayload::ConversationDeleted {}, 200)]).await.unwrap();
    assert!(s.conversation("u", "c4").await.unwrap().is_none(), "soft-deleted");
    assert!(s.messages("u", "c4").await.unwrap().is_empty());
    assert!(s.message("u", "m").await.unwrap().is_none());
    assert_eq!(s.read_stream("c4", 0, 10).await.unwrap().len(), 3, "the log keeps everything");

    let page1 = s.list_conversations("u", None, 2).await.unwrap();
    assert_eq!(page1.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c5", "c3"]);
    let last = page1.last().unwrap();
    let page2 = s.list_conversations("u", Some((last.updated_at_ms, last.id.clone())), 2).await.unwrap();
    assert_eq!(page2.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c2", "c1"]);
    let last = page2.last().unwrap();
    let page3 = s.list_conversations("u", Some((last.updated_at_ms, last.id.clone())), 10).await.unwrap();
    assert_eq!(page3.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["c0"]);
    assert!(s.list_conversations("nobody", None, 10).await.unwrap().is_empty());
}

/// Keys compare and sort by bytes on every backend, whatever the database's
/// default collation (MariaDB's would make 'A' = 'a'; ICU's would sort them together).
async fn ids_are_case_sensitive_and_sort_bytewise(t: TestDb) {
    let s = &t.store;
    for id in ["a-1", "A-1", "B-1", "a1", "_x"] {
        s.append(id, 1, &[created("u", id, 7)]).await.unwrap();
    }
    assert_eq!(s.conversation("u", "A-1").await.unwrap().unwrap().title, "A-1");
    let all = s.list_conversations("u", None, 10).await.unwrap();
    assert_eq!(all.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["a1", "a-1", "_x", "B-1", "A-1"]);
    let after = s.list_conversations("u", Some((7, "_x".into())), 10).await.unwrap();
    assert_eq!(after.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["B-1", "A-1"]);
    assert!(s.conversation("U", "a1").await.unwrap().is_none(), "owners too");
}

async fn every_ending_of_a_turn_projects(t: TestDb) {
    let s = &t.store;
    let started = |id: &str, at| ev(EventPayload::AssistantStarted { message_id: id.into(), model: "m".into() }, at);
    s.append("c", 1, &[created("u", "t", 1), started("a1", 2), started("a2", 3), started("a3", 4), started("a4", 5)])
        .await
        .unwrap();
    let mut streaming = s.streaming_messages().await.unwrap();
    streaming.sort();
    assert_eq!(streaming.len(), 4);
    assert_eq!(streaming[0], ("c".to_string(), "a1".to_string()));
    let sources = serde_json::json!([{"id": "kb-1", "title": "番号"}]);
    s.append(
        "c",
        6,
        &[
            ev(EventPayload::Sources { message_id: "a1".into(), sources: sources.clone() }, 6),
            ev(
                EventPayload::AssistantFailed {
                    message_id: "a1".into(),
                    code: "upstream".into(),
                    message: "boom".into(),
                    latency_ms: 11,
                },
                7,
            ),
            ev(EventPayload::AssistantCancelled { message_id: "a2".into(), latency_ms: 12 }, 8),
            ev(EventPayload::AssistantInterrupted { message_id: "a3".into() }, 9),
            ev(EventPayload::ConversationRenamed { title: "renamed".into() }, 10),
        ],
    )
    .await
    .unwrap();
    let msgs = s.messages("u", "c").await.unwrap();
    let status: Vec<_> = msgs.iter().map(|m| (m.id.as_str(), m.status, m.latency_ms)).collect();
    assert_eq!(
        status,
        [
            ("a1", MessageStatus::Failed, Some(11)),
            ("a2", MessageStatus::Cancelled, Some(12)),
            ("a3", MessageStatus::Interrupted, None),
            ("a4", MessageStatus::Streaming, None),
        ]
    );
    assert_eq!(msgs[0].sources, Some(sources));
    assert_eq!((msgs[0].usage, msgs[0].model.as_deref()), (None, Some("m")));
    assert_eq!(s.streaming_messages().await.unwrap(), [("c".to_string(), "a4".to_string())]);
    let conv = s.conversation("u", "c").await.unwrap().unwrap();
    assert_eq!((conv.title.as_str(), conv.last_seq, conv.updated_at_ms), ("renamed", 10, 10));
    let before = s.messages("u", "c").await.unwrap();
    s.replay().await.unwrap();
    assert_eq!(s.messages("u", "c").await.unwrap(), before);
}

async fn owner_change_moves_the_conversation(t: TestDb) {
    let s = &t.store;
    s.append("c", 1, &turn()[..2]).await.unwrap();
    s.append("c", 3, &[ev(EventPayload::ConversationOwnerChanged { owner_id: "u2".into() }, 3)]).await.unwrap();
    assert!(s.conversation("u1", "c").await.unwrap().is_none());
    assert!(s.message("u1", "m1").await.unwrap().is_none());
    assert_eq!(s.conversation("u2", "c").await.unwrap().unwrap().owner_id, "u2");
    assert_eq!(s.messages("u2", "c").await.unwrap().len(), 1);
    assert_eq!(s.list_conversations("u2", None, 10).await.unwrap().len(), 1);
}

async fn text_round_trips_exactly(t: TestDb) {
    let s = &t.store;
    // 4-byte UTF-8 (utf8mb4), combining marks, quotes and backslashes, trailing
    // spaces, and a message far over MySQL's 64 KiB TEXT.
    let tricky = "🍣と🍺は別物 — 'quote' \"dq\" \\ back\\slash ｶﾞ が ̈e  ";
    let long: String = "長".repeat(40_000);
    s.append(
        "c",
        1,
        &[
            created("u", tricky, 1),
            ev(EventPayload::UserMessage { message_id: "m1".into(), content: tricky.into() }, 2),
            ev(EventPayload::AssistantStarted { message_id: "m2".into(), model: "m".into() }, 3),
        ],
    )
    .await
    .unwrap();
    // Many small deltas in one append, then one big one.
    let deltas: Vec<NewEvent> = (0..300)
        .map(|i| ev(EventPayload::AssistantDelta { message_id: "m2".into(), text: format!("{i}🍣,") }, 4))
        .collect();
    s.append("c", 4, &deltas).await.unwrap();
    s.append("c", 304, &[ev(EventPayload::AssistantDelta { message_id: "m2".into(), text: long.clone() }, 5)])
        .await
        .unwrap();
    let conv = s.conversation("u", "c").await.unwrap().unwrap();
    assert_eq!(conv.title, tricky);
    let msgs = s.messages("u", "c").await.unwrap();
    assert_eq!(msgs[0].content, tricky);
    let expected: String = (0..300).map(|i| format!("{i}🍣,")).collect::<String>() + &long;
    assert_eq!(msgs[1].content.len(), expected.len());
    assert!(msgs[1].content == expected);
    let events = s.read_stream("c", 0, 1000).await.unwrap();
    assert_eq!(events.len(), 304);
    assert!(matches!(&events[1].payload, EventPayload::UserMessage { content, .. } if content == tricky));
}

async fn reads_are_bounded_and_ordered(t: TestDb) {
    let s = &t.store;
    assert_eq!(s.next_seq("nothing").await.unwrap(), 1);
    assert!(s.read_stream("nothing", 0, 10).await.unwrap().is_empty());
    s.append("c", 1, &turn()).await.unwrap();
    let page = s.read_stream("c", 2, 3).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
    assert!(page.iter().all(|e| e.stream_id == "c"));
    assert_eq!(page[0].at_ms, 3);
    assert!(s.read_stream("c", 6, 10).await.unwrap().is_empty());
}

async fn ping_answers_until_closed(t: TestDb) {
    assert_eq!(
        t.store.backend(),
        match t.db {
            Db::Sqlite => tenmon_store::Backend::Sqlite,
            Db::Postgres => tenmon_store::Backend::Postgres,
            Db::Mariadb => tenmon_store::Backend::Mysql,
        }
    );
    t.store.ping().await.unwrap();
    t.store.close().await;
    assert!(matches!(t.store.ping().await, Err(StoreError::Unavailable(_))));
}
