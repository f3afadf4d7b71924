//! Files, conversation attachments, billing accounts and events, monthly usage.

use crate::harness::TestDb;
use tenmon_store::{AssistantRow, AttachmentRow, BillingAccountRow, FileRow};

on_every_backend!(
    files_are_readable_by_their_owner_only,
    attachments_follow_their_file,
    billing_rows_and_events_once,
    assistants_are_put_listed_and_deleted
);

pub fn file(id: &str, owner: &str, size: i64, at: i64) -> FileRow {
    FileRow {
        id: id.into(),
        owner_id: owner.into(),
        name: "請求書 2026.pdf".into(),
        kind: "pdf".into(),
        mime: "application/pdf".into(),
        size,
        sha256: "ab".repeat(32),
        storage_key: format!("{owner}/{id}"),
        extracted_text: Some("乗り換えの手順".into()),
        text_truncated: false,
        kb_id: None,
        created_at_ms: at,
    }
}

pub fn attachment(id: &str, conv: &str, owner: &str, file_id: Option<&str>) -> AttachmentRow {
    AttachmentRow {
        id: id.into(),
        conversation_id: conv.into(),
        owner_id: owner.into(),
        kind: if file_id.is_some() { "file" } else { "page" }.into(),
        file_id: file_id.map(Into::into),
        title: "ページ".into(),
        url: file_id.is_none().then(|| "https://example.jp/a".to_string()),
        content: "本文".into(),
        created_at_ms: 5,
    }
}

pub fn billing(user: &str, customer: &str) -> BillingAccountRow {
    BillingAccountRow {
        user_id: user.into(),
        customer_id: customer.into(),
        subscription_id: None,
        status: "none".into(),
        price_id: None,
        plan_id: "free".into(),
        current_period_end_ms: None,
        cancel_at_period_end: false,
        past_due_since: None,
        last_event_at: None,
        updated_at_ms: 1,
    }
}

async fn files_are_readable_by_their_owner_only(t: TestDb) {
    let s = &t.store;
    s.put_file(&file("f1", "alice", 100, 1)).await.unwrap();
    s.put_file(&file("f2", "alice", 250, 2)).await.unwrap();
    s.put_file(&file("f3", "bob", 7, 3)).await.unwrap();
    let mut kb_doc = file("f4", "alice", 1000, 0);
    kb_doc.kb_id = Some("mnp".into());
    kb_doc.extracted_text = None;
    s.put_file(&kb_doc).await.unwrap();

    assert_eq!(s.file("alice", "f1").await.unwrap(), Some(file("f1", "alice", 100, 1)));
    assert!(s.file("bob", "f1").await.unwrap().is_none(), "another owner's id reads as missing");
    let ids: Vec<_> = s.files("alice", 10).await.unwrap().into_iter().map(|f| f.id).collect();
    assert_eq!(ids, ["f2", "f1", "f4"]);
    assert_eq!(s.files("alice", 1).await.unwrap().len(), 1);
    assert_eq!(s.files_bytes("alice").await.unwrap(), 1350);
    assert_eq!(s.files_bytes("nobody").await.unwrap(), 0);
    let of: Vec<_> = s.files_of(&["bob".into(), "carol".into()]).await.unwrap().into_iter().map(|f| f.id).collect();
    assert_eq!(of, ["f3"]);
    let old: Vec<_> = s.files_before(3).await.unwrap().into_iter().map(|f| f.id).collect();
    assert_eq!(old, ["f1", "f2"], "knowledge-base documents are not retention's");

    assert!(s.delete_file("bob", "f1").await.unwrap().is_none(), "no deleting another owner's file");
    assert_eq!(s.delete_file("alice", "f1").await.unwrap().map(|f| f.storage_key), Some("alice/f1".into()));
    assert!(s.file("alice", "f1").await.unwrap().is_none());
    assert!(s.delete_file("alice", "f1").await.unwrap().is_none());
}

async fn attachments_follow_their_file(t: TestDb) {
    let s = &t.store;
    s.put_file(&file("f1", "alice", 100, 1)).await.unwrap();
    s.add_attachment(&attachment("a1", "c1", "alice", Some("f1"))).await.unwrap();
    s.add_attachment(&attachment("a2", "c1", "alice", None)).await.unwrap();
    s.add_attachment(&attachment("a3", "c2", "alice", None)).await.unwrap();
    let got = s.attachments("alice", "c1").await.unwrap();
    assert_eq!(got, vec![attachment("a1", "c1", "alice", Some("f1")), attachment("a2", "c1", "alice", None)]);
    assert!(s.attachments("bob", "c1").await.unwrap().is_empty(), "owner checked");
    s.delete_file("alice", "f1").await.unwrap();
    let left: Vec<_> = s.attachments("alice", "c1").await.unwrap().into_iter().map(|a| a.id).collect();
    assert_eq!(left, ["a2"], "a deleted file leaves no copy of its text behind");
}

async fn billing_rows_and_events_once(t: TestDb) {
    let s = &t.store;
    assert!(s.billing_account("u1").await.unwrap().is_none());
    s.put_billing_account(&billing("u1", "cus_1")).await.unwrap();
    let mut paid = billing("u1", "cus_1");
    paid.subscription_id = Some("sub_1".into());
    paid.status = "active".into();
    paid.price_id = Some("price_pro".into());
    paid.plan_id = "pro".into();
    paid.current_period_end_ms = Some(1_800_000_000_000);
    paid.cancel_at_period_end = true;
    paid.past_due_since = Some(1_700_000_000);
    paid.last_event_at = Some(1_700_000_100);
    paid.updated_at_ms = 2;
    s.put_billing_account(&paid).await.unwrap();
    assert_eq!(s.billing_account("u1").await.unwrap(), Some(paid.clone()));
    assert_eq!(s.billing_account_by_customer("cus_1").await.unwrap(), Some(paid));
    assert!(s.billing_account_by_customer("cus_2").await.unwrap().is_none());
    assert!(s.put_billing_account(&billing("u2", "cus_1")).await.is_err(), "one user per customer");

    assert!(s.billing_claim_event("evt_1", "invoice.paid", 1).await.unwrap());
    assert!(!s.billing_claim_event("evt_1", "invoice.paid", 2).await.unwrap(), "a redelivery");
    s.billing_release_event("evt_1").await.unwrap();
    assert!(s.billing_claim_event("evt_1", "invoice.paid", 3).await.unwrap(), "released, so applied again");

    for (day, n) in [(100, 5), (101, 7), (131, 11), (99, 13)] {
        s.add_token_usage("u1", day, n).await.unwrap();
    }
    assert_eq!(s.token_usage_between("u1", 100, 130).await.unwrap(), 12);
    assert_eq!(s.token_usage_between("u1", 0, 1000).await.unwrap(), 36);
    assert_eq!(s.token_usage_between("u2", 0, 1000).await.unwrap(), 0);
}

pub fn assistant(id: &str, at: i64) -> AssistantRow {
    AssistantRow {
        id: id.into(),
        definition: format!(r#"{{"id":"{id}","name_ja":"営業","system_prompt":"売る"}}"#),
        created_at_ms: at,
        updated_at_ms: at,
    }
}

async fn assistants_are_put_listed_and_deleted(t: TestDb) {
    let s = &t.store;
    assert!(s.assistants().await.unwrap().is_empty());
    s.put_assistant(&assistant("sales", 1)).await.unwrap();
    s.put_assistant(&assistant("b-help", 2)).await.unwrap();
    let mut changed = assistant("sales", 1);
    changed.definition = r#"{"id":"sales","system_prompt":"もっと売る"}"#.into();
    changed.updated_at_ms = 3;
    s.put_assistant(&changed).await.unwrap();
    let all = s.assistants().await.unwrap();
    assert_eq!(all.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["b-help", "sales"]);
    assert_eq!(all[1], AssistantRow { created_at_ms: 1, ..changed }, "created_at stays, the rest changes");
    assert!(s.delete_assistant("sales").await.unwrap());
    assert!(!s.delete_assistant("sales").await.unwrap());
    assert_eq!(s.assistants().await.unwrap().len(), 1);
}
