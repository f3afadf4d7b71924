//! One span, one set of metrics and one log line per request. Labels are bounded:
//! the route template from `MatchedPath`, `unmatched` otherwise, and known methods.

use crate::app::AppState;
use crate::error::ErrorCause;
use crate::metrics::{RequestLabels, RouteLabels};
use crate::middleware::context::RequestContext;
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::Response;
use std::time::Instant;

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// One request under observation: its span, labels and start.
pub struct Observation {
    start: Instant,
    method: &'static str,
    route: String,
    pub span: tracing::Span,
}

impl Observation {
    pub fn start(state: &AppState, req: &Request) -> Self {
        let start = Instant::now();
        let method = method_label(req.method());
        let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str()).to_string();
        let span = match RequestContext::of(req) {
            Some(ctx) => tracing::info_span!("http", %method, route = %route, request_id = %ctx.id_str()),
            None => tracing::info_span!("http", %method, route = %route, request_id = ""),
        };
        state.metrics.http_in_flight.inc();
        Observation { start, method, route, span }
    }

    /// Count the request and write its log line.
    pub fn finish(self, state: &AppState, response: &Response) {
        let metrics = &state.metrics;
        metrics.http_in_flight.dec();
        let elapsed = self.start.elapsed();
        let status = response.status();
        let Observation { method, route, span, .. } = self;
        metrics
            .http_duration
            .get_or_create(&RouteLabels { method, route: route.clone() })
            .observe(elapsed.as_secs_f64());
        metrics.http_requests.get_or_create(&RequestLabels { method, route, status: status.as_u16() }).inc();

        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        let _enter = span.enter();
        if status.is_server_error() {
            let cause = response.extensions().get::<ErrorCause>().map(|c| c.0.as_str()).unwrap_or("");
            tracing::error!(status = status.as_u16(), latency_ms, cause, "request failed");
        } else {
            tracing::info!(status = status.as_u16(), latency_ms, "request");
        }
    }
}
