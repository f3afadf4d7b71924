//! Prometheus metrics: one registry per app, HTTP metrics with bounded labels (the
//! route template, never the raw path), process metrics read at scrape time, and
//! build info.

use crate::system::ProcessStats;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::time::{SystemTime, UNIX_EPOCH};

/// Labels of a finished request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: &'static str,
    pub route: String,
    pub status: u16,
}

/// Labels of a request's duration.
/// Labels of a count per database table.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabels {
    pub table: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: &'static str,
    pub route: String,
}

/// Labels of an HTTP event loop's gauge.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoopLabels {
    pub event_loop: u32,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: String,
    rustc: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0])
}

/// The app's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// `http_requests_total{method,route,status}`.
    pub http_requests: Family<RequestLabels, Counter>,
    /// `http_request_duration_seconds{method,route}`.
    pub http_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    /// `http_requests_in_flight`.
    pub http_in_flight: Gauge,
    /// `tenmon_http_connections{event_loop}`: open connections per HTTP event loop
    /// (`HTTP_THREADS`); the acceptor hands a new one to the loop with the fewest.
    pub http_connections: Family<LoopLabels, Gauge>,
    /// `tenmon_retention_purged_rows_total{table}`: what the retention job removed.
    pub retention_purged: Family<TableLabels, Counter>,
    /// `tenmon_erasures_total`: data subjects erased.
    pub erasures: Counter,
    /// `tenmon_retention_runs_total`: retention passes this replica ran (with Redis,
    /// one replica per interval holds the lease).
    pub retention_runs: Counter,
}

impl Metrics {
    pub fn new(started: SystemTime) -> Self {
        let mut registry = Registry::default();
        let http_requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by method, route template and status", http_requests.clone());
        let http_duration =
            Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency until the response head",
            http_duration.clone(),
        );
        let http_in_flight = Gauge::default();
        registry.register("http_requests_in_flight", "HTTP requests being handled", http_in_flight.clone());
        let http_connections = Family::<LoopLabels, Gauge>::default();
        registry.register(
            "tenmon_http_connections",
            "Open HTTP connections per event loop (HTTP_THREADS)",
            http_connections.clone(),
        );
        let build = Family::<BuildLabels, Gauge>::default();
        build
            .get_or_create(&BuildLabels {
                version: env!("CARGO_PKG_VERSION").into(),
                rustc: env!("CARGO_PKG_RUST_VERSION").into(),
            })
            .set(1);
        registry.register("tenmon_ark_build_info", "Build information; always 1", build);
        registry.register_collector(Box::new(ProcessCollector {
            start_time: started.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0),
        }));
        let retention_purged = Family::<TableLabels, Counter>::default();
        registry.register(
            "tenmon_retention_purged_rows",
            "Rows removed by the retention job (DATA_RETENTION_DAYS), by table",
            retention_purged.clone(),
        );
        let erasures = Counter::default();
        registry.register(
            "tenmon_erasures",
            "Data subjects erased (DELETE /api/me and admin erasure)",
            erasures.clone(),
        );
        let retention_runs = Counter::default();
        registry.register(
            "tenmon_retention_runs",
            "Retention passes run by this replica (one replica per interval with Redis)",
            retention_runs.clone(),
        );
        Self {
            registry,
            http_requests,
            http_duration,
            http_in_flight,
            http_connections,
            retention_purged,
            erasures,
            retention_runs,
        }
    }

    /// Add the metrics of another part of the system.
    pub fn registry_mut(&mut self) -> &mut Registry {
        &mut self.registry
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "metrics encoding failed");
        }
        out
    }
}

/// Process metrics, with the names the Prometheus client libraries use.
#[derive(Debug)]
struct ProcessCollector {
    start_time: f64,
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = ProcessStats::read();
        let cpu = ConstCounter::new(s.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "User and system CPU time spent in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        let gauges: [(&str, &str, f64); 5] = [
            ("process_resident_memory_bytes", "Resident memory size in bytes", s.rss_bytes as f64),
            ("process_virtual_memory_bytes", "Virtual memory size in bytes", s.virtual_bytes as f64),
            ("process_open_fds", "Number of open file descriptors", s.open_fds as f64),
            ("process_threads", "Number of OS threads", s.threads as f64),
            (
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch in seconds",
                self.start_time,
            ),
        ];
        for (name, help, value) in gauges {
            let g = ConstGauge::new(value);
            g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)?;
        }
        if let Some(max) = s.max_fds {
            let g = ConstGauge::new(max as f64);
            g.encode(encoder.encode_descriptor(
                "process_max_fds",
                "Maximum number of open file descriptors",
                None,
                g.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

/// The dependencies' state at scrape time: the database pool and Redis.
#[derive(Debug)]
pub struct DependencyCollector {
    pub store: std::sync::Arc<dyn tenmon_store::Store>,
    pub redis: Option<std::sync::Arc<crate::redis::Redis>>,
}

impl Collector for DependencyCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let p = self.store.pool_stats();
        let mut gauges: Vec<(&str, &str, f64)> = vec![
            ("tenmon_db_pool_connections", "Open database connections (in use and idle)", f64::from(p.open)),
            ("tenmon_db_pool_idle_connections", "Idle database connections", f64::from(p.idle)),
            (
                "tenmon_db_pool_in_use_connections",
                "Database connections in use",
                f64::from(p.open.saturating_sub(p.idle)),
            ),
            ("tenmon_db_pool_max_connections", "Most database connections the pool opens", f64::from(p.max)),
        ];
        if let Some(r) = &self.redis {
            gauges.push((
                "tenmon_redis_up",
                "1 when the last Redis command succeeded",
                if r.healthy() { 1.0 } else { 0.0 },
            ));
            gauges.push((
                "tenmon_redis_latency_seconds",
                "Round trip of the last Redis health ping",
                r.last_latency().as_secs_f64(),
            ));
        }
        for (name, help, value) in gauges {
            let g = ConstGauge::new(value);
            g.encode(encoder.encode_descriptor(name, help, None, g.metric_type())?)?;
        }
        Ok(())
    }
}
