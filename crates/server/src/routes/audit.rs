//! The audit log for admins: newest first, filtered by action or actor, paged by
//! sequence number.

use crate::app::AppState;
use crate::auth::Admin;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use tenmon_store::{AuditFilter, AuditRow};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// e.g. `auth.login`, `auth.login_failed`, `kb.entry_updated`.
    pub action: Option<String>,
    /// A user id.
    pub actor: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1 to 200 (default 50).
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditItem {
    pub seq: i64,
    pub at: String,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub hash: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditItem>,
    pub next_cursor: Option<String>,
}

impl From<AuditRow> for AuditItem {
    fn from(r: AuditRow) -> Self {
        AuditItem {
            seq: r.seq,
            at: r.at,
            actor: r.actor,
            action: r.action,
            target: r.target,
            ip: r.ip,
            user_agent: r.user_agent,
            request_id: r.request_id,
            details: r.details,
            hash: r.hash,
        }
    }
}

/// List audit records (admins).
#[utoipa::path(get, path = "/api/admin/audit", tag = "admin", params(AuditQuery), security(("bearer" = [])),
    responses(
        (status = 200, description = "Newest first", body = AuditPage),
        (status = 400, description = "Bad cursor", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Admins only", body = ErrorBody),
        (status = 422, description = "Bad parameter", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    let limit = q.limit.unwrap_or(50).clamp(1, 200);
    let before_seq = match q.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => {
            Some(c.parse::<i64>().map_err(|_| ApiError::BadRequest("cursor: not a cursor from this API".into()))?)
        }
    };
    let filter = AuditFilter { action: q.action, actor: q.actor, before_seq };
    let rows = state.store.audit_page(&filter, limit + 1).await?;
    let more = rows.len() > limit as usize;
    let items: Vec<AuditItem> = rows.into_iter().take(limit as usize).map(Into::into).collect();
    let next_cursor = if more { items.last().map(|i| i.seq.to_string()) } else { None };
    Ok(Json(AuditPage { items, next_cursor }))
}
