//! Health: `/health` and `/api/health` report every check; `/health/live` says the
//! process is up; `/health/ready` says whether the required dependencies are (and
//! turns 503 once shutdown starts, so load balancers stop sending traffic).

use crate::app::AppState;
use crate::system;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};
use utoipa::ToSchema;

/// The state of one check, or of the whole service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Working, with a non-required check failing.
    Degraded,
    Error,
}

/// One check.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Check {
    pub status: Status,
    /// Whether the service is down when this check fails.
    pub required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rss_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub free_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_bytes: Option<u64>,
}

impl Check {
    fn new(status: Status, required: bool) -> Self {
        Check {
            status,
            required,
            latency_ms: None,
            message: None,
            rss_bytes: None,
            available_bytes: None,
            free_bytes: None,
            total_bytes: None,
        }
    }
}

/// The health report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HealthReport {
    /// `ok`, `degraded` (still serving) or `error` (answered with 503).
    pub status: Status,
    pub message: String,
    pub version: String,
    /// Seconds since the server started.
    pub uptime: f64,
    /// RFC 3339, UTC.
    pub timestamp: String,
    pub checks: BTreeMap<String, Check>,
}

/// Liveness.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LiveReport {
    pub status: Status,
}

async fn database_check(state: &AppState) -> Check {
    let start = Instant::now();
    let result = tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await;
    let latency = start.elapsed().as_secs_f64() * 1000.0;
    let mut check = match result {
        Ok(Ok(())) => Check::new(Status::Ok, true),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "database health check failed");
            let mut c = Check::new(Status::Error, true);
            c.message = Some("the database is unavailable".into());
            c
        }
        Err(_) => {
            tracing::warn!("database health check timed out");
            let mut c = Check::new(Status::Error, true);
            c.message = Some("the database did not answer within 2 s".into());
            c
        }
    };
    check.latency_ms = Some((latency * 1000.0).round() / 1000.0);
    check
}

/// Redis is optional for serving (limits fall back to each replica's own), so
/// when it is away the report is degraded, never an error.
fn redis_check(redis: &crate::redis::Redis) -> Check {
    match redis.status() {
        Ok(took) => {
            let mut c = Check::new(Status::Ok, false);
            c.latency_ms = Some((took.as_secs_f64() * 1_000_000.0).round() / 1000.0);
            c
        }
        Err(why) => {
            let mut c = Check::new(Status::Degraded, false);
            c.message = Some(format!(
                "Redis: {why}; rate limits hold per replica and Socket.IO reaches this replica's clients only"
            ));
            c
        }
    }
}

fn memory_check() -> Check {
    let mut c = Check::new(Status::Ok, false);
    c.rss_bytes = Some(system::ProcessStats::read().rss_bytes);
    c.available_bytes = system::mem_available_bytes();
    c
}

fn disk_check(state: &AppState, dir: &std::path::Path) -> Check {
    match system::disk_space(dir) {
        Ok((free, total)) => {
            let low = free < state.config.health.disk_min_free_bytes;
            let mut c = Check::new(if low { Status::Degraded } else { Status::Ok }, false);
            if low {
                c.message = Some("free disk space is below HEALTH_DISK_MIN_FREE_MB".into());
            }
            c.free_bytes = Some(free);
            c.total_bytes = Some(total);
            c
        }
        Err(e) => {
            tracing::warn!(error = %e, "disk health check failed");
            let mut c = Check::new(Status::Degraded, false);
            c.message = Some("cannot read disk usage".into());
            c
        }
    }
}

/// Run the checks; `all = false` runs only the required ones (readiness).
pub async fn report(state: &AppState, all: bool) -> (StatusCode, HealthReport) {
    let mut checks = BTreeMap::new();
    checks.insert("database".to_string(), database_check(state).await);
    if let Some(redis) = &state.redis {
        checks.insert("redis".to_string(), redis_check(redis));
    }
    if all {
        checks.insert("memory".to_string(), memory_check());
        // Only where the database is a local file.
        if let Some(dir) = state.config.data_dir() {
            checks.insert("disk".to_string(), disk_check(state, &dir));
        }
    }
    let failing: Vec<&str> =
        checks.iter().filter(|(_, c)| c.status == Status::Error && c.required).map(|(k, _)| k.as_str()).collect();
    let degraded: Vec<&str> =
        checks.iter().filter(|(_, c)| c.status != Status::Ok && !c.required).map(|(k, _)| k.as_str()).collect();
    let shutting_down = state.shutdown.is_cancelled();
    let (status, message) = if shutting_down {
        (Status::Error, "shutting down".to_string())
    } else if !failing.is_empty() {
        (Status::Error, format!("unavailable: {}", failing.join(", ")))
    } else if !degraded.is_empty() {
        (Status::Degraded, format!("degraded: {}", degraded.join(", ")))
    } else {
        (Status::Ok, "OK".to_string())
    };
    let code = if status == Status::Error { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    let report = HealthReport {
        status,
        message,
        version: env!("CARGO_PKG_VERSION").to_string(),
        uptime: (state.started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0,
        timestamp: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        checks,
    };
    (code, report)
}

/// Full health report.
#[utoipa::path(get, path = "/api/health", tag = "health",
    responses(
        (status = 200, description = "Healthy or degraded", body = HealthReport),
        (status = 503, description = "A required dependency is down, or the server is shutting down", body = HealthReport),
    ))]
pub async fn get_api_health(State(state): State<AppState>) -> impl IntoResponse {
    let (code, report) = report(&state, true).await;
    (code, Json(report))
}

/// Full health report (the path the MNP plan's load balancer probes).
#[utoipa::path(get, path = "/health", tag = "health",
    responses(
        (status = 200, description = "Healthy or degraded", body = HealthReport),
        (status = 503, description = "A required dependency is down, or the server is shutting down", body = HealthReport),
    ))]
pub async fn get_health(State(state): State<AppState>) -> impl IntoResponse {
    let (code, report) = report(&state, true).await;
    (code, Json(report))
}

/// Liveness probe: the process answers.
#[utoipa::path(get, path = "/health/live", tag = "health",
    responses((status = 200, description = "The process is up", body = LiveReport)))]
pub async fn get_live() -> Json<LiveReport> {
    Json(LiveReport { status: Status::Ok })
}

/// Readiness probe: the required dependencies answer and the server is not stopping.
#[utoipa::path(get, path = "/health/ready", tag = "health",
    responses(
        (status = 200, description = "Ready for traffic", body = HealthReport),
        (status = 503, description = "Not ready", body = HealthReport),
    ))]
pub async fn get_ready(State(state): State<AppState>) -> impl IntoResponse {
    let (code, report) = report(&state, false).await;
    (code, Json(report))
}
