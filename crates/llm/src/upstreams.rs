//! An ordered list of upstreams with retries and fallback. Before the first token a
//! retryable failure (connection, 429, 5xx) is tried again with backoff and jitter,
//! honouring `Retry-After`, then the next upstream is tried. After the first token
//! nothing is retried: the client has already seen text.

use crate::{ChatRequest, Completion, EventStream, LlmError, Provider, StreamEvent};
use futures::future::BoxFuture;
use futures::StreamExt;
use prometheus_client::metrics::counter::Counter;
use rand::Rng;
use std::sync::Arc;
use std::time::Duration;

/// One provider and the model to ask it for.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub provider: Arc<dyn Provider>,
    /// Overrides the request's model (fallback entries name their own).
    pub model: Option<String>,
}

/// How long to wait.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From sending the request to the first text.
    pub first_token: Duration,
    /// Between two stream events after the first.
    pub idle: Duration,
    /// For a whole (non-streamed) answer, from sending the request to its end.
    pub completion: Duration,
}

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Retries per upstream after the first attempt.
    pub max_retries: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_retries: 2, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(10) }
    }
}

/// How long to wait before retry `attempt` (from 0) after `err`: `Retry-After` when
/// the upstream said, else exponential from the base delay, capped, with jitter.
pub(crate) fn backoff(retry: &RetryPolicy, attempt: u32, err: &LlmError) -> Duration {
    if let LlmError::RateLimited { retry_after: Some(d) } = err {
        return (*d).min(retry.max_delay);
    }
    let exp = retry.base_delay.saturating_mul(2u32.saturating_pow(attempt));
    let capped = exp.min(retry.max_delay);
    // Full jitter: spread retries of many turns so they do not arrive together.
    let jitter = rand::rng().random_range(0.5..=1.0);
    capped.mul_f64(jitter)
}

/// A started stream and where it came from.
pub struct Started {
    pub stream: EventStream,
    /// The model that is answering.
    pub model: String,
}

/// The configured upstreams, in order of preference.
#[derive(Debug, Clone)]
pub struct Upstreams {
    list: Vec<Upstream>,
    pub timeouts: Timeouts,
    pub retry: RetryPolicy,
    /// Every retry, of calls that then succeeded and of calls that failed
    /// (`chat_upstream_retries_total`).
    retries: Counter,
}

impl Upstreams {
    pub fn new(list: Vec<Upstream>, timeouts: Timeouts, retry: RetryPolicy) -> Self {
        Self { list, timeouts, retry, retries: Counter::default() }
    }

    /// Count retries in `counter` (a registered metric) from now on.
    pub fn counting_retries_in(mut self, counter: Counter) -> Self {
        self.retries = counter;
        self
    }

    /// No upstream configured.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The model the first upstream answers with by default.
    pub fn default_model(&self) -> Option<String> {
        self.list.first().map(|u| u.model.clone().unwrap_or_else(|| u.provider.default_model().to_string()))
    }

    fn backoff(&self, attempt: u32, err: &LlmError) -> Duration {
        backoff(&self.retry, attempt, err)
    }

    /// Start a stream, retrying and falling back until the first event arrives. The
    /// returned stream yields that first event again, then the rest, each within the
    /// idle timeout.
    pub async fn start(&self, request: &ChatRequest) -> Result<Started, LlmError> {
        let (stream, model) =
            self.first_success(request, |u, r| Box::pin(async move { self.try_once(u, &r).await })).await?;
        Ok(Started { stream, model })
    }

    /// The whole answer, not streamed (for clients that asked for JSON): the upstream
    /// sends one body instead of a chunk per token. Retries and fallback as for
    /// [`Upstreams::start`]; the answer must arrive within the completion timeout.
    pub async fn complete(&self, request: &ChatRequest) -> Result<Completion, LlmError> {
        let limit = self.timeouts.completion;
        let (completion, _model) = self
            .first_success(request, |u, r| {
                Box::pin(async move {
                    let whole = u.provider.complete(&r);
                    tokio::time::timeout(limit, whole).await.map_err(|_| LlmError::Timeout("completion"))?
                })
            })
            .await?;
        Ok(completion)
    }

    /// Try each upstream in order: a retryable failure is tried again with backoff,
    /// then (or after a timeout to connect or refused credentials) the next upstream.
    async fn first_success<'a, T>(
        &'a self,
        request: &ChatRequest,
        attempt: impl Fn(&'a Upstream, ChatRequest) -> BoxFuture<'a, Result<T, LlmError>>,
    ) -> Result<(T, String), LlmError> {
        if self.list.is_empty() {
            return Err(LlmError::NotConfigured);
        }
        let mut last_err = LlmError::NotConfigured;
        for upstream in &self.list {
            let model = (upstream.model.as_ref().or(request.model.as_ref()))
                .cloned()
                .unwrap_or_else(|| upstream.provider.default_model().to_string());
            for n in 0..=self.retry.max_retries {
                let req = ChatRequest { model: Some(model.clone()), ..request.clone() };
                match attempt(upstream, req).await {
                    Ok(value) => return Ok((value, model)),
                    Err(err) => {
                        tracing::warn!(
                            upstream = upstream.provider.name(),
                            attempt = n,
                            kind = err.kind(),
                            "upstream attempt failed"
                        );
                        let retry = err.is_retryable() && n < self.retry.max_retries;
                        // Refused credentials and a redirect (a wrong base URL) are this
                        // upstream's configuration: another may be right.
                        let fall_back = err.is_retryable()
                            || matches!(
                                err,
                                LlmError::Auth | LlmError::Timeout("connect") | LlmError::Rejected(300..=399)
                            );
                        last_err = err;
                        if retry {
                            self.retries.inc();
                            tokio::time::sleep(self.backoff(n, &last_err)).await;
                            continue;
                        }
                        if fall_back {
                            break;
                        }
                        return Err(last_err);
                    }
                }
            }
        }
        Err(last_err)
    }

    async fn try_once(&self, upstream: &Upstream, req: &ChatRequest) -> Result<EventStream, LlmError> {
        let first_token = self.timeouts.first_token;
        let attempt = async {
            let mut stream = upstream.provider.stream(req).await?;
            match stream.next().await {
                Some(Ok(first)) => Ok((first, stream)),
                Some(Err(e)) => Err(e),
                None => Err(LlmError::Protocol("empty stream".into())),
            }
        };
        let (first, rest) = match tokio::time::timeout(first_token, attempt).await {
            Ok(r) => r?,
            Err(_) => return Err(LlmError::Timeout("first_token")),
        };
        let idle = self.timeouts.idle;
        let rest = futures::stream::unfold((rest, false), move |(mut s, ended)| async move {
            if ended {
                return None;
            }
            match tokio::time::timeout(idle, s.next()).await {
                Ok(Some(item)) => {
                    let end = item.is_err() || matches!(item, Ok(StreamEvent::Finish { .. }));
                    Some((item, (s, end)))
                }
                Ok(None) => None,
                Err(_) => Some((Err(LlmError::Timeout("idle")), (s, true))),
            }
        });
        let first_is_finish = matches!(first, StreamEvent::Finish { .. });
        let head = futures::stream::once(async move { Ok(first) });
        Ok(if first_is_finish { head.boxed() } else { head.chain(rest).boxed() })
    }
}
