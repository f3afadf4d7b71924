//! The domain events of a conversation stream and the read-model rows they project to.

use serde::{Deserialize, Serialize};

/// Token counts reported by the model.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// Where an assistant message ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    /// The turn is still running.
    Streaming,
    Complete,
    Cancelled,
    Failed,
    /// The server stopped (shutdown or crash) before the turn finished.
    Interrupted,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Streaming => "streaming",
            MessageStatus::Complete => "complete",
            MessageStatus::Cancelled => "cancelled",
            MessageStatus::Failed => "failed",
            MessageStatus::Interrupted => "interrupted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "streaming" => MessageStatus::Streaming,
            "complete" => MessageStatus::Complete,
            "cancelled" => MessageStatus::Cancelled,
            "failed" => MessageStatus::Failed,
            "interrupted" => MessageStatus::Interrupted,
            _ => return None,
        })
    }
}

/// One event of a conversation stream. The stream id is the conversation id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventPayload {
    ConversationCreated {
        owner_id: String,
        title: String,
        assistant: String,
    },
    ConversationRenamed {
        title: String,
    },
    ConversationDeleted {},
    /// A guest who signed up now owns the conversation.
    ConversationOwnerChanged {
        owner_id: String,
    },
    UserMessage {
        message_id: String,
        content: String,
    },
    AssistantStarted {
        message_id: String,
        model: String,
    },
    /// A run of coalesced text deltas.
    AssistantDelta {
        message_id: String,
        text: String,
    },
    Sources {
        message_id: String,
        sources: serde_json::Value,
    },
    AssistantCompleted {
        message_id: String,
        model: String,
        finish_reason: String,
        usage: Usage,
        latency_ms: u64,
    },
    AssistantFailed {
        message_id: String,
        code: String,
        message: String,
        latency_ms: u64,
    },
    AssistantCancelled {
        message_id: String,
        latency_ms: u64,
    },
    AssistantInterrupted {
        message_id: String,
    },
}

impl EventPayload {
    /// The `event_type` column value (the serde tag).
    pub fn kind(&self) -> &'static str {
        match self {
            EventPayload::ConversationCreated { .. } => "conversation_created",
            EventPayload::ConversationRenamed { .. } => "conversation_renamed",
            EventPayload::ConversationDeleted {} => "conversation_deleted",
            EventPayload::ConversationOwnerChanged { .. } => "conversation_owner_changed",
            EventPayload::UserMessage { .. } => "user_message",
            EventPayload::AssistantStarted { .. } => "assistant_started",
            EventPayload::AssistantDelta { .. } => "assistant_delta",
            EventPayload::Sources { .. } => "sources",
            EventPayload::AssistantCompleted { .. } => "assistant_completed",
            EventPayload::AssistantFailed { .. } => "assistant_failed",
            EventPayload::AssistantCancelled { .. } => "assistant_cancelled",
            EventPayload::AssistantInterrupted { .. } => "assistant_interrupted",
        }
    }

    /// The message this event belongs to, if any.
    pub fn message_id(&self) -> Option<&str> {
        match self {
            EventPayload::UserMessage { message_id, .. }
            | EventPayload::AssistantStarted { message_id, .. }
            | EventPayload::AssistantDelta { message_id, .. }
            | EventPayload::Sources { message_id, .. }
            | EventPayload::AssistantCompleted { message_id, .. }
            | EventPayload::AssistantFailed { message_id, .. }
            | EventPayload::AssistantCancelled { message_id, .. }
            | EventPayload::AssistantInterrupted { message_id } => Some(message_id),
            _ => None,
        }
    }
}

/// An event to append; the store assigns the sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub payload: EventPayload,
    /// Unix time in milliseconds.
    pub at_ms: i64,
}

/// An event as read back from the log.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub stream_id: String,
    pub seq: i64,
    pub payload: EventPayload,
    pub at_ms: i64,
}

/// The conversations read model.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversationRow {
    pub id: String,
    pub owner_id: String,
    pub title: String,
    pub assistant: String,
    pub last_seq: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// The messages read model.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRow {
    pub id: String,
    pub conversation_id: String,
    pub seq: i64,
    pub role: String,
    pub content: String,
    pub status: MessageStatus,
    pub model: Option<String>,
    pub finish_reason: Option<String>,
    pub usage: Option<Usage>,
    pub latency_ms: Option<u64>,
    pub sources: Option<serde_json::Value>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A session: who a token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: String,
    /// SHA-256 of the token, hex.
    pub token_hash: String,
    /// The owner id of everything this session creates.
    pub subject_id: String,
    /// `guest` or `user`.
    pub kind: String,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}
