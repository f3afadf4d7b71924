//! The router: every route registered through `utoipa_axum` (so it is in the
//! OpenAPI document), then the layers, outermost first: the outer edge (request id,
//! observation, rate limit, audit scope) → compression → CORS → Socket.IO → the
//! inner edge (body limit and timeout per route, JSON errors, security headers).

use crate::app::AppState;
use crate::config::CorsOrigins;
use crate::middleware::{body_limit, edge};
use crate::routes::{
    admin, analytics, api_keys, assistants, audit, auth, billing, browser, chat, concierge, conversations, fallback,
    files, health, invitations, kb, line, metrics, oidc, openai_compat, openapi, privacy, session, web,
};
use axum::extract::DefaultBodyLimit;
use axum::http::{header, Method};
use axum::{middleware as mw, Router};
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every operation can answer 429 (rate limits apply to all but probes and metrics).
fn document_rate_limits(mut spec: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    for (path, item) in spec.paths.paths.iter_mut() {
        if path.starts_with("/health") || path.ends_with("metrics") || path == "/api/health" {
            continue;
        }
        for op in
            [&mut item.get, &mut item.post, &mut item.put, &mut item.patch, &mut item.delete].into_iter().flatten()
        {
            let response = ResponseBuilder::new()
                .description("Too many requests (rate_limited); see Retry-After and RateLimit-*")
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build();
            op.responses.responses.insert("429".into(), response.into());
        }
    }
    spec
}

/// The API routes and the OpenAPI document describing exactly them.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, spec) = routes();
    (router, document_rate_limits(spec))
}

fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::get_health))
        .routes(routes!(health::get_api_health))
        .routes(routes!(health::get_live))
        .routes(routes!(health::get_ready))
        .routes(routes!(metrics::get_metrics))
        .routes(routes!(metrics::get_api_metrics))
        .routes(routes!(openapi::get_openapi))
        .routes(routes!(session::create_session, session::get_session))
        .routes(routes!(conversations::list_conversations))
        .routes(routes!(
            conversations::get_conversation,
            conversations::rename_conversation,
            conversations::delete_conversation
        ))
        .routes(routes!(conversations::list_messages))
        .routes(routes!(chat::post_chat))
        .routes(routes!(chat::post_chat_stream))
        .routes(routes!(chat::resume_stream))
        .routes(routes!(chat::cancel_turn))
        .routes(routes!(concierge::post_concierge))
        .routes(routes!(session::list_assistants))
        .routes(routes!(auth::signup))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me, privacy::erase_me))
        .routes(routes!(oidc::providers))
        .routes(routes!(oidc::login))
        .routes(routes!(oidc::callback))
        .routes(routes!(auth::change_password))
        .routes(routes!(api_keys::create_key, api_keys::list_keys))
        .routes(routes!(api_keys::revoke_key))
        .routes(routes!(admin::list_users))
        .routes(routes!(admin::get_user, admin::set_role, privacy::erase_user))
        .routes(routes!(kb::search))
        .routes(routes!(kb::get_entry, kb::update_entry, kb::set_enabled, kb::delete_entry))
        .routes(routes!(kb::list_bases, kb::put_base))
        .routes(routes!(kb::delete_base))
        .routes(routes!(kb::list_entries, kb::create_entry))
        .routes(routes!(kb::import))
        .routes(routes!(kb::export))
        .routes(routes!(kb::get_synonyms, kb::put_synonyms))
        .routes(routes!(kb::unanswered))
        .routes(routes!(audit::list))
        .routes(routes!(admin::disable_user))
        .routes(routes!(admin::enable_user))
        .routes(routes!(analytics::analytics))
        .routes(routes!(invitations::create, invitations::list))
        .routes(routes!(invitations::revoke))
        .routes(routes!(privacy::info))
        .routes(routes!(privacy::consent))
        .routes(routes!(privacy::export))
        .routes(routes!(line::webhook))
        .routes(routes!(line::failures))
        .routes(routes!(files::upload, files::list))
        .routes(routes!(files::download, files::delete))
        .routes(routes!(files::upload_document))
        .routes(routes!(browser::read))
        .routes(routes!(assistants::list))
        .routes(routes!(assistants::put, assistants::delete))
        .routes(routes!(billing::get_billing))
        .routes(routes!(billing::checkout))
        .routes(routes!(billing::portal))
        .routes(routes!(billing::webhook))
        .routes(routes!(openai_compat::list_models))
        .routes(routes!(openai_compat::chat_completions))
        .split_for_parts()
}

/// The OpenAPI document as JSON (for `tenmon-ark openapi` and the UI's types).
pub fn openapi_json() -> serde_json::Value {
    serde_json::to_value(api().1).unwrap_or_default()
}

fn cors(origins: &CorsOrigins) -> Option<CorsLayer> {
    let base = CorsLayer::new()
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::CONTENT_TYPE,
            header::AUTHORIZATION,
            header::ACCEPT,
            header::HeaderName::from_static("x-csrf-token"),
            header::HeaderName::from_static("last-event-id"),
        ])
        .expose_headers([header::HeaderName::from_static("x-request-id"), header::RETRY_AFTER]);
    match origins {
        CorsOrigins::None => None,
        CorsOrigins::Any => Some(base.allow_origin(Any)),
        CorsOrigins::List(list) => Some(base.allow_origin(AllowOrigin::list(list.clone())).allow_credentials(true)),
    }
}

/// The whole application.
pub fn build(state: AppState) -> Router {
    let (api, _) = api();
    let cfg = &state.config.server;

    // One stack, applied once: `Router::layer` boxes every route per layer, and each
    // box costs every request a clone and a future. Outermost first; the concerns
    // of each middleware are listed in `middleware::edge`.
    let stack = ServiceBuilder::new()
        .layer(mw::from_fn_with_state(state.clone(), edge::outer))
        .layer(CompressionLayer::new())
        .option_layer(cors(&cfg.cors))
        // Socket.IO answers its own path (polling and WebSocket) before the router.
        .layer(crate::realtime::layer(&state))
        .layer(mw::from_fn_with_state(state.clone(), edge::inner))
        .layer(DefaultBodyLimit::max(body_limit::largest(&state)));
    api.fallback(web::fallback).method_not_allowed_fallback(fallback::method_not_allowed).layer(stack).with_state(state)
}
