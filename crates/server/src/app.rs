//! The application state every handler shares.

use crate::config::Config;
use crate::metrics::Metrics;
use axum::extract::Request;
use std::ops::Deref;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tenmon_store::Store;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Cheap to clone: one `Arc` around [`App`].
#[derive(Clone, Debug)]
pub struct AppState(pub Arc<App>);

impl Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

/// Everything that lives as long as the server.
#[derive(Debug)]
pub struct App {
    /// Settings, parsed once at start.
    pub config: Config,
    /// The database, behind the one storage trait.
    pub store: Arc<dyn Store>,
    /// Prometheus registry and the HTTP metrics.
    pub metrics: Metrics,
    /// Monotonic start, for uptime.
    pub started: Instant,
    /// Wall-clock start, for `process_start_time_seconds`.
    pub started_at: SystemTime,
    /// Every background task, so shutdown can wait for them.
    pub tasks: TaskTracker,
    /// Cancelled when shutdown begins.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// Assemble the state around an opened, migrated store.
    pub fn new(config: Config, store: Arc<dyn Store>) -> Self {
        let started_at = SystemTime::now();
        AppState(Arc::new(App {
            config,
            store,
            metrics: Metrics::new(started_at),
            started: Instant::now(),
            started_at,
            tasks: TaskTracker::new(),
            shutdown: CancellationToken::new(),
        }))
    }
}

/// The body limit in force, put in the request extensions by the router so
/// extractors can say it in their errors.
#[derive(Debug, Clone, Copy)]
pub struct BodyLimit(pub usize);

/// The body limit for this request (0 when unknown).
pub fn body_limit_hint(req: &Request) -> usize {
    req.extensions().get::<BodyLimit>().map(|b| b.0).unwrap_or(0)
}
