//! Knowledge bases over HTTP. Search and reading an enabled entry are public (the FAQ
//! is public; the UI's source chips open entries); everything that changes a
//! knowledge base is for operators.

use crate::app::AppState;
use crate::auth::Operator;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::session::rfc3339;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tenmon_kb::{EntryInput, Format};
use tenmon_store::{KbEntryRow, KnowledgeBaseRow, UnansweredRow};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The question, in any wording.
    #[param(min_length = 1, max_length = 1000)]
    pub q: String,
    /// Knowledge bases to search, comma-separated (default: all).
    pub kb: Option<String>,
    /// 1 to 50 (default 5).
    #[param(minimum = 1, maximum = 50)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHit {
    pub id: String,
    pub kb: String,
    pub question: String,
    pub answer: String,
    pub category: String,
    /// For ordering only. Lexical: the re-ranking score; hybrid: the reciprocal
    /// rank fusion score, 1 for an entry first in both rankings.
    pub score: f32,
    /// How well the entry answers the question, 0 to 1 (how much of the question it
    /// covers or, with embeddings, how similar it is, whichever is higher).
    pub confidence: f32,
    /// Parts of the question found in the entry.
    pub highlights: Vec<String>,
    pub question_en: Option<String>,
    pub answer_en: Option<String>,
    pub source_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResults {
    pub results: Vec<SearchHit>,
    pub took_ms: f64,
    pub retrieval: KbRetrieval,
}

/// Which retrieval ranked the results: `lexical` (words), or `hybrid` (words and
/// embeddings, fused) when an embeddings model is configured and answered in time.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KbRetrieval {
    Lexical,
    Hybrid,
}

impl From<tenmon_kb::Retrieval> for KbRetrieval {
    fn from(r: tenmon_kb::Retrieval) -> Self {
        match r {
            tenmon_kb::Retrieval::Lexical => KbRetrieval::Lexical,
            tenmon_kb::Retrieval::Hybrid => KbRetrieval::Hybrid,
        }
    }
}

/// An entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct Entry {
    pub id: String,
    pub kb: String,
    pub question: String,
    pub phrasings: Vec<String>,
    pub answer: String,
    pub keywords: Vec<String>,
    pub category: String,
    pub source_url: Option<String>,
    pub question_en: Option<String>,
    pub answer_en: Option<String>,
    pub enabled: bool,
    pub version: i64,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&KbEntryRow> for Entry {
    fn from(e: &KbEntryRow) -> Self {
        Entry {
            id: e.id.clone(),
            kb: e.kb_id.clone(),
            question: e.question.clone(),
            phrasings: e.phrasings.clone(),
            answer: e.answer.clone(),
            keywords: e.keywords.clone(),
            category: e.category.clone(),
            source_url: e.source_url.clone(),
            question_en: e.question_en.clone(),
            answer_en: e.answer_en.clone(),
            enabled: e.enabled,
            version: e.version,
            created_at: rfc3339(e.created_at_ms),
            updated_at: rfc3339(e.updated_at_ms),
        }
    }
}

/// An entry as written (the id is optional on create).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryBody {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub id: Option<String>,
    #[schema(min_length = 1, max_length = 1000)]
    pub question: String,
    #[serde(default)]
    pub phrasings: Vec<String>,
    #[schema(min_length = 1, max_length = 10000)]
    pub answer: String,
    #[serde(default)]
    pub keywords: Vec<String>,
    #[serde(default)]
    pub category: String,
    pub source_url: Option<String>,
    pub question_en: Option<String>,
    pub answer_en: Option<String>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl From<EntryBody> for EntryInput {
    fn from(b: EntryBody) -> Self {
        EntryInput {
            id: b.id,
            question: b.question,
            phrasings: b.phrasings,
            answer: b.answer,
            keywords: b.keywords,
            category: b.category,
            source_url: b.source_url,
            question_en: b.question_en,
            answer_en: b.answer_en,
            enabled: b.enabled,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnabledBody {
    pub enabled: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KnowledgeBase {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<KnowledgeBaseRow> for KnowledgeBase {
    fn from(b: KnowledgeBaseRow) -> Self {
        KnowledgeBase {
            id: b.id,
            name: b.name,
            description: b.description,
            created_at: rfc3339(b.created_at_ms),
            updated_at: rfc3339(b.updated_at_ms),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BaseBody {
    #[schema(pattern = "^[A-Za-z0-9_-]{1,64}$")]
    pub id: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BaseList {
    pub knowledge_bases: Vec<KnowledgeBase>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EntryList {
    pub entries: Vec<Entry>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportResult {
    pub created: usize,
    pub updated: usize,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatParams {
    /// `jsonl` or `csv` (default: from the Content-Type, else jsonl).
    #[param(pattern = "^(jsonl|csv)$")]
    pub format: Option<String>,
    /// For CSV export: `utf-8` (with a BOM, the default) or `shift_jis` (CP932, for Excel in Japan).
    #[param(pattern = "^(utf-8|shift_jis)$")]
    pub encoding: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Unanswered {
    pub assistant: String,
    /// The question as first asked.
    pub sample: String,
    pub count: i64,
    pub first_seen: String,
    pub last_seen: String,
}

impl From<UnansweredRow> for Unanswered {
    fn from(u: UnansweredRow) -> Self {
        Unanswered {
            assistant: u.assistant,
            sample: u.sample,
            count: u.hits,
            first_seen: rfc3339(u.first_seen_ms),
            last_seen: rfc3339(u.last_seen_ms),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UnansweredList {
    pub questions: Vec<Unanswered>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LimitParams {
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

/// Search the knowledge bases.
#[utoipa::path(get, path = "/api/kb/search", tag = "kb", params(SearchParams),
    responses(
        (status = 200, description = "Best entries first", body = SearchResults),
        (status = 422, description = "Bad parameter", body = ErrorBody),
    ))]
pub async fn search(
    State(state): State<AppState>,
    ApiQuery(p): ApiQuery<SearchParams>,
) -> Result<Json<SearchResults>, ApiError> {
    let q = p.q.trim();
    if q.is_empty() || p.q.chars().count() > 1000 {
        return Err(ApiError::validation("q", "q: must be 1 to 1000 characters"));
    }
    let limit = p.limit.unwrap_or(5);
    if !(1..=50).contains(&limit) {
        return Err(ApiError::validation("limit", "limit: must be between 1 and 50"));
    }
    let kbs: Vec<String> =
        p.kb.as_deref().unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
    let res = state.kb.search(q, &kbs, limit as usize).await?;
    Ok(Json(SearchResults {
        results: res
            .results
            .into_iter()
            .map(|r| SearchHit {
                id: r.id,
                kb: r.kb,
                question: r.question,
                answer: r.answer,
                category: r.category,
                score: r.score,
                confidence: (r.confidence * 100.0).round() / 100.0,
                highlights: r.highlights,
                question_en: r.question_en,
                answer_en: r.answer_en,
                source_url: r.source_url,
            })
            .collect(),
        took_ms: (res.took_ms * 1000.0).round() / 1000.0,
        retrieval: res.retrieval.into(),
    }))
}

/// An enabled entry (what a source chip opens).
#[utoipa::path(get, path = "/api/kb/entries/{id}", tag = "kb",
    params(("id" = String, Path, description = "Entry id")),
    responses(
        (status = 200, description = "The entry", body = Entry),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 404, description = "No such enabled entry", body = ErrorBody),
    ))]
pub async fn get_entry(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<Entry>, ApiError> {
    let e = state.kb.entry(&id).filter(|e| e.enabled).ok_or_else(|| ApiError::NotFound("entry not found".into()))?;
    Ok(Json(e.as_ref().into()))
}

/// Knowledge bases.
#[utoipa::path(get, path = "/api/kb/bases", tag = "kb-admin", security(("bearer" = [])),
    responses(
        (status = 200, description = "All knowledge bases", body = BaseList),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
    ))]
pub async fn list_bases(State(state): State<AppState>, _op: Operator) -> Result<Json<BaseList>, ApiError> {
    Ok(Json(BaseList { knowledge_bases: state.kb.bases().await?.into_iter().map(Into::into).collect() }))
}

/// Create or rename a knowledge base.
#[utoipa::path(post, path = "/api/kb/bases", tag = "kb-admin", request_body = BaseBody, security(("bearer" = [])),
    responses(
        (status = 200, description = "Saved", body = KnowledgeBase),
        (status = 400, description = "Malformed JSON", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
pub async fn put_base(
    State(state): State<AppState>,
    Operator(op): Operator,
    ApiJson(b): ApiJson<BaseBody>,
) -> Result<Json<KnowledgeBase>, ApiError> {
    let base = state.kb.put_base(&b.id, &b.name, &b.description).await?;
    audit(&state, &op, "kb.base_saved", &b.id, json!({})).await;
    Ok(Json(base.into()))
}

/// Delete a knowledge base and its entries.
#[utoipa::path(delete, path = "/api/kb/bases/{kb}", tag = "kb-admin", security(("bearer" = [])),
    params(("kb" = String, Path, description = "Knowledge base id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
        (status = 404, description = "No such knowledge base", body = ErrorBody),
    ))]
pub async fn delete_base(
    State(state): State<AppState>,
    Operator(op): Operator,
    Path(kb): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.kb.delete_base(&kb).await?;
    audit(&state, &op, "kb.base_deleted", &kb, json!({})).await;
    Ok(StatusCode::NO_CONTENT)
}

/// Entries of a knowledge base, enabled or not.
#[utoipa::path(get, path = "/api/kb/bases/{kb}/entries", tag = "kb-admin", security(("bearer" = [])),
    params(("kb" = String, Path, description = "Knowledge base id")),
    responses(
        (status = 200, description = "The entries", body = EntryList),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
        (status = 404, description = "No such knowledge base", body = ErrorBody),
    ))]
pub async fn list_entries(
    State(state): State<AppState>,
    _op: Operator,
    Path(kb): Path<String>,
) -> Result<Json<EntryList>, ApiError> {
    Ok(Json(EntryList { entries: state.kb.entries(&kb).await?.iter().map(Into::into).collect() }))
}

/// Create (or replace, when `id` names an entry) an entry; searchable at once.
#[utoipa::path(post, path = "/api/kb/bases/{kb}/entries", tag = "kb-admin", request_body = EntryBody, security(("bearer" = [])),
    params(("kb" = String, Path, description = "Knowledge base id")),
    responses(
        (status = 201, description = "Saved", body = Entry),
        (status = 400, description = "Malformed JSON or id", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
        (status = 404, description = "No such knowledge base", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
pub async fn create_entry(
    State(state): State<AppState>,
    Operator(op): Operator,
    Path(kb): Path<String>,
    ApiJson(body): ApiJson<EntryBody>,
) -> Result<(StatusCode, Json<Entry>), ApiError> {
    let row = state.kb.put_entry(&kb, body.into()).await?;
    audit(&state, &op, "kb.entry_created", &row.id, json!({"kb": kb})).await;
    Ok((StatusCode::CREATED, Json((&row).into())))
}

/// Replace an entry's content; the version goes up by one.
#[utoipa::path(put, path = "/api/kb/entries/{id}", tag = "kb-admin", request_body = EntryBody, security(("bearer" = [])),
    params(("id" = String, Path, description = "Entry id")),
    responses(
        (status = 200, description = "Saved", body = Entry),
        (status = 400, description = "Malformed JSON or id", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
        (status = 404, description = "No such entry", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
pub async fn update_entry(
    State(state): State<AppState>,
    Operator(op): Operator,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EntryBody>,
) -> Result<Json<Entry>, ApiError> {
    let existing = state.kb.entry(&id).ok_or_else(|| ApiError::NotFound("entry not found".into()))?;
    if body.id.as_deref().is_some_and(|b| b != id) {
        return Err(ApiError::validation("id", "id: must match the path"));
    }
    let mut input: EntryInput = body.into();
    input.id = Some(id);
    let row = state.kb.put_entry(&existing.kb_id, input).await?;
    audit(&state, &op, "kb.entry_updated", &row.id, json!({"kb": row.kb_id, "version": row.version})).await;
    Ok(Json((&row).into()))
}

/// Enable or disable an entry.
#[utoipa::path(patch, path = "/api/kb/entries/{id}", tag = "kb-admin", request_body = EnabledBody, security(("bearer" = [])),
    params(("id" = String, Path, description = "Entry id")),
    responses(
        (status = 200, description = "Saved", body = Entry),
        (status = 400, description = "Malformed JSON or id", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
        (status = 404, description = "No such entry", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Invalid field", body = ErrorBody),
    ))]
pub async fn set_enabled(
    State(state): State<AppState>,
    Operator(op): Operator,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EnabledBody>,
) -> Result<Json<Entry>, ApiError> {
    let row = state.kb.set_enabled(&id, body.enabled).await?;
    audit(&state, &op, "kb.entry_enabled", &id, json!({"enabled": body.enabled})).await;
    Ok(Json((&row).into()))
}

/// Delete an entry.
#[utoipa::path(delete, path = "/api/kb/entries/{id}", tag = "kb-admin", security(("bearer" = [])),
    params(("id" = String, Path, description = "Entry id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
        (status = 404, description = "No such entry", body = ErrorBody),
    ))]
pub async fn delete_entry(
    State(state): State<AppState>,
    Operator(op): Operator,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.kb.delete_entry(&id).await?;
    audit(&state, &op, "kb.entry_deleted", &id, json!({})).await;
    Ok(StatusCode::NO_CONTENT)
}

fn format_of(param: Option<&str>, headers: &HeaderMap) -> Result<Format, ApiError> {
    let ct = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    match param {
        Some("jsonl") => Ok(Format::Jsonl),
        Some("csv") => Ok(Format::Csv),
        Some(other) => Err(ApiError::validation("format", format!("format: {other:?} is not jsonl or csv"))),
        None if ct.starts_with("text/csv") => Ok(Format::Csv),
        None => Ok(Format::Jsonl),
    }
}

/// Import entries (all or nothing): the body is a JSONL or CSV file in UTF-8 (with or
/// without a BOM) or Shift_JIS. A bad row rejects the whole file with every problem
/// listed by line.
#[utoipa::path(post, path = "/api/kb/bases/{kb}/import", tag = "kb-admin", security(("bearer" = [])),
    params(("kb" = String, Path, description = "Knowledge base id"), FormatParams),
    request_body(content = String, content_type = "text/csv", description = "The file; application/x-ndjson for JSONL"),
    responses(
        (status = 200, description = "Imported", body = ImportResult),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
        (status = 404, description = "No such knowledge base", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Bad rows (import_failed, with rows) or a bad parameter", body = ErrorBody),
    ))]
pub async fn import(
    State(state): State<AppState>,
    Operator(op): Operator,
    Path(kb): Path<String>,
    ApiQuery(p): ApiQuery<FormatParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ImportResult>, ApiError> {
    let format = format_of(p.format.as_deref(), &headers)?;
    let (created, updated) = state.kb.import(&kb, &body, format).await?;
    audit(&state, &op, "kb.imported", &kb, json!({"created": created, "updated": updated, "bytes": body.len()})).await;
    Ok(Json(ImportResult { created, updated }))
}

/// Export a knowledge base as JSONL or CSV.
#[utoipa::path(get, path = "/api/kb/bases/{kb}/export", tag = "kb-admin", security(("bearer" = [])),
    params(("kb" = String, Path, description = "Knowledge base id"), FormatParams),
    responses(
        (status = 200, description = "The file", content_type = "text/csv", body = String),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
        (status = 404, description = "No such knowledge base", body = ErrorBody),
        (status = 422, description = "Bad parameter", body = ErrorBody),
    ))]
pub async fn export(
    State(state): State<AppState>,
    Operator(op): Operator,
    Path(kb): Path<String>,
    ApiQuery(p): ApiQuery<FormatParams>,
) -> Result<Response, ApiError> {
    let format = match (p.format.as_deref().unwrap_or("jsonl"), p.encoding.as_deref().unwrap_or("utf-8")) {
        ("jsonl", _) => Format::Jsonl,
        ("csv", "utf-8") => Format::Csv,
        ("csv", "shift_jis") => Format::CsvShiftJis,
        ("csv", other) => {
            return Err(ApiError::validation("encoding", format!("encoding: {other:?} is not utf-8 or shift_jis")))
        }
        (other, _) => return Err(ApiError::validation("format", format!("format: {other:?} is not jsonl or csv"))),
    };
    let bytes = state.kb.export(&kb, format).await?;
    audit(&state, &op, "kb.exported", &kb, json!({"bytes": bytes.len()})).await;
    let (ct, ext) = match format {
        Format::Jsonl => ("application/x-ndjson; charset=utf-8", "jsonl"),
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::CsvShiftJis => ("text/csv; charset=shift_jis", "csv"),
    };
    let disposition = format!("attachment; filename=\"{kb}.{ext}\"");
    Ok(([(CONTENT_TYPE, ct.to_string()), (CONTENT_DISPOSITION, disposition)], bytes).into_response())
}

/// The synonym dictionary (one group of equivalent terms per line).
#[utoipa::path(get, path = "/api/kb/synonyms", tag = "kb-admin", security(("bearer" = [])),
    responses(
        (status = 200, description = "The dictionary", content_type = "text/plain", body = String),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
    ))]
pub async fn get_synonyms(State(state): State<AppState>, _op: Operator) -> Response {
    ([(CONTENT_TYPE, "text/plain; charset=utf-8")], state.kb.synonyms_text()).into_response()
}

/// Replace the synonym dictionary; applies to the next search.
#[utoipa::path(put, path = "/api/kb/synonyms", tag = "kb-admin", security(("bearer" = [])),
    request_body(content = String, content_type = "text/plain"),
    responses(
        (status = 200, description = "Saved", content_type = "text/plain", body = String),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "Bad lines (import_failed, with rows)", body = ErrorBody),
    ))]
pub async fn put_synonyms(
    State(state): State<AppState>,
    Operator(op): Operator,
    body: Bytes,
) -> Result<Response, ApiError> {
    let text = std::str::from_utf8(&body).map_err(|_| ApiError::validation("body", "body: must be UTF-8 text"))?;
    state.kb.put_synonyms(text).await?;
    audit(&state, &op, "kb.synonyms_updated", "synonyms", json!({"bytes": text.len()})).await;
    Ok(([(CONTENT_TYPE, "text/plain; charset=utf-8")], state.kb.synonyms_text()).into_response())
}

/// Questions the assistants could not answer from their knowledge, most asked first.
#[utoipa::path(get, path = "/api/kb/unanswered", tag = "kb-admin", security(("bearer" = [])), params(LimitParams),
    responses(
        (status = 200, description = "Unanswered questions with counts", body = UnansweredList),
        (status = 401, description = "No valid credentials", body = ErrorBody),
        (status = 403, description = "Operators only", body = ErrorBody),
        (status = 422, description = "Bad parameter", body = ErrorBody),
    ))]
pub async fn unanswered(
    State(state): State<AppState>,
    _op: Operator,
    ApiQuery(p): ApiQuery<LimitParams>,
) -> Result<Json<UnansweredList>, ApiError> {
    let limit = p.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::validation("limit", "limit: must be between 1 and 500"));
    }
    Ok(Json(UnansweredList { questions: state.kb.unanswered(limit).await?.into_iter().map(Into::into).collect() }))
}

/// An operator's change to the knowledge base, for the audit log.
async fn audit(state: &AppState, op: &crate::auth::Caller, action: &str, target: &str, details: serde_json::Value) {
    crate::audit::record(state, Some(&op.subject_id), action, Some(target), details).await;
}
