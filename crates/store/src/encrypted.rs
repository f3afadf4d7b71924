//! Encryption at rest as a decorator over any [`Store`]: message text, titles and
//! answer deltas are sealed (XChaCha20-Poly1305, `tenmon_privacy::crypto`) before
//! they reach the database and opened on the way out, so every backend gets it
//! and no SQL changes.
//!
//! Each conversation has its own data key, wrapped by the master key
//! (`ENCRYPTION_KEY`) and owned by the conversation's owner: erasing the owner
//! deletes the keys, so whatever rows remain are unreadable (crypto-shredding).
//! Ciphertexts are bound to their conversation (associated data), so moving one to
//! another row fails to open. Rotation rewraps the data keys only: the data itself
//! never needs re-encrypting.
//!
//! Answer deltas are sealed one by one and the messages projection concatenates
//! them; the ciphertext alphabet has no `:`, so a concatenation splits back into
//! its parts at each `enc:v1:dk:` header.

use crate::{
    ApiKeyRow, AttachmentRow, AuditFilter, AuditRow, AuditSeal, Backend, BillingAccountRow, ConversationRow,
    EventPayload, FileRow, InvitationRow, KbEntryRow, KnowledgeBaseRow, LineChatRow, LineFailureRow, MessageRow,
    NewEvent, RefreshRow, ReplayStats, RowCounts, SessionRow, Store, StoreError, StoredEvent, SubjectExport,
    UnansweredRow, UserRow,
};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tenmon_privacy::{DataKey, Keyring};

const HEADER: &str = "enc:v1:dk:";
/// The key for rows that belong to no conversation (unanswered-question samples).
const SYSTEM_STREAM: &str = "system";

/// A store whose personal text is encrypted.
pub struct EncryptedStore {
    inner: Arc<dyn Store>,
    ring: Keyring,
    /// Unwrapped data keys by stream (a conversation's key never changes).
    keys: Mutex<HashMap<String, Arc<DataKey>>>,
}

impl std::fmt::Debug for EncryptedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncryptedStore").field("inner", &self.inner).field("key_id", &self.ring.current_id()).finish()
    }
}

fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("encrypted data: {e}"))
}

impl EncryptedStore {
    pub fn new(inner: Arc<dyn Store>, ring: Keyring) -> Self {
        Self { inner, ring, keys: Mutex::new(HashMap::new()) }
    }

    fn cached(&self, stream_id: &str) -> Option<Arc<DataKey>> {
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).get(stream_id).cloned()
    }

    fn remember(&self, stream_id: &str, key: Arc<DataKey>) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() > 100_000 {
            keys.clear();
        }
        keys.insert(stream_id.to_string(), key);
    }

    /// The stream's key; `owner` creates it when missing (else missing is `None`).
    async fn key(&self, stream_id: &str, owner: Option<&str>) -> Result<Option<Arc<DataKey>>, StoreError> {
        if let Some(k) = self.cached(stream_id) {
            return Ok(Some(k));
        }
        let wrapped = match self.inner.data_key(stream_id).await? {
            Some(w) => w,
            None => match owner {
                Some(owner) => {
                    let fresh = self.ring.wrap(&DataKey::generate());
                    self.inner.put_data_key(stream_id, owner, &fresh, now_ms()).await?
                }
                None => return Ok(None),
            },
        };
        let key = Arc::new(self.ring.unwrap(&wrapped).map_err(corrupt)?);
        self.remember(stream_id, key.clone());
        Ok(Some(key))
    }

    fn seal(key: &DataKey, stream_id: &str, text: &str) -> String {
        if text.is_empty() {
            return String::new();
        }
        key.seal(text.as_bytes(), stream_id.as_bytes())
    }

    /// Open a value: plain text passes (rows from before encryption was turned on);
    /// a concatenation of sealed parts opens part by part; a part whose key was
    /// destroyed reads as empty.
    fn open(key: Option<&DataKey>, stream_id: &str, text: &str) -> Result<String, StoreError> {
        if !text.starts_with(HEADER) {
            return Ok(text.to_string());
        }
        let Some(key) = key else { return Ok(String::new()) };
        let mut out = String::new();
        for part in text.split(HEADER).filter(|p| !p.is_empty()) {
            let sealed = format!("{HEADER}{part}");
            let plain = key.open(&sealed, stream_id.as_bytes()).map_err(corrupt)?;
            out.push_str(&String::from_utf8(plain).map_err(corrupt)?);
        }
        Ok(out)
    }

    fn seal_payload(key: &DataKey, stream_id: &str, payload: &EventPayload) -> EventPayload {
        let mut p = payload.clone();
        match &mut p {
            EventPayload::ConversationCreated { title, .. } | EventPayload::ConversationRenamed { title } => {
                *title = Self::seal(key, stream_id, title);
            }
            EventPayload::UserMessage { content, .. } => *content = Self::seal(key, stream_id, content),
            EventPayload::AssistantDelta { text, .. } => *text = Self::seal(key, stream_id, text),
            _ => {}
        }
        p
    }

    fn open_payload(key: Option<&DataKey>, stream_id: &str, mut p: EventPayload) -> Result<EventPayload, StoreError> {
        match &mut p {
            EventPayload::ConversationCreated { title, .. } | EventPayload::ConversationRenamed { title } => {
                *title = Self::open(key, stream_id, title)?;
            }
            EventPayload::UserMessage { content, .. } => *content = Self::open(key, stream_id, content)?,
            EventPayload::AssistantDelta { text, .. } => *text = Self::open(key, stream_id, text)?,
            _ => {}
        }
        Ok(p)
    }

    async fn open_events(&self, stream_id: &str, events: Vec<StoredEvent>) -> Result<Vec<StoredEvent>, StoreError> {
        let key = self.key(stream_id, None).await?;
        events
            .into_iter()
            .map(|ev| {
                let payload = Self::open_payload(key.as_deref(), stream_id, ev.payload)?;
                Ok(StoredEvent { payload, ..ev })
            })
            .collect()
    }

    async fn open_conversation(&self, mut c: ConversationRow) -> Result<ConversationRow, StoreError> {
        let key = self.key(&c.id, None).await?;
        c.title = Self::open(key.as_deref(), &c.id, &c.title)?;
        Ok(c)
    }

    async fn open_message(&self, mut m: MessageRow) -> Result<MessageRow, StoreError> {
        let key = self.key(&m.conversation_id, None).await?;
        m.content = Self::open(key.as_deref(), &m.conversation_id, &m.content)?;
        Ok(m)
    }

    async fn open_file(&self, mut f: FileRow) -> Result<FileRow, StoreError> {
        if let Some(text) = &f.extracted_text {
            let stream = file_stream(&f.id);
            let key = self.key(&stream, None).await?;
            f.extracted_text = Some(Self::open(key.as_deref(), &stream, text)?);
        }
        Ok(f)
    }

    /// Unanswered questions are grouped by their normalised text: kept as a hash,
    /// so grouping and erasure work and the text is not stored in the clear. (Not
    /// keyed: it must survive key rotation; the sample itself is sealed, and masking
    /// has already taken the personal data out.)
    fn blind(&self, normalized: &str) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(b"tenmon-ark/unanswered/v1\0");
        h.update(normalized.as_bytes());
        format!("h:{}", hex::encode(h.finalize()))
    }

    /// Rewrap every data key not under the current master key. Returns how many.
    pub async fn rotate(&self) -> Result<usize, StoreError> {
        let mut n = 0;
        for (stream, wrapped) in self.inner.data_keys().await? {
            if self.ring.needs_rewrap(&wrapped) {
                let fresh = self.ring.rewrap(&wrapped).map_err(corrupt)?;
                self.inner.replace_data_key(&stream, &fresh).await?;
                n += 1;
            }
        }
        Ok(n)
    }

    fn open_export_value(key: Option<&DataKey>, stream: &str, v: &mut serde_json::Value) -> Result<(), StoreError> {
        if let Some(s) = v.as_str() {
            if s.starts_with(HEADER) {
                *v = serde_json::Value::String(Self::open(key, stream, s)?);
            }
        }
        Ok(())
    }
}

/// The data key of a file's extracted text (owned by the file's owner).
fn file_stream(file_id: &str) -> String {
    format!("file:{file_id}")
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[async_trait]
impl Store for EncryptedStore {
    fn backend(&self) -> Backend {
        self.inner.backend()
    }
    async fn migrate(&self) -> Result<usize, StoreError> {
        self.inner.migrate().await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }

    async fn append(
        &self,
        stream_id: &str,
        expected_next: i64,
        events: &[NewEvent],
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let creator = events.iter().find_map(|e| match &e.payload {
            EventPayload::ConversationCreated { owner_id, .. } => Some(owner_id.clone()),
            _ => None,
        });
        let key = match self.key(stream_id, creator.as_deref()).await? {
            Some(k) => k,
            // A stream from before encryption was turned on: give it a key now, owned
            // by whoever owns the conversation (looked up through its creation event).
            None => {
                let first = self.inner.read_stream(stream_id, 0, 1).await?;
                let owner = first.first().and_then(|e| match &e.payload {
                    EventPayload::ConversationCreated { owner_id, .. } => Some(owner_id.clone()),
                    _ => None,
                });
                let owner = owner.unwrap_or_else(|| "unknown".into());
                self.key(stream_id, Some(&owner)).await?.ok_or_else(|| corrupt("no data key"))?
            }
        };
        for e in events {
            if let EventPayload::ConversationOwnerChanged { owner_id } = &e.payload {
                self.inner.set_data_key_owner(stream_id, owner_id).await?;
            }
        }
        let sealed: Vec<NewEvent> = events
            .iter()
            .map(|e| NewEvent { payload: Self::seal_payload(&key, stream_id, &e.payload), at_ms: e.at_ms })
            .collect();
        let stored = self.inner.append(stream_id, expected_next, &sealed).await?;
        // Hand back the plain events (they go to live subscribers).
        Ok(stored
            .into_iter()
            .zip(events)
            .map(|(s, original)| StoredEvent { payload: original.payload.clone(), ..s })
            .collect())
    }

    async fn read_stream(&self, stream_id: &str, after: i64, limit: u32) -> Result<Vec<StoredEvent>, StoreError> {
        let events = self.inner.read_stream(stream_id, after, limit).await?;
        self.open_events(stream_id, events).await
    }
    async fn next_seq(&self, stream_id: &str) -> Result<i64, StoreError> {
        self.inner.next_seq(stream_id).await
    }
    async fn conversation(&self, owner_id: &str, id: &str) -> Result<Option<ConversationRow>, StoreError> {
        match self.inner.conversation(owner_id, id).await? {
            Some(c) => Ok(Some(self.open_conversation(c).await?)),
            None => Ok(None),
        }
    }
    async fn list_conversations(
        &self,
        owner_id: &str,
        before: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<ConversationRow>, StoreError> {
        let mut out = Vec::new();
        for c in self.inner.list_conversations(owner_id, before, limit).await? {
            out.push(self.open_conversation(c).await?);
        }
        Ok(out)
    }
    async fn messages(&self, owner_id: &str, conversation_id: &str) -> Result<Vec<MessageRow>, StoreError> {
        let mut out = Vec::new();
        for m in self.inner.messages(owner_id, conversation_id).await? {
            out.push(self.open_message(m).await?);
        }
        Ok(out)
    }
    async fn message(&self, owner_id: &str, id: &str) -> Result<Option<MessageRow>, StoreError> {
        match self.inner.message(owner_id, id).await? {
            Some(m) => Ok(Some(self.open_message(m).await?)),
            None => Ok(None),
        }
    }
    async fn create_session(&self, session: &SessionRow) -> Result<(), StoreError> {
        self.inner.create_session(session).await
    }
    async fn session_by_token_hash(&self, token_hash: &str, now_ms: i64) -> Result<Option<SessionRow>, StoreError> {
        self.inner.session_by_token_hash(token_hash, now_ms).await
    }
    async fn streaming_messages(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.inner.streaming_messages().await
    }
    async fn kb_bases(&self) -> Result<Vec<KnowledgeBaseRow>, StoreError> {
        self.inner.kb_bases().await
    }
    async fn kb_put_base(&self, base: &KnowledgeBaseRow) -> Result<(), StoreError> {
        self.inner.kb_put_base(base).await
    }
    async fn kb_delete_base(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.kb_delete_base(id).await
    }
    async fn kb_entries(&self, kb_id: Option<&str>) -> Result<Vec<KbEntryRow>, StoreError> {
        self.inner.kb_entries(kb_id).await
    }
    async fn kb_entry(&self, id: &str) -> Result<Option<KbEntryRow>, StoreError> {
        self.inner.kb_entry(id).await
    }
    async fn kb_put_entries(&self, entries: &[KbEntryRow]) -> Result<(), StoreError> {
        self.inner.kb_put_entries(entries).await
    }
    async fn kb_delete_entry(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.kb_delete_entry(id).await
    }
    // Knowledge-base vectors are made from FAQ text, not personal data: not sealed.
    async fn kb_vectors(&self, model: &str, with_vectors: bool) -> Result<Vec<crate::KbVectorRow>, StoreError> {
        self.inner.kb_vectors(model, with_vectors).await
    }
    async fn kb_put_vectors(&self, rows: &[crate::KbVectorRow]) -> Result<(), StoreError> {
        self.inner.kb_put_vectors(rows).await
    }
    async fn kb_delete_vectors(&self, entry_ids: &[String]) -> Result<u64, StoreError> {
        self.inner.kb_delete_vectors(entry_ids).await
    }
    async fn kb_nearest(
        &self,
        model: &str,
        query: &[f32],
        kbs: &[String],
        limit: usize,
    ) -> Result<Option<Vec<(String, f32)>>, StoreError> {
        self.inner.kb_nearest(model, query, kbs, limit).await
    }
    async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.inner.setting(name).await
    }
    async fn put_setting(&self, name: &str, value: &str, now_ms: i64) -> Result<(), StoreError> {
        self.inner.put_setting(name, value, now_ms).await
    }
    async fn record_unanswered(
        &self,
        assistant: &str,
        normalized: &str,
        sample: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let key = self.key(SYSTEM_STREAM, Some("system")).await?.ok_or_else(|| corrupt("no system key"))?;
        let sample = Self::seal(&key, SYSTEM_STREAM, sample);
        self.inner.record_unanswered(assistant, &self.blind(normalized), &sample, now_ms).await
    }
    async fn unanswered(&self, limit: u32) -> Result<Vec<UnansweredRow>, StoreError> {
        let key = self.key(SYSTEM_STREAM, None).await?;
        self.inner
            .unanswered(limit)
            .await?
            .into_iter()
            .map(|mut r| {
                r.sample = Self::open(key.as_deref(), SYSTEM_STREAM, &r.sample)?;
                Ok(r)
            })
            .collect()
    }
    async fn create_user(&self, user: &UserRow) -> Result<(), StoreError> {
        self.inner.create_user(user).await
    }
    async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, StoreError> {
        self.inner.user_by_id(id).await
    }
    async fn user_by_email(&self, email: &str) -> Result<Option<UserRow>, StoreError> {
        self.inner.user_by_email(email).await
    }
    async fn count_users(&self) -> Result<u64, StoreError> {
        self.inner.count_users().await
    }
    async fn list_users(&self, after_id: Option<&str>, limit: u32) -> Result<Vec<UserRow>, StoreError> {
        self.inner.list_users(after_id, limit).await
    }
    async fn set_user_password(&self, id: &str, password_hash: &str, now_ms: i64) -> Result<(), StoreError> {
        self.inner.set_user_password(id, password_hash, now_ms).await
    }
    async fn set_user_role(&self, id: &str, role: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.inner.set_user_role(id, role, now_ms).await
    }
    async fn insert_refresh(&self, token: &RefreshRow) -> Result<(), StoreError> {
        self.inner.insert_refresh(token).await
    }
    async fn refresh_by_hash(&self, token_hash: &str) -> Result<Option<RefreshRow>, StoreError> {
        self.inner.refresh_by_hash(token_hash).await
    }
    async fn use_refresh(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.inner.use_refresh(id, now_ms).await
    }
    async fn revoke_family(&self, family_id: &str, now_ms: i64) -> Result<(), StoreError> {
        self.inner.revoke_family(family_id, now_ms).await
    }
    async fn revoke_user(&self, user_id: &str, now_ms: i64) -> Result<(), StoreError> {
        self.inner.revoke_user(user_id, now_ms).await
    }
    async fn user_for_login(&self, user_id: &str, family_id: &str) -> Result<Option<UserRow>, StoreError> {
        self.inner.user_for_login(user_id, family_id).await
    }
    async fn create_api_key(&self, key: &ApiKeyRow) -> Result<(), StoreError> {
        self.inner.create_api_key(key).await
    }
    async fn api_keys(&self, user_id: &str) -> Result<Vec<ApiKeyRow>, StoreError> {
        self.inner.api_keys(user_id).await
    }
    async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRow>, StoreError> {
        self.inner.api_key_by_hash(key_hash).await
    }
    async fn revoke_api_key(&self, user_id: &str, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.inner.revoke_api_key(user_id, id, now_ms).await
    }
    async fn touch_api_key(&self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        self.inner.touch_api_key(id, now_ms).await
    }
    async fn add_token_usage(&self, subject_id: &str, day: i64, tokens: i64) -> Result<(), StoreError> {
        self.inner.add_token_usage(subject_id, day, tokens).await
    }
    async fn token_usage(&self, subject_id: &str, day: i64) -> Result<i64, StoreError> {
        self.inner.token_usage(subject_id, day).await
    }
    async fn line_claim_event(&self, event_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.inner.line_claim_event(event_id, now_ms).await
    }
    async fn line_chat(&self, chat_id: &str) -> Result<Option<LineChatRow>, StoreError> {
        self.inner.line_chat(chat_id).await
    }
    async fn line_put_chat(&self, chat: &LineChatRow) -> Result<(), StoreError> {
        self.inner.line_put_chat(chat).await
    }
    async fn line_record_failure(&self, failure: &LineFailureRow) -> Result<(), StoreError> {
        self.inner.line_record_failure(failure).await
    }
    async fn line_failures(&self, limit: u32) -> Result<Vec<LineFailureRow>, StoreError> {
        self.inner.line_failures(limit).await
    }

    async fn export_subjects(&self, subject_ids: &[String]) -> Result<SubjectExport, StoreError> {
        let mut out = self.inner.export_subjects(subject_ids).await?;
        for (table, stream_col) in [
            ("events", "stream_id"),
            ("messages", "conversation_id"),
            ("conversations", "id"),
            ("attachments", "conversation_id"),
            ("files", "id"),
        ] {
            let Some(rows) = out.tables.get_mut(table) else { continue };
            for row in rows.iter_mut() {
                let mut stream = row[stream_col].as_str().unwrap_or_default().to_string();
                if table == "files" {
                    stream = file_stream(&stream);
                }
                let key = self.key(&stream, None).await?;
                if table == "events" {
                    // The payload is JSON text with sealed fields inside.
                    let payload = row["payload"].as_str().unwrap_or_default().to_string();
                    if let Ok(p) = serde_json::from_str::<EventPayload>(&payload) {
                        let p = Self::open_payload(key.as_deref(), &stream, p)?;
                        row["payload"] = serde_json::to_value(&p).unwrap_or_default();
                    }
                } else if let Some(obj) = row.as_object_mut() {
                    for v in obj.values_mut() {
                        Self::open_export_value(key.as_deref(), &stream, v)?;
                    }
                }
            }
        }
        Ok(out)
    }
    async fn erase_subjects(
        &self,
        subject_ids: &[String],
        unanswered_keys: &[String],
    ) -> Result<RowCounts, StoreError> {
        let blinded: Vec<String> = unanswered_keys.iter().map(|k| self.blind(k)).collect();
        let counts = self.inner.erase_subjects(subject_ids, &blinded).await?;
        self.keys.lock().unwrap_or_else(|p| p.into_inner()).clear();
        Ok(counts)
    }
    async fn purge(&self, cutoff_ms: i64, now_ms: i64, dry_run: bool) -> Result<RowCounts, StoreError> {
        self.inner.purge(cutoff_ms, now_ms, dry_run).await
    }
    async fn record_consent(&self, subject_id: &str, version: &str, now_ms: i64) -> Result<(), StoreError> {
        self.inner.record_consent(subject_id, version, now_ms).await
    }
    async fn consent(&self, subject_id: &str) -> Result<Option<String>, StoreError> {
        self.inner.consent(subject_id).await
    }
    async fn audit_append(&self, seal: AuditSeal) -> Result<AuditRow, StoreError> {
        self.inner.audit_append(seal).await
    }
    async fn audit_page(&self, filter: &AuditFilter, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        self.inner.audit_page(filter, limit).await
    }
    async fn audit_range(&self, after_seq: i64, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        self.inner.audit_range(after_seq, limit).await
    }
    async fn create_invitation(&self, invitation: &InvitationRow) -> Result<(), StoreError> {
        self.inner.create_invitation(invitation).await
    }
    async fn invitation_by_hash(&self, token_hash: &str) -> Result<Option<InvitationRow>, StoreError> {
        self.inner.invitation_by_hash(token_hash).await
    }
    async fn claim_invitation(&self, id: &str, user_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.inner.claim_invitation(id, user_id, now_ms).await
    }
    async fn release_invitation(&self, id: &str) -> Result<(), StoreError> {
        self.inner.release_invitation(id).await
    }
    async fn invitations(&self, limit: u32) -> Result<Vec<InvitationRow>, StoreError> {
        self.inner.invitations(limit).await
    }
    async fn revoke_invitation(&self, id: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.inner.revoke_invitation(id, now_ms).await
    }
    async fn analytics(&self, since_ms: i64) -> Result<crate::Analytics, StoreError> {
        // Counts and FAQ questions only: nothing sealed is read.
        self.inner.analytics(since_ms).await
    }
    async fn set_user_disabled(&self, id: &str, disabled_at_ms: Option<i64>, now_ms: i64) -> Result<bool, StoreError> {
        self.inner.set_user_disabled(id, disabled_at_ms, now_ms).await
    }
    async fn backup(&self, path: &str) -> Result<(), StoreError> {
        // The copy stays encrypted: it needs the same ENCRYPTION_KEY to read.
        self.inner.backup(path).await
    }
    async fn identity_user(&self, issuer: &str, subject: &str) -> Result<Option<String>, StoreError> {
        self.inner.identity_user(issuer, subject).await
    }
    async fn link_identity(&self, issuer: &str, subject: &str, user_id: &str, now_ms: i64) -> Result<(), StoreError> {
        self.inner.link_identity(issuer, subject, user_id, now_ms).await
    }
    async fn data_key(&self, stream_id: &str) -> Result<Option<String>, StoreError> {
        self.inner.data_key(stream_id).await
    }
    async fn put_data_key(
        &self,
        stream_id: &str,
        owner_id: &str,
        wrapped: &str,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        self.inner.put_data_key(stream_id, owner_id, wrapped, now_ms).await
    }
    async fn set_data_key_owner(&self, stream_id: &str, owner_id: &str) -> Result<(), StoreError> {
        self.inner.set_data_key_owner(stream_id, owner_id).await
    }
    async fn data_keys(&self) -> Result<Vec<(String, String)>, StoreError> {
        self.inner.data_keys().await
    }
    async fn replace_data_key(&self, stream_id: &str, wrapped: &str) -> Result<(), StoreError> {
        self.inner.replace_data_key(stream_id, wrapped).await
    }
    async fn replay(&self) -> Result<ReplayStats, StoreError> {
        self.inner.replay().await
    }
    async fn put_file(&self, file: &FileRow) -> Result<(), StoreError> {
        let mut f = file.clone();
        if let Some(text) = &f.extracted_text {
            let stream = file_stream(&f.id);
            let key = self.key(&stream, Some(&f.owner_id)).await?.ok_or_else(|| corrupt("no data key"))?;
            f.extracted_text = Some(Self::seal(&key, &stream, text));
        }
        self.inner.put_file(&f).await
    }
    async fn file(&self, owner_id: &str, id: &str) -> Result<Option<FileRow>, StoreError> {
        match self.inner.file(owner_id, id).await? {
            Some(f) => Ok(Some(self.open_file(f).await?)),
            None => Ok(None),
        }
    }
    async fn files(&self, owner_id: &str, limit: u32) -> Result<Vec<FileRow>, StoreError> {
        let mut out = Vec::new();
        for f in self.inner.files(owner_id, limit).await? {
            out.push(self.open_file(f).await?);
        }
        Ok(out)
    }
    async fn files_bytes(&self, owner_id: &str) -> Result<i64, StoreError> {
        self.inner.files_bytes(owner_id).await
    }
    async fn delete_file(&self, owner_id: &str, id: &str) -> Result<Option<FileRow>, StoreError> {
        // The text is not returned opened: the caller only needs the storage key.
        self.inner.delete_file(owner_id, id).await
    }
    async fn files_of(&self, owner_ids: &[String]) -> Result<Vec<FileRow>, StoreError> {
        self.inner.files_of(owner_ids).await
    }
    async fn files_before(&self, cutoff_ms: i64) -> Result<Vec<FileRow>, StoreError> {
        self.inner.files_before(cutoff_ms).await
    }
    async fn add_attachment(&self, attachment: &AttachmentRow) -> Result<(), StoreError> {
        let mut a = attachment.clone();
        let stream = a.conversation_id.clone();
        let key = self.key(&stream, Some(&a.owner_id)).await?.ok_or_else(|| corrupt("no data key"))?;
        a.content = Self::seal(&key, &stream, &a.content);
        a.title = Self::seal(&key, &stream, &a.title);
        self.inner.add_attachment(&a).await
    }
    async fn attachments(&self, owner_id: &str, conversation_id: &str) -> Result<Vec<AttachmentRow>, StoreError> {
        let key = self.key(conversation_id, None).await?;
        self.inner
            .attachments(owner_id, conversation_id)
            .await?
            .into_iter()
            .map(|mut a| {
                a.content = Self::open(key.as_deref(), conversation_id, &a.content)?;
                a.title = Self::open(key.as_deref(), conversation_id, &a.title)?;
                Ok(a)
            })
            .collect()
    }
    async fn billing_account(&self, user_id: &str) -> Result<Option<BillingAccountRow>, StoreError> {
        self.inner.billing_account(user_id).await
    }
    async fn billing_account_by_customer(&self, customer_id: &str) -> Result<Option<BillingAccountRow>, StoreError> {
        self.inner.billing_account_by_customer(customer_id).await
    }
    async fn put_billing_account(&self, account: &BillingAccountRow) -> Result<(), StoreError> {
        self.inner.put_billing_account(account).await
    }
    async fn billing_claim_event(&self, event_id: &str, event_type: &str, now_ms: i64) -> Result<bool, StoreError> {
        self.inner.billing_claim_event(event_id, event_type, now_ms).await
    }
    async fn billing_release_event(&self, event_id: &str) -> Result<(), StoreError> {
        self.inner.billing_release_event(event_id).await
    }
    async fn token_usage_between(&self, subject_id: &str, from_day: i64, to_day: i64) -> Result<i64, StoreError> {
        self.inner.token_usage_between(subject_id, from_day, to_day).await
    }
    async fn dump_rows(&self, table: &str, offset: u64, limit: u32) -> Result<Vec<serde_json::Value>, StoreError> {
        // Sealed as stored: the data keys move with the rows.
        self.inner.dump_rows(table, offset, limit).await
    }
    async fn load_rows(&self, table: &str, rows: &[serde_json::Value]) -> Result<u64, StoreError> {
        self.inner.load_rows(table, rows).await
    }
    fn pool_stats(&self) -> crate::PoolStats {
        self.inner.pool_stats()
    }
    async fn assistants(&self) -> Result<Vec<crate::AssistantRow>, StoreError> {
        self.inner.assistants().await
    }
    async fn put_assistant(&self, row: &crate::AssistantRow) -> Result<(), StoreError> {
        self.inner.put_assistant(row).await
    }
    async fn delete_assistant(&self, id: &str) -> Result<bool, StoreError> {
        self.inner.delete_assistant(id).await
    }
    async fn close(&self) {
        self.inner.close().await
    }
}
