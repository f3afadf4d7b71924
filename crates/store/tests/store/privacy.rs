//! Export, erasure, retention, consent, the audit chain, data keys, and encryption
//! at rest over each backend.

use crate::accounts::{api_key, refresh, session, user};
use crate::events::{created, ev, turn};
use crate::harness::TestDb;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::sync::Arc;
use tenmon_store::{AuditFilter, AuditRow, EncryptedStore, EventPayload, LineChatRow, Store};

on_every_backend!(
    export_has_the_same_shape_everywhere,
    erase_removes_every_row_of_the_subjects_only,
    purge_counts_then_removes_what_is_old,
    consent_keeps_the_latest_version,
    audit_chain_has_no_forks_under_concurrent_appenders,
    audit_pages_filter_and_range,
    data_keys_first_writer_wins,
    encryption_at_rest_round_trips,
);

/// Rows about two people: `u1` (a user with everything) and `u2`.
pub async fn two_people(s: &Arc<dyn Store>) {
    for (u, c) in [("u1", "c1"), ("u2", "c2")] {
        s.create_user(&user(u, &format!("{u}@example.jp"))).await.unwrap();
        let mut events = turn();
        events[0] = created(u, &format!("{u} の会話"), 1);
        for e in events.iter_mut() {
            match &mut e.payload {
                EventPayload::UserMessage { message_id, .. }
                | EventPayload::AssistantStarted { message_id, .. }
                | EventPayload::AssistantDelta { message_id, .. }
                | EventPayload::AssistantCompleted { message_id, .. } => *message_id = format!("{c}-{message_id}"),
                _ => {}
            }
        }
        s.append(c, 1, &events).await.unwrap();
        s.create_session(&session(&format!("s-{u}"), u, 100)).await.unwrap();
        s.insert_refresh(&refresh(&format!("r-{u}"), u, &format!("s-{u}"))).await.unwrap();
        s.create_api_key(&api_key(&format!("k-{u}"), u, 5)).await.unwrap();
        s.add_token_usage(u, 20_000, 12).await.unwrap();
        s.add_token_usage(&format!("key:k-{u}"), 20_000, 3).await.unwrap();
        s.record_consent(u, "2024-04", 7).await.unwrap();
        s.link_identity("https://idp.example", &format!("sub-{u}"), u, 8).await.unwrap();
        s.put_data_key(c, u, &format!("wrapped-{u}"), 9).await.unwrap();
        s.put_file(&crate::files::file(&format!("f-{u}"), u, 10, 9)).await.unwrap();
        s.add_attachment(&crate::files::attachment(&format!("a-{u}"), c, u, Some(&format!("f-{u}")))).await.unwrap();
        s.put_billing_account(&crate::files::billing(u, &format!("cus_{u}"))).await.unwrap();
    }
    s.line_put_chat(&LineChatRow {
        chat_id: "Uline".into(),
        conversation_id: Some("c3".into()),
        followed: true,
        updated_at_ms: 1,
    })
    .await
    .unwrap();
    s.append("c3", 1, &[created("line:Uline", "LINE", 2)]).await.unwrap();
}

fn keys(row: &serde_json::Value) -> BTreeSet<&str> {
    row.as_object().unwrap().keys().map(String::as_str).collect()
}

fn set<'a>(cols: &[&'a str]) -> BTreeSet<&'a str> {
    cols.iter().copied().collect()
}

async fn export_has_the_same_shape_everywhere(t: TestDb) {
    let s = &t.store;
    two_people(s).await;
    assert!(s.export_subjects(&[]).await.unwrap().tables.is_empty());
    let out = s.export_subjects(&["u1".into()]).await.unwrap();
    let expected: [(&str, usize, &[&str]); 16] = [
        ("user_identities", 1, &["issuer", "subject", "user_id", "created_at"]),
        ("invitations", 0, &[]),
        ("data_keys", 1, &["stream_id", "owner_id", "created_at"]),
        ("events", 6, &["stream_id", "seq", "event_type", "payload", "created_at"]),
        (
            "messages",
            2,
            &[
                "id",
                "conversation_id",
                "seq",
                "role",
                "content",
                "status",
                "model",
                "finish_reason",
                "prompt_tokens",
                "completion_tokens",
                "latency_ms",
                "sources",
                "created_at",
                "updated_at",
            ],
        ),
        ("token_usage", 2, &["subject_id", "day", "tokens"]),
        (
            "attachments",
            1,
            &["id", "conversation_id", "owner_id", "kind", "file_id", "title", "url", "content", "created_at"],
        ),
        (
            "files",
            1,
            &[
                "id",
                "owner_id",
                "name",
                "kind",
                "mime",
                "size",
                "sha256",
                "storage_key",
                "extracted_text",
                "text_truncated",
                "kb_id",
                "created_at",
            ],
        ),
        (
            "billing_accounts",
            1,
            &[
                "user_id",
                "customer_id",
                "subscription_id",
                "status",
                "price_id",
                "plan_id",
                "current_period_end",
                "cancel_at_period_end",
                "past_due_since",
                "last_event_at",
                "updated_at",
            ],
        ),
        (
            "conversations",
            1,
            &["id", "owner_id", "title", "assistant", "last_seq", "created_at", "updated_at", "deleted"],
        ),
        ("sessions", 1, &["id", "subject_id", "kind", "created_at", "expires_at", "revoked"]),
        ("refresh_tokens", 1, &["id", "user_id", "family_id", "created_at", "expires_at", "used_at", "revoked_at"]),
        (
            "api_keys",
            1,
            &["id", "user_id", "name", "prefix", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at"],
        ),
        ("line_chats", 0, &[]),
        ("consents", 1, &["subject_id", "version", "consented_at"]),
        (
            "users",
            1,
            &[
                "id",
                "email",
                "email_lower",
                "display_name",
                "role",
                "locale",
                "created_at",
                "updated_at",
                "disabled_at",
            ],
        ),
    ];
    assert_eq!(out.tables.keys().map(String::as_str).collect::<BTreeSet<_>>(), expected.iter().map(|e| e.0).collect());
    for (table, n, cols) in expected {
        let rows = &out.tables[table];
        assert_eq!(rows.len(), n, "{table}: {rows:?}");
        for row in rows {
            assert_eq!(keys(row), set(cols), "{table}");
        }
    }
    let text = serde_json::to_string(&out).unwrap();
    assert!(!text.contains("u2") && !text.contains("c2"), "only u1's rows: {text}");
    for secret in ["hash-s-u1", "rt-r-u1", "kh-k-u1", "argon2id", "wrapped-u1"] {
        assert!(!text.contains(secret), "{secret} leaked into the export");
    }
    // Value kinds are the same everywhere: integers are numbers, flags 0/1, the rest text.
    let conv = &out.tables["conversations"][0];
    assert_eq!(conv["deleted"], 0);
    assert_eq!(conv["last_seq"], 6);
    assert_eq!(conv["title"], "u1 の会話");
    let answer = out.tables["messages"].iter().find(|m| m["role"] == "assistant").unwrap();
    assert_eq!(
        (&answer["prompt_tokens"], &answer["latency_ms"], &answer["sources"]),
        (&7.into(), &42.into(), &serde_json::Value::Null)
    );
    assert_eq!(answer["content"], "十桁の番号です");
    assert_eq!(out.tables["sessions"][0]["revoked"], 0);
    assert_eq!(out.tables["api_keys"][0]["scopes"], r#"["chat","kb:write"]"#);
    let usage: BTreeSet<(String, i64)> = out.tables["token_usage"]
        .iter()
        .map(|r| (r["subject_id"].as_str().unwrap().to_string(), r["tokens"].as_i64().unwrap()))
        .collect();
    assert_eq!(usage, [("key:k-u1".to_string(), 3), ("u1".to_string(), 12)].into_iter().collect());
    assert!(out.tables["events"].iter().all(|e| e["payload"].as_str().unwrap().starts_with('{')));

    let line = s.export_subjects(&["line:Uline".into()]).await.unwrap();
    assert_eq!(line.tables["line_chats"].len(), 1);
    assert_eq!(line.tables["line_chats"][0]["followed"], 1);
    assert_eq!(line.tables["conversations"].len(), 1);
}

async fn erase_removes_every_row_of_the_subjects_only(t: TestDb) {
    let s = &t.store;
    two_people(s).await;
    for q in ["🍣", "🍺"] {
        s.record_unanswered("default", q, q, 1).await.unwrap();
    }
    let counts = s.erase_subjects(&["u1".into(), "line:Uline".into()], &["🍣".into()]).await.unwrap();
    let expected = [
        ("user_identities", 1),
        ("data_keys", 1),
        ("events", 7),
        ("messages", 2),
        ("token_usage", 2),
        ("attachments", 1),
        ("files", 1),
        ("billing_accounts", 1),
        ("conversations", 2),
        ("sessions", 1),
        ("refresh_tokens", 1),
        ("api_keys", 1),
        ("line_chats", 1),
        ("consents", 1),
        ("users", 1),
        ("unanswered_questions", 1),
    ];
    for (table, n) in expected {
        assert_eq!(counts.get(table), n, "{table}: {counts:?}");
    }
    assert_eq!(counts.total(), expected.iter().map(|e| e.1).sum::<u64>());
    let gone = s.export_subjects(&["u1".into(), "line:Uline".into()]).await.unwrap();
    assert!(gone.tables.values().all(Vec::is_empty), "{gone:?}");
    assert!(s.user_by_id("u1").await.unwrap().is_none());
    assert!(s.read_stream("c1", 0, 100).await.unwrap().is_empty());
    assert!(s.data_key("c1").await.unwrap().is_none());
    assert_eq!(s.token_usage("key:k-u1", 20_000).await.unwrap(), 0);
    assert!(s.line_chat("Uline").await.unwrap().is_none());

    // The other person is untouched.
    let kept = s.export_subjects(&["u2".into()]).await.unwrap();
    assert_eq!(kept.tables["events"].len(), 6);
    assert_eq!(kept.tables["users"].len(), 1);
    assert_eq!(s.messages("u2", "c2").await.unwrap().len(), 2);
    assert_eq!(s.token_usage("key:k-u2", 20_000).await.unwrap(), 3);
    let left: Vec<_> = s.unanswered(10).await.unwrap().into_iter().map(|u| u.normalized).collect();
    assert_eq!(left, ["🍺"]);
    assert!(s.erase_subjects(&[], &[]).await.unwrap().tables.is_empty());
}

async fn purge_counts_then_removes_what_is_old(t: TestDb) {
    let s = &t.store;
    let day = 86_400_000;
    // Old and new conversations, with what hangs off them.
    s.append(
        "old",
        1,
        &[
            created("u", "old", day),
            ev(EventPayload::UserMessage { message_id: "m-old".into(), content: "x".into() }, day),
        ],
    )
    .await
    .unwrap();
    s.append("new", 1, &[created("u", "new", 10 * day)]).await.unwrap();
    s.put_data_key("old", "u", "w", day).await.unwrap();
    s.put_data_key("new", "u", "w", 10 * day).await.unwrap();
    s.line_put_chat(&LineChatRow {
        chat_id: "U1".into(),
        conversation_id: Some("old".into()),
        followed: true,
        updated_at_ms: day,
    })
    .await
    .unwrap();
    s.create_session(&session("expired", "u", 3 * day)).await.unwrap();
    s.create_session(&session("live", "u", 30 * day)).await.unwrap();
    s.insert_refresh(&refresh("r-expired", "u", "f")).await.unwrap(); // expires at 1 000 ms
    s.add_token_usage("u", 1, 5).await.unwrap();
    s.add_token_usage("u", 9, 5).await.unwrap();
    s.line_claim_event("e-old", day).await.unwrap();
    s.line_claim_event("e-new", 9 * day).await.unwrap();
    s.record_unanswered("default", "old", "old", day).await.unwrap();
    s.record_unanswered("default", "new", "new", 9 * day).await.unwrap();
    s.put_file(&crate::files::file("f-old", "u", 10, day)).await.unwrap();
    s.put_data_key("file:f-old", "u", "w", day).await.unwrap();
    s.put_file(&crate::files::file("f-new", "u", 10, 9 * day)).await.unwrap();
    let mut doc = crate::files::file("f-doc", "admin", 10, day);
    doc.kb_id = Some("mnp".into());
    s.put_file(&doc).await.unwrap();
    s.add_attachment(&crate::files::attachment("a-old", "old", "u", None)).await.unwrap();
    s.add_attachment(&crate::files::attachment("a-new", "new", "u", None)).await.unwrap();
    s.billing_claim_event("evt_old", "invoice.paid", day).await.unwrap();
    s.billing_claim_event("evt_new", "invoice.paid", 9 * day).await.unwrap();

    let (cutoff, now) = (5 * day, 6 * day);
    let dry = s.purge(cutoff, now, true).await.unwrap();
    let expected = [
        ("data_keys", 2),
        ("events", 2),
        ("messages", 1),
        ("line_chats", 1),
        ("attachments", 1),
        ("conversations", 1),
        ("files", 1),
        ("billing_events", 1),
        ("sessions", 1),
        ("refresh_tokens", 1),
        ("token_usage", 1),
        ("line_webhook_events", 1),
        ("unanswered_questions", 1),
    ];
    for (table, n) in expected {
        assert_eq!(dry.get(table), n, "{table}: {dry:?}");
    }
    assert_eq!(s.read_stream("old", 0, 10).await.unwrap().len(), 2, "a dry run deletes nothing");
    let real = s.purge(cutoff, now, false).await.unwrap();
    assert_eq!(real, dry);
    assert!(s.read_stream("old", 0, 10).await.unwrap().is_empty());
    assert!(s.conversation("u", "old").await.unwrap().is_none());
    assert!(s.conversation("u", "new").await.unwrap().is_some());
    assert_eq!(s.data_keys().await.unwrap().len(), 1);
    assert!(s.file("u", "f-old").await.unwrap().is_none());
    assert!(s.file("u", "f-new").await.unwrap().is_some());
    assert!(s.file("admin", "f-doc").await.unwrap().is_some(), "knowledge-base documents stay");
    assert_eq!(s.attachments("u", "new").await.unwrap().len(), 1);
    assert!(s.billing_claim_event("evt_old", "invoice.paid", now).await.unwrap());
    assert!(!s.billing_claim_event("evt_new", "invoice.paid", now).await.unwrap());
    assert!(s.session_by_token_hash("hash-live", now).await.unwrap().is_some());
    assert_eq!(s.token_usage("u", 9).await.unwrap(), 5);
    assert!(s.line_claim_event("e-old", now).await.unwrap(), "forgotten, so claimable again");
    assert!(!s.line_claim_event("e-new", now).await.unwrap());
    assert_eq!(s.purge(cutoff, now, false).await.unwrap().total(), 0, "nothing older is left");
}

async fn consent_keeps_the_latest_version(t: TestDb) {
    let s = &t.store;
    assert!(s.consent("u").await.unwrap().is_none());
    s.record_consent("u", "2024-01", 1).await.unwrap();
    s.record_consent("u", "2024-04", 2).await.unwrap();
    assert_eq!(s.consent("u").await.unwrap().as_deref(), Some("2024-04"));
}

fn hash(seq: i64, prev: &str) -> String {
    hex::encode(Sha256::digest(format!("{seq}:{prev}").as_bytes()))
}

pub fn record(seq: i64, prev: &str, action: &str, actor: Option<&str>) -> AuditRow {
    AuditRow {
        seq,
        at: format!("2024-05-01T00:00:{:02}.000Z", seq % 60),
        actor: actor.map(str::to_string),
        action: action.into(),
        target: Some("対象".into()),
        ip: Some("2001:db8::1".into()),
        user_agent: Some("Mozilla/5.0 ".repeat(25)),
        request_id: Some("r".repeat(128)),
        details: serde_json::json!({"n": seq, "名前": "値"}),
        prev_hash: prev.to_string(),
        hash: hash(seq, prev),
    }
}

/// Appenders on two "replicas" race: the chain comes out gapless, each record
/// naming its predecessor's hash.
async fn audit_chain_has_no_forks_under_concurrent_appenders(t: TestDb) {
    let other = t.reopen().await;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let s: Arc<dyn Store> = if i % 2 == 0 { t.store.clone() } else { other.clone() };
            tokio::spawn(async move {
                s.audit_append(Box::new(move |seq, prev| record(seq, prev, "user.login", Some(&format!("u{i}")))))
                    .await
                    .unwrap()
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let chain = t.store.audit_range(0, 100).await.unwrap();
    assert_eq!(chain.iter().map(|r| r.seq).collect::<Vec<_>>(), (1..=16).collect::<Vec<_>>());
    let mut prev = String::new();
    for r in &chain {
        assert_eq!(r.prev_hash, prev, "seq {}", r.seq);
        assert_eq!(r.hash, hash(r.seq, &prev));
        prev = r.hash.clone();
    }
    other.close().await;
}

async fn audit_pages_filter_and_range(t: TestDb) {
    let s = &t.store;
    let first = s.audit_append(Box::new(|seq, prev| record(seq, prev, "user.login", None))).await.unwrap();
    assert_eq!((first.seq, first.prev_hash.as_str()), (1, ""), "the first record has no predecessor");
    for (action, actor) in [("user.created", Some("admin")), ("user.login", Some("u1")), ("user.login", Some("admin"))]
    {
        s.audit_append(Box::new(move |seq, prev| record(seq, prev, action, actor))).await.unwrap();
    }
    let all = s.audit_page(&AuditFilter::default(), 10).await.unwrap();
    assert_eq!(all.iter().map(|r| r.seq).collect::<Vec<_>>(), [4, 3, 2, 1]);
    assert_eq!(all[3], record(1, "", "user.login", None), "read back as written");
    let page = |action: Option<&str>, actor: Option<&str>, before: Option<i64>| AuditFilter {
        action: action.map(str::to_string),
        actor: actor.map(str::to_string),
        before_seq: before,
    };
    let seqs = |v: Vec<AuditRow>| v.iter().map(|r| r.seq).collect::<Vec<_>>();
    assert_eq!(seqs(s.audit_page(&page(Some("user.login"), None, None), 10).await.unwrap()), [4, 3, 1]);
    assert_eq!(seqs(s.audit_page(&page(None, Some("admin"), None), 10).await.unwrap()), [4, 2]);
    assert_eq!(seqs(s.audit_page(&page(Some("user.login"), Some("admin"), None), 10).await.unwrap()), [4]);
    assert_eq!(seqs(s.audit_page(&page(None, None, Some(4)), 2).await.unwrap()), [3, 2]);
    assert_eq!(seqs(s.audit_range(2, 10).await.unwrap()), [3, 4]);
    assert_eq!(seqs(s.audit_range(0, 1).await.unwrap()), [1]);
}

async fn data_keys_first_writer_wins(t: TestDb) {
    let s = &t.store;
    assert!(s.data_key("c1").await.unwrap().is_none());
    assert_eq!(s.put_data_key("c1", "u1", "first", 1).await.unwrap(), "first");
    assert_eq!(s.put_data_key("c1", "u2", "second", 2).await.unwrap(), "first");
    assert_eq!(s.put_data_key("c0", "u1", "zero", 3).await.unwrap(), "zero");
    assert_eq!(s.data_key("c1").await.unwrap().as_deref(), Some("first"));
    s.set_data_key_owner("c1", "u9").await.unwrap();
    s.replace_data_key("c0", "rewrapped").await.unwrap();
    assert_eq!(s.data_keys().await.unwrap(), [("c0".into(), "rewrapped".into()), ("c1".into(), "first".into())]);
    let export = s.export_subjects(&["u9".into()]).await.unwrap();
    assert_eq!(export.tables["data_keys"].len(), 1, "the key moved to its new owner");

    let other = t.reopen().await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s: Arc<dyn Store> = if i % 2 == 0 { t.store.clone() } else { other.clone() };
            tokio::spawn(async move { s.put_data_key("race", "u", &format!("k{i}"), 5).await.unwrap() })
        })
        .collect();
    let mut seen = BTreeSet::new();
    for task in tasks {
        seen.insert(task.await.unwrap());
    }
    assert_eq!(seen.len(), 1, "everyone got the one key in force: {seen:?}");
    other.close().await;
}

async fn encryption_at_rest_round_trips(t: TestDb) {
    let ring = tenmon_privacy::Keyring::new(tenmon_privacy::MasterKey::generate(), Vec::new());
    let s: Arc<dyn Store> = Arc::new(EncryptedStore::new(t.store.clone(), ring));
    s.append("c1", 1, &turn()).await.unwrap();
    s.record_unanswered("default", "秘密の質問", "秘密の質問です", 1).await.unwrap();
    assert_eq!(s.conversation("u1", "c1").await.unwrap().unwrap().title, "MNP");
    assert_eq!(s.messages("u1", "c1").await.unwrap()[1].content, "十桁の番号です");
    assert_eq!(s.unanswered(10).await.unwrap()[0].sample, "秘密の質問です");
    s.put_file(&crate::files::file("f1", "u1", 10, 1)).await.unwrap();
    s.add_attachment(&crate::files::attachment("a1", "c1", "u1", None)).await.unwrap();
    assert_eq!(s.file("u1", "f1").await.unwrap().unwrap().extracted_text.as_deref(), Some("乗り換えの手順"));
    assert_eq!(s.files("u1", 5).await.unwrap()[0].extracted_text.as_deref(), Some("乗り換えの手順"));
    let a = &s.attachments("u1", "c1").await.unwrap()[0];
    assert_eq!((a.title.as_str(), a.content.as_str()), ("ページ", "本文"));
    let raw_file = t.store.file("u1", "f1").await.unwrap().unwrap();
    assert!(raw_file.extracted_text.unwrap().starts_with("enc:v1:dk:"));
    let raw_att = &t.store.attachments("u1", "c1").await.unwrap()[0];
    assert!(raw_att.content.starts_with("enc:v1:dk:") && raw_att.title.starts_with("enc:v1:dk:"));
    let export = serde_json::to_string(&s.export_subjects(&["u1".into()]).await.unwrap()).unwrap();
    assert!(export.contains("十桁の") && !export.contains("enc:v1:"), "{export}");
    // Underneath, nothing personal is in the clear.
    let raw = serde_json::to_string(&t.store.export_subjects(&["u1".into()]).await.unwrap()).unwrap();
    assert!(!raw.contains("十桁の") && !raw.contains("予約番号") && !raw.contains("乗り換え"), "{raw}");
    assert!(export.contains("乗り換えの手順") && export.contains("本文"), "{export}");
    let raw_msgs = t.store.messages("u1", "c1").await.unwrap();
    assert!(raw_msgs[1].content.starts_with("enc:v1:dk:"));
    // Erasing the owner destroys the key: what is left cannot be read.
    s.erase_subjects(&["u1".into()], &["秘密の質問".into()]).await.unwrap();
    assert!(t.store.unanswered(10).await.unwrap().is_empty(), "blinded keys match");
}
