//! Chat turns. A turn appends the user's message to the conversation's event log,
//! runs the model call on a tracked task that outlives any HTTP connection, writes
//! coalesced deltas and the outcome to the log, and publishes each appended event.
//! Every client (SSE, a resuming client, later Socket.IO or another replica) only
//! subscribes: replay from the log, then live events.

mod assistants;
mod context;
mod error;
mod grounding;
mod history;
mod hub;
mod metrics;
mod outcome;
mod service;
mod vaults;

pub use assistants::{Assistant, Assistants};
pub use context::NewAttachment;
pub use error::ChatError;
pub use grounding::{plan as ground, Grounding, Plan};
pub use history::{build_prompt, estimate_tokens};
pub use metrics::TurnMetrics;
pub use outcome::{Ending, TurnOutcome};
pub use service::{whole_placeholders, ChatService, ChatSettings, TurnInput, TurnStarted};

use tenmon_store::EventPayload;

/// Whether this event ends a turn.
pub fn is_terminal(payload: &EventPayload) -> bool {
    matches!(
        payload,
        EventPayload::AssistantCompleted { .. }
            | EventPayload::AssistantFailed { .. }
            | EventPayload::AssistantCancelled { .. }
            | EventPayload::AssistantInterrupted { .. }
    )
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Today as days since the Unix epoch (UTC), the key of daily quotas.
pub fn today() -> i64 {
    now_ms() / 86_400_000
}
