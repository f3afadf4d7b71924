//! The Messaging API calls the bot makes: reply, push, and the loading animation.
//!
//! A reply token is single-use, so a reply is retried only when LINE refused it
//! before processing (429); any other failure falls back to a push. A push carries
//! `X-Line-Retry-Key` and is retried with the same key on 429, 5xx and connection
//! errors: LINE answers 409 to a key it already accepted, so a retry never sends
//! the message twice.

use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};
use std::time::Duration;

/// Why a call failed (never the message text).
#[derive(Debug, Clone, thiserror::Error)]
pub enum LineApiError {
    #[error("LINE answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("LINE unreachable: {0}")]
    Transport(String),
}

impl LineApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            LineApiError::Status { status, .. } => Some(*status),
            LineApiError::Transport(_) => None,
        }
    }

    fn retryable(&self) -> bool {
        match self {
            LineApiError::Status { status, .. } => *status == 429 || *status >= 500,
            LineApiError::Transport(_) => true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct LineApi {
    http: reqwest::Client,
    base: String,
    token: SecretString,
    max_retries: u32,
    retry_base: Duration,
}

impl LineApi {
    pub fn new(base: &str, token: SecretString, max_retries: u32, retry_base: Duration) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .build()
            .unwrap_or_default();
        Self { http, base: base.trim_end_matches('/').to_string(), token, max_retries, retry_base }
    }

    async fn post(&self, path: &str, body: &Value, retry_key: Option<&str>) -> Result<(), LineApiError> {
        let mut req = self.http.post(format!("{}{path}", self.base)).bearer_auth(self.token.expose_secret()).json(body);
        if let Some(key) = retry_key {
            req = req.header("X-Line-Retry-Key", key);
        }
        let res = req.send().await.map_err(|e| LineApiError::Transport(e.without_url().to_string()))?;
        let status = res.status().as_u16();
        if res.status().is_success() {
            return Ok(());
        }
        // 409 to a retry key: an earlier attempt of this push was accepted.
        if status == 409 && retry_key.is_some() && res.headers().contains_key("x-line-accepted-request-id") {
            return Ok(());
        }
        let body: Value = res.json().await.unwrap_or(Value::Null);
        let message = body["message"].as_str().unwrap_or("no error message").chars().take(200).collect();
        Err(LineApiError::Status { status, message })
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let base = self.retry_base.saturating_mul(2u32.saturating_pow(attempt)).min(Duration::from_secs(30));
        let jitter = rand::rng().random_range(0.5..1.0);
        base.mul_f64(jitter)
    }

    /// Answer with the reply token (retried on 429 only: the token is single-use).
    pub async fn reply(&self, reply_token: &str, messages: &[Value]) -> Result<(), LineApiError> {
        let body = json!({ "replyToken": reply_token, "messages": messages });
        let mut attempt = 0;
        loop {
            match self.post("/v2/bot/message/reply", &body, None).await {
                Err(e) if e.status() == Some(429) && attempt < self.max_retries => {
                    tokio::time::sleep(self.backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Send to a chat without a reply token, idempotently under `retry_key`.
    pub async fn push(&self, to: &str, messages: &[Value], retry_key: &str) -> Result<(), LineApiError> {
        let body = json!({ "to": to, "messages": messages });
        let mut attempt = 0;
        loop {
            match self.post("/v2/bot/message/push", &body, Some(retry_key)).await {
                Err(e) if e.retryable() && attempt < self.max_retries => {
                    tokio::time::sleep(self.backoff(attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// Show the "typing" animation in a one-to-one chat while the answer is made.
    pub async fn show_loading(&self, user_id: &str, seconds: u32) -> Result<(), LineApiError> {
        // LINE accepts 5 to 60, in steps of 5.
        let seconds = (seconds.clamp(5, 60) / 5) * 5;
        self.post("/v2/bot/chat/loading/start", &json!({ "chatId": user_id, "loadingSeconds": seconds }), None).await
    }
}
