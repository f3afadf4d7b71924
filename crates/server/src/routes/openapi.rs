//! The OpenAPI 3.1 document, generated from the handlers' annotations. Routes are
//! registered through `utoipa_axum`, so a route cannot exist without appearing here.

use crate::error::{ErrorBody, ErrorDetail};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use std::sync::Arc;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "TENMON-ARK API",
        description = "A self-hostable AI chat server. Errors always have the body {\"error\":{\"code\",\"message\"}}.",
        license(name = "Apache-2.0")
    ),
    tags(
        (name = "health", description = "Health and readiness"),
        (name = "observability", description = "Metrics and the API description"),
    ),
    components(schemas(ErrorBody, ErrorDetail))
)]
pub struct ApiDoc;

/// The spec, shared with the handler that serves it.
#[derive(Clone)]
pub struct Spec(pub Arc<serde_json::Value>);

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "observability",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub async fn get_openapi(Extension(spec): Extension<Spec>) -> impl IntoResponse {
    Json(spec.0.as_ref().clone())
}
