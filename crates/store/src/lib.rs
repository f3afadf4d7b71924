//! Storage for TENMON-ARK: one [`Store`] trait, one implementation per database.
//!
//! Conversations are event sourced. [`Store::append`] writes events and updates the
//! read models (conversations, messages) in the same transaction, so reads never lag;
//! [`Store::replay`] rebuilds the read models from the log.

mod accounts;
mod encrypted;
mod error;
mod events;
mod files;
mod kb;
mod line;
pub mod migrate;
mod mysql;
mod pgvector;
mod postgres;
mod privacy;
mod rows;
mod sqlite;
mod sqlite_append;
mod sqlite_privacy;
mod url;
mod vectors;

pub use accounts::{ApiKeyRow, InvitationRow, RefreshRow, UserRow};
pub use encrypted::EncryptedStore;
pub use error::StoreError;
pub use events::{ConversationRow, EventPayload, MessageRow, MessageStatus, NewEvent, SessionRow, StoredEvent, Usage};
pub use files::{AssistantRow, AttachmentRow, BillingAccountRow, FileRow};
pub use kb::{KbEntryRow, KnowledgeBaseRow, UnansweredRow};
pub use line::{LineChatRow, LineFailureRow};
pub use mysql::MysqlStore;
pub use postgres::PostgresStore;
pub use privacy::{Analytics, AuditFilter, AuditRow, AuditSeal, DayStats, EntryUse, RowCounts, SubjectExport};
pub use sqlite::SqliteStore;
pub use url::{Backend, DatabaseUrl};
pub use vectors::KbVectorRow;

use async_trait::async_trait;
use std::sync::Arc;

/// Connection settings that apply to every backend.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Connections kept open even when idle.
    pub min: u32,
    /// Upper bound on open connections.
    pub max: u32,
    /// Require TLS to the database server (ignored by SQLite).
    pub ssl: bool,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self { min: 1, max: 8, ssl: false }
    }
}

/// Connections of a store's pool, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Open connections (in use + idle).
    pub open: u32,
    pub idle: u32,
    pub max: u32,
}

/// What [`Store::replay`] rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ReplayStats {
    /// Events read from the log.
    pub events: u64,
    /// Conversations in the rebuilt read model.
    pub conversations: u64,
    /// Messages in the rebuilt read model.
    pub messages: u64,
}

/// The one storage interface. Domain code holds an `Arc<dyn Store>` and never sees a
/// connection pool.
#[async_trait]
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Which database this is.
    fn backend(&self) -> Backend;

    /// Apply pending migrations; returns how many ran.
    async fn migrate(&self) -> Result<usize, StoreError>;

    /// A cheap round trip proving the database answers and is the one we opened.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Append events to a stream at `expected_next` (the sequence the first event gets)
    /// and project them, all in one transaction. A concurrent writer that already took
    /// that sequence makes this fail with [`StoreError::Conflict`].
    async fn append(
        &self,
        stream_id: &str,
        expected_next: i64,
        events: &[NewEvent],
    ) -> Result<Vec<StoredEvent>, StoreError>;

    /// Events of a stream with `seq > after`, in order, at most `limit`.
    async fn read_stream(&self, stream_id: &str, after: i64, limit: u32) -> Result<Vec<StoredEvent>, StoreError>;

    /// The sequence the next appended event of this stream gets (1 for a new stream).
    async fn next_seq(&self, stream_id: &str) -> Result<i64, StoreError>;

    /// One conversation of its owner (`None` when missing, deleted or someone else's).
    async fn conversation(&self, owner_id: &str, id: &str) -> Result<Option<ConversationRow>, StoreError>;

    /// An owner's conversations, newest first, after an opaque cursor.
    async fn list_conversations(
        &self,
        owner_id: &str,
        before: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<ConversationRow>, StoreError>;

    /// Messages of a conversation of this owner, oldest first.
    async fn messages(&self, owner_id: &str, conversation_id: &str) -> Result<Vec<MessageRow>, StoreError>;

    /// One message, only if its conversation belongs to `owner_id`.
    async fn message(&self, owner_id: &str, id: &str) -> Result<Option<MessageRow>, StoreError>;

    /// Store a new session.
    async fn create_session(&self, session: &SessionRow) -> Result<(), StoreError>;

    /// The live session with this token hash (not revoked, not expired at `now_ms`).
    async fn session_by_token_hash(&self, token_hash: &str, now_ms: i64) -> Result<Option<SessionRow>, StoreError>;

    /// Assistant messages still marked as streaming: (conversation id, message id).
    /// At start-up these are turns a crash left behind.
    async fn streaming_messages(&self) -> Result<Vec<(String, String)>, StoreError>;

    /// All knowledge bases.
    async fn kb_bases(&self) -> Result<Vec<KnowledgeBaseRow>, StoreError>;

    /// Create or update a knowledge base.
    async fn kb_put_base(&self, base: &KnowledgeBaseRow) -> Result<(), StoreError>;

    /// Delete a knowledge base and its entries; false if it did not exist.
    async fn kb_delete_base(&self, id: &str) -> Result<bool, StoreError>;

    /// Entries of one knowledge base, or of all when `kb_id` is `None`, by id.
    async fn kb_entries(&self, kb_id: Option<&str>) -> Result<Vec<KbEntryRow>, StoreError>;

    async fn kb_entry(&self, id: &str) -> Result<Option<KbEntryRow>, StoreError>;

    /// Insert or replace entries, all in one transaction.
    async fn kb_put_entries(&self, entries: &[KbEntryRow]) -> Result<(), StoreError>;

    /// Delete an entry (and its vector); false if it did not exist.
    async fn kb_delete_entry(&self, id: &str) -> Result<bool, StoreError>;

    /// The entry vectors made by `model`, by entry id; with `with_vectors` false the
    /// vectors are left empty (what is stored, not its data).
    async fn kb_vectors(&self, model: &str, with_vectors: bool) -> Result<Vec<KbVectorRow>, StoreError>;

    /// Insert or replace entry vectors (one per entry), all in one transaction.
    async fn kb_put_vectors(&self, rows: &[KbVectorRow]) -> Result<(), StoreError>;

    /// Delete the vectors of these entries; returns how many there were.
    async fn kb_delete_vectors(&self, entry_ids: &[String]) -> Result<u64, StoreError>;

    /// The enabled entries of `kbs` (all when empty) whose `model` vectors are
    /// nearest to `query` (unit length) by cosine similarity, best first, as
    /// (entry id, similarity); `None` when the database has no vector search of
    /// its own (the caller searches in memory). `limit` 0 only asks which it is.
    /// The default: none (SQLite; MariaDB, whose VECTOR type 11.7+ is not what most
    /// installations run). PostgreSQL with pgvector searches itself.
    async fn kb_nearest(
        &self,
        _model: &str,
        _query: &[f32],
        _kbs: &[String],
        _limit: usize,
    ) -> Result<Option<Vec<(String, f32)>>, StoreError> {
        Ok(None)
    }

    /// A named setting.
    async fn setting(&self, name: &str) -> Result<Option<String>, StoreError>;

    async fn put_setting(&self, name: &str, value: &str, now_ms: i64) -> Result<(), StoreError>;

    /// Count an unanswered question (one row per assistant and normalized text).
    async fn record_unanswered(
        &self,
        assistant: &str,
        normalized: &str,
        sample: &str,
        now_ms: i64,
    ) -> Result<(), StoreError>;

    /// Unanswered questions, most asked first.
    async fn unanswered(&self, limit: u32) -> Result<Vec<UnansweredRow>, StoreError>;

    /// Create a user; a taken email (ignoring case) is [`StoreError::Duplicate`].
    async fn create_user(&self, user: &UserRow) -> Result<(), StoreError>;

    async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, StoreError>;

    /// By email, ignoring case.
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError>;

    async fn count_users(&self) -> Result<u64, StoreError>;

    /// Users by creation, after `after_id` (a cursor), at most `limit`.
    async fn list_users(&self, after_id: Option<&str>, limit: u32) -> Result<Vec<UserRow>, StoreError>;

    async fn set_user_password(&self, id: &str, password_hash: &str, now_ms: i64) -> Result<(), StoreError>;

    async fn set_user_role(&self, id: &str, role: &str, now_ms: i64) -> Result<bool, StoreError>;

    async fn insert_refresh(&self, token: &RefreshRow) -> Result<(), StoreError>;

    async fn refresh_by_hash(&self, token_hash: &str) -> Result<Option<RefreshRow>, StoreError>;

    /// Mark a refresh token used; false if it already was (a reuse).
    async fn use_refresh(&self, id: &str, now_ms: i64) -> Result<bool, StoreError>;

    /// End a login: its refresh tokens and its cookie session.
    async fn revoke_family(&self, family_id: &str, now_ms: i64) -> Result<(), StoreError>;

    /// End every login of a user.
    async fn revoke_user(&self, user_id: &str, now_ms: i64) -> Result<(), StoreError>;

    /// The user, if the login (family) is still live.
    async fn user_for_login(&self, user_id: &str, family_id: &str) -> Result<Option<UserRow>, StoreError>;

    async fn create_api_key(&self, key: &ApiKeyRow) -> Result<(), StoreError>;

    /// A user's keys, revoked ones included, newest first.
    async fn api_keys(&self, user_id: &str) -> Result<Vec<ApiKeyRow>, StoreError>;

    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRow>, StoreError>;

    /// Revoke a key of this user; false if there is none.
    async fn revoke_api_key(&self, user_id: &str, id: &str, now_ms: i64) -> Result<bool, StoreError>;

    /// Record a use (at most once a minute per key, to spare the writer).
    async fn touch_api_key(&self, id: &str, now_ms: i64) -> Result<(), StoreError>;

    /// Add tokens to a subject's count for a day.
    async fn add_token_usage(&self, subject_id: &str, day: i64, tokens: i64) -> Result<(), StoreError>;

    /// Tokens a subject used on a day.
    async fn token_usage(&self, subject_id: &str, day: i64) -> Result<i64, StoreError>;

    /// Drop and rebuild the read models from the event log.
    /// Record a LINE webhook event id; false when it was seen before (a redelivery).
    async fn line_claim_event(&self, event_id: &str, now_ms: i64) -> Result<bool, StoreError>;
    async fn line_chat(&self, chat_id: &str) -> Result<Option<LineChatRow>, StoreError>;
    /// Insert or replace.
    async fn line_put_chat(&self, chat: &LineChatRow) -> Result<(), StoreError>;
    async fn line_record_failure(&self, failure: &LineFailureRow) -> Result<(), StoreError>;
    /// Newest first.
    async fn line_failures(&self, limit: u32) -> Result<Vec<LineFailureRow>, StoreError>;

    /// Every row about these subjects (user ids, guest ids, `line:<id>`), secrets left out.
    async fn export_subjects(&self, subject_ids: &[String]) -> Result<SubjectExport, StoreError>;
    /// Delete every row about these subjects (and unanswered questions with these
    /// normalised texts), leaving nothing readable in the database file.
    async fn erase_subjects(&self, subject_ids: &[String], unanswered_keys: &[String])
        -> Result<RowCounts, StoreError>;
    /// Retention: remove conversations last active before `cutoff_ms` and other
    /// expired rows; with `dry_run`, only count.
    async fn purge(&self, cutoff_ms: i64, now_ms: i64, dry_run: bool) -> Result<RowCounts, StoreError>;
    /// Record consent to the privacy notice (`version`) for a subject.
    async fn record_consent(&self, subject_id: &str, version: &str, now_ms: i64) -> Result<(), StoreError>;
    /// The version of the privacy notice the subject consented to last.
    async fn consent(&self, subject_id: &str) -> Result<Option<String>, StoreError>;

    /// Append an audit record: `seal` gets the next sequence number and the last
    /// record's hash (empty for the first), in the same transaction as the insert.
    async fn audit_append(&self, seal: AuditSeal) -> Result<AuditRow, StoreError>;
    /// Newest first.
    async fn audit_page(&self, filter: &AuditFilter, limit: u32) -> Result<Vec<AuditRow>, StoreError>;
    /// Oldest first, from `after_seq` (for verification).
    async fn audit_range(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRow>, StoreError>;

    async fn create_invitation(&self, invitation: &InvitationRow) -> Result<(), StoreError>;
    async fn invitation_by_hash(&self, token_hash: &str) -> Result<Option<InvitationRow>, StoreError>;
    /// Take an invitation for `user_id` if it is still open (not used, revoked or
    /// expired at `now_ms`); false when someone else got there first.
    async fn claim_invitation(&self, id: &str, user_id: &str, now_ms: i64) -> Result<bool, StoreError>;
    /// Give a claimed invitation back (the sign-up that claimed it failed).
    async fn release_invitation(&self, id: &str) -> Result<(), StoreError>;
    /// Newest first.
    async fn invitations(&self, limit: u32) -> Result<Vec<InvitationRow>, StoreError>;
    async fn revoke_invitation(&self, id: &str, now_ms: i64) -> Result<bool, StoreError>;

    /// Conversations, messages, answers and tokens per day since `since_ms`, and the
    /// FAQ entries most used as an answer's top source.
    async fn analytics(&self, since_ms: i64) -> Result<Analytics, StoreError>;

    /// Disable (`Some(now)`) or enable (`None`) an account; false if there is no such user.
    async fn set_user_disabled(&self, id: &str, disabled_at_ms: Option<i64>, now_ms: i64) -> Result<bool, StoreError>;

    /// Write a consistent copy of the database to `path` while it is in use
    /// (SQLite: `VACUUM INTO`). Server databases have their own tools.
    async fn backup(&self, path: &str) -> Result<(), StoreError>;

    /// The user linked to an OpenID Connect identity.
    async fn identity_user(&self, issuer: &str, subject: &str) -> Result<Option<String>, StoreError>;
    /// Link an identity to a user (a second link of the same identity is a no-op).
    async fn link_identity(&self, issuer: &str, subject: &str, user_id: &str, now_ms: i64) -> Result<(), StoreError>;

    /// The wrapped data key of a stream (encryption at rest).
    async fn data_key(&self, stream_id: &str) -> Result<Option<String>, StoreError>;
    /// Store a stream's wrapped key unless it has one; returns the one in force.
    async fn put_data_key(
        &self,
        stream_id: &str,
        owner_id: &str,
        wrapped: &str,
        now_ms: i64,
    ) -> Result<String, StoreError>;
    /// A conversation changed hands: its key goes with it.
    async fn set_data_key_owner(&self, stream_id: &str, owner_id: &str) -> Result<(), StoreError>;
    /// Every (stream id, wrapped key), for rotation.
    async fn data_keys(&self) -> Result<Vec<(String, String)>, StoreError>;
    async fn replace_data_key(&self, stream_id: &str, wrapped: &str) -> Result<(), StoreError>;

    async fn replay(&self) -> Result<ReplayStats, StoreError>;

    /// Close the pool, waiting for connections to be returned.
    /// Record a stored file.
    async fn put_file(&self, file: &FileRow) -> Result<(), StoreError>;
    /// A file of this owner (`None` for another owner's file: no object is
    /// readable by id alone).
    async fn file(&self, owner_id: &str, id: &str) -> Result<Option<FileRow>, StoreError>;
    /// The owner's files, newest first.
    async fn files(&self, owner_id: &str, limit: u32) -> Result<Vec<FileRow>, StoreError>;
    /// Bytes the owner stores (for the storage quota).
    async fn files_bytes(&self, owner_id: &str) -> Result<i64, StoreError>;
    /// Delete the owner's file and the attachments made from it; returns the row so
    /// the caller can delete the object.
    async fn delete_file(&self, owner_id: &str, id: &str) -> Result<Option<FileRow>, StoreError>;
    /// Every file of these owners (erasure deletes their objects first).
    async fn files_of(&self, owner_ids: &[String]) -> Result<Vec<FileRow>, StoreError>;
    /// Files older than the cut-off that retention removes (not knowledge-base documents).
    async fn files_before(&self, cutoff_ms: i64) -> Result<Vec<FileRow>, StoreError>;
    /// Add something for a conversation to read.
    async fn add_attachment(&self, attachment: &AttachmentRow) -> Result<(), StoreError>;
    /// A conversation's attachments, oldest first (empty for another owner's).
    async fn attachments(&self, owner_id: &str, conversation_id: &str) -> Result<Vec<AttachmentRow>, StoreError>;
    /// A user's billing account.
    async fn billing_account(&self, user_id: &str) -> Result<Option<BillingAccountRow>, StoreError>;
    /// The billing account of a Stripe customer.
    async fn billing_account_by_customer(&self, customer_id: &str) -> Result<Option<BillingAccountRow>, StoreError>;
    /// Insert or replace a billing account.
    async fn put_billing_account(&self, account: &BillingAccountRow) -> Result<(), StoreError>;
    /// Claim a webhook event id; `false` when it was already applied.
    async fn billing_claim_event(&self, event_id: &str, event_type: &str, now_ms: i64) -> Result<bool, StoreError>;
    /// Forget a claim whose change could not be applied, so Stripe's retry applies it.
    async fn billing_release_event(&self, event_id: &str) -> Result<(), StoreError>;
    /// Tokens a subject used over a range of days (inclusive).
    async fn token_usage_between(&self, subject_id: &str, from_day: i64, to_day: i64) -> Result<i64, StoreError>;

    /// Assistants defined by admins, by id.
    async fn assistants(&self) -> Result<Vec<AssistantRow>, StoreError>;
    /// Insert or replace one.
    async fn put_assistant(&self, row: &AssistantRow) -> Result<(), StoreError>;
    /// Delete one; `false` when there was none.
    async fn delete_assistant(&self, id: &str) -> Result<bool, StoreError>;

    /// A page of a table's rows in key order, every column (secrets too), as JSON
    /// objects (for `migrate-data`; the table must be one of [`migrate::TABLES`]).
    async fn dump_rows(&self, table: &str, offset: u64, limit: u32) -> Result<Vec<serde_json::Value>, StoreError>;
    /// Insert dumped rows, skipping those whose key is already there. Returns how
    /// many were inserted.
    async fn load_rows(&self, table: &str, rows: &[serde_json::Value]) -> Result<u64, StoreError>;

    async fn close(&self);

    /// The pool's connections now.
    fn pool_stats(&self) -> PoolStats {
        PoolStats::default()
    }
}

/// Open the store named by the URL's scheme.
pub async fn open(url: &DatabaseUrl, pool: &PoolOptions) -> Result<Arc<dyn Store>, StoreError> {
    Ok(match url.backend() {
        Backend::Sqlite => Arc::new(SqliteStore::open(url, pool).await?),
        Backend::Postgres => Arc::new(PostgresStore::open(url, pool).await?),
        Backend::Mysql => Arc::new(MysqlStore::open(url, pool).await?),
    })
}
