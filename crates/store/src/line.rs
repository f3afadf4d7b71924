//! Rows of the LINE channel.

use serde::{Deserialize, Serialize};

/// A LINE chat (a user, group or room) and its current conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineChatRow {
    pub chat_id: String,
    /// `None` after an unfollow: the next message starts a new conversation.
    pub conversation_id: Option<String>,
    pub followed: bool,
    pub updated_at_ms: i64,
}

/// A message that could not be delivered to LINE (after retries).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineFailureRow {
    pub id: String,
    pub chat_id: String,
    /// `reply`, `push` or `loading`.
    pub operation: String,
    /// The HTTP status LINE answered, if it answered.
    pub status: Option<i64>,
    /// LINE's error message (never the message text sent).
    pub error: String,
    pub created_at_ms: i64,
}
