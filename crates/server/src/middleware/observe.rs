//! One span, one set of metrics and one log line per request. Labels are bounded:
//! the route template from `MatchedPath`, `unmatched` otherwise, and known methods.

use crate::app::AppState;
use crate::error::ErrorCause;
use crate::metrics::{RequestLabels, RouteLabels};
use crate::middleware::request_id::RequestId;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use std::time::Instant;
use tracing::Instrument;

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

pub async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = method_label(req.method());
    let route =
        req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    let request_id = req.extensions().get::<RequestId>().map(|r| r.as_str().to_string()).unwrap_or_default();
    let span = tracing::info_span!("http", %method, route = %route, request_id = %request_id);

    let metrics = &state.metrics;
    metrics.http_in_flight.inc();
    let response = next.run(req).instrument(span.clone()).await;
    metrics.http_in_flight.dec();

    let elapsed = start.elapsed();
    let status = response.status();
    metrics
        .http_requests
        .get_or_create(&RequestLabels { method: method.into(), route: route.clone(), status: status.as_u16() })
        .inc();
    metrics.http_duration.get_or_create(&RouteLabels { method: method.into(), route }).observe(elapsed.as_secs_f64());

    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    let _enter = span.enter();
    if status.is_server_error() {
        let cause = response.extensions().get::<ErrorCause>().map(|c| c.0.as_str()).unwrap_or("");
        tracing::error!(status = status.as_u16(), latency_ms, cause, "request failed");
    } else {
        tracing::info!(status = status.as_u16(), latency_ms, "request");
    }
    response
}
