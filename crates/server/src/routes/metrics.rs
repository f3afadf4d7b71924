//! Prometheus exposition at `/metrics` and `/api/metrics`, optionally behind a bearer
//! token (`METRICS_TOKEN`).

use crate::app::AppState;
use crate::error::{ApiError, ErrorBody};
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

pub const CONTENT_TYPE_OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn authorized(state: &AppState, headers: &HeaderMap) -> bool {
    let Some(token) = &state.config.metrics_token else {
        return true;
    };
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .unwrap_or("");
    bool::from(presented.as_bytes().ct_eq(token.expose_secret().as_bytes()))
}

fn render(state: &AppState, headers: &HeaderMap) -> Response {
    if !authorized(state, headers) {
        let mut res = ApiError::Unauthorized.into_response();
        res.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"metrics\""));
        return res;
    }
    ([(CONTENT_TYPE, CONTENT_TYPE_OPENMETRICS)], state.metrics.render()).into_response()
}

/// Metrics in the OpenMetrics text format.
#[utoipa::path(get, path = "/metrics", tag = "observability",
    responses(
        (status = 200, description = "Metrics", content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "METRICS_TOKEN is set and the bearer token is missing or wrong", body = ErrorBody),
    ))]
pub async fn get_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    render(&state, &headers)
}

/// Metrics, under the API prefix.
#[utoipa::path(get, path = "/api/metrics", tag = "observability",
    responses(
        (status = 200, description = "Metrics", content_type = "application/openmetrics-text", body = String),
        (status = 401, description = "METRICS_TOKEN is set and the bearer token is missing or wrong", body = ErrorBody),
    ))]
pub async fn get_api_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    render(&state, &headers)
}
