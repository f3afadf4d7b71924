//! A turn followed to its end: for clients that want the whole answer at once
//! (the JSON API, LINE). They subscribe like every other client.

use crate::{ChatError, ChatService, TurnStarted};
use futures::StreamExt;
use tenmon_store::{EventPayload, Usage};

/// How a turn ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    Completed { model: String, finish_reason: String, usage: Usage },
    Cancelled,
    Failed { code: String, message: String },
    Interrupted,
}

/// The whole answer of a finished turn.
#[derive(Debug, Clone)]
pub struct TurnOutcome {
    pub started: TurnStarted,
    pub answer: String,
    /// As stored in the `sources` event (an array; empty without a knowledge base).
    pub sources: serde_json::Value,
    pub latency_ms: u64,
    pub ending: Ending,
}

impl ChatService {
    /// Wait for a started turn to end and collect its answer.
    pub async fn outcome(&self, owner_id: &str, started: TurnStarted) -> Result<TurnOutcome, ChatError> {
        let mut events = self.follow(owner_id.to_string(), &started);
        let mut answer = String::new();
        let mut sources = serde_json::json!([]);
        while let Some(ev) = events.next().await {
            let (ending, latency_ms) = match ev?.payload {
                EventPayload::AssistantDelta { text, .. } => {
                    answer.push_str(&text);
                    continue;
                }
                EventPayload::Sources { sources: s, .. } => {
                    sources = s;
                    continue;
                }
                EventPayload::AssistantCompleted { model, finish_reason, usage, latency_ms, .. } => {
                    (Ending::Completed { model, finish_reason, usage }, latency_ms)
                }
                EventPayload::AssistantCancelled { latency_ms, .. } => (Ending::Cancelled, latency_ms),
                EventPayload::AssistantFailed { code, message, latency_ms, .. } => {
                    (Ending::Failed { code, message }, latency_ms)
                }
                EventPayload::AssistantInterrupted { .. } => (Ending::Interrupted, 0),
                _ => continue,
            };
            return Ok(TurnOutcome { started, answer, sources, latency_ms, ending });
        }
        Err(ChatError::MessageNotFound)
    }
}
