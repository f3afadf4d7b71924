//! The /browser reader: fetch a page (SSRF-safe), keep its readable text with a
//! conversation, then chat about it with the usual chat routes.

use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    /// An http(s) URL of a public page (or a host in BROWSER_ALLOWED_HOSTS).
    #[schema(min_length = 1, max_length = 2048)]
    pub url: String,
    /// Attach the page to this conversation of the caller's instead of a new one.
    pub conversation_id: Option<String>,
}

/// The page as read.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageView {
    /// The final URL, after redirects.
    pub url: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// Readable text (plain text: render it as text, never as HTML).
    pub text: String,
    pub truncated: bool,
    pub fetched_bytes: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadResult {
    /// The conversation the page is attached to: chat about it with `POST /api/chat`.
    pub conversation_id: String,
    pub page: PageView,
}

fn fetch_error(e: tenmon_browser::FetchError) -> ApiError {
    use tenmon_browser::FetchError;
    let code = match &e {
        FetchError::InvalidUrl(_) => "invalid_url",
        FetchError::SchemeNotAllowed(_) => "scheme_not_allowed",
        FetchError::AddressNotAllowed { .. } => "address_not_allowed",
        FetchError::Timeout => "fetch_timeout",
        FetchError::UnsupportedContentType(_) => "unsupported_content_type",
        FetchError::UpstreamStatus(_) => "upstream_status",
        FetchError::InvalidSetting(_) => return ApiError::Internal(e.to_string()),
        _ => "fetch_failed",
    };
    ApiError::coded(e.suggested_status(), code, e.to_string())
}

/// Read a web page: fetched only from public addresses (every resolved address,
/// after every redirect; loopback, private, link-local, metadata and mapped
/// addresses are refused), within size, time and redirect limits. The readable
/// text is attached to a conversation; chat turns there read and cite it.
#[utoipa::path(post, path = "/api/browser/read", tag = "browser", request_body = ReadBody,
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Read and attached", body = ReadResult),
        (status = 400, description = "Not an http(s) URL, or an address that may not be fetched (address_not_allowed)", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such conversation of the caller's", body = ErrorBody),
        (status = 415, description = "Not an HTML or text page (unsupported_content_type)", body = ErrorBody),
        (status = 422, description = "Invalid body", body = ErrorBody),
        (status = 502, description = "The page could not be fetched (fetch_failed, upstream_status)", body = ErrorBody),
        (status = 504, description = "The page took too long (fetch_timeout)", body = ErrorBody),
    ))]
pub async fn read(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ReadBody>,
) -> Result<(StatusCode, Json<ReadResult>), ApiError> {
    let url = body.url.trim();
    if url.is_empty() || url.len() > 2048 {
        return Err(ApiError::validation("url", "url: must be 1 to 2048 characters"));
    }
    if let Some(id) = &body.conversation_id {
        state
            .store
            .conversation(&caller.subject_id, id)
            .await?
            .ok_or_else(|| ApiError::NotFound("conversation not found".into()))?;
    }
    let page = state.fetcher.fetch(url).await.map_err(fetch_error)?;
    let title = page.title.clone().filter(|t| !t.trim().is_empty()).unwrap_or_else(|| page.url.clone());
    let conversation_id = state
        .chat
        .attach(
            &caller.subject_id,
            body.conversation_id.as_deref(),
            None,
            tenmon_chat::NewAttachment {
                kind: "page".into(),
                file_id: None,
                title: title.clone(),
                url: Some(page.url.clone()),
                text: page.text.clone(),
            },
        )
        .await?;
    Ok((
        StatusCode::OK,
        Json(ReadResult {
            conversation_id,
            page: PageView {
                url: page.url,
                title: page.title,
                description: page.description,
                text: page.text,
                truncated: page.truncated,
                fetched_bytes: page.fetched_bytes,
            },
        }),
    ))
}
