//! The LINE channel's tables, and the operations that differ by backend.

use crate::harness::{Db, TestDb};
use tenmon_store::{LineChatRow, LineFailureRow, PoolOptions, StoreError};

on_every_backend!(line_events_chats_and_failures, backup_is_sqlite_only, pool_settings_apply);

async fn line_events_chats_and_failures(t: TestDb) {
    let s = &t.store;
    assert!(s.line_claim_event("01HXYZ", 1).await.unwrap());
    assert!(!s.line_claim_event("01HXYZ", 2).await.unwrap(), "a redelivery");
    assert!(s.line_claim_event("01hxyz", 2).await.unwrap());

    assert!(s.line_chat("Uabc").await.unwrap().is_none());
    let chat =
        LineChatRow { chat_id: "Uabc".into(), conversation_id: Some("c1".into()), followed: true, updated_at_ms: 1 };
    s.line_put_chat(&chat).await.unwrap();
    assert_eq!(s.line_chat("Uabc").await.unwrap(), Some(chat));
    let unfollowed = LineChatRow { chat_id: "Uabc".into(), conversation_id: None, followed: false, updated_at_ms: 2 };
    s.line_put_chat(&unfollowed).await.unwrap();
    assert_eq!(s.line_chat("Uabc").await.unwrap(), Some(unfollowed));

    for (id, at, status) in [("f1", 10, Some(429)), ("f2", 30, None), ("f3", 20, Some(500))] {
        s.line_record_failure(&LineFailureRow {
            id: id.into(),
            chat_id: "Uabc".into(),
            operation: "push".into(),
            status,
            error: "Too Many Requests".into(),
            created_at_ms: at,
        })
        .await
        .unwrap();
    }
    let failures = s.line_failures(2).await.unwrap();
    assert_eq!(
        failures.iter().map(|f| (f.id.as_str(), f.status)).collect::<Vec<_>>(),
        [("f2", None), ("f3", Some(500))]
    );
}

async fn backup_is_sqlite_only(t: TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copy.db");
    let res = t.store.backup(&path.to_string_lossy()).await;
    match t.db {
        Db::Sqlite => {
            res.unwrap();
            assert!(std::fs::metadata(&path).unwrap().len() > 0);
        }
        Db::Postgres | Db::Mariadb => {
            assert!(matches!(&res, Err(StoreError::Unsupported(m)) if m.contains("dump")), "{res:?}");
            assert!(!path.exists());
        }
    }
}

/// DATABASE_SSL requires TLS (the test servers offer it; a server without it would
/// refuse the connection rather than fall back), and DATABASE_POOL_MIN connections
/// are opened up front. SQLite ignores `ssl`.
async fn pool_settings_apply(t: TestDb) {
    let s = t.open_with(PoolOptions { min: 2, max: 3, ssl: true }).await.unwrap();
    s.ping().await.unwrap();
    assert_eq!(s.conversation("u", "none").await.unwrap(), None);
    s.close().await;
    if t.db == Db::Postgres {
        // DATABASE_SSL overrides a URL that turns TLS off; the server's view says so.
        t.store.close().await;
        let plain = tenmon_store::DatabaseUrl::parse(&format!("{}?sslmode=disable", t.url.expose())).unwrap();
        // Counted: TLS backends of this database that started after the pool was asked
        // for (backends of pools closed earlier may linger a while on a busy machine).
        const SSL_BACKENDS: &str = "SELECT COUNT(*) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
             WHERE a.application_name = 'tenmon-ark' AND a.datname = current_database() AND s.ssl
               AND a.backend_start >= to_timestamp(SINCE / 1000000.0)";
        for (ssl, encrypted) in [(false, 0), (true, 1)] {
            let since = t.query_i64("SELECT (extract(epoch from clock_timestamp()) * 1000000)::bigint").await;
            let s = tenmon_store::open(&plain, &PoolOptions { min: 1, max: 1, ssl }).await.unwrap();
            s.ping().await.unwrap();
            let n = t.query_i64(&SSL_BACKENDS.replace("SINCE", &since.to_string())).await;
            s.close().await;
            assert_eq!(n, encrypted, "ssl = {ssl}");
        }
        // The URL's own sslmode wins when stricter: verify-full fails on a self-signed certificate.
        let url = tenmon_store::DatabaseUrl::parse(&format!("{}?sslmode=verify-full", t.url.expose())).unwrap();
        let strict = tenmon_store::open(&url, &PoolOptions { min: 1, max: 1, ssl: true }).await;
        assert!(strict.is_err(), "a stricter sslmode must not be downgraded to require");
    }
}
