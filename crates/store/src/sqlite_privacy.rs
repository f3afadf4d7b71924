//! Export, erasure and retention on SQLite. Deleted rows are overwritten
//! (`secure_delete`) and the WAL is truncated afterwards, so erased text does not
//! linger in free pages or old WAL frames of the file.

use crate::privacy::{
    Analytics, AuditFilter, AuditRow, AuditSeal, DayStats, EntryUse, Marks, RowCounts, SubjectExport, OWNED, PURGE,
    SECRET_COLUMNS,
};
use crate::{rows, SqliteStore, StoreError};
use sqlx::sqlite::SqliteRow;
use sqlx::{Column, Row, Sqlite, Transaction, TypeInfo, ValueRef};

fn row_json(row: &SqliteRow) -> serde_json::Value {
    row_json_with(row, false)
}

/// A row as JSON; `all` keeps the secret columns too (for `migrate-data`).
pub(crate) fn row_json_with(row: &SqliteRow, all: bool) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    for (i, col) in row.columns().iter().enumerate() {
        let name = col.name();
        if !all && SECRET_COLUMNS.contains(&name) {
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

impl SqliteStore {
    pub(crate) async fn export_subjects(&self, ids: &[String]) -> Result<SubjectExport, StoreError> {
        let mut out = SubjectExport::default();
        if ids.is_empty() {
            return Ok(out);
        }
        let mut conn = self.pool.acquire().await?;
        for (table, cond) in OWNED {
            let (cond, n) = Marks::Question.expand(cond, "ids", ids.len());
            let sql = format!("SELECT * FROM {table} WHERE {cond}");
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
            let (cond, n) = Marks::Question.expand(cond, "ids", ids.len());
            let sql = format!("DELETE FROM {table} WHERE {cond}");
            let mut q = sqlx::query(&sql);
            for _ in 0..n {
                for id in ids {
                    q = q.bind(id);
                }
            }
            counts.add(table, q.execute(&mut *tx).await?.rows_affected());
        }
        for chunk in unanswered_keys.chunks(200) {
            let (cond, _) = Marks::Question.expand("normalized IN ({keys})", "keys", chunk.len());
            let sql = format!("DELETE FROM unanswered_questions WHERE {cond}");
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
        let mut counts = RowCounts::default();
        let mut tx: Transaction<'_, Sqlite> = self.writer.begin().await?;
        for (table, cond, arg) in PURGE {
            let (cond, _) = Marks::Question.expand(cond, "arg", 1);
            let arg = arg.value(cutoff_ms, now_ms);
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
        // IMMEDIATE: take the write lock before reading the head, so another process
        // on the same file (the CLI next to the server) waits its turn instead of
        // failing to upgrade its read lock ("database is locked").
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
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
        rows.iter().map(rows::audit).collect()
    }

    pub(crate) async fn audit_range(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?")
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::audit).collect()
    }

    pub(crate) async fn analytics(&self, since_ms: i64) -> Result<Analytics, StoreError> {
        // A hand-off is a knowledge-base answer without a source.
        const HANDOFF: &str = "(m.model = 'knowledge-base' AND (m.sources IS NULL OR m.sources = '[]'))";
        let sql = format!(
            "SELECT m.created_at / 86400000 AS day,
                    COUNT(DISTINCT m.conversation_id) AS conversations,
                    COUNT(*) AS messages,
                    SUM(CASE WHEN m.role = 'assistant' AND m.status = 'complete' AND NOT {HANDOFF} THEN 1 ELSE 0 END) AS answered,
                    SUM(CASE WHEN m.role = 'assistant' AND (m.status IN ('failed', 'interrupted')
                         OR (m.status = 'complete' AND {HANDOFF})) THEN 1 ELSE 0 END) AS unanswered,
                    SUM(COALESCE(m.prompt_tokens, 0) + COALESCE(m.completion_tokens, 0)) AS tokens
             FROM messages m WHERE m.created_at >= ? GROUP BY day ORDER BY day"
        );
        let rows = sqlx::query(&sql).bind(since_ms).fetch_all(&self.pool).await?;
        let days = rows
            .iter()
            .map(|r| {
                Ok(DayStats {
                    day: r.try_get("day")?,
                    conversations: r.try_get("conversations")?,
                    messages: r.try_get("messages")?,
                    answered: r.try_get("answered")?,
                    unanswered: r.try_get("unanswered")?,
                    tokens: r.try_get("tokens")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let rows = sqlx::query(
            // A subquery: in `GROUP BY id` over `messages`, `id` would be the message id.
            "SELECT id, MAX(kb) AS kb, MAX(question) AS question, COUNT(*) AS n FROM (
               SELECT json_extract(sources, '$[0].id') AS id, json_extract(sources, '$[0].kb') AS kb,
                      json_extract(sources, '$[0].question') AS question
               FROM messages
               WHERE role = 'assistant' AND created_at >= ? AND sources IS NOT NULL AND sources != '[]'
             ) top WHERE id IS NOT NULL GROUP BY id ORDER BY n DESC, id LIMIT 10",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        let top_entries = rows
            .iter()
            .map(|r| {
                Ok(EntryUse {
                    id: r.try_get("id")?,
                    kb: r.try_get::<Option<String>, _>("kb")?.unwrap_or_default(),
                    question: r.try_get::<Option<String>, _>("question")?.unwrap_or_default(),
                    count: r.try_get("n")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Analytics { days, top_entries })
    }

    /// Move the WAL into the database and empty it, so old page images go too.
    async fn truncate_wal(&self) {
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&self.writer).await {
            tracing::warn!(error = %e, "WAL checkpoint after a deletion failed");
        }
    }
}
