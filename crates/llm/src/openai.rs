//! OpenAI Chat Completions (and every server that speaks it: vLLM, llama.cpp,
//! Ollama, Azure-style gateways), streamed with `stream_options.include_usage`, or
//! whole (`stream: false`) for callers that do not stream.

use crate::transport::{BodyError, Proxies, Reply, Transport};
use crate::{ChatRequest, Completion, EventStream, LlmError, Provider, StreamEvent, TokenUsage};
use async_trait::async_trait;
use eventsource_stream::Eventsource;
use futures::{FutureExt, StreamExt};
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Settings of one OpenAI-compatible upstream.
#[derive(Debug, Clone)]
pub struct OpenAiConfig {
    /// Name for logs and metrics.
    pub name: String,
    /// e.g. `https://api.openai.com/v1`.
    pub base_url: String,
    pub api_key: Option<SecretString>,
    pub model: String,
    pub connect_timeout: Duration,
    /// Proxies to go through (none: straight to the upstream).
    pub proxies: Proxies,
}

#[derive(Debug, Clone)]
pub struct OpenAiProvider {
    cfg: OpenAiConfig,
    transport: Arc<Transport>,
    /// `{base_url}/chat/completions`, parsed once (not per request).
    url: reqwest::Url,
    /// `Bearer {key}`, built once and marked sensitive (never logged).
    auth: Option<HeaderValue>,
}

impl OpenAiProvider {
    pub fn new(cfg: OpenAiConfig) -> Result<Self, LlmError> {
        let url = format!("{}/chat/completions", cfg.base_url.trim_end_matches('/'));
        let url = reqwest::Url::parse(&url).map_err(|e| LlmError::Unavailable(format!("bad base URL: {e}")))?;
        let transport = Arc::new(Transport::new(&url, cfg.connect_timeout, &cfg.proxies)?);
        let auth = match &cfg.api_key {
            Some(key) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {}", key.expose_secret()))
                    .map_err(|_| LlmError::Unavailable("the API key is not a valid header value".into()))?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        Ok(Self { cfg, transport, url, auth })
    }

    /// Send a completion request; errors before the answer (connection, status) are
    /// classified here for both the streamed and the whole form.
    async fn send(&self, request: &ChatRequest, stream: bool) -> Result<Reply, LlmError> {
        let body = Body {
            model: request.model.as_deref().unwrap_or(&self.cfg.model),
            messages: &request.messages,
            stream,
            stream_options: stream.then_some(StreamOptions { include_usage: true }),
            max_tokens: request.max_tokens,
            // As the decimal that was configured (0.2, not 0.20000000298 from the f32).
            temperature: request.temperature.map(|t| (f64::from(t) * 1000.0).round() / 1000.0),
        };
        // Room for the messages and the fields around them: no regrowing on the way.
        let size = 128 + request.messages.iter().map(|m| m.content.len() + 32).sum::<usize>();
        let mut bytes = Vec::with_capacity(size);
        body.write(&mut bytes).map_err(|e| LlmError::Protocol(format!("request body: {e}")))?;
        let accept = if stream { "text/event-stream" } else { "application/json" };
        let response = self.transport.post_json(&self.url, bytes, accept, self.auth.as_ref()).await?;
        let status = response.status;
        if (300..400).contains(&status) {
            // Not followed: the base URL is wrong (say where it points, not the key).
            let to = response.headers.get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("");
            let host = reqwest::Url::parse(to).ok().and_then(|u| u.host_str().map(str::to_string));
            tracing::warn!(upstream = %self.cfg.name, status, location_host = host.as_deref().unwrap_or("-"),
                "upstream answered with a redirect: check its base URL");
            return Err(LlmError::Rejected(status));
        }
        if status != 200 {
            let headers = response.headers.clone();
            let body = response.text().await;
            let err = classify(status, &headers, &body);
            tracing::warn!(upstream = %self.cfg.name, status, kind = err.kind(), "upstream refused the request");
            return Err(err);
        }
        Ok(response)
    }
}

/// The request body, typed: serialized straight to bytes (a `json!` tree cost a map
/// per object, built and dropped on every request).
#[derive(Serialize)]
struct Body<'a> {
    model: &'a str,
    messages: &'a [crate::Message],
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f64>,
}

#[derive(Serialize)]
struct StreamOptions {
    include_usage: bool,
}

impl Body<'_> {
    /// The body as JSON, the same document serde would write for it (a test holds
    /// them equal), with the message texts escaped by [`json_text`](crate::json_text):
    /// the whole prompt goes upstream on every turn.
    fn write(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        use crate::json_text::write_str;
        out.extend_from_slice(b"{\"model\":");
        write_str(out, self.model);
        out.extend_from_slice(b",\"messages\":[");
        for (i, m) in self.messages.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            if m.images.is_empty() {
                out.extend_from_slice(b"{\"role\":\"");
                out.extend_from_slice(m.role.as_str().as_bytes());
                out.extend_from_slice(b"\",\"content\":");
                write_str(out, &m.content);
                out.push(b'}');
            } else {
                serde_json::to_writer(&mut *out, m)?;
            }
        }
        out.extend_from_slice(if self.stream { b"],\"stream\":true" } else { b"],\"stream\":false" });
        if let Some(o) = &self.stream_options {
            out.extend_from_slice(b",\"stream_options\":");
            serde_json::to_writer(&mut *out, o)?;
        }
        if let Some(n) = self.max_tokens {
            out.extend_from_slice(b",\"max_tokens\":");
            serde_json::to_writer(&mut *out, &n)?;
        }
        if let Some(t) = self.temperature {
            out.extend_from_slice(b",\"temperature\":");
            serde_json::to_writer(&mut *out, &t)?;
        }
        out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod body_tests {
    use super::*;
    use crate::{Message, Role};

    #[test]
    fn the_written_body_is_what_serde_writes() {
        let mut with_image = Message::new(Role::User, "この画像は？");
        with_image.images.push("data:image/png;base64,AAAA".into());
        let messages = vec![
            Message::new(Role::System, "あなたは MNP の\"サポート\"です。\n改行\tタブ\\"),
            Message::new(Role::User, "予約番号の有効期限は？ \u{1} \u{2028}"),
            Message::new(Role::Assistant, ""),
            with_image,
        ];
        for (stream, max_tokens, temperature) in
            [(false, None, None), (true, Some(512), Some(0.2)), (false, Some(1), Some(1.0))]
        {
            let body = Body {
                model: "gpt-\"x\"",
                messages: &messages,
                stream,
                stream_options: stream.then_some(StreamOptions { include_usage: true }),
                max_tokens,
                temperature,
            };
            let mut ours = Vec::new();
            body.write(&mut ours).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), serde_json::to_string(&body).unwrap());
        }
    }
}

/// The most a non-streamed answer may weigh: far over any model's output limit, so
/// only a misbehaving upstream meets it (instead of our memory).
const MAX_COMPLETION_BYTES: usize = 16 << 20;

/// A non-streamed answer (`chat.completion`).
#[derive(Deserialize)]
struct Whole {
    #[serde(default)]
    choices: Vec<WholeChoice>,
    usage: Option<TokenUsage>,
}

#[derive(Deserialize)]
struct WholeChoice {
    message: WholeMessage,
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct WholeMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    usage: Option<TokenUsage>,
}

#[derive(Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Delta,
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Delta {
    content: Option<String>,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ErrorObject,
}

#[derive(Deserialize)]
struct ErrorObject {
    code: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    v.trim().parse::<f64>().ok().filter(|s| *s >= 0.0).map(Duration::from_secs_f64)
}

pub(crate) fn classify(status: u16, headers: &reqwest::header::HeaderMap, body: &str) -> LlmError {
    let code = serde_json::from_str::<ErrorEnvelope>(body).ok().and_then(|e| e.error.code.or(e.error.kind));
    match status {
        429 => LlmError::RateLimited { retry_after: retry_after(headers) },
        401 | 403 => LlmError::Auth,
        400 | 413 if code.as_deref() == Some("context_length_exceeded") => LlmError::ContextTooLong,
        s if s >= 500 => LlmError::Unavailable(format!("HTTP {s}")),
        s => LlmError::Rejected(s),
    }
}

#[async_trait]
impl Provider for OpenAiProvider {
    async fn stream(&self, request: &ChatRequest) -> Result<EventStream, LlmError> {
        let response = self.send(request, true).await?;
        let name = self.cfg.name.clone();
        let events = response.into_stream().eventsource();
        let stream = futures::stream::unfold(
            (events, Vec::<StreamEvent>::new(), None::<String>, None::<TokenUsage>, false),
            move |(mut events, mut pending, mut finish, mut usage, mut done)| {
                let name = name.clone();
                async move {
                    loop {
                        if let Some(ev) = pending.pop() {
                            return Some((Ok(ev), (events, pending, finish, usage, done)));
                        }
                        if done {
                            return None;
                        }
                        match events.next().await {
                            Some(Ok(ev)) => {
                                if ev.data.trim() == "[DONE]" {
                                    done = true;
                                    // Read the body's end if it is already here, so a pooled
                                    // connection goes back to its pool (nobody reads on after
                                    // [DONE]; an unfinished body would close the connection).
                                    while let Some(Some(_)) = events.next().now_or_never() {}
                                    let reason = finish.take().unwrap_or_else(|| "stop".into());
                                    pending.push(StreamEvent::Finish { finish_reason: reason, usage: usage.take() });
                                    continue;
                                }
                                let chunk: Chunk = match serde_json::from_str(&ev.data) {
                                    Ok(c) => c,
                                    Err(e) => {
                                        tracing::warn!(upstream = %name, error = %e, "unparseable stream chunk");
                                        done = true;
                                        return Some((
                                            Err(LlmError::Protocol("bad chunk".into())),
                                            (events, pending, finish, usage, done),
                                        ));
                                    }
                                };
                                if let Some(u) = chunk.usage {
                                    usage = Some(u);
                                }
                                for choice in chunk.choices {
                                    if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                                        pending.insert(0, StreamEvent::Delta(text));
                                    }
                                    if let Some(reason) = choice.finish_reason {
                                        finish = Some(reason);
                                    }
                                }
                            }
                            Some(Err(e)) => {
                                done = true;
                                return Some((
                                    Err(LlmError::Protocol(format!("stream: {e}"))),
                                    (events, pending, finish, usage, done),
                                ));
                            }
                            None => {
                                done = true;
                                // Some servers end without [DONE]; a finish reason means the answer is whole.
                                return match finish.take() {
                                    Some(reason) => Some((
                                        Ok(StreamEvent::Finish { finish_reason: reason, usage: usage.take() }),
                                        (events, pending, finish, usage, done),
                                    )),
                                    None => Some((
                                        Err(LlmError::Protocol("stream ended early".into())),
                                        (events, pending, finish, usage, done),
                                    )),
                                };
                            }
                        }
                    }
                }
            },
        );
        Ok(stream.boxed())
    }

    async fn complete(&self, request: &ChatRequest) -> Result<Completion, LlmError> {
        let response = self.send(request, false).await?;
        let bytes = response.bytes(MAX_COMPLETION_BYTES).await.map_err(|e| match e {
            // Cut before the client saw anything: worth another try, like a refused connection.
            BodyError::Cut => LlmError::Unavailable("the answer was cut".into()),
            BodyError::TooLarge(_) => {
                tracing::warn!(upstream = %self.cfg.name, "completion over {MAX_COMPLETION_BYTES} bytes");
                LlmError::Protocol("the answer is too large".into())
            }
        })?;
        let whole: Whole = serde_json::from_slice(&bytes).map_err(|e| {
            tracing::warn!(upstream = %self.cfg.name, error = %e, "unparseable completion");
            LlmError::Protocol("bad completion".into())
        })?;
        let choice = whole.choices.into_iter().next().ok_or_else(|| LlmError::Protocol("no choices".into()))?;
        Ok(Completion {
            text: choice.message.content.unwrap_or_default(),
            finish_reason: choice.finish_reason.unwrap_or_else(|| "stop".into()),
            usage: whole.usage,
        })
    }

    fn default_model(&self) -> &str {
        &self.cfg.model
    }

    fn name(&self) -> &str {
        &self.cfg.name
    }
}
