//! The OpenAPI 3.1 document, generated from the handlers' annotations. Routes are
//! registered through `utoipa_axum`, so a route cannot exist without appearing here.

use crate::error::{ErrorBody, ErrorDetail};
use axum::response::IntoResponse;
use axum::Json;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

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
        (name = "sessions", description = "Guest sessions"),
        (name = "auth", description = "Accounts: sign-up, login, tokens, password"),
        (name = "conversations", description = "The caller's conversations"),
        (name = "chat", description = "Chat turns: JSON, Server-Sent Events, resume, cancel"),
        (name = "openai", description = "OpenAI-compatible API: the assistants as models"),
        (name = "kb", description = "Knowledge-base search"),
        (name = "kb-admin", description = "Knowledge-base administration (operators)"),
        (name = "admin", description = "User administration (admins)"),
        (name = "account", description = "The signed-in user's API keys"),
        (name = "privacy", description = "Personal data: the privacy notice, consent, export, erasure"),
        (name = "line", description = "The LINE Messaging API channel"),
        (name = "line-admin", description = "LINE delivery failures (operators)"),
        (name = "billing", description = "Plans, usage and Stripe billing (when enabled)"),
        (name = "files", description = "File uploads: chat attachments and downloads"),
        (name = "browser", description = "The /browser reader: read a web page, then chat about it"),
    ),
    components(schemas(ErrorBody, ErrorDetail)),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

/// The credential forms: a bearer token or the session cookie (one code path reads both).
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(crate::auth::SESSION_COOKIE))),
        );
    }
}

/// The document as JSON, built on first use (it describes exactly the routes).
fn spec() -> &'static serde_json::Value {
    static SPEC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    SPEC.get_or_init(crate::router::openapi_json)
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "observability",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub async fn get_openapi(axum::extract::State(state): axum::extract::State<crate::app::AppState>) -> impl IntoResponse {
    let spec = spec();
    // The schema lists the assistants in a pattern; admins add some at run time, so
    // the document names those of this moment.
    let builtin = tenmon_chat::Assistants::builtin().id_pattern();
    let now = state.chat.assistants().id_pattern();
    if builtin == now {
        return Json(spec.clone());
    }
    let text = serde_json::to_string(spec).unwrap_or_default().replace(&builtin, &now);
    Json(serde_json::from_str(&text).unwrap_or_else(|_| spec.clone()))
}
