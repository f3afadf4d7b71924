//! Files: upload (multipart, streamed to storage), list, download, delete; and
//! documents uploaded into a knowledge base. Every read is by owner.

use crate::app::AppState;
use crate::auth::{Caller, Operator};
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;
use crate::middleware::body_limit::{upload_time, within};
use crate::routes::session::rfc3339;
use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tenmon_store::FileRow;
use tracing::Instrument;
use utoipa::{IntoParams, ToSchema};

/// A stored file.
#[derive(Debug, Serialize, ToSchema)]
pub struct FileView {
    pub id: String,
    /// The sanitised name.
    pub name: String,
    /// `image`, `pdf`, `docx`, `text`, `markdown` or `csv` (decided by the content).
    pub kind: String,
    pub mime: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: String,
    /// Characters of text extracted for the model (0 for images).
    pub text_chars: usize,
    pub text_truncated: bool,
}

impl From<&FileRow> for FileView {
    fn from(f: &FileRow) -> Self {
        FileView {
            id: f.id.clone(),
            name: f.name.clone(),
            kind: f.kind.clone(),
            mime: f.mime.clone(),
            size: f.size,
            sha256: f.sha256.clone(),
            created_at: rfc3339(f.created_at_ms),
            text_chars: f.extracted_text.as_deref().map_or(0, |t| t.chars().count()),
            text_truncated: f.text_truncated,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FileList {
    pub files: Vec<FileView>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// At most this many, newest first (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<u32>,
}

/// The form of an upload (for the OpenAPI document).
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
}

/// A document uploaded into a knowledge base.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentResult {
    pub file: FileView,
    pub kb: String,
    /// Entries made from the document's chunks.
    pub entries: usize,
}

/// The one file field of a multipart upload, streamed into storage on a tracked task
/// of its own. Why not in the handler: hyper drops a request's future when its
/// connection goes (a client gone mid-upload), and a storage write dropped half way
/// leaves an S3 multipart upload open or a local staging file behind, or an object
/// without its row. The task reads on: the cut body fails the multipart parse, and the
/// upload is aborted and cleaned up.
async fn receive(state: &AppState, owner_id: &str, form: Multipart, kb_id: Option<&str>) -> Result<FileRow, ApiError> {
    let (done, result) = tokio::sync::oneshot::channel();
    let (task_state, owner_id, kb_id) = (state.clone(), owner_id.to_string(), kb_id.map(str::to_string));
    state.tasks.spawn(
        async move {
            let _ = done.send(receive_here(&task_state, &owner_id, form, kb_id.as_deref()).await);
        }
        .in_current_span(),
    );
    result.await.unwrap_or_else(|_| Err(ApiError::Internal("the upload task ended early".into())))
}

/// `stream`, ended by a `TimedOut` error at `deadline`.
fn until<S>(stream: S, deadline: tokio::time::Instant) -> impl Stream<Item = std::io::Result<Bytes>> + Send
where
    S: Stream<Item = std::io::Result<Bytes>> + Send,
{
    let state = (Box::pin(stream), Box::pin(tokio::time::sleep_until(deadline)), false);
    futures::stream::unfold(state, |(mut stream, mut sleep, over)| async move {
        if over {
            return None;
        }
        tokio::select! {
            biased;
            item = stream.next() => item.map(|i| (i, (stream, sleep, false))),
            () = &mut sleep => {
                let late = std::io::Error::new(std::io::ErrorKind::TimedOut, "the upload took too long");
                Some((Err(late), (stream, sleep, true)))
            }
        }
    })
}

async fn receive_here(
    state: &AppState,
    owner_id: &str,
    mut form: Multipart,
    kb_id: Option<&str>,
) -> Result<FileRow, ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            crate::files::api_error(tenmon_files::FileError::TooLarge { limit: 0 }, state.files.config().max_bytes)
        } else {
            ApiError::BadRequest(format!("malformed multipart body: {}", e.body_text()))
        }
    };
    while let Some(field) = form.next_field().await.map_err(bad)? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or("file").to_string();
        let stream = field.map_err(|e| std::io::Error::other(e.body_text()));
        // Cut before the request's 408 drops this, so the storage write is aborted
        // (and cleaned up) by the upload itself.
        let deadline = tokio::time::Instant::now() + within(upload_time(state));
        let result = state.files.upload(owner_id, &name, until(stream, deadline), kb_id).await;
        if result.is_err() && tokio::time::Instant::now() >= deadline {
            return Err(ApiError::RequestTimeout);
        }
        return result;
    }
    Err(ApiError::validation("file", "file: the multipart form needs a `file` field"))
}

/// Upload a file (multipart/form-data, field `file`). The type is decided by the
/// content against an allowlist (images, PDF, DOCX, text, Markdown, CSV); text is
/// extracted for the model.
#[utoipa::path(post, path = "/api/files", tag = "files", security(("bearer" = []), ("session_cookie" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = FileView),
        (status = 400, description = "Malformed multipart body", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 413, description = "Larger than FILE_MAX_BYTES (file_too_large)", body = ErrorBody),
        (status = 415, description = "Type not allowed or not matching its extension", body = ErrorBody),
        (status = 422, description = "No file field, an empty file, or a file that cannot be read (unreadable_file)", body = ErrorBody),
        (status = 507, description = "The user's storage quota is used up (storage_quota_exceeded)", body = ErrorBody),
    ))]
pub async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    form: Multipart,
) -> Result<(StatusCode, Json<FileView>), ApiError> {
    let row = receive(&state, &caller.subject_id, form, None).await?;
    crate::audit::record(
        &state,
        Some(&caller.subject_id),
        "file.upload",
        Some(&row.id),
        serde_json::json!({"size": row.size, "kind": row.kind}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(FileView::from(&row))))
}

/// The caller's files, newest first.
#[utoipa::path(get, path = "/api/files", tag = "files", params(ListQuery), security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "Files", body = FileList),
        (status = 400, description = "A malformed query", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 422, description = "limit out of range", body = ErrorBody),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<FileList>, ApiError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=200).contains(&limit) {
        return Err(ApiError::validation("limit", "limit: must be 1 to 200"));
    }
    let rows = state.store.files(&caller.subject_id, limit).await?;
    Ok(Json(FileList { files: rows.iter().map(FileView::from).collect() }))
}

/// Download a file of the caller's. Always an attachment, with the sniffed type and
/// `nosniff`: a stored file never renders in the page's origin.
#[utoipa::path(get, path = "/api/files/{id}", tag = "files", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "File id")),
    responses(
        (status = 200, description = "The bytes", content_type = "application/octet-stream"),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such file of the caller's", body = ErrorBody),
        (status = 410, description = "The content is gone from storage (file_gone)", body = ErrorBody),
    ))]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let (row, object) = state.files.open(&caller.subject_id, &id).await?;
    let mut res = Body::from_stream(object.stream).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&row.mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(object.size));
    if let Ok(v) = HeaderValue::from_str(&tenmon_files::content_disposition(&row.name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    Ok(res)
}

/// Delete a file of the caller's, and the copies of its text in conversations.
#[utoipa::path(delete, path = "/api/files/{id}", tag = "files", security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "File id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 404, description = "No such file of the caller's", body = ErrorBody),
    ))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.files.delete(&caller.subject_id, &id).await?;
    crate::audit::record(&state, Some(&caller.subject_id), "file.delete", Some(&id), serde_json::json!({})).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Upload a document (PDF, DOCX, text, Markdown, CSV) into a knowledge base: its
/// text is chunked and each chunk becomes an entry, searchable at once and cited
/// like an FAQ entry.
#[utoipa::path(post, path = "/api/kb/bases/{kb}/documents", tag = "kb-admin", security(("bearer" = [])),
    params(("kb" = String, Path, description = "Knowledge base id")),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored and indexed", body = DocumentResult),
        (status = 400, description = "Malformed multipart body", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
        (status = 404, description = "No such knowledge base", body = ErrorBody),
        (status = 413, description = "Larger than FILE_MAX_BYTES (file_too_large)", body = ErrorBody),
        (status = 415, description = "Type not allowed or not matching its extension", body = ErrorBody),
        (status = 422, description = "An image, an empty document, or one that cannot be read", body = ErrorBody),
        (status = 507, description = "Storage quota used up", body = ErrorBody),
    ))]
pub async fn upload_document(
    State(state): State<AppState>,
    Operator(op): Operator,
    Path(kb): Path<String>,
    form: Multipart,
) -> Result<(StatusCode, Json<DocumentResult>), ApiError> {
    if !state.kb.bases().await?.iter().any(|b| b.id == kb) {
        return Err(ApiError::NotFound("knowledge base not found".into()));
    }
    let row = receive(&state, &op.subject_id, form, Some(&kb)).await?;
    let text = row.extracted_text.clone().unwrap_or_default();
    let chunks = tenmon_files::chunk_text(&text, &row.name, &tenmon_files::ChunkOptions::default());
    if chunks.is_empty() {
        state.files.delete(&op.subject_id, &row.id).await?;
        return Err(ApiError::coded(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unreadable_file",
            "the document has no text to index (an image or a scanned PDF?)",
        ));
    }
    let short = &row.id[row.id.len().saturating_sub(12)..];
    let inputs = chunks
        .iter()
        .map(|c| tenmon_kb::EntryInput {
            id: Some(format!("doc-{short}-{}", c.index + 1)),
            question: c.title.chars().take(1000).collect(),
            phrasings: Vec::new(),
            answer: c.text.chars().take(10_000).collect(),
            keywords: vec![row.name.chars().take(100).collect()],
            category: "document".into(),
            source_url: None,
            question_en: None,
            answer_en: None,
            enabled: true,
        })
        .collect();
    let entries = match state.kb.put_entries(&kb, inputs).await {
        Ok(e) => e.len(),
        Err(e) => {
            state.files.delete(&op.subject_id, &row.id).await?;
            return Err(e.into());
        }
    };
    crate::audit::record(
        &state,
        Some(&op.subject_id),
        "kb.document",
        Some(&row.id),
        serde_json::json!({"kb": kb, "entries": entries}),
    )
    .await;
    Ok((StatusCode::CREATED, Json(DocumentResult { file: FileView::from(&row), kb, entries })))
}
