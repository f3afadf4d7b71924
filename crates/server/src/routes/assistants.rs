//! Admins define assistants: list every assistant (with where it comes from),
//! create or replace one, delete one of theirs.

use crate::app::AppState;
use crate::assistants::AssistantDef;
use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

/// An assistant and where it is defined.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminAssistant {
    #[serde(flatten)]
    pub def: AssistantDef,
    /// `builtin`, `config` or `database` (only those can be changed here).
    pub source: String,
    /// A database assistant that replaces a built-in or config one of the same id:
    /// deleting it brings that one back.
    pub overrides: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminAssistantList {
    pub assistants: Vec<AdminAssistant>,
}

fn def_of(a: &tenmon_chat::Assistant) -> AssistantDef {
    AssistantDef {
        id: a.id.clone(),
        name_ja: a.name_ja.clone(),
        name_en: a.name_en.clone(),
        system_prompt: a.system_prompt.clone(),
        model: a.model.clone(),
        temperature: a.temperature,
        knowledge_bases: a.knowledge_bases.clone(),
        knowledge_only: a.knowledge_only,
        greeting_ja: a.greeting_ja.clone(),
        greeting_en: a.greeting_en.clone(),
    }
}

/// Every assistant in use, with its system prompt.
#[utoipa::path(get, path = "/api/admin/assistants", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The assistants", body = AdminAssistantList),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
    ))]
pub async fn list(State(state): State<AppState>, Admin(_admin): Admin) -> Result<Json<AdminAssistantList>, ApiError> {
    let stored: Vec<String> = state.store.assistants().await?.into_iter().map(|r| r.id).collect();
    let builtin = tenmon_chat::Assistants::builtin();
    let assistants = state
        .chat
        .assistants()
        .all()
        .iter()
        .map(|a| {
            let source = if stored.contains(&a.id) {
                "database"
            } else if state.config.assistants.iter().any(|c| c.0.id == a.id) {
                "config"
            } else if builtin.get(&a.id).is_some() {
                "builtin"
            } else {
                "config"
            };
            let original = builtin.get(&a.id).is_some() || state.config.assistants.iter().any(|c| c.0.id == a.id);
            AdminAssistant { def: def_of(a), source: source.into(), overrides: source == "database" && original }
        })
        .collect();
    Ok(Json(AdminAssistantList { assistants }))
}

/// Create or replace an assistant (overrides a built-in or config one of the same
/// id until deleted). Usable at once on every replica.
#[utoipa::path(put, path = "/api/admin/assistants/{id}", tag = "admin", request_body = AssistantDef,
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "Assistant id")),
    responses(
        (status = 200, description = "Replaced", body = AdminAssistant),
        (status = 201, description = "Created", body = AdminAssistant),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "An invalid field (named)", body = ErrorBody),
    ))]
pub async fn put(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    ApiJson(mut def): ApiJson<AssistantDef>,
) -> Result<(StatusCode, Json<AdminAssistant>), ApiError> {
    if def.id.is_empty() {
        def.id = id.clone();
    }
    if def.id != id {
        return Err(ApiError::validation("id", "id: must match the path"));
    }
    let created = crate::assistants::put(&state, &def).await?;
    crate::audit::record(
        &state,
        Some(&admin.subject_id),
        "assistant.put",
        Some(&id),
        serde_json::json!({"created": created}),
    )
    .await;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    let overrides =
        tenmon_chat::Assistants::builtin().get(&id).is_some() || state.config.assistants.iter().any(|c| c.0.id == id);
    Ok((status, Json(AdminAssistant { def, source: "database".into(), overrides })))
}

/// Delete an admin-defined assistant.
#[utoipa::path(delete, path = "/api/admin/assistants/{id}", tag = "admin", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "Assistant id")),
    responses(
        (status = 204, description = "Deleted (a built-in or config assistant of that id is back)"),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 404, description = "No admin-defined assistant of that id", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    crate::assistants::delete(&state, &id).await?;
    crate::audit::record(&state, Some(&admin.subject_id), "assistant.delete", Some(&id), serde_json::json!({})).await;
    Ok(StatusCode::NO_CONTENT)
}
