//! The LINE Messaging API channel. The webhook handler only verifies, records the
//! event ids (a redelivery is processed once) and hands each event to a tracked
//! task; the answer is a normal chat turn of the configured assistant, in one
//! conversation per LINE chat, owned by the guest identity `line:<chat id>`.
//!
//! Events of one chat are handled in order (a lock per chat), so two quick
//! messages get their answers in the order they were sent.

mod client;
pub mod messages;
pub mod signature;
pub mod webhook;

pub use client::{LineApi, LineApiError};

use crate::config::LineConfig;
use messages::Related;
use secrecy::ExposeSecret;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tenmon_chat::{ChatError, ChatService, Ending, TurnInput};
use tenmon_store::{LineChatRow, LineFailureRow, Store, StoreError};
use tokio_util::task::TaskTracker;
use webhook::{Event, WebhookBody};

const TEXT_ONLY: &str = "申し訳ございません。現在はテキストメッセージのみに対応しています。ご質問を文字でお送りください。\n(Sorry, only text messages are supported.)";
const UNAVAILABLE: &str = "申し訳ございません。ただいま回答を作成できませんでした。しばらくしてから、もう一度お試しください。\n(Sorry, we could not answer just now. Please try again later.)";
const TOO_LONG: &str =
    "申し訳ございません。メッセージが長すぎます。短く分けてお送りください。\n(Sorry, that message is too long.)";

/// Why a webhook body was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("the body is not a LINE webhook: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug)]
struct Inner {
    config: LineConfig,
    api: LineApi,
    store: Arc<dyn Store>,
    chat: ChatService,
    kb: tenmon_kb::KnowledgeBase,
    tasks: TaskTracker,
    /// One lock per chat with events in flight.
    locks: Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct LineChannel {
    inner: Arc<Inner>,
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl LineChannel {
    pub fn new(
        config: LineConfig,
        store: Arc<dyn Store>,
        chat: ChatService,
        kb: tenmon_kb::KnowledgeBase,
        tasks: TaskTracker,
    ) -> Self {
        let api = LineApi::new(&config.api_base, config.access_token.clone(), config.max_retries, config.retry_base);
        Self { inner: Arc::new(Inner { config, api, store, chat, kb, tasks, locks: Mutex::new(HashMap::new()) }) }
    }

    /// Whether `signature` (the `X-Line-Signature` header) signs `body`.
    pub fn verify(&self, body: &[u8], signature: Option<&str>) -> bool {
        signature::verify(self.inner.config.channel_secret.expose_secret().as_bytes(), body, signature)
    }

    /// Parse a verified body, drop redeliveries, and start handling each new event on
    /// a tracked task. Returns how many events were new.
    pub async fn accept(&self, body: &[u8]) -> Result<usize, WebhookError> {
        let parsed: WebhookBody = serde_json::from_slice(body).map_err(|e| WebhookError::Invalid(e.to_string()))?;
        let now = tenmon_chat::now_ms();
        let mut fresh = Vec::new();
        for event in parsed.events {
            // Events without an id (very old API versions) cannot be deduplicated.
            if let Some(id) = &event.webhook_event_id {
                if !self.inner.store.line_claim_event(id, now).await? {
                    tracing::info!(event_id = %id, "LINE redelivery ignored (already processed)");
                    continue;
                }
            }
            fresh.push(event);
        }
        let n = fresh.len();
        for event in fresh {
            let this = self.clone();
            self.inner.tasks.spawn(async move { this.handle(event).await });
        }
        Ok(n)
    }

    fn lock_for(&self, chat_id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.inner.locks.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(lock) = locks.get(chat_id).and_then(Weak::upgrade) {
            return lock;
        }
        locks.retain(|_, w| w.strong_count() > 0);
        let lock = Arc::new(tokio::sync::Mutex::new(()));
        locks.insert(chat_id.to_string(), Arc::downgrade(&lock));
        lock
    }

    async fn handle(&self, event: Event) {
        if event.mode.as_deref() == Some("standby") {
            return;
        }
        let Some(source) = event.source.clone() else { return };
        let Some(chat_id) = source.chat_id().map(str::to_string) else { return };
        let lock = self.lock_for(&chat_id);
        let _guard = lock.lock().await;
        let result = match event.kind.as_str() {
            "message" => match event.message.as_ref().and_then(|m| (m.kind == "text").then_some(m.text.clone())) {
                Some(Some(text)) => self.answer(&event, &chat_id, source.is_user(), text).await,
                _ => self.send(&event, &chat_id, messages::text_messages(TEXT_ONLY, &[])).await,
            },
            "postback" => {
                let entry = event
                    .postback
                    .as_ref()
                    .and_then(|p| messages::parse_postback(&p.data))
                    .and_then(|id| self.inner.kb.entry(id))
                    .filter(|e| e.enabled);
                match entry {
                    Some(entry) => self.answer(&event, &chat_id, source.is_user(), entry.question.clone()).await,
                    None => Ok(()),
                }
            }
            "follow" => {
                self.set_chat(&chat_id, None, true).await;
                let greeting = self.inner.config.greeting.clone();
                self.send(&event, &chat_id, messages::text_messages(&greeting, &[])).await
            }
            "unfollow" | "leave" => {
                // The conversation stays for the record; a new one starts on return.
                self.set_chat(&chat_id, None, false).await;
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "LINE event not handled");
        }
    }

    async fn set_chat(&self, chat_id: &str, conversation_id: Option<String>, followed: bool) {
        let row = LineChatRow {
            chat_id: chat_id.to_string(),
            conversation_id,
            followed,
            updated_at_ms: tenmon_chat::now_ms(),
        };
        if let Err(e) = self.inner.store.line_put_chat(&row).await {
            tracing::warn!(error = %e, "could not save the LINE chat");
        }
    }

    /// Run a turn for `text` and send the answer.
    async fn answer(&self, event: &Event, chat_id: &str, one_to_one: bool, text: String) -> Result<(), StoreError> {
        if one_to_one {
            if let Err(e) = self.inner.api.show_loading(chat_id, 20).await {
                tracing::debug!(error = %e, "LINE loading animation not shown");
            }
        }
        let owner = format!("line:{chat_id}");
        let known = self.inner.store.line_chat(chat_id).await?.and_then(|c| c.conversation_id);
        let input = |conversation_id: Option<String>| TurnInput {
            owner_id: owner.clone(),
            usage_subjects: vec![owner.clone()],
            conversation_id,
            message: text.clone(),
            assistant: Some(self.inner.config.assistant.clone()),
            model: None,
            attachments: Vec::new(),
            images: Vec::new(),
        };
        let started = match self.inner.chat.start(input(known.clone())).await {
            // Deleted (by the user's erasure or an admin): start a new one.
            Err(ChatError::ConversationNotFound) => self.inner.chat.start(input(None)).await,
            other => other,
        };
        let started = match started {
            Ok(s) => s,
            Err(ChatError::Invalid { .. }) => {
                return self.send(event, chat_id, messages::text_messages(TOO_LONG, &[])).await
            }
            Err(e) => {
                tracing::warn!(error = %e, "LINE turn not started");
                return self.send(event, chat_id, messages::text_messages(UNAVAILABLE, &[])).await;
            }
        };
        if known.as_deref() != Some(started.conversation_id.as_str()) {
            self.set_chat(chat_id, Some(started.conversation_id.clone()), true).await;
        }
        let out = match self.inner.chat.outcome(&owner, started).await {
            Ok(out) => out,
            Err(e) => {
                tracing::warn!(error = %e, "LINE turn lost");
                return self.send(event, chat_id, messages::text_messages(UNAVAILABLE, &[])).await;
            }
        };
        let reply = match out.ending {
            Ending::Completed { .. } if !out.answer.trim().is_empty() => {
                let related = self.related(&text, &out.sources).await;
                messages::text_messages(&out.answer, &related)
            }
            _ => messages::text_messages(UNAVAILABLE, &[]),
        };
        self.send(event, chat_id, reply).await
    }

    /// FAQ questions near the user's, other than the one the answer used.
    async fn related(&self, text: &str, sources: &serde_json::Value) -> Vec<Related> {
        let used: Vec<&str> =
            sources.as_array().map(|a| a.iter().filter_map(|s| s["id"].as_str()).collect()).unwrap_or_default();
        let assistants = self.inner.chat.assistants();
        let Some(assistant) = assistants.get(&self.inner.config.assistant) else { return Vec::new() };
        if assistant.knowledge_bases.is_empty() {
            return Vec::new();
        }
        let Ok(found) = self.inner.kb.search(text, &assistant.knowledge_bases, 8).await else { return Vec::new() };
        found
            .results
            .into_iter()
            .filter(|r| r.confidence >= 0.2 && used.first() != Some(&r.id.as_str()))
            .map(|r| Related { entry_id: r.id, question: r.question })
            .take(4)
            .collect()
    }

    /// Deliver `messages`: by reply while the token is fresh, else (or when the reply
    /// fails) by push; more than five go as further pushes. Failures are recorded.
    async fn send(&self, event: &Event, chat_id: &str, messages: Vec<serde_json::Value>) -> Result<(), StoreError> {
        let cfg = &self.inner.config;
        let fresh = tenmon_chat::now_ms().saturating_sub(event.timestamp) < cfg.reply_token_ttl.as_millis() as i64;
        for (i, batch) in messages.chunks(messages::MAX_PER_REQUEST).enumerate() {
            if i == 0 && fresh {
                if let Some(token) = &event.reply_token {
                    match self.inner.api.reply(token, batch).await {
                        Ok(()) => continue,
                        Err(e) => tracing::info!(error = %e, "LINE reply failed; pushing instead"),
                    }
                }
            }
            if let Err(e) = self.inner.api.push(chat_id, batch, &uuid::Uuid::now_v7().to_string()).await {
                tracing::warn!(error = %e, "LINE push failed");
                let failure = LineFailureRow {
                    id: new_id(),
                    chat_id: chat_id.to_string(),
                    operation: "push".into(),
                    status: e.status().map(i64::from),
                    error: e.to_string(),
                    created_at_ms: tenmon_chat::now_ms(),
                };
                self.inner.store.line_record_failure(&failure).await?;
            }
        }
        Ok(())
    }
}
