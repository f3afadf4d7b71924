//! Errors of the chat domain; the server maps them to API errors.

use tenmon_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// Missing, deleted, or someone else's: the caller cannot tell which.
    #[error("conversation not found")]
    ConversationNotFound,
    #[error("message not found")]
    MessageNotFound,
    #[error("unknown assistant {0:?}")]
    UnknownAssistant(String),
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}
