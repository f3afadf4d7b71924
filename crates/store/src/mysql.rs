//! The MySQL 8 / MariaDB 10.11 store: a connection pool, migrations in
//! `migrations/mysql`, the same semantics as [`SqliteStore`](crate::SqliteStore).
//!
//! Dialect notes: `||` is OR here (`CONCAT` joins strings); upserts are
//! `ON DUPLICATE KEY UPDATE` with `VALUES(col)` (MariaDB has no row alias);
//! "insert unless present" is a plain INSERT whose duplicate-key error means
//! "present" (`INSERT IGNORE` would also swallow truncation errors). Tables use
//! the binary utf8mb4 collation, which sqlx reports as binary strings, so text is
//! read through [`Cells`] without sqlx's type check (the bytes are UTF-8).
//!
//! The (stream, sequence) key makes a second appender fail
//! ([`StoreError::Conflict`]); audit appenders take turns on the `audit_head` row.
//! `affected rows` counts matched rows (sqlx sets CLIENT_FOUND_ROWS), as SQLite does.
//!
//! Erasure deletes rows in one transaction; InnoDB purges the old versions from
//! its undo logs and reuses the pages later, and the binary log and backups keep
//! what they recorded until they are rotated (docs/).

use crate::events::{ConversationRow, EventPayload, MessageRow, MessageStatus, NewEvent, SessionRow, StoredEvent};
use crate::privacy::{Marks, OWNED, PURGE, SECRET_COLUMNS};
use crate::rows::{self, is_unique_violation, Cells};
use crate::{
    ApiKeyRow, AttachmentRow, AuditFilter, AuditRow, AuditSeal, Backend, BillingAccountRow, DatabaseUrl, FileRow,
    InvitationRow, KbEntryRow, KnowledgeBaseRow, LineChatRow, LineFailureRow, PoolOptions, RefreshRow, ReplayStats,
    RowCounts, Store, StoreError, SubjectExport, UnansweredRow, UserRow,
};
use async_trait::async_trait;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow, MySqlSslMode};
use sqlx::{Column, ConnectOptions, Connection, MySql, Row, Transaction, TypeInfo, ValueRef};
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/mysql");

/// MySQL/MariaDB implementation of [`Store`].
#[derive(Debug)]
pub struct MysqlStore {
    pub(crate) pool: MySqlPool,
}

impl MysqlStore {
    /// Connect (the database must exist; the tables come from [`Store::migrate`]).
    pub async fn open(url: &DatabaseUrl, pool: &PoolOptions) -> Result<Self, StoreError> {
        // sqlx speaks utf8mb4 on the connection by default.
        let mut options = MySqlConnectOptions::from_str(url.expose()).map_err(StoreError::Database)?;
        // DATABASE_SSL asks for TLS at least; a stricter `ssl-mode` in the URL stays.
        if pool.ssl && !matches!(options.get_ssl_mode(), MySqlSslMode::VerifyCa | MySqlSslMode::VerifyIdentity) {
            options = options.ssl_mode(MySqlSslMode::Required);
        }
        // One plain connection first: a pool reports an unreachable server or a wrong
        // password only as "timed out", after the acquire timeout.
        options.connect().await?.close().await?;
        let pool = MySqlPoolOptions::new()
            .min_connections(pool.min)
            .max_connections(pool.max.max(1))
            .acquire_timeout(Duration::from_secs(5))
            .idle_timeout(Some(Duration::from_secs(600)))
            .max_lifetime(Some(Duration::from_secs(1800)))
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    async fn project(
        tx: &mut Transaction<'_, MySql>,
        stream_id: &str,
        seq: i64,
        at: i64,
        payload: &EventPayload,
    ) -> Result<(), StoreError> {
        match payload {
            EventPayload::ConversationCreated { owner_id, title, assistant } => {
                sqlx::query(
                    "INSERT INTO conversations (id, owner_id, title, assistant, last_seq, created_at, updated_at, deleted)
                     VALUES (?, ?, ?, ?, ?, ?, ?, 0)",
                )
                .bind(stream_id)
                .bind(owner_id)
                .bind(title)
                .bind(assistant)
                .bind(seq)
                .bind(at)
                .bind(at)
                .execute(&mut **tx)
                .await?;
            }
            EventPayload::ConversationRenamed { title } => {
                sqlx::query("UPDATE conversations SET title = ? WHERE id = ?")
                    .bind(title)
                    .bind(stream_id)
                    .execute(&mut **tx)
                    .await?;
            }
            EventPayload::ConversationOwnerChanged { owner_id } => {
                sqlx::query("UPDATE conversations SET owner_id = ? WHERE id = ?")
                    .bind(owner_id)
                    .bind(stream_id)
                    .execute(&mut **tx)
                    .await?;
            }
            EventPayload::ConversationDeleted {} => {
                sqlx::query("UPDATE conversations SET deleted = 1 WHERE id = ?")
                    .bind(stream_id)
                    .execute(&mut **tx)
                    .await?;
            }
            EventPayload::UserMessage { message_id, content } => {
                insert_message(tx, message_id, stream_id, seq, "user", content, MessageStatus::Complete, None, at)
                    .await?;
            }
            EventPayload::AssistantStarted { message_id, model } => {
                insert_message(
                    tx,
                    message_id,
                    stream_id,
                    seq,
                    "assistant",
                    "",
                    MessageStatus::Streaming,
                    Some(model),
                    at,
                )
                .await?;
            }
            EventPayload::AssistantDelta { message_id, text } => {
                sqlx::query("UPDATE messages SET content = CONCAT(content, ?), updated_at = ? WHERE id = ?")
                    .bind(text)
                    .bind(at)
                    .bind(message_id)
                    .execute(&mut **tx)
                    .await?;
            }
            EventPayload::Sources { message_id, sources } => {
                sqlx::query("UPDATE messages SET sources = ?, updated_at = ? WHERE id = ?")
                    .bind(sources.to_string())
                    .bind(at)
                    .bind(message_id)
                    .execute(&mut **tx)
                    .await?;
            }
            EventPayload::AssistantCompleted { message_id, model, finish_reason, usage, latency_ms } => {
                sqlx::query(
                    "UPDATE messages SET status = 'complete', model = ?, finish_reason = ?, prompt_tokens = ?,
                     completion_tokens = ?, latency_ms = ?, updated_at = ? WHERE id = ?",
                )
                .bind(model)
                .bind(finish_reason)
                .bind(i64::from(usage.prompt_tokens))
                .bind(i64::from(usage.completion_tokens))
                .bind(*latency_ms as i64)
                .bind(at)
                .bind(message_id)
                .execute(&mut **tx)
                .await?;
            }
            EventPayload::AssistantFailed { message_id, latency_ms, .. } => {
                finish(tx, message_id, MessageStatus::Failed, Some(*latency_ms), at).await?;
            }
            EventPayload::AssistantCancelled { message_id, latency_ms } => {
                finish(tx, message_id, MessageStatus::Cancelled, Some(*latency_ms), at).await?;
            }
            EventPayload::AssistantInterrupted { message_id } => {
                finish(tx, message_id, MessageStatus::Interrupted, None, at).await?;
            }
        }
        Ok(())
    }

    /// The conversation's last sequence and activity time, once per append.
    async fn touch(tx: &mut Transaction<'_, MySql>, stream_id: &str, seq: i64, at: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE conversations SET last_seq = ?, updated_at = ? WHERE id = ?")
            .bind(seq)
            .bind(at)
            .bind(stream_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }
}

#[expect(clippy::too_many_arguments, reason = "one column each; a struct would only rename them")]
async fn insert_message(
    tx: &mut Transaction<'_, MySql>,
    id: &str,
    conversation_id: &str,
    seq: i64,
    role: &str,
    content: &str,
    status: MessageStatus,
    model: Option<&String>,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO messages (id, conversation_id, seq, role, content, status, model, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id)
    .bind(conversation_id)
    .bind(seq)
    .bind(role)
    .bind(content)
    .bind(status.as_str())
    .bind(model)
    .bind(at)
    .bind(at)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

async fn finish(
    tx: &mut Transaction<'_, MySql>,
    id: &str,
    status: MessageStatus,
    latency_ms: Option<u64>,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE messages SET status = ?, latency_ms = COALESCE(?, latency_ms), updated_at = ? WHERE id = ?")
        .bind(status.as_str())
        .bind(latency_ms.map(|v| v as i64))
        .bind(at)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

impl Cells for MySqlRow {
    /// Unchecked: binary-collation text arrives flagged as binary, which sqlx
    /// will not decode as a `String`; the bytes are UTF-8 all the same (and a
    /// non-UTF-8 value is still an error).
    fn text(&self, col: &str) -> Result<String, sqlx::Error> {
        self.try_get_unchecked(col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get_unchecked(col)
    }
    fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
        self.try_get(col)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(col)
    }
}

/// A row as JSON, every column but secrets, with the same keys and value kinds as
/// the SQLite export (integers stay numbers, the rest is text).
fn row_json(row: &MySqlRow) -> serde_json::Value {
    row_json_with(row, false)
}

/// A row as JSON; `all` keeps the secret columns too (for `migrate-data`).
pub(crate) fn row_json_with(row: &MySqlRow, all: bool) -> serde_json::Value {
    let mut obj = serde_json::Map::new();
    for (i, col) in row.columns().iter().enumerate() {
        let name = col.name();
        if !all && SECRET_COLUMNS.contains(&name) {
            continue;
        }
        let value = match row.try_get_raw(i) {
            Ok(raw) if raw.is_null() => serde_json::Value::Null,
            Ok(raw) => match raw.type_info().name() {
                "BIGINT" | "INT" | "MEDIUMINT" | "SMALLINT" | "TINYINT" | "BOOLEAN" => {
                    row.try_get::<i64, _>(i).map(serde_json::Value::from).unwrap_or_default()
                }
                "DOUBLE" | "FLOAT" => row.try_get::<f64, _>(i).map(serde_json::Value::from).unwrap_or_default(),
                _ => row.try_get_unchecked::<String, _>(i).map(serde_json::Value::from).unwrap_or_default(),
            },
            Err(_) => serde_json::Value::Null,
        };
        obj.insert(name.to_string(), value);
    }
    serde_json::Value::Object(obj)
}

#[async_trait]
impl Store for MysqlStore {
    fn backend(&self) -> Backend {
        Backend::Mysql
    }

    async fn migrate(&self) -> Result<usize, StoreError> {
        let before = applied_count(&self.pool).await;
        // sqlx holds a named lock (GET_LOCK) while migrating: replicas starting
        // together migrate once. DDL commits implicitly on MySQL, so a failed
        // migration can leave part of its tables behind (sqlx marks it dirty).
        MIGRATOR.run(&self.pool).await?;
        let after = applied_count(&self.pool).await;
        Ok((after - before).max(0) as usize)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn append(
        &self,
        stream_id: &str,
        expected_next: i64,
        events: &[NewEvent],
    ) -> Result<Vec<StoredEvent>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.pool.begin().await?;
        let mut rows = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            rows.push((
                expected_next + i as i64,
                event.payload.kind(),
                serde_json::to_string(&event.payload)?,
                event.at_ms,
            ));
        }
        let mut insert =
            sqlx::QueryBuilder::<MySql>::new("INSERT INTO events (stream_id, seq, event_type, payload, created_at) ");
        insert.push_values(rows, |mut b, (seq, kind, payload, at)| {
            b.push_bind(stream_id.to_string()).push_bind(seq).push_bind(kind).push_bind(payload).push_bind(at);
        });
        // A concurrent appender of the same sequence holds the key until it commits;
        // this insert waits for it and then fails, rather than both succeeding.
        match insert.build().execute(&mut *tx).await {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict { stream_id: stream_id.to_string(), seq: expected_next })
            }
            other => other?,
        };
        let mut stored = Vec::with_capacity(events.len());
        for (i, event) in events.iter().enumerate() {
            let seq = expected_next + i as i64;
            Self::project(&mut tx, stream_id, seq, event.at_ms, &event.payload).await?;
            stored.push(StoredEvent {
                stream_id: stream_id.to_string(),
                seq,
                payload: event.payload.clone(),
                at_ms: event.at_ms,
            });
        }
        if let Some(last) = stored.last() {
            Self::touch(&mut tx, stream_id, last.seq, last.at_ms).await?;
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn read_stream(&self, stream_id: &str, after: i64, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, payload, created_at FROM events WHERE stream_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(stream_id)
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let payload = row.text("payload")?;
                Ok(StoredEvent {
                    stream_id: stream_id.to_string(),
                    seq: row.try_get("seq")?,
                    payload: serde_json::from_str(&payload)?,
                    at_ms: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    async fn next_seq(&self, stream_id: &str) -> Result<i64, StoreError> {
        let max: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM events WHERE stream_id = ?")
            .bind(stream_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(max.unwrap_or(0) + 1)
    }

    async fn conversation(&self, owner_id: &str, id: &str) -> Result<Option<ConversationRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM conversations WHERE id = ? AND owner_id = ? AND deleted = 0")
            .bind(id)
            .bind(owner_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::conversation).transpose()
    }

    async fn list_conversations(
        &self,
        owner_id: &str,
        before: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<ConversationRow>, StoreError> {
        let (ts, id) = before.unwrap_or((i64::MAX, String::new()));
        let rows = sqlx::query(
            "SELECT * FROM conversations WHERE owner_id = ? AND deleted = 0
               AND (updated_at < ? OR (updated_at = ? AND id < ?) OR ? = '')
             ORDER BY updated_at DESC, id DESC LIMIT ?",
        )
        .bind(owner_id)
        .bind(ts)
        .bind(ts)
        .bind(&id)
        .bind(&id)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::conversation).collect()
    }

    async fn messages(&self, owner_id: &str, conversation_id: &str) -> Result<Vec<MessageRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT m.* FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.conversation_id = ? AND c.owner_id = ? AND c.deleted = 0 ORDER BY m.seq",
        )
        .bind(conversation_id)
        .bind(owner_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::message).collect()
    }

    async fn message(&self, owner_id: &str, id: &str) -> Result<Option<MessageRow>, StoreError> {
        let row = sqlx::query(
            "SELECT m.* FROM messages m JOIN conversations c ON c.id = m.conversation_id
             WHERE m.id = ? AND c.owner_id = ? AND c.deleted = 0",
        )
        .bind(id)
        .bind(owner_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::message).transpose()
    }

    async fn create_session(&self, session: &SessionRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, token_hash, subject_id, kind, created_at, expires_at, revoked)
             VALUES (?, ?, ?, ?, ?, ?, 0)",
        )
        .bind(&session.id)
        .bind(&session.token_hash)
        .bind(&session.subject_id)
        .bind(&session.kind)
        .bind(session.created_at_ms)
        .bind(session.expires_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn session_by_token_hash(&self, token_hash: &str, now_ms: i64) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, token_hash, subject_id, kind, created_at, expires_at FROM sessions
             WHERE token_hash = ? AND revoked = 0 AND expires_at > ?",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::session).transpose()
    }

    async fn streaming_messages(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows =
            sqlx::query("SELECT conversation_id, id FROM messages WHERE status = 'streaming' ORDER BY created_at")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| Ok((r.text("conversation_id")?, r.text("id")?))).collect()
    }

    async fn kb_bases(&self) -> Result<Vec<KnowledgeBaseRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM knowledge_bases ORDER BY id").fetch_all(&self.pool).await?;
        rows.iter().map(rows::kb_base).collect()
    }

    async fn kb_put_base(&self, b: &KnowledgeBaseRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO knowledge_bases (id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
             ON DUPLICATE KEY UPDATE name = VALUES(name), description = VALUES(description),
               updated_at = VALUES(updated_at)",
        )
        .bind(&b.id)
        .bind(&b.name)
        .bind(&b.description)
        .bind(b.created_at_ms)
        .bind(b.updated_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn kb_delete_base(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        // A join, not `IN (SELECT …)`: MySQL locks and plans a multi-table delete better.
        sqlx::query("DELETE v FROM kb_vectors v JOIN kb_entries e ON e.id = v.entry_id WHERE e.kb_id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM kb_entries WHERE kb_id = ?").bind(id).execute(&mut *tx).await?;
        let n =
            sqlx::query("DELETE FROM knowledge_bases WHERE id = ?").bind(id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn kb_entries(&self, kb_id: Option<&str>) -> Result<Vec<KbEntryRow>, StoreError> {
        let rows = match kb_id {
            Some(kb) => {
                sqlx::query("SELECT * FROM kb_entries WHERE kb_id = ? ORDER BY id")
                    .bind(kb)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sqlx::query("SELECT * FROM kb_entries ORDER BY id").fetch_all(&self.pool).await?,
        };
        rows.iter().map(rows::kb_entry).collect()
    }

    async fn kb_entry(&self, id: &str) -> Result<Option<KbEntryRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM kb_entries WHERE id = ?").bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::kb_entry).transpose()
    }

    async fn kb_put_entries(&self, entries: &[KbEntryRow]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for e in entries {
            sqlx::query(
                "INSERT INTO kb_entries (id, kb_id, question, phrasings, answer, keywords, category, source_url,
                   question_en, answer_en, enabled, version, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON DUPLICATE KEY UPDATE kb_id = VALUES(kb_id), question = VALUES(question),
                   phrasings = VALUES(phrasings), answer = VALUES(answer), keywords = VALUES(keywords),
                   category = VALUES(category), source_url = VALUES(source_url), question_en = VALUES(question_en),
                   answer_en = VALUES(answer_en), enabled = VALUES(enabled), version = VALUES(version),
                   updated_at = VALUES(updated_at)",
            )
            .bind(&e.id)
            .bind(&e.kb_id)
            .bind(&e.question)
            .bind(serde_json::to_string(&e.phrasings)?)
            .bind(&e.answer)
            .bind(serde_json::to_string(&e.keywords)?)
            .bind(&e.category)
            .bind(&e.source_url)
            .bind(&e.question_en)
            .bind(&e.answer_en)
            .bind(i64::from(e.enabled))
            .bind(e.version)
            .bind(e.created_at_ms)
            .bind(e.updated_at_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn kb_delete_entry(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM kb_vectors WHERE entry_id = ?").bind(id).execute(&mut *tx).await?;
        let n = sqlx::query("DELETE FROM kb_entries WHERE id = ?").bind(id).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn kb_vectors(&self, model: &str, with_vectors: bool) -> Result<Vec<crate::KbVectorRow>, StoreError> {
        self.vectors(model, with_vectors).await
    }

    async fn kb_put_vectors(&self, rows: &[crate::KbVectorRow]) -> Result<(), StoreError> {
        self.put_vectors(rows).await
    }

    async fn kb_delete_vectors(&self, entry_ids: &[String]) -> Result<u64, StoreError> {
        self.delete_vectors(entry_ids).await
    }

    async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let row =
            sqlx::query("SELECT value FROM settings WHERE name = ?").bind(name).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| r.text("value")).transpose()?)
    }

    async fn put_setting(&self, name: &str, value: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)
             ON DUPLICATE KEY UPDATE value = VALUES(value), updated_at = VALUES(updated_at)",
        )
        .bind(name)
        .bind(value)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn record_unanswered(
        &self,
        assistant: &str,
        normalized: &str,
        sample: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO unanswered_questions (id, assistant, normalized, sample, hits, first_seen, last_seen)
             VALUES (?, ?, ?, ?, 1, ?, ?)
             ON DUPLICATE KEY UPDATE hits = hits + 1, last_seen = VALUES(last_seen)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(assistant)
        .bind(normalized)
        .bind(sample)
        .bind(now_ms)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn unanswered(&self, limit: u32) -> Result<Vec<UnansweredRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM unanswered_questions ORDER BY hits DESC, last_seen DESC LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::unanswered).collect()
    }

    async fn create_user(&self, u: &UserRow) -> Result<(), StoreError> {
        let res = sqlx::query(
            "INSERT INTO users (id, email, email_lower, display_name, role, locale, password_hash, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&u.id)
        .bind(&u.email)
        .bind(u.email.to_lowercase())
        .bind(&u.display_name)
        .bind(&u.role)
        .bind(&u.locale)
        .bind(&u.password_hash)
        .bind(u.created_at_ms)
        .bind(u.updated_at_ms)
        .execute(&self.pool)
        .await;
        match res {
            Err(e) if is_unique_violation(&e) => Err(StoreError::Duplicate("users_email_key".into())),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE id = ?").bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM users WHERE email_lower = ?")
            .bind(email.to_lowercase())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&self.pool).await?;
        Ok(n as u64)
    }

    async fn list_users(&self, after_id: Option<&str>, limit: u32) -> Result<Vec<UserRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM users WHERE id > ? ORDER BY id LIMIT ?")
            .bind(after_id.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::user).collect()
    }

    async fn set_user_password(&self, id: &str, password_hash: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?")
            .bind(password_hash)
            .bind(now_ms)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn set_user_role(&self, id: &str, role: &str, now_ms: i64) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE users SET role = ?, updated_at = ? WHERE id = ?")
            .bind(role)
            .bind(now_ms)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    async fn insert_refresh(&self, t: &RefreshRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at, expires_at, used_at, revoked_at)
             VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)",
        )
        .bind(&t.id)
        .bind(&t.user_id)
        .bind(&t.family_id)
        .bind(&t.token_hash)
        .bind(t.created_at_ms)
        .bind(t.expires_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn refresh_by_hash(&self, token_hash: &str) -> Result<Option<RefreshRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM refresh_tokens WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::refresh).transpose()
    }

    async fn use_refresh(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        // Row-locking UPDATE: of two concurrent refreshes with one token, the second
        // re-checks `used_at` after the first commits and matches nothing.
        let n = sqlx::query(
            "UPDATE refresh_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn revoke_family(&self, family_id: &str, now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL")
            .bind(now_ms)
            .bind(family_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sessions SET revoked = 1 WHERE id = ?").bind(family_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn revoke_user(&self, user_id: &str, now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE refresh_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
            .bind(now_ms)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE sessions SET revoked = 1 WHERE subject_id = ?").bind(user_id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn user_for_login(&self, user_id: &str, family_id: &str) -> Result<Option<UserRow>, StoreError> {
        let row = sqlx::query(
            "SELECT u.* FROM users u WHERE u.id = ? AND EXISTS (
               SELECT 1 FROM refresh_tokens r WHERE r.family_id = ? AND r.user_id = u.id AND r.revoked_at IS NULL)",
        )
        .bind(user_id)
        .bind(family_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn create_api_key(&self, k: &ApiKeyRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, created_at, expires_at, last_used_at, revoked_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
        )
        .bind(&k.id)
        .bind(&k.user_id)
        .bind(&k.name)
        .bind(&k.prefix)
        .bind(&k.key_hash)
        .bind(serde_json::to_string(&k.scopes)?)
        .bind(k.created_at_ms)
        .bind(k.expires_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn api_keys(&self, user_id: &str) -> Result<Vec<ApiKeyRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM api_keys WHERE user_id = ? ORDER BY created_at DESC, id DESC")
            .bind(user_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::api_key).collect()
    }

    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        let row =
            sqlx::query("SELECT * FROM api_keys WHERE key_hash = ?").bind(key_hash).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::api_key).transpose()
    }

    async fn revoke_api_key(&self, user_id: &str, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL")
            .bind(now_ms)
            .bind(id)
            .bind(user_id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    async fn touch_api_key(&self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)")
            .bind(now_ms)
            .bind(id)
            .bind(now_ms - 60_000)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn add_token_usage(&self, subject_id: &str, day: i64, tokens: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO token_usage (subject_id, day, tokens) VALUES (?, ?, ?)
             ON DUPLICATE KEY UPDATE tokens = tokens + VALUES(tokens)",
        )
        .bind(subject_id)
        .bind(day)
        .bind(tokens)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn token_usage(&self, subject_id: &str, day: i64) -> Result<i64, StoreError> {
        let n: Option<i64> = sqlx::query_scalar("SELECT tokens FROM token_usage WHERE subject_id = ? AND day = ?")
            .bind(subject_id)
            .bind(day)
            .fetch_optional(&self.pool)
            .await?;
        Ok(n.unwrap_or(0))
    }

    async fn line_claim_event(&self, event_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let res = sqlx::query("INSERT INTO line_webhook_events (event_id, received_at) VALUES (?, ?)")
            .bind(event_id)
            .bind(now_ms)
            .execute(&self.pool)
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn line_chat(&self, chat_id: &str) -> Result<Option<LineChatRow>, StoreError> {
        let row =
            sqlx::query("SELECT * FROM line_chats WHERE chat_id = ?").bind(chat_id).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::line_chat).transpose()
    }

    async fn line_put_chat(&self, c: &LineChatRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO line_chats (chat_id, conversation_id, followed, updated_at) VALUES (?, ?, ?, ?)
             ON DUPLICATE KEY UPDATE conversation_id = VALUES(conversation_id),
               followed = VALUES(followed), updated_at = VALUES(updated_at)",
        )
        .bind(&c.chat_id)
        .bind(&c.conversation_id)
        .bind(i64::from(c.followed))
        .bind(c.updated_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn line_record_failure(&self, f: &LineFailureRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO line_failures (id, chat_id, operation, status, error, created_at)
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&f.id)
        .bind(&f.chat_id)
        .bind(&f.operation)
        .bind(f.status)
        .bind(&f.error)
        .bind(f.created_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn line_failures(&self, limit: u32) -> Result<Vec<LineFailureRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM line_failures ORDER BY created_at DESC, id DESC LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::line_failure).collect()
    }

    async fn export_subjects(&self, ids: &[String]) -> Result<SubjectExport, StoreError> {
        let mut out = SubjectExport::default();
        if ids.is_empty() {
            return Ok(out);
        }
        // One snapshot for all tables (InnoDB's default REPEATABLE READ).
        let mut tx = self.pool.begin().await?;
        for (table, cond) in OWNED {
            let (cond, n) = Marks::Question.expand(cond, "ids", ids.len());
            let sql = format!("SELECT * FROM {table} WHERE {cond}");
            let mut q = sqlx::query(&sql);
            for _ in 0..n {
                for id in ids {
                    q = q.bind(id);
                }
            }
            let rows = q.fetch_all(&mut *tx).await?;
            out.tables.insert(table.to_string(), rows.iter().map(row_json).collect());
        }
        tx.commit().await?;
        Ok(out)
    }

    async fn erase_subjects(&self, ids: &[String], unanswered_keys: &[String]) -> Result<RowCounts, StoreError> {
        let mut counts = RowCounts::default();
        if ids.is_empty() {
            return Ok(counts);
        }
        let mut tx = self.pool.begin().await?;
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
        Ok(counts)
    }

    async fn purge(&self, cutoff_ms: i64, now_ms: i64, dry_run: bool) -> Result<RowCounts, StoreError> {
        let mut counts = RowCounts::default();
        let mut tx = self.pool.begin().await?;
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
        }
        Ok(counts)
    }

    async fn record_consent(&self, subject_id: &str, version: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO consents (subject_id, version, consented_at) VALUES (?, ?, ?)
             ON DUPLICATE KEY UPDATE version = VALUES(version), consented_at = VALUES(consented_at)",
        )
        .bind(subject_id)
        .bind(version)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn consent(&self, subject_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT version FROM consents WHERE subject_id = ?")
            .bind(subject_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.text("version")).transpose()?)
    }

    async fn audit_append(&self, seal: AuditSeal) -> Result<AuditRow, StoreError> {
        let mut tx = self.pool.begin().await?;
        // Appenders queue on the head row (readers do not), so each one reads the
        // record the previous one committed and the chain never forks. The read is a
        // locking read: it sees the latest commit, not the transaction's snapshot.
        sqlx::query("SELECT id FROM audit_head WHERE id = 1 FOR UPDATE").execute(&mut *tx).await?;
        let last = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1 FOR UPDATE")
            .fetch_optional(&mut *tx)
            .await?;
        let (seq, prev) = match last {
            Some(r) => (r.int("seq")? + 1, r.text("hash")?),
            None => (1, String::new()),
        };
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

    async fn audit_page(&self, f: &AuditFilter, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM audit_log WHERE (? IS NULL OR action = ?) AND (? IS NULL OR actor = ?)
               AND (? IS NULL OR seq < ?) ORDER BY seq DESC LIMIT ?",
        )
        .bind(&f.action)
        .bind(&f.action)
        .bind(&f.actor)
        .bind(&f.actor)
        .bind(f.before_seq)
        .bind(f.before_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::audit).collect()
    }

    async fn audit_range(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?")
            .bind(after_seq)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::audit).collect()
    }

    async fn create_invitation(&self, i: &InvitationRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO invitations (id, token_hash, email, role, created_by, created_at, expires_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&i.id)
        .bind(&i.token_hash)
        .bind(&i.email)
        .bind(&i.role)
        .bind(&i.created_by)
        .bind(i.created_at_ms)
        .bind(i.expires_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn invitation_by_hash(&self, token_hash: &str) -> Result<Option<InvitationRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM invitations WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::invitation).transpose()
    }

    async fn claim_invitation(&self, id: &str, user_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let res = sqlx::query(
            "UPDATE invitations SET used_at = ?, used_by = ?
             WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?",
        )
        .bind(now_ms)
        .bind(user_id)
        .bind(id)
        .bind(now_ms)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn release_invitation(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE invitations SET used_at = NULL, used_by = NULL WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn invitations(&self, limit: u32) -> Result<Vec<InvitationRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM invitations ORDER BY created_at DESC, id DESC LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::invitation).collect()
    }

    async fn revoke_invitation(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let res = sqlx::query(
            "UPDATE invitations SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL AND used_at IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn analytics(&self, since_ms: i64) -> Result<crate::Analytics, StoreError> {
        // As on SQLite: a hand-off is a knowledge-base answer without a source.
        // `DIV` is integer division (`/` is decimal here); SUM is DECIMAL, hence the casts.
        const HANDOFF: &str = "(m.model = 'knowledge-base' AND (m.sources IS NULL OR m.sources = '[]'))";
        let sql = format!(
            "SELECT m.created_at DIV 86400000 AS day,
                    COUNT(DISTINCT m.conversation_id) AS conversations,
                    COUNT(*) AS messages,
                    CAST(SUM(CASE WHEN m.role = 'assistant' AND m.status = 'complete' AND NOT {HANDOFF}
                         THEN 1 ELSE 0 END) AS SIGNED) AS answered,
                    CAST(SUM(CASE WHEN m.role = 'assistant' AND (m.status IN ('failed', 'interrupted')
                         OR (m.status = 'complete' AND {HANDOFF})) THEN 1 ELSE 0 END) AS SIGNED) AS unanswered,
                    CAST(SUM(COALESCE(m.prompt_tokens, 0) + COALESCE(m.completion_tokens, 0)) AS SIGNED) AS tokens
             FROM messages m WHERE m.created_at >= ? GROUP BY day ORDER BY day"
        );
        let rows = sqlx::query(&sql).bind(since_ms).fetch_all(&self.pool).await?;
        let days = rows.iter().map(rows::day_stats).collect::<Result<Vec<_>, _>>()?;
        // Sources are JSON text: the top source's fields, compared byte-wise.
        let rows = sqlx::query(
            "SELECT id, MAX(kb) AS kb, MAX(question) AS question, COUNT(*) AS n FROM (
               SELECT JSON_UNQUOTE(JSON_EXTRACT(sources, '$[0].id')) COLLATE utf8mb4_bin AS id,
                      JSON_UNQUOTE(JSON_EXTRACT(sources, '$[0].kb')) COLLATE utf8mb4_bin AS kb,
                      JSON_UNQUOTE(JSON_EXTRACT(sources, '$[0].question')) COLLATE utf8mb4_bin AS question
               FROM messages
               WHERE role = 'assistant' AND created_at >= ? AND sources IS NOT NULL AND sources <> '[]'
             ) top WHERE id IS NOT NULL GROUP BY id ORDER BY n DESC, id LIMIT 10",
        )
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        let top_entries = rows.iter().map(rows::entry_use).collect::<Result<Vec<_>, _>>()?;
        Ok(crate::Analytics { days, top_entries })
    }

    async fn set_user_disabled(&self, id: &str, disabled_at_ms: Option<i64>, now_ms: i64) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ?")
            .bind(disabled_at_ms)
            .bind(now_ms)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    async fn backup(&self, _path: &str) -> Result<(), StoreError> {
        Err(StoreError::Unsupported(
            "tenmon-ark backup copies SQLite databases only; back up MySQL/MariaDB with mysqldump or mariadb-backup"
                .into(),
        ))
    }

    async fn identity_user(&self, issuer: &str, subject: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT user_id FROM user_identities WHERE issuer = ? AND subject = ?")
            .bind(issuer)
            .bind(subject)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.text("user_id")).transpose()?)
    }

    async fn link_identity(&self, issuer: &str, subject: &str, user_id: &str, now_ms: i64) -> Result<(), StoreError> {
        let res = sqlx::query("INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES (?, ?, ?, ?)")
            .bind(issuer)
            .bind(subject)
            .bind(user_id)
            .bind(now_ms)
            .execute(&self.pool)
            .await;
        match res {
            Err(e) if !is_unique_violation(&e) => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn data_key(&self, stream_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT wrapped FROM data_keys WHERE stream_id = ?")
            .bind(stream_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.text("wrapped")).transpose()?)
    }

    async fn put_data_key(
        &self,
        stream_id: &str,
        owner_id: &str,
        wrapped: &str,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        // Of two racing writers the second waits on the key, fails as a duplicate,
        // and then reads the first one's key.
        let res = sqlx::query("INSERT INTO data_keys (stream_id, owner_id, wrapped, created_at) VALUES (?, ?, ?, ?)")
            .bind(stream_id)
            .bind(owner_id)
            .bind(wrapped)
            .bind(now_ms)
            .execute(&self.pool)
            .await;
        match res {
            Err(e) if !is_unique_violation(&e) => return Err(e.into()),
            _ => {}
        }
        let row = sqlx::query("SELECT wrapped FROM data_keys WHERE stream_id = ?")
            .bind(stream_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.text("wrapped")?)
    }

    async fn set_data_key_owner(&self, stream_id: &str, owner_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE data_keys SET owner_id = ? WHERE stream_id = ?")
            .bind(owner_id)
            .bind(stream_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn data_keys(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows =
            sqlx::query("SELECT stream_id, wrapped FROM data_keys ORDER BY stream_id").fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|r| Ok((r.text("stream_id")?, r.text("wrapped")?))).collect::<Result<_, sqlx::Error>>()?)
    }

    async fn replace_data_key(&self, stream_id: &str, wrapped: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE data_keys SET wrapped = ? WHERE stream_id = ?")
            .bind(wrapped)
            .bind(stream_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn replay(&self) -> Result<ReplayStats, StoreError> {
        let mut tx = self.pool.begin().await?;
        // A locking read of the whole log (next-key locks up to the end): no appends
        // while the read models are rebuilt (plain reads go on).
        let rows = sqlx::query(
            "SELECT stream_id, seq, payload, created_at FROM events ORDER BY stream_id, seq LOCK IN SHARE MODE",
        )
        .fetch_all(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM messages").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM conversations").execute(&mut *tx).await?;
        let mut events = 0u64;
        for row in &rows {
            let stream_id = row.text("stream_id")?;
            let payload = row.text("payload")?;
            let payload: EventPayload = serde_json::from_str(&payload)?;
            let (seq, at) = (row.try_get("seq")?, row.try_get("created_at")?);
            Self::project(&mut tx, &stream_id, seq, at, &payload).await?;
            Self::touch(&mut tx, &stream_id, seq, at).await?;
            events += 1;
        }
        let conversations: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM conversations").fetch_one(&mut *tx).await?;
        let messages: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM messages").fetch_one(&mut *tx).await?;
        tx.commit().await?;
        Ok(ReplayStats { events, conversations: conversations as u64, messages: messages as u64 })
    }

    async fn put_file(&self, f: &FileRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO files (id, owner_id, name, kind, mime, size, sha256, storage_key, extracted_text,
               text_truncated, kb_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&f.id)
        .bind(&f.owner_id)
        .bind(&f.name)
        .bind(&f.kind)
        .bind(&f.mime)
        .bind(f.size)
        .bind(&f.sha256)
        .bind(&f.storage_key)
        .bind(&f.extracted_text)
        .bind(i64::from(f.text_truncated))
        .bind(&f.kb_id)
        .bind(f.created_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn file(&self, owner_id: &str, id: &str) -> Result<Option<FileRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM files WHERE id = ? AND owner_id = ?")
            .bind(id)
            .bind(owner_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::file).transpose()
    }

    async fn files(&self, owner_id: &str, limit: u32) -> Result<Vec<FileRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM files WHERE owner_id = ? ORDER BY created_at DESC, id DESC LIMIT ?")
            .bind(owner_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::file).collect()
    }

    async fn files_bytes(&self, owner_id: &str) -> Result<i64, StoreError> {
        let n: Option<i64> = sqlx::query_scalar("SELECT CAST(SUM(size) AS SIGNED) FROM files WHERE owner_id = ?")
            .bind(owner_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n.unwrap_or(0))
    }

    async fn delete_file(&self, owner_id: &str, id: &str) -> Result<Option<FileRow>, StoreError> {
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query("SELECT * FROM files WHERE id = ? AND owner_id = ?")
            .bind(id)
            .bind(owner_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row.as_ref().map(rows::file).transpose()? else { return Ok(None) };
        sqlx::query("DELETE FROM attachments WHERE file_id = ? AND owner_id = ?")
            .bind(id)
            .bind(owner_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM files WHERE id = ?").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(Some(row))
    }

    async fn files_of(&self, owner_ids: &[String]) -> Result<Vec<FileRow>, StoreError> {
        let mut out = Vec::new();
        for chunk in owner_ids.chunks(500) {
            let (cond, _) = Marks::Question.expand("owner_id IN ({ids})", "ids", chunk.len());
            let sql = format!("SELECT * FROM files WHERE {cond}");
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            for r in q.fetch_all(&self.pool).await? {
                out.push(rows::file(&r)?);
            }
        }
        Ok(out)
    }

    async fn files_before(&self, cutoff_ms: i64) -> Result<Vec<FileRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM files WHERE created_at < ? AND kb_id IS NULL ORDER BY created_at")
            .bind(cutoff_ms)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::file).collect()
    }

    async fn add_attachment(&self, a: &AttachmentRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO attachments (id, conversation_id, owner_id, kind, file_id, title, url, content, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&a.id)
        .bind(&a.conversation_id)
        .bind(&a.owner_id)
        .bind(&a.kind)
        .bind(&a.file_id)
        .bind(&a.title)
        .bind(&a.url)
        .bind(&a.content)
        .bind(a.created_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn attachments(&self, owner_id: &str, conversation_id: &str) -> Result<Vec<AttachmentRow>, StoreError> {
        let rows =
            sqlx::query("SELECT * FROM attachments WHERE conversation_id = ? AND owner_id = ? ORDER BY created_at, id")
                .bind(conversation_id)
                .bind(owner_id)
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(rows::attachment).collect()
    }

    async fn billing_account(&self, user_id: &str) -> Result<Option<BillingAccountRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM billing_accounts WHERE user_id = ?")
            .bind(user_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::billing_account).transpose()
    }

    async fn billing_account_by_customer(&self, customer_id: &str) -> Result<Option<BillingAccountRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM billing_accounts WHERE customer_id = ?")
            .bind(customer_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::billing_account).transpose()
    }

    async fn put_billing_account(&self, b: &BillingAccountRow) -> Result<(), StoreError> {
        // Not `ON DUPLICATE KEY UPDATE`: MySQL fires it on any unique key, so a row
        // naming another user's customer would overwrite that user's row.
        let inserted = sqlx::query(
            "INSERT INTO billing_accounts (user_id, customer_id, subscription_id, status, price_id, plan_id,
               current_period_end, cancel_at_period_end, past_due_since, last_event_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&b.user_id)
        .bind(&b.customer_id)
        .bind(&b.subscription_id)
        .bind(&b.status)
        .bind(&b.price_id)
        .bind(&b.plan_id)
        .bind(b.current_period_end_ms)
        .bind(i64::from(b.cancel_at_period_end))
        .bind(b.past_due_since)
        .bind(b.last_event_at)
        .bind(b.updated_at_ms)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() && db.message().contains("PRIMARY") => {
                sqlx::query(
                    "UPDATE billing_accounts SET customer_id = ?, subscription_id = ?, status = ?, price_id = ?,
                       plan_id = ?, current_period_end = ?, cancel_at_period_end = ?, past_due_since = ?, last_event_at = ?,
                       updated_at = ?
                     WHERE user_id = ?",
                )
                .bind(&b.customer_id)
                .bind(&b.subscription_id)
                .bind(&b.status)
                .bind(&b.price_id)
                .bind(&b.plan_id)
                .bind(b.current_period_end_ms)
                .bind(i64::from(b.cancel_at_period_end))
                .bind(b.past_due_since)
                .bind(b.last_event_at)
                .bind(b.updated_at_ms)
                .bind(&b.user_id)
                .execute(&self.pool)
                .await?;
                Ok(())
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn billing_claim_event(&self, event_id: &str, event_type: &str, now_ms: i64) -> Result<bool, StoreError> {
        let res = sqlx::query("INSERT INTO billing_events (event_id, event_type, received_at) VALUES (?, ?, ?)")
            .bind(event_id)
            .bind(event_type)
            .bind(now_ms)
            .execute(&self.pool)
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn billing_release_event(&self, event_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM billing_events WHERE event_id = ?").bind(event_id).execute(&self.pool).await?;
        Ok(())
    }

    async fn token_usage_between(&self, subject_id: &str, from_day: i64, to_day: i64) -> Result<i64, StoreError> {
        let n: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(SUM(tokens) AS SIGNED) FROM token_usage WHERE subject_id = ? AND day >= ? AND day <= ?",
        )
        .bind(subject_id)
        .bind(from_day)
        .bind(to_day)
        .fetch_one(&self.pool)
        .await?;
        Ok(n.unwrap_or(0))
    }

    async fn dump_rows(&self, table: &str, offset: u64, limit: u32) -> Result<Vec<serde_json::Value>, StoreError> {
        let order = crate::migrate::order_of(table)?;
        let sql = format!("SELECT * FROM {table} ORDER BY {order} LIMIT {limit} OFFSET {offset}");
        let rows = sqlx::query(&sql).fetch_all(&self.pool).await?;
        Ok(rows.iter().map(|r| row_json_with(r, true)).collect())
    }

    async fn load_rows(&self, table: &str, rows: &[serde_json::Value]) -> Result<u64, StoreError> {
        crate::migrate::order_of(table)?;
        let mut tx = self.pool.begin().await?;
        let mut n = 0;
        for row in rows {
            let cols = crate::migrate::columns(row)?;
            let marks: Vec<String> = vec!["?".to_string(); cols.len()];
            let sql = format!("INSERT IGNORE INTO {table} ({}) VALUES ({})", cols.join(", "), marks.join(", "));
            let mut q = sqlx::query(&sql);
            for c in &cols {
                q = match &row[c.as_str()] {
                    serde_json::Value::Null => q.bind(None::<String>),
                    serde_json::Value::Number(x) => match x.as_i64() {
                        Some(i) => q.bind(i),
                        None => q.bind(x.as_f64()),
                    },
                    serde_json::Value::String(v) => q.bind(v.clone()),
                    other => q.bind(other.to_string()),
                };
            }
            n += q.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(n)
    }

    fn pool_stats(&self) -> crate::PoolStats {
        crate::PoolStats {
            open: self.pool.size(),
            idle: self.pool.num_idle() as u32,
            max: self.pool.options().get_max_connections(),
        }
    }

    async fn assistants(&self) -> Result<Vec<crate::AssistantRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM assistants ORDER BY id").fetch_all(&self.pool).await?;
        rows.iter().map(rows::assistant).collect()
    }

    async fn put_assistant(&self, a: &crate::AssistantRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO assistants (id, definition, created_at, updated_at) VALUES (?, ?, ?, ?)
             ON DUPLICATE KEY UPDATE definition = VALUES(definition), updated_at = VALUES(updated_at)",
        )
        .bind(&a.id)
        .bind(&a.definition)
        .bind(a.created_at_ms)
        .bind(a.updated_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn delete_assistant(&self, id: &str) -> Result<bool, StoreError> {
        let res = sqlx::query("DELETE FROM assistants WHERE id = ?").bind(id).execute(&self.pool).await?;
        Ok(res.rows_affected() > 0)
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

async fn applied_count(pool: &MySqlPool) -> i64 {
    // Before the first migration the bookkeeping table does not exist yet.
    sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = TRUE").fetch_one(pool).await.unwrap_or(0)
}
