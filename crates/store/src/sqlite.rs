//! The embedded SQLite store: one file, WAL mode, migrations embedded in the binary.

use crate::events::{ConversationRow, EventPayload, MessageRow, NewEvent, SessionRow, StoredEvent};
use crate::privacy::Marks;
use crate::rows::{self, is_unique_violation, Cells};
use crate::sqlite_append::{Appender, Statements};
use crate::{
    ApiKeyRow, AttachmentRow, AuditFilter, AuditRow, AuditSeal, Backend, BillingAccountRow, DatabaseUrl, FileRow,
    InvitationRow, KbEntryRow, KnowledgeBaseRow, LineChatRow, LineFailureRow, PoolOptions, RefreshRow, ReplayStats,
    RowCounts, Store, StoreError, SubjectExport, UnansweredRow, UserRow,
};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use sqlx::Row;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// SQLite implementation of [`Store`].
#[derive(Debug)]
pub struct SqliteStore {
    /// Readers.
    pub(crate) pool: SqlitePool,
    /// The one writer: SQLite allows one write transaction at a time, and writers
    /// that contend inside SQLite sleep in its busy handler (tens of ms). Queueing
    /// them here, on a one-connection pool, is fair and fast.
    pub(crate) writer: SqlitePool,
    /// Appends to the event log, written in batches on the writer (group commit).
    appender: Appender,
    /// The file and its (device, inode) when opened: a file deleted or replaced under a
    /// running server is a dead database even though open handles still answer.
    file: Option<(PathBuf, (u64, u64))>,
}

impl SqliteStore {
    /// Open (creating the file and its directory if needed).
    pub async fn open(url: &DatabaseUrl, pool: &PoolOptions) -> Result<Self, StoreError> {
        let path = url.sqlite_path().map(PathBuf::from);
        if let Some(parent) = path.as_ref().and_then(|p| p.parent()) {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| StoreError::Unavailable(format!("cannot create {}: {e}", parent.display())))?;
            }
        }
        let options = SqliteConnectOptions::from_str(url.expose())
            .map_err(StoreError::Database)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            // Deleted content is overwritten, not left in free pages (erasure, retention).
            .pragma("secure_delete", "ON");
        let in_memory = path.is_none();
        // No ping before each use: the database is in this process, and sqlx's ping
        // is one more round trip to the connection's thread per query.
        let writer = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        if in_memory {
            // One in-memory database cannot be shared by two pools.
            let file = None;
            let appender = Appender::start(writer.clone());
            return Ok(Self { pool: writer.clone(), writer, appender, file });
        }
        // Readers (a file database: an in-memory one returned above, on its one connection).
        let pool = SqlitePoolOptions::new()
            .test_before_acquire(false)
            .min_connections(pool.min)
            .max_connections(pool.max.max(1))
            .idle_timeout(Some(Duration::from_secs(600)))
            .max_lifetime(Some(Duration::from_secs(3600)))
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        let file = match path {
            Some(p) => {
                let meta =
                    std::fs::metadata(&p).map_err(|e| StoreError::Unavailable(format!("{}: {e}", p.display())))?;
                Some((p, (meta.dev(), meta.ino())))
            }
            None => None,
        };
        let appender = Appender::start(writer.clone());
        Ok(Self { pool, writer, appender, file })
    }
}

impl Cells for sqlx::sqlite::SqliteRow {
    fn text(&self, col: &str) -> Result<String, sqlx::Error> {
        self.try_get(col)
    }
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(col)
    }
    fn int(&self, col: &str) -> Result<i64, sqlx::Error> {
        self.try_get(col)
    }
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(col)
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> Result<usize, StoreError> {
        let before: i64 = applied_count(&self.writer).await;
        MIGRATOR.run(&self.writer).await?;
        let after: i64 = applied_count(&self.writer).await;
        Ok((after - before).max(0) as usize)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        if let Some((path, id)) = &self.file {
            let meta = std::fs::metadata(path)
                .map_err(|e| StoreError::Unavailable(format!("database file {}: {e}", path.display())))?;
            if (meta.dev(), meta.ino()) != *id {
                return Err(StoreError::Unavailable(format!(
                    "database file {} was replaced while the server was running",
                    path.display()
                )));
            }
        }
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
        self.appender.append(stream_id, expected_next, events).await
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
                let payload: String = row.try_get("payload")?;
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
        .execute(&self.writer)
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
        rows.iter().map(|r| Ok((r.try_get("conversation_id")?, r.try_get("id")?))).collect()
    }

    async fn kb_bases(&self) -> Result<Vec<KnowledgeBaseRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM knowledge_bases ORDER BY id").fetch_all(&self.pool).await?;
        rows.iter().map(rows::kb_base).collect()
    }

    async fn kb_put_base(&self, b: &KnowledgeBaseRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO knowledge_bases (id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, updated_at = excluded.updated_at",
        )
        .bind(&b.id)
        .bind(&b.name)
        .bind(&b.description)
        .bind(b.created_at_ms)
        .bind(b.updated_at_ms)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn kb_delete_base(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM kb_vectors WHERE entry_id IN (SELECT id FROM kb_entries WHERE kb_id = ?)")
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
        let mut tx = self.writer.begin().await?;
        for e in entries {
            sqlx::query(
                "INSERT INTO kb_entries (id, kb_id, question, phrasings, answer, keywords, category, source_url,
                   question_en, answer_en, enabled, version, created_at, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (id) DO UPDATE SET kb_id = excluded.kb_id, question = excluded.question,
                   phrasings = excluded.phrasings, answer = excluded.answer, keywords = excluded.keywords,
                   category = excluded.category, source_url = excluded.source_url, question_en = excluded.question_en,
                   answer_en = excluded.answer_en, enabled = excluded.enabled, version = excluded.version,
                   updated_at = excluded.updated_at",
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
        let mut tx = self.writer.begin().await?;
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
        Ok(sqlx::query_scalar("SELECT value FROM settings WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn put_setting(&self, name: &str, value: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO settings (name, value, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(name)
        .bind(value)
        .bind(now_ms)
        .execute(&self.writer)
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
             ON CONFLICT (assistant, normalized) DO UPDATE SET hits = hits + 1, last_seen = excluded.last_seen",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(assistant)
        .bind(normalized)
        .bind(sample)
        .bind(now_ms)
        .bind(now_ms)
        .execute(&self.writer)
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
        .execute(&self.writer)
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
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn set_user_role(&self, id: &str, role: &str, now_ms: i64) -> Result<bool, StoreError> {
        let n = sqlx::query("UPDATE users SET role = ?, updated_at = ? WHERE id = ?")
            .bind(role)
            .bind(now_ms)
            .bind(id)
            .execute(&self.writer)
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
        .execute(&self.writer)
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
        let n = sqlx::query(
            "UPDATE refresh_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.writer)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    async fn revoke_family(&self, family_id: &str, now_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
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
        let mut tx = self.writer.begin().await?;
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
        .execute(&self.writer)
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
            .execute(&self.writer)
            .await?
            .rows_affected();
        Ok(n > 0)
    }

    async fn touch_api_key(&self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)")
            .bind(now_ms)
            .bind(id)
            .bind(now_ms - 60_000)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn add_token_usage(&self, subject_id: &str, day: i64, tokens: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO token_usage (subject_id, day, tokens) VALUES (?, ?, ?)
             ON CONFLICT (subject_id, day) DO UPDATE SET tokens = tokens + excluded.tokens",
        )
        .bind(subject_id)
        .bind(day)
        .bind(tokens)
        .execute(&self.writer)
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
        let res =
            sqlx::query("INSERT INTO line_webhook_events (event_id, received_at) VALUES (?, ?) ON CONFLICT DO NOTHING")
                .bind(event_id)
                .bind(now_ms)
                .execute(&self.writer)
                .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn line_chat(&self, chat_id: &str) -> Result<Option<LineChatRow>, StoreError> {
        let row =
            sqlx::query("SELECT * FROM line_chats WHERE chat_id = ?").bind(chat_id).fetch_optional(&self.pool).await?;
        row.as_ref().map(rows::line_chat).transpose()
    }

    async fn line_put_chat(&self, c: &LineChatRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO line_chats (chat_id, conversation_id, followed, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (chat_id) DO UPDATE SET conversation_id = excluded.conversation_id,
               followed = excluded.followed, updated_at = excluded.updated_at",
        )
        .bind(&c.chat_id)
        .bind(&c.conversation_id)
        .bind(i64::from(c.followed))
        .bind(c.updated_at_ms)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn line_record_failure(&self, f: &LineFailureRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO line_failures (id, chat_id, operation, status, error, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&f.id)
        .bind(&f.chat_id)
        .bind(&f.operation)
        .bind(f.status)
        .bind(&f.error)
        .bind(f.created_at_ms)
        .execute(&self.writer)
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

    async fn export_subjects(&self, subject_ids: &[String]) -> Result<SubjectExport, StoreError> {
        SqliteStore::export_subjects(self, subject_ids).await
    }

    async fn erase_subjects(
        &self,
        subject_ids: &[String],
        unanswered_keys: &[String],
    ) -> Result<RowCounts, StoreError> {
        SqliteStore::erase_subjects(self, subject_ids, unanswered_keys).await
    }

    async fn purge(&self, cutoff_ms: i64, now_ms: i64, dry_run: bool) -> Result<RowCounts, StoreError> {
        SqliteStore::purge(self, cutoff_ms, now_ms, dry_run).await
    }

    async fn record_consent(&self, subject_id: &str, version: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO consents (subject_id, version, consented_at) VALUES (?, ?, ?)
             ON CONFLICT (subject_id) DO UPDATE SET version = excluded.version, consented_at = excluded.consented_at",
        )
        .bind(subject_id)
        .bind(version)
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn consent(&self, subject_id: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT version FROM consents WHERE subject_id = ?")
            .bind(subject_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn audit_append(&self, seal: AuditSeal) -> Result<AuditRow, StoreError> {
        SqliteStore::audit_append(self, seal).await
    }

    async fn audit_page(&self, filter: &AuditFilter, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        SqliteStore::audit_page(self, filter, limit).await
    }

    async fn audit_range(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        SqliteStore::audit_range(self, after_seq, limit).await
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
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn invitation_by_hash(&self, token_hash: &str) -> Result<Option<InvitationRow>, StoreError> {
        let row = sqlx::query("SELECT * FROM invitations WHERE token_hash = ?")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(invitation_row).transpose()
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
        .execute(&self.writer)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn release_invitation(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE invitations SET used_at = NULL, used_by = NULL WHERE id = ?")
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn invitations(&self, limit: u32) -> Result<Vec<InvitationRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM invitations ORDER BY created_at DESC, id DESC LIMIT ?")
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(invitation_row).collect()
    }

    async fn revoke_invitation(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let res = sqlx::query(
            "UPDATE invitations SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL AND used_at IS NULL",
        )
        .bind(now_ms)
        .bind(id)
        .execute(&self.writer)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn analytics(&self, since_ms: i64) -> Result<crate::Analytics, StoreError> {
        SqliteStore::analytics(self, since_ms).await
    }

    async fn set_user_disabled(&self, id: &str, disabled_at_ms: Option<i64>, now_ms: i64) -> Result<bool, StoreError> {
        let res = sqlx::query("UPDATE users SET disabled_at = ?, updated_at = ? WHERE id = ?")
            .bind(disabled_at_ms)
            .bind(now_ms)
            .bind(id)
            .execute(&self.writer)
            .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn backup(&self, path: &str) -> Result<(), StoreError> {
        // On the writer: no write can interleave, and the copy is one snapshot.
        sqlx::query("VACUUM INTO ?").bind(path).execute(&self.writer).await?;
        Ok(())
    }

    async fn identity_user(&self, issuer: &str, subject: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT user_id FROM user_identities WHERE issuer = ? AND subject = ?")
            .bind(issuer)
            .bind(subject)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn link_identity(&self, issuer: &str, subject: &str, user_id: &str, now_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(issuer)
        .bind(subject)
        .bind(user_id)
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn data_key(&self, stream_id: &str) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar("SELECT wrapped FROM data_keys WHERE stream_id = ?")
            .bind(stream_id)
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn put_data_key(
        &self,
        stream_id: &str,
        owner_id: &str,
        wrapped: &str,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO data_keys (stream_id, owner_id, wrapped, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(stream_id)
        .bind(owner_id)
        .bind(wrapped)
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        Ok(sqlx::query_scalar("SELECT wrapped FROM data_keys WHERE stream_id = ?")
            .bind(stream_id)
            .fetch_one(&self.writer)
            .await?)
    }

    async fn set_data_key_owner(&self, stream_id: &str, owner_id: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE data_keys SET owner_id = ? WHERE stream_id = ?")
            .bind(owner_id)
            .bind(stream_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn data_keys(&self) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as("SELECT stream_id, wrapped FROM data_keys ORDER BY stream_id").fetch_all(&self.pool).await?)
    }

    async fn replace_data_key(&self, stream_id: &str, wrapped: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE data_keys SET wrapped = ? WHERE stream_id = ?")
            .bind(wrapped)
            .bind(stream_id)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn replay(&self) -> Result<ReplayStats, StoreError> {
        let mut tx = self.writer.begin().await?;
        sqlx::query("DELETE FROM messages").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM conversations").execute(&mut *tx).await?;
        let rows = sqlx::query("SELECT stream_id, seq, payload, created_at FROM events ORDER BY stream_id, seq")
            .fetch_all(&mut *tx)
            .await?;
        let mut events = 0u64;
        for row in &rows {
            let stream_id: String = row.try_get("stream_id")?;
            let payload: String = row.try_get("payload")?;
            let payload: EventPayload = serde_json::from_str(&payload)?;
            let (seq, at) = (row.try_get("seq")?, row.try_get("created_at")?);
            let mut statements = Statements::default();
            statements.project(&stream_id, seq, at, &payload);
            statements.touch(&stream_id, seq, at);
            statements.execute(&mut *tx).await?;
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
        .execute(&self.writer)
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
        let n: Option<i64> = sqlx::query_scalar("SELECT SUM(size) FROM files WHERE owner_id = ?")
            .bind(owner_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(n.unwrap_or(0))
    }

    async fn delete_file(&self, owner_id: &str, id: &str) -> Result<Option<FileRow>, StoreError> {
        let mut tx = self.writer.begin().await?;
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
        .execute(&self.writer)
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
        sqlx::query(
            "INSERT INTO billing_accounts (user_id, customer_id, subscription_id, status, price_id, plan_id,
               current_period_end, cancel_at_period_end, past_due_since, last_event_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (user_id) DO UPDATE SET customer_id = excluded.customer_id, subscription_id = excluded.subscription_id, status = excluded.status, price_id = excluded.price_id, plan_id = excluded.plan_id, current_period_end = excluded.current_period_end, cancel_at_period_end = excluded.cancel_at_period_end, past_due_since = excluded.past_due_since, last_event_at = excluded.last_event_at, updated_at = excluded.updated_at",
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
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn billing_claim_event(&self, event_id: &str, event_type: &str, now_ms: i64) -> Result<bool, StoreError> {
        let res = sqlx::query(
            "INSERT INTO billing_events (event_id, event_type, received_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        )
        .bind(event_id)
        .bind(event_type)
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        Ok(res.rows_affected() == 1)
    }

    async fn billing_release_event(&self, event_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM billing_events WHERE event_id = ?").bind(event_id).execute(&self.writer).await?;
        Ok(())
    }

    async fn token_usage_between(&self, subject_id: &str, from_day: i64, to_day: i64) -> Result<i64, StoreError> {
        let n: Option<i64> =
            sqlx::query_scalar("SELECT SUM(tokens) FROM token_usage WHERE subject_id = ? AND day >= ? AND day <= ?")
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
        Ok(rows.iter().map(|r| crate::sqlite_privacy::row_json_with(r, true)).collect())
    }

    async fn load_rows(&self, table: &str, rows: &[serde_json::Value]) -> Result<u64, StoreError> {
        crate::migrate::order_of(table)?;
        let mut tx = self.writer.begin().await?;
        let mut n = 0;
        for row in rows {
            let cols = crate::migrate::columns(row)?;
            let marks: Vec<String> = vec!["?".to_string(); cols.len()];
            let sql = format!("INSERT OR IGNORE INTO {table} ({}) VALUES ({})", cols.join(", "), marks.join(", "));
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
        // Readers and the one writer together.
        crate::PoolStats {
            open: self.pool.size() + self.writer.size(),
            idle: (self.pool.num_idle() + self.writer.num_idle()) as u32,
            max: self.pool.options().get_max_connections() + self.writer.options().get_max_connections(),
        }
    }

    async fn assistants(&self) -> Result<Vec<crate::AssistantRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM assistants ORDER BY id").fetch_all(&self.pool).await?;
        rows.iter().map(rows::assistant).collect()
    }

    async fn put_assistant(&self, a: &crate::AssistantRow) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO assistants (id, definition, created_at, updated_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, updated_at = excluded.updated_at",
        )
        .bind(&a.id)
        .bind(&a.definition)
        .bind(a.created_at_ms)
        .bind(a.updated_at_ms)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn delete_assistant(&self, id: &str) -> Result<bool, StoreError> {
        let res = sqlx::query("DELETE FROM assistants WHERE id = ?").bind(id).execute(&self.writer).await?;
        Ok(res.rows_affected() > 0)
    }

    async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

async fn applied_count(pool: &SqlitePool) -> i64 {
    // Before the first migration the bookkeeping table does not exist yet.
    sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = 1").fetch_one(pool).await.unwrap_or(0)
}

fn invitation_row(r: &sqlx::sqlite::SqliteRow) -> Result<InvitationRow, StoreError> {
    Ok(InvitationRow {
        id: r.try_get("id")?,
        token_hash: r.try_get("token_hash")?,
        email: r.try_get("email")?,
        role: r.try_get("role")?,
        created_by: r.try_get("created_by")?,
        created_at_ms: r.try_get("created_at")?,
        expires_at_ms: r.try_get("expires_at")?,
        used_at_ms: r.try_get("used_at")?,
        used_by: r.try_get("used_by")?,
        revoked_at_ms: r.try_get("revoked_at")?,
    })
}

/// What only SQLite has: a file. The behaviour every backend shares is tested
/// once for all three in `tests/store`.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::EventPayload;

    async fn store(dir: &tempfile::TempDir) -> SqliteStore {
        let url = DatabaseUrl::parse(&format!("sqlite://{}/t.db", dir.path().display())).unwrap();
        let s = SqliteStore::open(&url, &PoolOptions::default()).await.unwrap();
        s.migrate().await.unwrap();
        s
    }

    #[tokio::test]
    async fn ping_fails_when_the_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir).await;
        s.ping().await.unwrap();
        std::fs::remove_file(dir.path().join("t.db")).unwrap();
        assert!(matches!(s.ping().await, Err(StoreError::Unavailable(_))));
    }

    /// `secure_delete` overwrites freed pages and the WAL is truncated: erased text
    /// is in neither file afterwards.
    #[tokio::test]
    async fn erased_text_leaves_no_bytes_in_the_files() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(&dir).await;
        let secret = "オオサンショウウオの秘密の番号";
        let events = [
            NewEvent {
                payload: EventPayload::ConversationCreated {
                    owner_id: "u1".into(),
                    title: "t".into(),
                    assistant: "default".into(),
                },
                at_ms: 1,
            },
            NewEvent {
                payload: EventPayload::UserMessage { message_id: "m1".into(), content: secret.into() },
                at_ms: 2,
            },
        ];
        s.append("c1", 1, &events).await.unwrap();
        let files = || -> Vec<u8> {
            let mut bytes = std::fs::read(dir.path().join("t.db")).unwrap();
            bytes.extend(std::fs::read(dir.path().join("t.db-wal")).unwrap_or_default());
            bytes
        };
        let contains = |hay: &[u8]| hay.windows(secret.len()).any(|w| w == secret.as_bytes());
        assert!(contains(&files()), "the text is stored before erasure");
        s.erase_subjects(&["u1".into()], &[]).await.unwrap();
        assert!(!contains(&files()), "erased text is still in the database files");
    }
}
