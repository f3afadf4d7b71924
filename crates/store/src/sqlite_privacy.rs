//! Export, erasure and retention on SQLite. Deleted rows are overwritten
//! (`secure_delete`) and the WAL is truncated afterwards, so erased text does not
//! linger in free pages or old WAL frames of the file.

use crate::privacy::{AuditFilter, AuditRow, AuditSeal, RowCounts, SubjectExport};
use crate::{SqliteStore, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::{Column, Row, Sqlite, Transaction, TypeInfo, ValueRef};

/// Columns never exported.
const SECRET_COLUMNS: [&str; 4] = ["token_hash", "key_hash", "password_hash", "wrapped"];

fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

fn row_json(row: &SqliteRow) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    for (i, col) in row.columns().iter().enumerate() {
        let name = col.name();
        if SECRET_COLUMNS.contains(&name) {
            continue;
        }
        let value = match row.try_get_raw(i) {
            Ok(raw) if raw.is_null() => serde_json::Value::Null,
            Ok(raw) => match raw.type_info().name() {
                "INTEGER" => row.try_get::<i64, _>(i).map(serde_json::Value::from).unwrap_or_default(),
                "REAL" => row.try_get::<f64, _>(i).map(serde_json::Value::from).unwrap_or_default(),
                _ => row.try_get::<String, _>(i).map(serde_json::Value::from).unwrap_or_default(),
            },
            Err(_) => serde_json::Value::Null,
        };
        obj.insert(name.to_string(), value);
    }
    serde_json::Value::Object(obj)
}

/// The statements that select (for export) or delete (for erasure) a subject's
/// rows: table, and the condition over `?` placeholders repeated per subject list.
/// `{ids}` is replaced by the placeholders of the subject ids.
const OWNED: [(&str, &str); 13] = [
    // The invitation this person used names their email.
    ("invitations", "used_by IN ({ids})"),
    ("user_identities", "user_id IN ({ids})"),
    // The keys first: even a row that survived would be unreadable (crypto-shredding).
    ("data_keys", "owner_id IN ({ids})"),
    ("events", "stream_id IN (SELECT id FROM conversations WHERE owner_id IN ({ids}))"),
    ("messages", "conversation_id IN (SELECT id FROM conversations WHERE owner_id IN ({ids}))"),
    // Usage of the subjects' API keys, before the keys themselves go.
    (
        "token_usage",
        "subject_id IN ({ids}) OR subject_id IN (SELECT 'key:' || id FROM api_keys WHERE user_id IN ({ids}))",
    ),
    ("conversations", "owner_id IN ({ids})"),
    ("sessions", "subject_id IN ({ids})"),
    ("refresh_tokens", "user_id IN ({ids})"),
    ("api_keys", "user_id IN ({ids})"),
    ("line_chats", "'line:' || chat_id IN ({ids})"),
    ("consents", "subject_id IN ({ids})"),
    ("users", "id IN ({ids})"),
];

impl SqliteStore {
    pub(crate) async fn export_subjects(&self, ids: &[String]) -> Result<SubjectExport, StoreError> {
        let mut out = SubjectExport::default();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut conn = self.pool.acquire().await?;
        for (table, cond) in OWNED {
            let n = cond.matches("{ids}").count();
            let sql = format!("SELECT * FROM {table} WHERE {}", cond.replace("{ids}", &marks(ids.len())));
            let mut q = sqlx::query(&sql);
            for _ in 0..n {
                for id in ids {
                    q = q.bind(id);
                }
            }
            let rows = q.fetch_all(&mut *conn).await?;
            out.tables.insert(table.to_string(), rows.iter().map(row_json).collect());
        }
        Ok(out)
    }

    /// Delete every row of these subjects, and the unanswered-question rows made
    /// from their messages (`unanswered_keys`: normalised question texts).
    pub(crate) async fn erase_subjects(
        &self,
        ids: &[String],
        unanswered_keys: &[String],
    ) -> Result<RowCounts, StoreError> {
        let mut counts = RowCounts::default();
        if ids.is_empty() {
            return Ok(counts);
        }
        let mut tx = self.writer.begin().await?;
        for (table, cond) in OWNED {
            let n = cond.matches("{ids}").count();
            let sql = format!("DELETE FROM {table} WHERE {}", cond.replace("{ids}", &marks(ids.len())));
            let mut q = sqlx::query(&sql);
            for _ in 0..n {
                for id in ids {
                    q = q.bind(id);
                }
            }
            counts.add(table, q.execute(&mut *tx).await?.rows_affected());
        }
        for chunk in unanswered_keys.chunks(200) {
            let sql = format!("DELETE FROM unanswered_questions WHERE normalized IN ({})", marks(chunk.len()));
            let mut q = sqlx::query(&sql);
            for k in chunk {
                q = q.bind(k);
            }
            counts.add("unanswered_questions", q.execute(&mut *tx).await?.rows_affected());
        }
        tx.commit().await?;
        self.truncate_wal().await;
        Ok(counts)
    }

    /// Remove what is older than `cutoff_ms`: conversations (with their events and
    /// messages) last active before it, expired sessions and refresh tokens, old
    /// usage counters, webhook ids and unanswered questions. `dry_run` counts only.
    pub(crate) async fn purge(&self, cutoff_ms: i64, now_ms: i64, dry_run: bool) -> Result<RowCounts, StoreError> {
        let cutoff_day = cutoff_ms.div_euclid(86_400_000);
        let old = "SELECT id FROM conversations WHERE updated_at < ?1";
        let plan: [(&str, String, i64); 10] = [
            ("data_keys", format!("stream_id IN ({old})"), cutoff_ms),
            ("events", format!("stream_id IN ({old})"), cutoff_ms),
            ("messages", format!("conversation_id IN ({old})"), cutoff_ms),
            ("line_chats", format!("conversation_id IN ({old})"), cutoff_ms),
            ("conversations", "updated_at < ?1".into(), cutoff_ms),
            ("sessions", "expires_at < ?1".into(), now_ms),
            ("refresh_tokens", "expires_at < ?1".into(), now_ms),
            ("token_usage", "day < ?1".into(), cutoff_day),
            ("line_webhook_events", "received_at < ?1".into(), cutoff_ms),
            ("unanswered_questions", "last_seen < ?1".into(), cutoff_ms),
        ];
        let mut counts = RowCounts::default();
        let mut tx: Transaction<'_, Sqlite> = self.writer.begin().await?;
        for (table, cond, arg) in &plan {
            let n = if dry_run {
                let sql = format!("SELECT COUNT(*) FROM {table} WHERE {cond}");
                sqlx::query_scalar::<_, i64>(&sql).bind(arg).fetch_one(&mut *tx).await? as u64
            } else {
                let sql = format!("DELETE FROM {table} WHERE {cond}");
                sqlx::query(&sql).bind(arg).execute(&mut *tx).await?.rows_affected()
            };
            counts.add(table, n);
        }
        if dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
            if counts.total() > 0 {
                self.truncate_wal().await;
            }
        }
        Ok(counts)
    }

    pub(crate) async fn audit_append(&self, seal: AuditSeal) -> Result<AuditRow, StoreError> {
        let mut tx = self.writer.begin().await?;
        let last: Option<(i64, String)> = sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        let (seq, prev) = last.map(|(s, h)| (s + 1, h)).unwrap_or((1, String::new()));
        let r = seal(seq, &prev);
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, action, target, ip, user_agent, request_id, details, prev_hash, hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.seq)
        .bind(&r.at)
        .bind(&r.actor)
        .bind(&r.action)
        .bind(&r.target)
        .bind(&r.ip)
        .bind(&r.user_agent)
        .bind(&r.request_id)
        .bind(r.details.to_string())
        .bind(&r.prev_hash)
        .bind(&r.hash)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(r)
    }

    pub(crate) async fn audit_page(&self, f: &AuditFilter, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM audit_log WHERE (?1 IS NULL OR action = ?1) AND (?2 IS NULL OR actor = ?2)
               AND (?3 IS NULL OR seq < ?3) ORDER BY seq DESC LIMIT ?4",
        )
        .bind(&f.action)
        .bind(&f.actor)
        .bind(f.before_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(audit_row).collect()
    }

    pub(crate) async fn audit_range(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?")
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(audit_row).collect()
    }

    /// Move the WAL into the database and empty it, so old page images go too.
    async fn truncate_wal(&self) {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.writer).await {
            tracing::warn!(error = %e, "WAL checkpoint after a deletion failed");
        }
    }
}

fn audit_row(r: &SqliteRow) -> Result<AuditRow, StoreError> {
    let details: String = r.try_get("details")?;
    Ok(AuditRow {
        seq: r.try_get("seq")?,
        at: r.try_get("at")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        target: r.try_get("target")?,
        ip: r.try_get("ip")?,
        user_agent: r.try_get("user_agent")?,
        request_id: r.try_get("request_id")?,
        // A record whose details are not JSON was edited; verification will say so.
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}
