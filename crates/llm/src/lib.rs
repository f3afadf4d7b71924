//! Model providers: one [`Provider`] trait, one file per provider (OpenAI Chat
//! Completions first), and [`Upstreams`], which retries and falls back before the
//! first token and never after it. [`OpenAiEmbeddings`] turns texts into vectors
//! for the knowledge base's dense retrieval.

mod embeddings;
mod error;
pub mod json_text;
mod openai;
mod transport;
mod upstreams;

pub use embeddings::{EmbeddingsConfig, OpenAiEmbeddings};
pub use error::LlmError;
pub use openai::{OpenAiConfig, OpenAiProvider};
pub use transport::Proxies;
pub use upstreams::{RetryPolicy, Timeouts, Upstream, Upstreams};

use async_trait::async_trait;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};

/// A chat message as the model sees it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
    /// Images for vision models, as `data:` URLs; sent in the OpenAI format (content
    /// parts) only when there are some, so text-only servers see plain strings.
    #[serde(default)]
    pub images: Vec<String>,
}

impl Serialize for Message {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("role", &self.role)?;
        if self.images.is_empty() {
            map.serialize_entry("content", &self.content)?;
        } else {
            let mut parts = vec![serde_json::json!({"type": "text", "text": self.content})];
            parts.extend(
                self.images.iter().map(|url| serde_json::json!({"type": "image_url", "image_url": {"url": url}})),
            );
            map.serialize_entry("content", &parts)?;
        }
        map.end()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into(), images: Vec::new() }
    }
}

/// One completion request.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    /// The model to ask; `None` uses the upstream's configured model.
    pub model: Option<String>,
    pub messages: Vec<Message>,
    pub max_tokens: Option<u32>,
    pub temperature: Option<f32>,
}

/// Token counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenUsage {
    pub prompt_tokens: u32,
    pub completion_tokens: u32,
}

/// What a streaming completion yields.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEvent {
    /// Text to append.
    Delta(String),
    /// The end: why it stopped and, when the upstream says, the usage.
    Finish { finish_reason: String, usage: Option<TokenUsage> },
}

/// A whole answer, from a non-streamed completion.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    pub text: String,
    pub finish_reason: String,
    /// When the upstream says.
    pub usage: Option<TokenUsage>,
}

/// A stream of completion events.
pub type EventStream = BoxStream<'static, Result<StreamEvent, LlmError>>;

/// A model provider.
#[async_trait]
pub trait Provider: Send + Sync + std::fmt::Debug {
    /// Start a streamed completion. Returns once the upstream has accepted the
    /// request (response head received); errors before that are [`LlmError`]s.
    async fn stream(&self, request: &ChatRequest) -> Result<EventStream, LlmError>;
    /// The whole answer at once, for callers that do not stream (the upstream does
    /// less work and so do we). By default the stream, collected.
    async fn complete(&self, request: &ChatRequest) -> Result<Completion, LlmError> {
        use futures::StreamExt;
        let mut stream = self.stream(request).await?;
        let mut text = String::new();
        while let Some(ev) = stream.next().await {
            match ev? {
                StreamEvent::Delta(t) => text.push_str(&t),
                StreamEvent::Finish { finish_reason, usage } => return Ok(Completion { text, finish_reason, usage }),
            }
        }
        Err(LlmError::Protocol("stream ended early".into()))
    }

    /// The model this provider asks when the request names none.
    fn default_model(&self) -> &str;

    /// A short name for logs and metrics.
    fn name(&self) -> &str;
}

#[cfg(test)]
mod message_tests {
    use super::*;

    #[test]
    fn text_only_messages_are_plain_strings_and_images_are_content_parts() {
        let plain = serde_json::to_value(Message::new(Role::User, "こんにちは")).unwrap_or_default();
        assert_eq!(plain, serde_json::json!({"role": "user", "content": "こんにちは"}));
        let mut m = Message::new(Role::User, "これは何?");
        m.images.push("data:image/png;base64,AAAA".into());
        let v = serde_json::to_value(&m).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({"role": "user", "content": [
                {"type": "text", "text": "これは何?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
            ]})
        );
    }
}
