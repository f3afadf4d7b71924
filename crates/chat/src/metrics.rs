//! Chat metrics: time to first token, turn duration, tokens, upstream errors by
//! kind, retries, running turns and open streams. Labels are bounded sets.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StatusLabel {
    pub status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabel {
    pub direction: &'static str,
}

fn seconds_histogram() -> Histogram {
    Histogram::new([0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0, 120.0])
}

/// The most recent time-to-first-token samples (milliseconds), for percentiles on
/// the admin dashboard (the Prometheus histogram only has buckets).
#[derive(Debug, Clone, Default)]
pub struct TtftWindow(std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<f64>>>);

const TTFT_WINDOW: usize = 10_000;

impl TtftWindow {
    pub fn push(&self, ms: f64) {
        let mut w = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if w.len() == TTFT_WINDOW {
            w.pop_front();
        }
        w.push_back(ms);
    }

    /// The `q` quantile (0–1) of the window, nearest rank; `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let mut v: Vec<f64> = self.0.lock().unwrap_or_else(|p| p.into_inner()).iter().copied().collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
        Some(v[rank - 1])
    }
}

#[derive(Debug, Clone)]
pub struct TurnMetrics {
    pub time_to_first_token: Histogram,
    /// The last 10,000 first-token times, in milliseconds.
    pub ttft_recent: TtftWindow,
    pub turn_duration: Family<StatusLabel, Histogram, fn() -> Histogram>,
    pub tokens: Family<DirectionLabel, Counter>,
    pub upstream_errors: Family<KindLabel, Counter>,
    /// Every retry of a model call (counted by `Upstreams`, for chat turns and `/v1`).
    pub retries: Counter,
    pub active_turns: Gauge,
    pub active_streams: Gauge,
}

impl Default for TurnMetrics {
    fn default() -> Self {
        Self {
            time_to_first_token: seconds_histogram(),
            ttft_recent: TtftWindow::default(),
            turn_duration: Family::new_with_constructor(seconds_histogram),
            tokens: Family::default(),
            upstream_errors: Family::default(),
            retries: Counter::default(),
            active_turns: Gauge::default(),
            active_streams: Gauge::default(),
        }
    }
}

impl TurnMetrics {
    /// Tokens a model call used: chat turns and `/v1` completions alike.
    pub fn count_tokens(&self, usage: tenmon_llm::TokenUsage) {
        self.tokens.get_or_create(&DirectionLabel { direction: "in" }).inc_by(u64::from(usage.prompt_tokens));
        self.tokens.get_or_create(&DirectionLabel { direction: "out" }).inc_by(u64::from(usage.completion_tokens));
    }

    /// A model call that failed for good (after its retries and fallbacks).
    pub fn count_upstream_error(&self, err: &tenmon_llm::LlmError) {
        self.upstream_errors.get_or_create(&KindLabel { kind: err.kind() }).inc();
    }

    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "chat_time_to_first_token_seconds",
            "Time from the user's message to the first answer text",
            self.time_to_first_token.clone(),
        );
        registry.register(
            "chat_turn_duration_seconds",
            "Duration of chat turns by outcome",
            self.turn_duration.clone(),
        );
        registry.register("chat_tokens", "Tokens sent to (in) and received from (out) models", self.tokens.clone());
        registry.register("chat_upstream_errors", "Model upstream failures by kind", self.upstream_errors.clone());
        registry.register(
            "chat_upstream_retries",
            "Retries of model calls (before the first token), by chat turns and /v1",
            self.retries.clone(),
        );
        registry.register("chat_active_turns", "Chat turns running in this process", self.active_turns.clone());
        registry.register("chat_active_streams", "Clients subscribed to a turn's stream", self.active_streams.clone());
    }
}
