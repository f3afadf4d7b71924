//! The OpenAI-compatible API: `GET /v1/models` lists the assistants as models, and
//! `POST /v1/chat/completions` answers in the exact OpenAI wire format (streaming
//! with the usage chunk and `data: [DONE]`, or not), so the official SDKs and the
//! tools built on them can use TENMON-ARK's assistants.
//!
//! Unlike `/api/chat`, this API is stateless (the client sends the whole history),
//! so it is not a persisted turn: it goes straight through the upstreams with the
//! assistant's system prompt, and a client that disconnects stops the upstream call
//! instead of paying for tokens nobody will read. It is grounded as `/api/chat` is:
//! an assistant with knowledge bases gets the entries that match the last user
//! message in its system prompt, one that must answer from them alone (`mnp-support`)
//! hands off when nothing matches, and without a model every assistant answers from
//! the knowledge base, with no upstream call.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::convert::Infallible;
use std::sync::Arc;
use tenmon_llm::{ChatRequest, LlmError, Message, Role, StreamEvent, TokenUsage};
use tenmon_privacy::{Masker, Vault};
use utoipa::ToSchema;

/// Message content: a string, or an array of parts of which the text parts are used.
#[derive(Debug, ToSchema)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<ContentPart>),
}

/// By the JSON type at hand (`#[serde(untagged)]` would buffer every message's
/// content into a generic tree first and try each form in turn).
impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Content;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an array of content parts")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Content, E> {
                Ok(Content::Text(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Content, E> {
                Ok(Content::Text(v))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Content, A::Error> {
                Vec::<ContentPart>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq)).map(Content::Parts)
            }
        }
        de.deserialize_any(Visitor)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ContentPart {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InMessage {
    /// `system`, `developer`, `user` or `assistant`.
    #[schema(pattern = "^(system|developer|user|assistant)$")]
    pub role: String,
    pub content: Content,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: bool,
}

/// An OpenAI Chat Completions request. `model` names an assistant (see `/v1/models`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct CompletionRequest {
    #[schema(pattern = "^(default|concierge|mnp-support)$")]
    pub model: String,
    #[schema(min_items = 1)]
    pub messages: Vec<InMessage>,
    #[serde(default)]
    pub stream: bool,
    pub stream_options: Option<StreamOptions>,
    /// 1 to 1,000,000.
    #[serde(default, deserialize_with = "token_limit")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub max_tokens: Option<u32>,
    /// 1 to 1,000,000; wins over `max_tokens`.
    #[serde(default, deserialize_with = "token_limit")]
    #[schema(minimum = 1, maximum = 1_000_000)]
    pub max_completion_tokens: Option<u32>,
    /// 0 to 2.
    #[schema(minimum = 0, maximum = 2)]
    pub temperature: Option<f32>,
}

/// A token limit: an integer (JSON allows `512.0`) from 1 to 1,000,000.
fn token_limit<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<u32>, D::Error> {
    let Some(v) = Option::<f64>::deserialize(de)? else { return Ok(None) };
    if v.fract() != 0.0 || !(1.0..=1_000_000.0).contains(&v) {
        return Err(serde::de::Error::custom("must be an integer from 1 to 1000000"));
    }
    Ok(Some(v as u32))
}

/// Count the tokens against the caller's daily quotas (on a tracked task: the
/// stream must not wait for the database).
fn record_usage(state: &AppState, subjects: &[String], usage: TokenUsage) {
    if subjects.is_empty() {
        return;
    }
    let (store, subjects) = (state.store.clone(), subjects.to_vec());
    let tokens = i64::from(usage.prompt_tokens) + i64::from(usage.completion_tokens);
    state.tasks.spawn(async move {
        for s in subjects {
            if let Err(e) = store.add_token_usage(&s, tenmon_chat::today(), tokens).await {
                tracing::warn!(error = %e, "could not count token usage");
            }
        }
    });
}

fn llm_error(e: LlmError) -> ApiError {
    ApiError::Upstream { code: e.code().into(), message: e.to_string() }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// One event of a streamed completion: `data` is a `chat.completion.chunk` or `[DONE]`.
#[derive(Debug, serde::Serialize, ToSchema)]
pub struct CompletionChunkEvent {
    pub data: String,
}

/// The assistants, as models.
#[utoipa::path(get, path = "/v1/models", tag = "openai",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "OpenAI model list", body = Object),
        (status = 401, description = "No valid key", body = ErrorBody),
    ))]
pub async fn list_models(State(state): State<AppState>, _caller: Caller) -> Json<Value> {
    let created = state.started_at.duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let data: Vec<Value> = state
        .chat
        .assistants()
        .all()
        .iter()
        .map(|a| json!({"id": a.id, "object": "model", "created": created, "owned_by": "tenmon-ark"}))
        .collect();
    Json(json!({"object": "list", "data": data}))
}

fn convert(messages: Vec<InMessage>) -> Result<Vec<Message>, ApiError> {
    if messages.is_empty() {
        return Err(ApiError::validation("messages", "messages: must not be empty"));
    }
    messages
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            let role = match m.role.as_str() {
                "system" | "developer" => Role::System,
                "user" => Role::User,
                "assistant" => Role::Assistant,
                other => {
                    return Err(ApiError::validation(
                        format!("messages[{i}].role"),
                        format!("messages[{i}].role: unsupported role {other:?}"),
                    ))
                }
            };
            let text = match m.content {
                Content::Text(t) => t,
                Content::Parts(parts) => {
                    parts.into_iter().filter(|p| p.kind == "text").filter_map(|p| p.text).collect::<Vec<_>>().join("\n")
                }
            };
            Ok(Message::new(role, text))
        })
        .collect()
}

/// A whole answer (`chat.completion`), typed: written straight out instead of built
/// as a `json!` tree first.
#[derive(Serialize)]
struct Whole<'a> {
    id: &'a str,
    object: &'static str,
    created: u64,
    model: &'a str,
    choices: [WholeChoice<'a>; 1],
    usage: WholeUsage,
}

#[derive(Serialize)]
struct WholeChoice<'a> {
    index: u32,
    message: WholeMessage<'a>,
    logprobs: Option<()>,
    finish_reason: &'a str,
}

#[derive(Serialize)]
struct WholeMessage<'a> {
    role: &'static str,
    content: &'a str,
    refusal: Option<()>,
}

#[derive(Serialize)]
struct WholeUsage {
    prompt_tokens: u32,
    completion_tokens: u32,
    total_tokens: u32,
}

impl<'a> Whole<'a> {
    /// A whole assistant answer.
    fn answer(
        id: &'a str,
        created: u64,
        model: &'a str,
        content: &'a str,
        finish_reason: &'a str,
        usage: TokenUsage,
    ) -> Self {
        Whole {
            id,
            object: "chat.completion",
            created,
            model,
            choices: [WholeChoice {
                index: 0,
                message: WholeMessage { role: "assistant", content, refusal: None },
                logprobs: None,
                finish_reason,
            }],
            usage: WholeUsage {
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
                total_tokens: usage.prompt_tokens + usage.completion_tokens,
            },
        }
    }

    fn into_response(self) -> Response {
        ([(axum::http::header::CONTENT_TYPE, "application/json")], self.to_json()).into_response()
    }

    /// The answer as JSON: the document serde writes for it (a test holds them
    /// equal), written directly, since serde_json escapes every key and string byte
    /// by byte and this is on every proxied request's path.
    fn to_json(&self) -> Vec<u8> {
        use tenmon_llm::json_text::write_str;
        let [choice] = &self.choices;
        let mut out = Vec::with_capacity(320 + choice.message.content.len() + self.id.len() + self.model.len());
        out.extend_from_slice(b"{\"id\":");
        write_str(&mut out, self.id);
        out.extend_from_slice(b",\"object\":");
        write_str(&mut out, self.object);
        out.extend_from_slice(b",\"created\":");
        push_number(&mut out, self.created);
        out.extend_from_slice(b",\"model\":");
        write_str(&mut out, self.model);
        out.extend_from_slice(b",\"choices\":[{\"index\":");
        push_number(&mut out, u64::from(choice.index));
        out.extend_from_slice(b",\"message\":{\"role\":");
        write_str(&mut out, choice.message.role);
        out.extend_from_slice(b",\"content\":");
        write_str(&mut out, choice.message.content);
        out.extend_from_slice(b",\"refusal\":null},\"logprobs\":null,\"finish_reason\":");
        write_str(&mut out, choice.finish_reason);
        out.extend_from_slice(b"}],\"usage\":{\"prompt_tokens\":");
        push_number(&mut out, u64::from(self.usage.prompt_tokens));
        out.extend_from_slice(b",\"completion_tokens\":");
        push_number(&mut out, u64::from(self.usage.completion_tokens));
        out.extend_from_slice(b",\"total_tokens\":");
        push_number(&mut out, u64::from(self.usage.total_tokens));
        out.extend_from_slice(b"}}");
        out
    }
}

/// Append `n` in decimal, without the formatting machinery.
fn push_number(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// An answer that needed no model (from the knowledge base, or a handoff), in the
/// same wire format as a model's: whole, or as the role, content, finish (and
/// usage) chunks and `[DONE]`.
fn fixed_answer(model: &str, text: &str, usage: TokenUsage, stream: bool, include_usage: bool) -> Response {
    let id = format!("chatcmpl-{}", uuid::Uuid::now_v7().simple());
    let created = unix_now();
    if !stream {
        return Whole::answer(&id, created, model, text, "stop", usage).into_response();
    }
    let chunks = Chunks { id, created, model: model.to_string(), include_usage };
    let mut events = vec![chunks.role(), chunks.content(text)];
    events.extend(chunks.ending("stop", usage));
    sse(futures::stream::iter(events.into_iter().map(Ok::<_, Infallible>)))
}

/// The chunks of one streamed answer (`chat.completion.chunk`): one id, time and
/// model for all of them, the usage chunk included, as OpenAI sends them.
struct Chunks {
    id: String,
    created: u64,
    model: String,
    include_usage: bool,
}

impl Chunks {
    fn chunk(&self, delta: Value, finish: Option<&str>) -> Event {
        let mut body = json!({
            "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
            "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
        });
        if self.include_usage {
            body["usage"] = Value::Null;
        }
        Event::default().data(body.to_string())
    }

    fn role(&self) -> Event {
        self.chunk(json!({"role": "assistant", "content": ""}), None)
    }

    fn content(&self, text: &str) -> Event {
        self.chunk(json!({"content": text}), None)
    }

    /// The finish chunk, the usage chunk when asked for, and `[DONE]`.
    fn ending(&self, finish_reason: &str, usage: TokenUsage) -> Vec<Event> {
        let mut out = vec![self.chunk(json!({}), Some(finish_reason))];
        if self.include_usage {
            let total = usage.prompt_tokens + usage.completion_tokens;
            let usage_chunk = json!({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [],
                "usage": {"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens, "total_tokens": total},
            });
            out.push(Event::default().data(usage_chunk.to_string()));
        }
        out.push(Event::default().data("[DONE]"));
        out
    }
}

/// An event stream response, unbuffered by nginx.
fn sse<S>(events: S) -> Response
where
    S: futures::Stream<Item = Result<Event, Infallible>> + Send + 'static,
{
    let mut res = Sse::new(events).keep_alive(KeepAlive::default()).into_response();
    res.headers_mut().insert("x-accel-buffering", axum::http::HeaderValue::from_static("no"));
    res
}

/// Chat Completions in the OpenAI wire format.
#[utoipa::path(post, path = "/v1/chat/completions", tag = "openai", request_body = CompletionRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A chat.completion object, or chat.completion.chunk events with stream=true",
            content((Object = "application/json"), (CompletionChunkEvent = "text/event-stream"))),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid key", body = ErrorBody),
        (status = 404, description = "No assistant of that name", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid field, or too long for the model", body = ErrorBody),
        (status = 502, description = "The model service failed", body = ErrorBody),
        (status = 503, description = "The model service is rate limiting", body = ErrorBody),
        (status = 504, description = "The model service did not answer in time", body = ErrorBody),
    ))]
pub async fn chat_completions(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<CompletionRequest>,
) -> Result<Response, ApiError> {
    crate::routes::privacy::ensure_consent(&state, &caller).await?;
    crate::quota::check(&state, &caller).await?;
    let subjects = crate::quota::subjects(&state, &caller);
    let assistants = state.chat.assistants();
    let assistant = assistants
        .get(&req.model)
        .ok_or_else(|| ApiError::NotFound(format!("model {:?} does not exist; see /v1/models", req.model)))?;
    if let Some(t) = req.temperature {
        if !(0.0..=2.0).contains(&t) {
            return Err(ApiError::validation("temperature", "temperature: must be between 0 and 2"));
        }
    }
    let converted = convert(req.messages)?;
    let question = converted.iter().rev().find(|m| m.role == Role::User).map_or("", |m| m.content.as_str());
    let grounding = tenmon_chat::ground(state.chat.kb(), assistant, question, !state.chat.upstreams().is_empty()).await;
    if grounding.unanswered {
        if let Some(kb) = state.chat.kb() {
            if let Err(e) = kb.record_unanswered(&assistant.id, question).await {
                tracing::warn!(error = %e, "could not record an unanswered question");
            }
        }
    }
    let system_prompt = match grounding.plan {
        tenmon_chat::Plan::Model { system_prompt } => system_prompt,
        tenmon_chat::Plan::Fixed { text, .. } => {
            // Answered from the knowledge base (or a handoff): no model involved.
            let prompt_tokens = converted.iter().map(|m| tenmon_chat::estimate_tokens(&m.content)).sum();
            let usage = TokenUsage { prompt_tokens, completion_tokens: tenmon_chat::estimate_tokens(&text) };
            let include_usage = req.stream_options.is_some_and(|o| o.include_usage);
            return Ok(fixed_answer(&assistant.id, &text, usage, req.stream, include_usage));
        }
    };
    let mut messages = vec![Message::new(Role::System, system_prompt)];
    let mut vault = Vault::default();
    for mut m in converted {
        // Personal data never reaches the model here either; answers are restored.
        if state.config.privacy.mask {
            m.content = Masker::shared().mask(&m.content, &mut vault);
        }
        messages.push(m);
    }
    let request = ChatRequest {
        model: assistant.model.clone(),
        messages,
        max_tokens: req.max_completion_tokens.or(req.max_tokens).or(Some(state.config.llm.max_tokens)),
        temperature: req.temperature.or(assistant.temperature),
    };
    let id = format!("chatcmpl-{}", uuid::Uuid::now_v7().simple());
    let created = unix_now();
    if !req.stream {
        // Asked whole: the upstream is asked whole too (one body, not a chunk per token).
        let metrics = state.chat.metrics();
        let c = state.chat.upstreams().complete(&request).await.inspect_err(|e| metrics.count_upstream_error(e));
        let c = c.map_err(llm_error)?;
        let usage = c.usage.unwrap_or_else(|| TokenUsage {
            prompt_tokens: request.messages.iter().map(|m| tenmon_chat::estimate_tokens(&m.content)).sum(),
            completion_tokens: tenmon_chat::estimate_tokens(&c.text),
        });
        metrics.count_tokens(usage);
        record_usage(&state, &subjects, usage);
        let text =
            if vault.is_empty() { std::borrow::Cow::Borrowed(c.text.as_str()) } else { vault.restore(&c.text).into() };
        return Ok(Whole::answer(&id, created, &assistant.id, &text, &c.finish_reason, usage).into_response());
    }
    let (vault, model) = (Arc::new(vault), assistant.id.clone());
    let metrics = state.chat.metrics();
    let started = state.chat.upstreams().start(&request).await.inspect_err(|e| metrics.count_upstream_error(e));
    let started = started.map_err(llm_error)?;

    let include_usage = req.stream_options.is_some_and(|o| o.include_usage);
    let chunks = Chunks { id, created, model, include_usage };
    let role = futures::stream::once(futures::future::ready(chunks.role()));
    let prompt_estimate: u32 = request.messages.iter().map(|m| tenmon_chat::estimate_tokens(&m.content)).sum();
    let stream_state = state.clone();
    let body = started
        .stream
        .scan((String::new(), String::new(), false), move |(text, held, ended), ev| {
            if *ended {
                return futures::future::ready(None);
            }
            let out: Vec<Event> = match ev {
                Ok(StreamEvent::Delta(t)) => {
                    text.push_str(&t);
                    // A placeholder cut across chunks is held until whole, then restored.
                    held.push_str(&t);
                    let cut = tenmon_chat::whole_placeholders(held);
                    let rest = held.split_off(cut);
                    let ready = vault.restore(&std::mem::replace(held, rest));
                    if ready.is_empty() {
                        Vec::new()
                    } else {
                        vec![chunks.content(&ready)]
                    }
                }
                Ok(StreamEvent::Finish { finish_reason, usage }) => {
                    *ended = true;
                    let mut out = Vec::new();
                    if !held.is_empty() {
                        out.push(chunks.content(&vault.restore(&std::mem::take(held))));
                    }
                    let u = usage.unwrap_or_else(|| TokenUsage {
                        prompt_tokens: prompt_estimate,
                        completion_tokens: tenmon_chat::estimate_tokens(text),
                    });
                    stream_state.chat.metrics().count_tokens(u);
                    record_usage(&stream_state, &subjects, u);
                    out.extend(chunks.ending(&finish_reason, u));
                    out
                }
                Err(e) => {
                    *ended = true;
                    tracing::warn!(kind = e.kind(), "upstream failed mid-stream on /v1");
                    stream_state.chat.metrics().count_upstream_error(&e);
                    vec![Event::default().data(
                        json!({"error": {"message": e.to_string(), "type": "server_error", "code": e.code()}})
                            .to_string(),
                    )]
                }
            };
            futures::future::ready(Some(futures::stream::iter(out)))
        })
        .flatten();
    Ok(sse(role.chain(body).map(Ok::<_, Infallible>)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_written_answer_is_what_serde_writes() {
        for (content, finish, n) in [
            ("MNP予約番号は15日間有効です。", "stop", 0u32),
            ("quote \" backslash \\ newline \n control \u{1} \u{2028} 😀", "length", 7),
            ("", "content_filter", u32::MAX),
        ] {
            let whole = Whole {
                id: "chatcmpl-0193f1e2a7b47c3d9e8f001122334455",
                object: "chat.completion",
                created: 1_764_000_000 + u64::from(n),
                model: "mnp-support",
                choices: [WholeChoice {
                    index: 0,
                    message: WholeMessage { role: "assistant", content, refusal: None },
                    logprobs: None,
                    finish_reason: finish,
                }],
                usage: WholeUsage { prompt_tokens: n, completion_tokens: 10, total_tokens: n.wrapping_add(10) },
            };
            assert_eq!(String::from_utf8(whole.to_json()).unwrap(), serde_json::to_string(&whole).unwrap());
        }
    }
}
