//! Rows to domain structs, once for every backend. Each backend says how it reads a
//! text or integer cell ([`Cells`]); the mapping from columns to fields is written
//! once here, so the backends cannot drift apart.

use crate::events::{ConversationRow, MessageRow, MessageStatus, SessionRow, Usage};
use crate::{
    ApiKeyRow, AttachmentRow, AuditRow, BillingAccountRow, FileRow, KbEntryRow, KnowledgeBaseRow, LineChatRow,
    LineFailureRow, RefreshRow, StoreError, UnansweredRow, UserRow,
};

/// How a backend reads one cell by column name.
pub(crate) trait Cells {
    fn text(&self, col: &str) -> Result<String, sqlx::Error>;
    fn opt_text(&self, col: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, col: &str) -> Result<i64, sqlx::Error>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>, sqlx::Error>;
}

pub(crate) fn conversation(r: &impl Cells) -> Result<ConversationRow, StoreError> {
    Ok(ConversationRow {
        id: r.text("id")?,
        owner_id: r.text("owner_id")?,
        title: r.text("title")?,
        assistant: r.text("assistant")?,
        last_seq: r.int("last_seq")?,
        created_at_ms: r.int("created_at")?,
        updated_at_ms: r.int("updated_at")?,
    })
}

pub(crate) fn message(r: &impl Cells) -> Result<MessageRow, StoreError> {
    let status = r.text("status")?;
    let sources = r.opt_text("sources")?;
    Ok(MessageRow {
        id: r.text("id")?,
        conversation_id: r.text("conversation_id")?,
        seq: r.int("seq")?,
        role: r.text("role")?,
        content: r.text("content")?,
        status: MessageStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown message status {status:?}")))?,
        model: r.opt_text("model")?,
        finish_reason: r.opt_text("finish_reason")?,
        usage: match (r.opt_int("prompt_tokens")?, r.opt_int("completion_tokens")?) {
            (Some(p), Some(c)) => Some(Usage { prompt_tokens: p as u32, completion_tokens: c as u32 }),
            _ => None,
        },
        latency_ms: r.opt_int("latency_ms")?.map(|v| v as u64),
        sources: sources.map(|s| serde_json::from_str(&s)).transpose()?,
        created_at_ms: r.int("created_at")?,
        updated_at_ms: r.int("updated_at")?,
    })
}

pub(crate) fn session(r: &impl Cells) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        id: r.text("id")?,
        token_hash: r.text("token_hash")?,
        subject_id: r.text("subject_id")?,
        kind: r.text("kind")?,
        created_at_ms: r.int("created_at")?,
        expires_at_ms: r.int("expires_at")?,
    })
}

pub(crate) fn kb_base(r: &impl Cells) -> Result<KnowledgeBaseRow, StoreError> {
    Ok(KnowledgeBaseRow {
        id: r.text("id")?,
        name: r.text("name")?,
        description: r.text("description")?,
        created_at_ms: r.int("created_at")?,
        updated_at_ms: r.int("updated_at")?,
    })
}

pub(crate) fn kb_entry(r: &impl Cells) -> Result<KbEntryRow, StoreError> {
    Ok(KbEntryRow {
        id: r.text("id")?,
        kb_id: r.text("kb_id")?,
        question: r.text("question")?,
        phrasings: serde_json::from_str(&r.text("phrasings")?)?,
        answer: r.text("answer")?,
        keywords: serde_json::from_str(&r.text("keywords")?)?,
        category: r.text("category")?,
        source_url: r.opt_text("source_url")?,
        question_en: r.opt_text("question_en")?,
        answer_en: r.opt_text("answer_en")?,
        enabled: r.int("enabled")? != 0,
        version: r.int("version")?,
        created_at_ms: r.int("created_at")?,
        updated_at_ms: r.int("updated_at")?,
    })
}

pub(crate) fn unanswered(r: &impl Cells) -> Result<UnansweredRow, StoreError> {
    Ok(UnansweredRow {
        assistant: r.text("assistant")?,
        normalized: r.text("normalized")?,
        sample: r.text("sample")?,
        hits: r.int("hits")?,
        first_seen_ms: r.int("first_seen")?,
        last_seen_ms: r.int("last_seen")?,
    })
}

pub(crate) fn user(r: &impl Cells) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        id: r.text("id")?,
        email: r.text("email")?,
        display_name: r.text("display_name")?,
        role: r.text("role")?,
        locale: r.text("locale")?,
        password_hash: r.opt_text("password_hash")?,
        created_at_ms: r.int("created_at")?,
        updated_at_ms: r.int("updated_at")?,
        disabled_at_ms: r.opt_int("disabled_at")?,
    })
}

pub(crate) fn refresh(r: &impl Cells) -> Result<RefreshRow, StoreError> {
    Ok(RefreshRow {
        id: r.text("id")?,
        user_id: r.text("user_id")?,
        family_id: r.text("family_id")?,
        token_hash: r.text("token_hash")?,
        created_at_ms: r.int("created_at")?,
        expires_at_ms: r.int("expires_at")?,
        used_at_ms: r.opt_int("used_at")?,
        revoked_at_ms: r.opt_int("revoked_at")?,
    })
}

pub(crate) fn api_key(r: &impl Cells) -> Result<ApiKeyRow, StoreError> {
    Ok(ApiKeyRow {
        id: r.text("id")?,
        user_id: r.text("user_id")?,
        name: r.text("name")?,
        prefix: r.text("prefix")?,
        key_hash: r.text("key_hash")?,
        scopes: serde_json::from_str(&r.text("scopes")?)?,
        created_at_ms: r.int("created_at")?,
        expires_at_ms: r.opt_int("expires_at")?,
        last_used_at_ms: r.opt_int("last_used_at")?,
        revoked_at_ms: r.opt_int("revoked_at")?,
    })
}

pub(crate) fn line_chat(r: &impl Cells) -> Result<LineChatRow, StoreError> {
    Ok(LineChatRow {
        chat_id: r.text("chat_id")?,
        conversation_id: r.opt_text("conversation_id")?,
        followed: r.int("followed")? != 0,
        updated_at_ms: r.int("updated_at")?,
    })
}

pub(crate) fn line_failure(r: &impl Cells) -> Result<LineFailureRow, StoreError> {
    Ok(LineFailureRow {
        id: r.text("id")?,
        chat_id: r.text("chat_id")?,
        operation: r.text("operation")?,
        status: r.opt_int("status")?,
        error: r.text("error")?,
        created_at_ms: r.int("created_at")?,
    })
}

pub(crate) fn audit(r: &impl Cells) -> Result<AuditRow, StoreError> {
    let details = r.text("details")?;
    Ok(AuditRow {
        seq: r.int("seq")?,
        at: r.text("at")?,
        actor: r.opt_text("actor")?,
        action: r.text("action")?,
        target: r.opt_text("target")?,
        ip: r.opt_text("ip")?,
        user_agent: r.opt_text("user_agent")?,
        request_id: r.opt_text("request_id")?,
        // A record whose details are not JSON was edited; verification will say so.
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::String(details)),
        prev_hash: r.text("prev_hash")?,
        hash: r.text("hash")?,
    })
}

/// Whether a database error is a unique-constraint violation (every backend).
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

pub(crate) fn invitation(r: &impl Cells) -> Result<crate::InvitationRow, StoreError> {
    Ok(crate::InvitationRow {
        id: r.text("id")?,
        token_hash: r.text("token_hash")?,
        email: r.opt_text("email")?,
        role: r.text("role")?,
        created_by: r.text("created_by")?,
        created_at_ms: r.int("created_at")?,
        expires_at_ms: r.int("expires_at")?,
        used_at_ms: r.opt_int("used_at")?,
        used_by: r.opt_text("used_by")?,
        revoked_at_ms: r.opt_int("revoked_at")?,
    })
}

pub(crate) fn day_stats(r: &impl Cells) -> Result<crate::DayStats, StoreError> {
    Ok(crate::DayStats {
        day: r.int("day")?,
        conversations: r.int("conversations")?,
        messages: r.int("messages")?,
        answered: r.int("answered")?,
        unanswered: r.int("unanswered")?,
        tokens: r.int("tokens")?,
    })
}

pub(crate) fn entry_use(r: &impl Cells) -> Result<crate::EntryUse, StoreError> {
    Ok(crate::EntryUse {
        id: r.text("id")?,
        kb: r.opt_text("kb")?.unwrap_or_default(),
        question: r.opt_text("question")?.unwrap_or_default(),
        count: r.int("n")?,
    })
}

pub(crate) fn file(r: &impl Cells) -> Result<FileRow, StoreError> {
    Ok(FileRow {
        id: r.text("id")?,
        owner_id: r.text("owner_id")?,
        name: r.text("name")?,
        kind: r.text("kind")?,
        mime: r.text("mime")?,
        size: r.int("size")?,
        sha256: r.text("sha256")?,
        storage_key: r.text("storage_key")?,
        extracted_text: r.opt_text("extracted_text")?,
        text_truncated: r.int("text_truncated")? != 0,
        kb_id: r.opt_text("kb_id")?,
        created_at_ms: r.int("created_at")?,
    })
}

pub(crate) fn attachment(r: &impl Cells) -> Result<AttachmentRow, StoreError> {
    Ok(AttachmentRow {
        id: r.text("id")?,
        conversation_id: r.text("conversation_id")?,
        owner_id: r.text("owner_id")?,
        kind: r.text("kind")?,
        file_id: r.opt_text("file_id")?,
        title: r.text("title")?,
        url: r.opt_text("url")?,
        content: r.text("content")?,
        created_at_ms: r.int("created_at")?,
    })
}

pub(crate) fn billing_account(r: &impl Cells) -> Result<BillingAccountRow, StoreError> {
    Ok(BillingAccountRow {
        user_id: r.text("user_id")?,
        customer_id: r.text("customer_id")?,
        subscription_id: r.opt_text("subscription_id")?,
        status: r.text("status")?,
        price_id: r.opt_text("price_id")?,
        plan_id: r.text("plan_id")?,
        current_period_end_ms: r.opt_int("current_period_end")?,
        cancel_at_period_end: r.int("cancel_at_period_end")? != 0,
        past_due_since: r.opt_int("past_due_since")?,
        last_event_at: r.opt_int("last_event_at")?,
        updated_at_ms: r.int("updated_at")?,
    })
}

pub(crate) fn assistant(r: &impl Cells) -> Result<crate::AssistantRow, StoreError> {
    Ok(crate::AssistantRow {
        id: r.text("id")?,
        definition: r.text("definition")?,
        created_at_ms: r.int("created_at")?,
        updated_at_ms: r.int("updated_at")?,
    })
}
