//! `migrate-data`: SQLite → PostgreSQL → MariaDB → SQLite with every table's count
//! and checksum equal at each hop; an interrupted copy resumes; a target that holds
//! different rows is refused, not overwritten.

use crate::harness::{fresh, Db};
use std::sync::Arc;
use tenmon_store::migrate::{digest, migrate_data, MigrateError, TABLES};
use tenmon_store::{LineFailureRow, Store};

/// A row in every table (secrets included: they must move too).
async fn everything(s: &Arc<dyn Store>) {
    crate::privacy::two_people(s).await;
    s.kb_put_base(&crate::kb::base("mnp", 1)).await.unwrap();
    s.kb_put_entries(&[crate::kb::entry("e1", "mnp", 1), crate::kb::entry("e2", "mnp", 2)]).await.unwrap();
    s.kb_put_vectors(&[crate::vectors::vector("e1", "emb", crate::vectors::random(1, 1536), 3)]).await.unwrap();
    s.put_setting("synonyms", "乗り換え,MNP", 3).await.unwrap();
    s.record_unanswered("default", "解約金", "解約金は？", 4).await.unwrap();
    s.line_claim_event("evt-line", 5).await.unwrap();
    s.line_record_failure(&LineFailureRow {
        id: "lf1".into(),
        chat_id: "Uline".into(),
        operation: "push".into(),
        status: Some(429),
        error: "Too Many Requests".into(),
        created_at_ms: 6,
    })
    .await
    .unwrap();
    s.audit_append(Box::new(|seq, prev| crate::privacy::record(seq, prev, "user.login", Some("u1")))).await.unwrap();
    s.audit_append(Box::new(|seq, prev| crate::privacy::record(seq, prev, "kb.import", None))).await.unwrap();
    s.billing_claim_event("evt_1", "invoice.paid", 7).await.unwrap();
    s.put_assistant(&crate::files::assistant("sales", 8)).await.unwrap();
    let mut inv = crate::accounts::invitation("inv1", 1, 10);
    inv.used_by = Some("u1".into());
    s.create_invitation(&inv).await.unwrap();
}

async fn digests(s: &dyn Store) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    for (t, _) in TABLES {
        out.push(digest(s, t).await.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_through_every_database_keeps_every_row() {
    let sqlite = fresh(Db::Sqlite).await;
    everything(&sqlite.store).await;
    let original = digests(sqlite.store.as_ref()).await;
    for (i, (t, _)) in TABLES.iter().enumerate() {
        assert!(original[i].0 > 0, "the fixture must fill {t}");
    }

    let pg = fresh(Db::Postgres).await;
    let maria = fresh(Db::Mariadb).await;
    let back = fresh(Db::Sqlite).await;
    type Hop<'a> = (&'a Arc<dyn Store>, &'a Arc<dyn Store>);
    let hops: [Hop; 3] = [(&sqlite.store, &pg.store), (&pg.store, &maria.store), (&maria.store, &back.store)];
    for (from, to) in hops {
        let mut seen = Vec::new();
        let reports = migrate_data(from.as_ref(), to.as_ref(), |r| seen.push(r.table.clone())).await.unwrap();
        assert_eq!(seen.len(), TABLES.len());
        assert!(reports.iter().all(|r| r.equal() && r.copied == r.source_rows), "{reports:?}");
        assert_eq!(digests(to.as_ref()).await, original, "{:?} → {:?}", from.backend(), to.backend());
    }
    // What the code reads back is the same too (secrets included).
    let u = back.store.user_by_email("u1@example.jp").await.unwrap().unwrap();
    assert_eq!(u.id, "u1");
    assert!(back.store.data_key("c1").await.unwrap().is_some());
    assert_eq!(back.store.messages("u1", "c1").await.unwrap().len(), 2);
    assert_eq!(back.store.kb_entry("e2").await.unwrap().unwrap().answer.chars().count(), 14 * 3000);
    let v = crate::vectors::random(1, 1536);
    assert_eq!(back.store.kb_vectors("emb", true).await.unwrap()[0].vector, v, "vectors arrive bit for bit");
    let near = pg.store.kb_nearest("emb", &v, &[], 1).await.unwrap().unwrap();
    assert_eq!(near[0].0, "e1", "pgvector's column is filled for copied rows");

    // Run again: nothing to copy, nothing changes.
    let again = migrate_data(sqlite.store.as_ref(), pg.store.as_ref(), |_| {}).await.unwrap();
    assert!(again.iter().all(|r| r.copied == 0 && r.equal()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_copy_resumes_and_a_different_target_is_refused() {
    let src = fresh(Db::Sqlite).await;
    everything(&src.store).await;
    let dst = fresh(Db::Postgres).await;
    // As if a first run stopped in the middle of `events`.
    let some = src.store.dump_rows("events", 0, 4).await.unwrap();
    assert_eq!(dst.store.load_rows("events", &some).await.unwrap(), 4);
    let reports = migrate_data(src.store.as_ref(), dst.store.as_ref(), |_| {}).await.unwrap();
    let events = reports.iter().find(|r| r.table == "events").unwrap();
    assert_eq!((events.source_rows, events.copied), (13, 9), "{events:?}");
    assert_eq!(digests(dst.store.as_ref()).await, digests(src.store.as_ref()).await);

    // A target with its own version of a row: refused, and the row is left alone.
    let other = fresh(Db::Mariadb).await;
    other.store.kb_put_base(&crate::kb::base("mnp", 99)).await.unwrap();
    let err = migrate_data(src.store.as_ref(), other.store.as_ref(), |_| {}).await.unwrap_err();
    assert!(matches!(&err, MigrateError::Mismatch { table, .. } if table == "knowledge_bases"), "{err}");
    assert!(err.to_string().contains("empty database"));
    assert_eq!(other.store.kb_bases().await.unwrap()[0].created_at_ms, 99);
    assert!(src.store.dump_rows("no_such_table", 0, 1).await.is_err(), "only known tables");
}
