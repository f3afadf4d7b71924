//! The two middlewares every request passes through, each one function composing
//! the concerns in this module's siblings. A `from_fn` layer per concern cost every
//! request a clone of the whole stack beneath it, a boxed future and a `Next`;
//! eight of them were ~10 µs of the ~50 µs of CPU a proxied `/v1` request took on
//! the 2-core bench machine.
//!
//! - [`outer`], first of all: request id → observation (span, metrics, one log
//!   line) → rate limit → audit scope. Compression, CORS and Socket.IO come next.
//! - [`inner`], around the router: body limit → timeout → JSON errors → security
//!   headers.

use super::context::RequestContext;
use super::{body_limit, json_errors, observe, rate_limit, request_id, security};
use crate::app::AppState;
use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Instrument;

pub async fn outer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let id = request_id::assign(&req);
    let ip = rate_limit::client_ip_of(&state, &req);
    req.extensions_mut().insert(RequestContext {
        id: id.clone(),
        ip,
        credential_hash: None,
        body_limit: state.config.server.body_limit,
    });
    let observation = observe::Observation::start(&state, &req);
    let span = observation.span.clone();
    let mut response = async {
        match rate_limit::admit(&state, &mut req).await {
            Err(refused) => refused,
            Ok(decision) => {
                let scope = crate::audit::Scope::of(&req);
                let mut response = scope.run(next.run(req)).await;
                if let Some(d) = decision {
                    rate_limit::set_headers(response.headers_mut(), &d);
                }
                response
            }
        }
    }
    .instrument(span)
    .await;
    observation.finish(&state, &response);
    response.headers_mut().insert(request_id::X_REQUEST_ID.clone(), id);
    response
}

pub async fn inner(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let time = body_limit::time_limit(&state, &req);
    let mut response = match body_limit::limit(&state, req) {
        Err(too_large) => too_large.respond().await,
        Ok((req, limit)) => {
            let response = match tokio::time::timeout(time, next.run(req)).await {
                Ok(response) => response,
                Err(_) => ApiError::RequestTimeout.into_response(),
            };
            json_errors::rewrite(response, limit)
        }
    };
    // Room for what the edges add (security, rate-limit and request-id headers), so
    // the map grows once instead of rehashing along the way.
    response.headers_mut().reserve(12);
    security::apply(&mut response);
    response
}
