//! The admin dashboard's numbers: conversations and messages per day, answered vs
//! unanswered, the FAQ entries most used, time to first token and tokens used.

use crate::app::AppState;
use crate::auth::Operator;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// 1 to 365 (default 30).
    pub days: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Day {
    /// YYYY-MM-DD (UTC).
    pub date: String,
    pub conversations: i64,
    pub messages: i64,
    pub answered: i64,
    pub unanswered: i64,
    pub tokens: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TopEntry {
    pub id: String,
    pub kb: String,
    pub question: String,
    pub count: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Ttft {
    /// Milliseconds, over the last 10,000 turns on this server (null: none yet).
    pub p50: Option<f64>,
    pub p95: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnalyticsView {
    /// Every day of the range, oldest first (days without traffic are zeros).
    pub days: Vec<Day>,
    pub top_entries: Vec<TopEntry>,
    pub ttft_ms: Ttft,
}

fn date(day: i64) -> String {
    crate::routes::session::rfc3339(day * 86_400_000).chars().take(10).collect()
}

/// Usage statistics (operators and admins).
#[utoipa::path(get, path = "/api/admin/analytics", tag = "kb-admin", params(AnalyticsQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "Per-day counts, top FAQ entries, time to first token", body = AnalyticsView),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
        (status = 422, description = "Bad parameter", body = ErrorBody),
    ))]
pub async fn analytics(
    State(state): State<AppState>,
    _op: Operator,
    ApiQuery(q): ApiQuery<AnalyticsQuery>,
) -> Result<Json<AnalyticsView>, ApiError> {
    let days = q.days.unwrap_or(30);
    if !(1..=365).contains(&days) {
        return Err(ApiError::validation("days", "days: must be 1 to 365"));
    }
    let today = tenmon_chat::today();
    let first = today - i64::from(days) + 1;
    let stats = state.store.analytics(first * 86_400_000).await?;
    let mut by_day: std::collections::HashMap<i64, tenmon_store::DayStats> =
        stats.days.into_iter().map(|d| (d.day, d)).collect();
    let days = (first..=today)
        .map(|day| {
            let d = by_day.remove(&day).unwrap_or_default();
            Day {
                date: date(day),
                conversations: d.conversations,
                messages: d.messages,
                answered: d.answered,
                unanswered: d.unanswered,
                tokens: d.tokens,
            }
        })
        .collect();
    let top_entries = stats
        .top_entries
        .into_iter()
        .map(|e| TopEntry { id: e.id, kb: e.kb, question: e.question, count: e.count })
        .collect();
    let window = &state.chat.metrics().ttft_recent;
    let round = |v: Option<f64>| v.map(|x| (x * 10.0).round() / 10.0);
    Ok(Json(AnalyticsView {
        days,
        top_entries,
        ttft_ms: Ttft { p50: round(window.quantile(0.5)), p95: round(window.quantile(0.95)) },
    }))
}
