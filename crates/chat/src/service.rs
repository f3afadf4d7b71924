//! The chat service: start a turn, run it on a tracked task, let clients subscribe,
//! cancel it, and recover turns a crash left running.

use crate::assistants::Assistants;
use crate::grounding::{english as grounding_english, plan, sources_json, Plan};
use crate::history::{build_prompt, estimate_tokens};
use crate::hub::Hub;
use crate::metrics::{StatusLabel, TurnMetrics};
use crate::vaults::Vaults;
use crate::{is_terminal, now_ms, ChatError};
use futures::stream::BoxStream;
use futures::StreamExt;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tenmon_llm::{ChatRequest, LlmError, StreamEvent, TokenUsage, Upstreams};
use tenmon_privacy::{Masker, Vault};
use tenmon_store::{
    AttachmentRow, EventPayload, MessageRow, MessageStatus, NewEvent, Store, StoreError, StoredEvent, Usage,
};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// Tunables of the chat engine.
#[derive(Debug, Clone)]
pub struct ChatSettings {
    /// `max_tokens` sent upstream.
    pub max_tokens: Option<u32>,
    /// Token budget for system prompt + history + the new message.
    pub history_budget: u32,
    /// Longest accepted user message, in characters.
    pub max_message_chars: usize,
    /// Deltas are written at most this often (the first one at once).
    pub coalesce_interval: Duration,
    /// … or when this many bytes are waiting.
    pub coalesce_bytes: usize,
    /// How often a subscriber re-reads the log for a turn running elsewhere.
    pub poll_interval: Duration,
    /// Replace personal data by placeholders before the model sees it.
    pub mask: bool,
    /// Store the original text (else the masked text) of messages and answers.
    pub store_personal_data: bool,
}

impl Default for ChatSettings {
    fn default() -> Self {
        Self {
            max_tokens: Some(1024),
            history_budget: 6000,
            max_message_chars: 16_000,
            coalesce_interval: Duration::from_millis(50),
            coalesce_bytes: 1024,
            poll_interval: Duration::from_millis(250),
            mask: true,
            store_personal_data: false,
        }
    }
}

/// A user's message to start a turn with.
#[derive(Debug, Clone)]
pub struct TurnInput {
    pub owner_id: String,
    /// Who is charged for the tokens (the user, and the API key when one was used).
    pub usage_subjects: Vec<String>,
    pub conversation_id: Option<String>,
    pub message: String,
    pub assistant: Option<String>,
    pub model: Option<String>,
    /// Documents to attach to the conversation with this turn (kept for later turns).
    pub attachments: Vec<crate::NewAttachment>,
    /// Images for this turn only, as `data:` URLs (vision models).
    pub images: Vec<String>,
}

/// The ids of a started turn.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TurnStarted {
    pub conversation_id: String,
    pub user_message_id: String,
    pub message_id: String,
    pub assistant: String,
    pub model: String,
    /// Sequence of the `assistant_started` event: resume after it to get the rest.
    pub started_seq: i64,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    upstreams: Upstreams,
    /// Knowledge bases for grounded answers.
    kb: Option<tenmon_kb::KnowledgeBase>,
    /// Built-in and config-file assistants.
    base_assistants: Assistants,
    /// Those plus the admins' (from the database), swapped whole on a change.
    assistants: std::sync::RwLock<Arc<Assistants>>,
    hub: Hub,
    tasks: TaskTracker,
    /// The runtime turns run on: the one the service was built on (the server's shared
    /// multi-threaded runtime), also when a request arrives on an HTTP thread's loop.
    spawner: Option<tokio::runtime::Handle>,
    /// Cancelled when the shutdown grace period is over: running turns store what
    /// they have as `interrupted`.
    hard_stop: CancellationToken,
    settings: ChatSettings,
    metrics: TurnMetrics,
    /// Placeholder → original per conversation with a turn here in the last
    /// minutes, so live subscribers read their own data back while the log keeps it
    /// masked, and a follow-up turn numbers the same value the same way.
    vaults: Mutex<Vaults>,
}

/// Cheap to clone.
#[derive(Debug, Clone)]
pub struct ChatService {
    inner: Arc<Inner>,
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn title_from(message: &str) -> String {
    let line = message.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim();
    let mut title: String = line.chars().take(40).collect();
    if line.chars().count() > 40 {
        title.push('…');
    }
    if title.is_empty() {
        "新しい会話".into()
    } else {
        title
    }
}

impl ChatService {
    /// Mask the message (when masking is on): returns the masked text and the vault
    /// with the original, numbered after the placeholders already in the conversation
    /// (`prior`, its messages so far).
    fn mask_message(
        &self,
        input: &TurnInput,
        prior: &[MessageRow],
        message: String,
    ) -> (String, Option<(Vault, String)>) {
        if !self.inner.settings.mask {
            return (message, None);
        }
        // The conversation's vault from its last turn here knows the originals behind
        // earlier placeholders (the log keeps only the placeholders).
        let known = input.conversation_id.as_deref().and_then(|c| self.vault(c));
        let mut vault = match known {
            Some(v) => (*v).clone(),
            None => Vault::continue_after(prior.iter().map(|m| m.content.as_str())),
        };
        // Originals in earlier messages (STORE_PERSONAL_DATA) get their numbers first.
        for m in prior {
            Masker::shared().mask(&m.content, &mut vault);
        }
        let masked = Masker::shared().mask(&message, &mut vault);
        (masked, Some((vault, message)))
    }

    fn keep_vault(&self, conversation_id: &str, vault: Arc<Vault>) {
        let mut vaults = self.inner.vaults.lock().unwrap_or_else(|p| p.into_inner());
        // An empty vault restores nothing: keep one only to replace an older one.
        if vault.is_empty() && !vaults.contains(conversation_id) {
            return;
        }
        vaults.keep(conversation_id, vault, Instant::now());
    }

    fn vault(&self, conversation_id: &str) -> Option<Arc<Vault>> {
        let vaults = self.inner.vaults.lock().unwrap_or_else(|p| p.into_inner());
        vaults.get(conversation_id, Instant::now())
    }

    #[expect(clippy::too_many_arguments, reason = "the service's parts, each named at the one call site")]
    pub fn new(
        store: Arc<dyn Store>,
        upstreams: Upstreams,
        kb: Option<tenmon_kb::KnowledgeBase>,
        assistants: Assistants,
        tasks: TaskTracker,
        hard_stop: CancellationToken,
        settings: ChatSettings,
        metrics: TurnMetrics,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                upstreams,
                kb,
                assistants: std::sync::RwLock::new(Arc::new(assistants.clone())),
                base_assistants: assistants,
                hub: Hub::default(),
                tasks,
                spawner: tokio::runtime::Handle::try_current().ok(),
                hard_stop,
                settings,
                metrics,
                vaults: Mutex::new(Vaults::default()),
            }),
        }
    }

    pub fn metrics(&self) -> &TurnMetrics {
        &self.inner.metrics
    }

    /// The assistants now (built in, from the config file, and the admins').
    pub fn assistants(&self) -> Arc<Assistants> {
        self.inner.assistants.read().map(|a| a.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Replace the admins' assistants (they add to, or override, the others).
    pub fn set_custom_assistants(&self, custom: Vec<crate::Assistant>) {
        let all = Arc::new(self.inner.base_assistants.clone().with(custom));
        match self.inner.assistants.write() {
            Ok(mut a) => *a = all,
            Err(p) => *p.into_inner() = all,
        }
    }

    /// The built-in and config-file assistants only.
    pub fn base_assistants(&self) -> &Assistants {
        &self.inner.base_assistants
    }

    /// The knowledge bases, when the server has them (for stateless answers that
    /// ground themselves, such as `/v1`).
    pub fn kb(&self) -> Option<&tenmon_kb::KnowledgeBase> {
        self.inner.kb.as_ref()
    }

    pub fn upstreams(&self) -> &Upstreams {
        &self.inner.upstreams
    }

    /// Turns running in this process.
    pub fn running(&self) -> usize {
        self.inner.hub.len()
    }

    /// Append events at the stream's next sequence, retrying when another writer of
    /// the same conversation got there first.
    async fn append(
        &self,
        stream_id: &str,
        next: &mut i64,
        payloads: Vec<EventPayload>,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let at_ms = now_ms();
        let events: Vec<NewEvent> = payloads.into_iter().map(|payload| NewEvent { payload, at_ms }).collect();
        for _ in 0..8 {
            match self.inner.store.append(stream_id, *next, &events).await {
                Ok(stored) => {
                    *next += stored.len() as i64;
                    return Ok(stored);
                }
                Err(StoreError::Conflict { .. }) => *next = self.inner.store.next_seq(stream_id).await?,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict { stream_id: stream_id.to_string(), seq: *next })
    }

    /// Track `fut` and run it on the service's runtime.
    fn spawn(&self, fut: impl std::future::Future<Output = ()> + Send + 'static) {
        match &self.inner.spawner {
            Some(runtime) => drop(self.inner.tasks.spawn_on(fut, runtime)),
            None => drop(self.inner.tasks.spawn(fut)),
        }
    }

    /// Validate, append the user's message, and start the turn on a tracked task.
    /// All of it runs on the task tracker, not in the caller's future: a client that
    /// disconnects while the message is being stored must not leave it stored with a
    /// `streaming` answer that no turn will ever finish.
    pub async fn start(&self, input: TurnInput) -> Result<TurnStarted, ChatError> {
        let (done, started) = tokio::sync::oneshot::channel();
        let this = self.clone();
        // In the request's span: its logs keep the request id.
        let fut = async move {
            let _ = done.send(this.begin(input).await);
        }
        .in_current_span();
        self.spawn(fut);
        started.await.unwrap_or_else(|_| Err(StoreError::Unavailable("the turn could not be started".into()).into()))
    }

    async fn begin(&self, input: TurnInput) -> Result<TurnStarted, ChatError> {
        let message = input.message.trim().to_string();
        if message.is_empty() {
            return Err(ChatError::Invalid { field: "message", message: "must not be empty".into() });
        }
        if message.chars().count() > self.inner.settings.max_message_chars {
            return Err(ChatError::Invalid {
                field: "message",
                message: format!("is longer than {} characters", self.inner.settings.max_message_chars),
            });
        }
        if let Some(m) = &input.model {
            if m.is_empty() || m.len() > 128 || m.chars().any(char::is_control) {
                return Err(ChatError::Invalid {
                    field: "model",
                    message: "must be 1 to 128 printable characters".into(),
                });
            }
        }
        let store = &self.inner.store;
        // Personal data is masked before anything below sees it (search, the
        // unanswered log, the title, the model); the vault maps it back.
        // The conversation's messages so far, read once: they number the placeholders
        // and, with this message, are the history sent to the model.
        let mut history = match &input.conversation_id {
            Some(id) => store.messages(&input.owner_id, id).await?,
            None => Vec::new(),
        };
        let (message, vault) = self.mask_message(&input, &history, message);
        let stored_message = match &vault {
            Some((_, original)) if self.inner.settings.store_personal_data => original.clone(),
            _ => message.clone(),
        };
        let vault = vault.map(|(v, _)| v);
        // The conversation row knows its last sequence; a new one starts at 1. A
        // writer that got there first makes `append` re-read it.
        let (conversation_id, assistant_id, mut payloads, mut next) = match &input.conversation_id {
            Some(id) => {
                let conv = store.conversation(&input.owner_id, id).await?.ok_or(ChatError::ConversationNotFound)?;
                let assistant = input.assistant.clone().unwrap_or(conv.assistant);
                (conv.id, assistant, Vec::new(), conv.last_seq + 1)
            }
            None => {
                let id = new_id();
                let assistant = input.assistant.clone().unwrap_or_else(|| "default".into());
                let created = EventPayload::ConversationCreated {
                    owner_id: input.owner_id.clone(),
                    title: title_from(&stored_message),
                    assistant: assistant.clone(),
                };
                (id, assistant, vec![created], 1)
            }
        };
        let assistant = self
            .assistants()
            .get(&assistant_id)
            .ok_or_else(|| ChatError::UnknownAssistant(assistant_id.clone()))?
            .clone();
        let mut grounding = plan(self.inner.kb.as_ref(), &assistant, &message, !self.inner.upstreams.is_empty()).await;
        // What the conversation already has attached, and what comes with this turn.
        let mut attachments = match &input.conversation_id {
            Some(_) => store.attachments(&input.owner_id, &conversation_id).await?,
            None => Vec::new(),
        };
        let now = crate::now_ms();
        // A retried message names the same files again: attach each file once.
        let fresh: Vec<AttachmentRow> = input
            .attachments
            .iter()
            .filter(|a| a.file_id.is_none() || !attachments.iter().any(|b| b.file_id == a.file_id))
            .map(|a| AttachmentRow {
                id: new_id(),
                conversation_id: conversation_id.clone(),
                owner_id: input.owner_id.clone(),
                kind: a.kind.clone(),
                file_id: a.file_id.clone(),
                title: a.title.clone(),
                url: a.url.clone(),
                content: a.text.clone(),
                created_at_ms: now,
            })
            .collect();
        attachments.extend(fresh.iter().cloned());
        if !attachments.is_empty() && self.inner.upstreams.is_empty() {
            if let (Plan::Fixed { text, .. }, Some(newest)) = (&mut grounding.plan, attachments.last()) {
                // No model to read the documents: show the newest one's opening
                // instead of a knowledge-base answer or a handoff.
                *text = crate::context::extractive_answer(newest, grounding_english(&message));
                grounding.sources.clear();
                grounding.unanswered = false;
            }
        }
        let model = match &grounding.plan {
            Plan::Fixed { model, .. } => (*model).to_string(),
            Plan::Model { .. } => input
                .model
                .clone()
                .or_else(|| assistant.model.clone())
                .or_else(|| self.inner.upstreams.default_model())
                .unwrap_or_else(|| "none".into()),
        };
        if grounding.unanswered {
            if let Some(kb) = &self.inner.kb {
                if let Err(e) = kb.record_unanswered(&assistant.id, &message).await {
                    tracing::warn!(error = %e, "could not record an unanswered question");
                }
            }
        }

        let user_message_id = new_id();
        let message_id = new_id();
        history.push(MessageRow {
            id: user_message_id.clone(),
            conversation_id: conversation_id.clone(),
            seq: next + payloads.len() as i64,
            role: "user".into(),
            content: stored_message.clone(),
            status: MessageStatus::Complete,
            model: None,
            finish_reason: None,
            usage: None,
            latency_ms: None,
            sources: None,
            created_at_ms: now,
            updated_at_ms: now,
        });
        payloads.push(EventPayload::UserMessage { message_id: user_message_id.clone(), content: stored_message });
        payloads.push(EventPayload::AssistantStarted { message_id: message_id.clone(), model: model.clone() });
        if !grounding.sources.is_empty() || !attachments.is_empty() {
            let mut sources = match sources_json(grounding.sources.iter()) {
                serde_json::Value::Array(a) => a,
                _ => Vec::new(),
            };
            sources.extend(crate::context::sources(&attachments));
            payloads.push(EventPayload::Sources {
                message_id: message_id.clone(),
                sources: serde_json::Value::Array(sources),
            });
        }

        // Register before appending so a subscriber that arrives at once finds it.
        let (tx, cancel) = self.inner.hub.register(&message_id);
        let stored = match self.append(&conversation_id, &mut next, payloads).await {
            Ok(s) => s,
            Err(e) => {
                self.inner.hub.remove(&message_id);
                return Err(e.into());
            }
        };
        let started_seq = stored
            .iter()
            .find(|e| matches!(e.payload, EventPayload::AssistantStarted { .. }))
            .map(|e| e.seq)
            .unwrap_or(0);
        for ev in stored {
            let _ = tx.send(ev);
        }
        for a in &fresh {
            if let Err(e) = store.add_attachment(a).await {
                // The turn goes on without it; the next one would not see it either.
                tracing::error!(error = %e, "could not attach a document");
            }
        }

        let mut documents = crate::context::prompt_block(&attachments, crate::context::CONTEXT_CHARS);
        if let Some(vault) = &vault {
            // Masked storage: a no-op; original storage: masked here, consistently.
            let mut v = vault.clone();
            for row in &mut history {
                row.content = Masker::shared().mask(&row.content, &mut v);
            }
            documents = Masker::shared().mask(&documents, &mut v);
            self.keep_vault(&conversation_id, Arc::new(v));
        }
        let (system_prompt, fixed) = match grounding.plan {
            Plan::Model { system_prompt } => (system_prompt + &documents, None),
            Plan::Fixed { text, model } => (String::new(), Some((text, model))),
        };
        let mut messages = build_prompt(&system_prompt, &history, self.inner.settings.history_budget);
        if let Some(last) = messages.last_mut().filter(|m| m.role == tenmon_llm::Role::User) {
            last.images = input.images.clone();
        }
        let request = ChatRequest {
            model: input.model.clone().or_else(|| assistant.model.clone()),
            messages,
            max_tokens: self.inner.settings.max_tokens,
            temperature: assistant.temperature,
        };
        let started = TurnStarted {
            conversation_id: conversation_id.clone(),
            user_message_id,
            message_id: message_id.clone(),
            assistant: assistant.id.clone(),
            model,
            started_seq,
        };
        let this = self.clone();
        let run = TurnRun {
            conversation_id,
            message_id,
            next,
            tx,
            cancel,
            request,
            fixed,
            pending: String::new(),
            usage_subjects: input.usage_subjects.clone(),
            started: Instant::now(),
            restore_on_write: if self.inner.settings.store_personal_data {
                self.vault(&started.conversation_id)
            } else {
                None
            },
            masked: self.inner.settings.mask,
        };
        self.spawn(async move { this.run(run).await });
        Ok(started)
    }

    async fn run(&self, mut t: TurnRun) {
        let m = &self.inner.metrics;
        m.active_turns.inc();
        let prompt_estimate: u32 = t.request.messages.iter().map(|m| estimate_tokens(&m.content)).sum();
        let outcome = self.drive(&mut t).await;
        let latency_ms = t.started.elapsed().as_millis() as u64;
        let (payload, status) = match outcome {
            Outcome::Completed { model, finish_reason, usage, answer } => {
                let usage = usage.unwrap_or_else(|| TokenUsage {
                    prompt_tokens: prompt_estimate,
                    completion_tokens: estimate_tokens(&answer),
                });
                m.count_tokens(usage);
                let used = i64::from(usage.prompt_tokens) + i64::from(usage.completion_tokens);
                for subject in &t.usage_subjects {
                    if let Err(e) = self.inner.store.add_token_usage(subject, crate::today(), used).await {
                        tracing::warn!(error = %e, "could not count token usage");
                    }
                }
                let usage = Usage { prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens };
                (
                    EventPayload::AssistantCompleted {
                        message_id: t.message_id.clone(),
                        model,
                        finish_reason,
                        usage,
                        latency_ms,
                    },
                    "complete",
                )
            }
            Outcome::Failed(err) => {
                m.count_upstream_error(&err);
                tracing::warn!(message_id = %t.message_id, kind = err.kind(), "turn failed");
                let payload = EventPayload::AssistantFailed {
                    message_id: t.message_id.clone(),
                    code: err.code().into(),
                    message: err.to_string(),
                    latency_ms,
                };
                (payload, "failed")
            }
            Outcome::Cancelled => {
                (EventPayload::AssistantCancelled { message_id: t.message_id.clone(), latency_ms }, "cancelled")
            }
            Outcome::Interrupted => {
                (EventPayload::AssistantInterrupted { message_id: t.message_id.clone() }, "interrupted")
            }
        };
        let mut payloads = Vec::with_capacity(2);
        let rest = std::mem::take(&mut t.pending);
        let rest = match &t.restore_on_write {
            Some(vault) => vault.restore(&rest),
            None => rest,
        };
        if !rest.is_empty() {
            payloads.push(EventPayload::AssistantDelta { message_id: t.message_id.clone(), text: rest });
        }
        payloads.push(payload);
        if let Err(e) = self.publish_all(&mut t, payloads).await {
            tracing::error!(message_id = %t.message_id, error = %e, "could not store the end of a turn");
        }
        m.turn_duration.get_or_create(&StatusLabel { status }).observe(t.started.elapsed().as_secs_f64());
        m.active_turns.dec();
        self.inner.hub.remove(&t.message_id);
    }

    async fn publish(&self, t: &mut TurnRun, payload: EventPayload) -> Result<(), StoreError> {
        self.publish_all(t, vec![payload]).await
    }

    async fn publish_all(&self, t: &mut TurnRun, payloads: Vec<EventPayload>) -> Result<(), StoreError> {
        for ev in self.append(&t.conversation_id, &mut t.next, payloads).await? {
            let _ = t.tx.send(ev);
        }
        Ok(())
    }

    /// Write the buffered text. With masking, a placeholder cut in two by the model's
    /// chunks stays buffered until whole, so every stored delta restores on its own.
    async fn flush(&self, t: &mut TurnRun, buf: &mut String) -> Result<(), StoreError> {
        let cut = if t.masked { whole_placeholders(buf) } else { buf.len() };
        if cut == 0 {
            return Ok(());
        }
        let rest = buf.split_off(cut);
        let text = std::mem::replace(buf, rest);
        let text = match &t.restore_on_write {
            Some(vault) => vault.restore(&text),
            None => text,
        };
        self.publish(t, EventPayload::AssistantDelta { message_id: t.message_id.clone(), text }).await
    }

    /// Call the model and write what it says; returns how the turn ended.
    async fn drive(&self, t: &mut TurnRun) -> Outcome {
        if let Some((text, model)) = t.fixed.take() {
            t.pending = text.clone();
            return Outcome::Completed {
                model: model.to_string(),
                finish_reason: "stop".into(),
                usage: Some(TokenUsage { prompt_tokens: 0, completion_tokens: 0 }),
                answer: text,
            };
        }
        let hard_stop = self.inner.hard_stop.clone();
        let cancel = t.cancel.clone();
        let start = self.inner.upstreams.start(&t.request);
        let started = tokio::select! {
            biased;
            () = cancel.cancelled() => return Outcome::Cancelled,
            () = hard_stop.cancelled() => return Outcome::Interrupted,
            r = start => r,
        };
        let started = match started {
            Ok(s) => s,
            Err(e) => return Outcome::Failed(e),
        };
        let model = started.model;
        let mut stream = started.stream;
        let mut answer = String::new();
        let mut buf = String::new();
        let mut first = true;
        let interval = self.inner.settings.coalesce_interval;
        let mut flush_at: Option<tokio::time::Instant> = None;
        loop {
            let deadline = flush_at.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(3600));
            // What the model has already sent is taken before a due flush: text that
            // arrives together is written together (an answer that comes at once is one
            // write), and a flush waits only while the stream has more ready, at most
            // `coalesce_bytes`.
            let step = tokio::select! {
                biased;
                () = cancel.cancelled() => Step::Cancel,
                () = hard_stop.cancelled() => Step::Interrupt,
                item = stream.next() => Step::Item(item),
                () = tokio::time::sleep_until(deadline), if flush_at.is_some() => Step::Flush,
            };
            let result = match step {
                Step::Cancel => {
                    let flushed = self.flush(t, &mut buf).await;
                    t.pending = std::mem::take(&mut buf);
                    return match flushed {
                        Ok(()) => Outcome::Cancelled,
                        Err(e) => Outcome::Failed(LlmError::Protocol(format!("store: {e}"))),
                    };
                }
                Step::Interrupt => {
                    let _ = self.flush(t, &mut buf).await;
                    t.pending = std::mem::take(&mut buf);
                    return Outcome::Interrupted;
                }
                Step::Flush => {
                    flush_at = None;
                    self.flush(t, &mut buf).await
                }
                Step::Item(Some(Ok(StreamEvent::Delta(text)))) => {
                    answer.push_str(&text);
                    buf.push_str(&text);
                    if first {
                        first = false;
                        let elapsed = t.started.elapsed().as_secs_f64();
                        self.inner.metrics.time_to_first_token.observe(elapsed);
                        self.inner.metrics.ttft_recent.push(elapsed * 1000.0);
                        // Due at once: written as soon as the stream has nothing more ready.
                        flush_at = Some(tokio::time::Instant::now());
                        Ok(())
                    } else if buf.len() >= self.inner.settings.coalesce_bytes {
                        flush_at = None;
                        self.flush(t, &mut buf).await
                    } else {
                        if flush_at.is_none() {
                            flush_at = Some(tokio::time::Instant::now() + interval);
                        }
                        Ok(())
                    }
                }
                Step::Item(Some(Ok(StreamEvent::Finish { finish_reason, usage }))) => {
                    // The rest of the text goes with the completion, in one write.
                    t.pending = std::mem::take(&mut buf);
                    return Outcome::Completed { model, finish_reason, usage, answer };
                }
                Step::Item(Some(Err(e))) => {
                    let _ = self.flush(t, &mut buf).await;
                    t.pending = std::mem::take(&mut buf);
                    return Outcome::Failed(e);
                }
                Step::Item(None) => {
                    let _ = self.flush(t, &mut buf).await;
                    t.pending = std::mem::take(&mut buf);
                    return Outcome::Failed(LlmError::Protocol("stream ended without a finish".into()));
                }
            };
            if let Err(e) = result {
                tracing::error!(message_id = %t.message_id, error = %e, "could not store a delta");
                return Outcome::Failed(LlmError::Protocol("the answer could not be stored".into()));
            }
        }
    }

    /// The events of one turn with `seq > after`: replayed from the log, then live,
    /// ending after the terminal event. Works for finished turns, for turns running
    /// here and (by polling the log) for turns running on another replica.
    pub fn subscribe(
        &self,
        owner_id: String,
        conversation_id: String,
        message_id: String,
        after: i64,
    ) -> BoxStream<'static, Result<StoredEvent, ChatError>> {
        let rx = self.inner.hub.subscribe(&message_id);
        self.stream_of(owner_id, conversation_id, message_id, after, rx, true)
    }

    /// The events of a turn this caller just started, after its `assistant_started`:
    /// followed live from the receiver made before the turn's first append, so the
    /// log is read only if the channel lags.
    pub fn follow(
        &self,
        owner_id: String,
        started: &TurnStarted,
    ) -> BoxStream<'static, Result<StoredEvent, ChatError>> {
        let (rx, stale) = match self.inner.hub.take_first(&started.message_id) {
            Some(rx) => (Some(rx), false),
            None => (self.inner.hub.subscribe(&started.message_id), true),
        };
        let (conversation_id, message_id) = (started.conversation_id.clone(), started.message_id.clone());
        self.stream_of(owner_id, conversation_id, message_id, started.started_seq, rx, stale)
    }

    fn stream_of(
        &self,
        owner_id: String,
        conversation_id: String,
        message_id: String,
        after: i64,
        rx: Option<broadcast::Receiver<StoredEvent>>,
        stale: bool,
    ) -> BoxStream<'static, Result<StoredEvent, ChatError>> {
        // The log holds masked answers; a subscriber of a turn running here (or just
        // ended) reads the caller's own data back.
        let vault = if self.inner.settings.store_personal_data { None } else { self.vault(&conversation_id) };
        let state = Sub {
            vault,
            svc: self.clone(),
            owner_id,
            rx,
            conversation_id,
            message_id,
            last: after,
            buffer: VecDeque::new(),
            done: false,
            stale,
            _guard: StreamGuard::new(&self.inner.metrics),
        };
        futures::stream::unfold(state, |mut s| async move {
            loop {
                if let Some(ev) = s.buffer.pop_front() {
                    if ev.seq <= s.last {
                        continue;
                    }
                    s.last = ev.seq;
                    if is_terminal(&ev.payload) {
                        s.done = true;
                    }
                    let ev = match (&s.vault, ev.payload) {
                        (Some(vault), EventPayload::AssistantDelta { message_id, text }) => StoredEvent {
                            payload: EventPayload::AssistantDelta { message_id, text: vault.restore(&text) },
                            ..ev
                        },
                        (_, payload) => StoredEvent { payload, ..ev },
                    };
                    return Some((Ok(ev), s));
                }
                if s.done {
                    return None;
                }
                // The log is read at the start, after the live channel lagged or closed,
                // and when polling a turn that runs elsewhere; otherwise live events
                // arrive in order and a read per event would only repeat them.
                if s.stale || s.rx.is_none() {
                    s.stale = false;
                    match s.refill().await {
                        Ok(true) => continue,
                        Ok(false) => {}
                        Err(e) => {
                            s.done = true;
                            return Some((Err(e.into()), s));
                        }
                    }
                }
                // Nothing new in the log and not running here: if the turn already
                // ended (the client resumed after its last event), stop.
                if s.rx.is_none() {
                    match s.svc.inner.store.message(&s.owner_id, &s.message_id).await {
                        Ok(Some(m)) if m.status != MessageStatus::Streaming => return None,
                        Ok(None) => return None,
                        Ok(Some(_)) => {}
                        Err(e) => {
                            s.done = true;
                            return Some((Err(e.into()), s));
                        }
                    }
                }
                // Wait for the live channel, or poll.
                match s.rx.as_mut() {
                    Some(rx) => match rx.recv().await {
                        Ok(ev) => {
                            if ev.payload.message_id() == Some(s.message_id.as_str()) {
                                s.buffer.push_back(ev);
                            }
                        }
                        Err(broadcast::error::RecvError::Lagged(_)) => s.stale = true,
                        Err(broadcast::error::RecvError::Closed) => {
                            s.rx = None;
                            s.stale = true;
                        }
                    },
                    None => tokio::time::sleep(s.svc.inner.settings.poll_interval).await,
                }
            }
        })
        .boxed()
    }

    /// Attach a document to a conversation of this owner, or to a new one titled
    /// after the document (the /browser reader starts here). Returns the
    /// conversation's id.
    pub async fn attach(
        &self,
        owner_id: &str,
        conversation_id: Option<&str>,
        assistant: Option<&str>,
        doc: crate::NewAttachment,
    ) -> Result<String, ChatError> {
        let store = &self.inner.store;
        let conversation_id = match conversation_id {
            Some(id) => store.conversation(owner_id, id).await?.ok_or(ChatError::ConversationNotFound)?.id,
            None => {
                let assistant = assistant.unwrap_or("default");
                if self.assistants().get(assistant).is_none() {
                    return Err(ChatError::UnknownAssistant(assistant.to_string()));
                }
                let id = new_id();
                let mut next = 1;
                let created = EventPayload::ConversationCreated {
                    owner_id: owner_id.to_string(),
                    title: title_from(&doc.title),
                    assistant: assistant.to_string(),
                };
                self.append(&id, &mut next, vec![created]).await?;
                id
            }
        };
        store
            .add_attachment(&AttachmentRow {
                id: new_id(),
                conversation_id: conversation_id.clone(),
                owner_id: owner_id.to_string(),
                kind: doc.kind,
                file_id: doc.file_id,
                title: doc.title,
                url: doc.url,
                content: doc.text,
                created_at_ms: now_ms(),
            })
            .await?;
        Ok(conversation_id)
    }

    /// Cancel a running turn of this owner. Returns the message's status afterwards.
    pub async fn cancel(&self, owner_id: &str, message_id: &str) -> Result<MessageStatus, ChatError> {
        let msg = self.inner.store.message(owner_id, message_id).await?.ok_or(ChatError::MessageNotFound)?;
        if msg.role != "assistant" {
            return Err(ChatError::MessageNotFound);
        }
        if msg.status != MessageStatus::Streaming {
            return Ok(msg.status);
        }
        if self.inner.hub.cancel(message_id) {
            // Wait briefly for the runner to store the partial answer.
            let mut events =
                self.subscribe(owner_id.to_string(), msg.conversation_id.clone(), message_id.to_string(), msg.seq);
            let _ =
                tokio::time::timeout(Duration::from_secs(5), async { while events.next().await.is_some() {} }).await;
        }
        let now = self.inner.store.message(owner_id, message_id).await?.ok_or(ChatError::MessageNotFound)?;
        Ok(now.status)
    }

    /// Mark turns a crash left running as interrupted. Call before serving.
    pub async fn recover_interrupted(&self) -> Result<usize, ChatError> {
        let stale = self.inner.store.streaming_messages().await?;
        for (conversation_id, message_id) in &stale {
            if self.inner.hub.subscribe(message_id).is_some() {
                continue;
            }
            let mut next = self.inner.store.next_seq(conversation_id).await?;
            self.append(
                conversation_id,
                &mut next,
                vec![EventPayload::AssistantInterrupted { message_id: message_id.clone() }],
            )
            .await?;
        }
        Ok(stale.len())
    }
}

/// The length of `buf` that ends outside a placeholder: an unclosed `[` near the
/// end (a placeholder is at most ~16 characters) is held back.
pub fn whole_placeholders(buf: &str) -> usize {
    match buf.rfind('[') {
        Some(i) if !buf[i..].contains(']') && buf[i..].chars().count() <= 16 => i,
        _ => buf.len(),
    }
}

struct TurnRun {
    conversation_id: String,
    message_id: String,
    next: i64,
    tx: broadcast::Sender<StoredEvent>,
    cancel: CancellationToken,
    request: ChatRequest,
    /// An answer that needs no model (knowledge-base only), and the model name to record.
    fixed: Option<(String, &'static str)>,
    /// Text not yet written, stored together with the turn's last event.
    pending: String,
    usage_subjects: Vec<String>,
    started: Instant,
    /// Set when originals are stored: answers are restored before they are written.
    restore_on_write: Option<Arc<Vault>>,
    /// Placeholders are in play: never store half of one.
    masked: bool,
}

enum Outcome {
    Completed { model: String, finish_reason: String, usage: Option<TokenUsage>, answer: String },
    Failed(LlmError),
    Cancelled,
    Interrupted,
}

enum Step {
    Cancel,
    Interrupt,
    Flush,
    Item(Option<Result<StreamEvent, LlmError>>),
}

struct Sub {
    /// Restores placeholders in deltas for this (live) subscriber.
    vault: Option<Arc<Vault>>,
    svc: ChatService,
    owner_id: String,
    rx: Option<broadcast::Receiver<StoredEvent>>,
    conversation_id: String,
    message_id: String,
    last: i64,
    buffer: VecDeque<StoredEvent>,
    done: bool,
    /// The log may hold events not seen yet (start, lag, closed channel).
    stale: bool,
    _guard: StreamGuard,
}

impl Sub {
    /// Read the log past `last`; true if anything of this turn was found.
    async fn refill(&mut self) -> Result<bool, StoreError> {
        let events = self.svc.inner.store.read_stream(&self.conversation_id, self.last, 1000).await?;
        let mut found = false;
        for ev in events {
            if ev.payload.message_id() == Some(self.message_id.as_str())
                && !matches!(ev.payload, EventPayload::UserMessage { .. })
            {
                self.buffer.push_back(ev);
                found = true;
            }
        }
        Ok(found)
    }
}

/// Counts open subscriptions in `chat_active_streams`.
struct StreamGuard(prometheus_client::metrics::gauge::Gauge);

impl StreamGuard {
    fn new(m: &TurnMetrics) -> Self {
        m.active_streams.inc();
        StreamGuard(m.active_streams.clone())
    }
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}
