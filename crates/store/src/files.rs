//! Rows of files, conversation attachments and billing.

use serde::{Deserialize, Serialize};

/// A stored file's metadata; the bytes are in object storage under `storage_key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRow {
    pub id: String,
    pub owner_id: String,
    /// Sanitised file name (safe to show and to put in Content-Disposition).
    pub name: String,
    /// `image`, `pdf`, `docx`, `text`, `markdown`, `csv`.
    pub kind: String,
    /// The type served on download, decided by sniffing the content.
    pub mime: String,
    pub size: i64,
    pub sha256: String,
    pub storage_key: String,
    /// Text extracted at upload (none for images).
    pub extracted_text: Option<String>,
    pub text_truncated: bool,
    /// Set for documents an operator uploaded into a knowledge base.
    pub kb_id: Option<String>,
    pub created_at_ms: i64,
}

/// Something a conversation reads besides its messages: an attached file's text or
/// a page from the /browser reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRow {
    pub id: String,
    pub conversation_id: String,
    pub owner_id: String,
    /// `file` or `page`.
    pub kind: String,
    pub file_id: Option<String>,
    pub title: String,
    /// The page's URL (after redirects) for pages.
    pub url: Option<String>,
    /// The text the model reads.
    pub content: String,
    pub created_at_ms: i64,
}

/// A user's Stripe customer and subscription, kept in step by webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingAccountRow {
    pub user_id: String,
    pub customer_id: String,
    pub subscription_id: Option<String>,
    /// Stripe's subscription status (`none` before any subscription).
    pub status: String,
    pub price_id: Option<String>,
    /// The plan this account is on now.
    pub plan_id: String,
    pub current_period_end_ms: Option<i64>,
    pub cancel_at_period_end: bool,
    /// When the subscription went past due (unix seconds), for the grace period.
    pub past_due_since: Option<i64>,
    /// `created` of the newest applied event (unix seconds): older ones arriving
    /// late change nothing.
    pub last_event_at: Option<i64>,
    pub updated_at_ms: i64,
}

/// An assistant an admin defined; `definition` is its JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssistantRow {
    pub id: String,
    pub definition: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}
