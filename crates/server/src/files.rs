//! Files, free of HTTP: uploads streamed into object storage (a local directory or
//! S3) while they are hashed, sniffed and counted; text extracted once; per-user
//! quota; downloads and deletion by owner only; what a chat turn attaches; and the
//! objects that erasure and retention remove before the rows.

use crate::config::FilesConfig;
use crate::error::ApiError;
use axum::http::StatusCode;
use bytes::Bytes;
use futures::Stream;
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tenmon_chat::NewAttachment;
use tenmon_files::{FileError, FileKind, FileStore, S3Settings, StoredObject};
use tenmon_store::{FileRow, Store};

/// Most files one chat turn may attach.
pub const MAX_ATTACH: usize = 10;

/// Files and their storage.
#[derive(Debug, Clone)]
pub struct Files {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    objects: FileStore,
    store: Arc<dyn Store>,
    config: FilesConfig,
}

/// A file's coarse kind as stored (`image`, `pdf`, `docx`, `text`, `markdown`, `csv`).
fn kind_name(kind: FileKind) -> &'static str {
    use tenmon_files::TextFormat;
    match kind {
        FileKind::Png | FileKind::Jpeg | FileKind::Gif | FileKind::Webp => "image",
        FileKind::Pdf => "pdf",
        FileKind::Docx => "docx",
        FileKind::Text(TextFormat::Plain, _) => "text",
        FileKind::Text(TextFormat::Markdown, _) => "markdown",
        FileKind::Text(TextFormat::Csv, _) => "csv",
    }
}

/// A file error as the API says it.
pub fn api_error(e: FileError, limit: u64) -> ApiError {
    let code = match &e {
        FileError::TooLarge { .. } => {
            return ApiError::coded(
                StatusCode::PAYLOAD_TOO_LARGE,
                "file_too_large",
                format!("the file is larger than the limit of {limit} bytes"),
            )
        }
        FileError::Empty => "empty_file",
        FileError::TypeNotAllowed { .. } | FileError::ExtensionNotAllowed { .. } => "type_not_allowed",
        FileError::ExtensionMismatch { .. } => "extension_mismatch",
        FileError::NotADocx { .. } | FileError::UnreadablePdf { .. } | FileError::NotText => "unreadable_file",
        FileError::Body(_) => return ApiError::BadRequest(format!("the upload could not be read: {e}")),
        _ if !e.is_client_error() => return ApiError::Internal(format!("file storage: {e}")),
        _ => "unreadable_file",
    };
    let status = match code {
        "type_not_allowed" | "extension_mismatch" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::coded(status, code, e.to_string())
}

fn not_found() -> ApiError {
    ApiError::NotFound("file not found".into())
}

impl Files {
    /// Open the configured storage (S3 when `S3_BUCKET` is set, else the directory).
    pub fn new(config: FilesConfig, store: Arc<dyn Store>) -> Result<Self, FileError> {
        let objects = open_objects(&config)?;
        Ok(Self { inner: Arc::new(Inner { objects, store, config }) })
    }

    pub fn config(&self) -> &FilesConfig {
        &self.inner.config
    }

    /// Storage keys hide owner ids (which may be e-mail-like or `line:…`).
    fn key(owner_id: &str, id: &str) -> String {
        let owner = hex::encode(&Sha256::digest(owner_id.as_bytes())[..12]);
        format!("u/{owner}/{id}")
    }

    /// Store an upload: streamed to storage (never whole in memory), typed by its
    /// content, text extracted, counted against the owner's quota.
    pub async fn upload<S, E>(
        &self,
        owner_id: &str,
        name: &str,
        body: S,
        kb_id: Option<&str>,
    ) -> Result<FileRow, ApiError>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let cfg = &self.inner.config;
        let used = self.inner.store.files_bytes(owner_id).await?.max(0) as u64;
        let room = if cfg.quota_bytes == 0 { u64::MAX } else { cfg.quota_bytes.saturating_sub(used) };
        let quota_error = || {
            ApiError::coded(
                StatusCode::INSUFFICIENT_STORAGE,
                "storage_quota_exceeded",
                format!(
                    "your files use {used} of {} bytes; delete some (DELETE /api/files/{{id}}) to upload more",
                    cfg.quota_bytes
                ),
            )
        };
        if room == 0 {
            return Err(quota_error());
        }
        let limit = cfg.max_bytes.min(room);
        let id = uuid::Uuid::now_v7().to_string();
        let key = Self::key(owner_id, &id);
        let ingested = match tenmon_files::ingest(&self.inner.objects, &key, body, name, limit).await {
            Ok(i) => i,
            Err(FileError::TooLarge { .. }) if limit < cfg.max_bytes => return Err(quota_error()),
            Err(e) => return Err(api_error(e, cfg.max_bytes)),
        };
        let (text, truncated) = if ingested.kind.is_image() {
            (None, false)
        } else {
            match self.extract(&key, ingested.kind).await {
                Ok(x) => (Some(x.text), x.truncated),
                Err(e) => {
                    self.delete_object(&key).await;
                    return Err(api_error(e, cfg.max_bytes));
                }
            }
        };
        let row = FileRow {
            id,
            owner_id: owner_id.to_string(),
            name: ingested.safe_name,
            kind: kind_name(ingested.kind).into(),
            mime: ingested.kind.mime().into(),
            size: ingested.size as i64,
            sha256: ingested.sha256,
            storage_key: key.clone(),
            extracted_text: text,
            text_truncated: truncated,
            kb_id: kb_id.map(str::to_string),
            created_at_ms: tenmon_chat::now_ms(),
        };
        if let Err(e) = self.inner.store.put_file(&row).await {
            self.delete_object(&key).await;
            return Err(e.into());
        }
        Ok(row)
    }

    /// Extraction is CPU work (PDF parsing): off the async threads.
    async fn extract(&self, key: &str, kind: FileKind) -> Result<tenmon_files::Extracted, FileError> {
        let bytes = self.inner.objects.read_all(key, tenmon_files::MAX_EXTRACT_BYTES).await?;
        let max = self.inner.config.max_text_chars;
        match tokio::task::spawn_blocking(move || tenmon_files::extract(kind, &bytes, max)).await {
            Ok(r) => r,
            Err(e) => Err(FileError::Io(std::io::Error::other(format!("extraction task: {e}")))),
        }
    }

    async fn delete_object(&self, key: &str) {
        if let Err(e) = self.inner.objects.delete(key).await {
            tracing::warn!(error = %e, "could not delete a stored object");
        }
    }

    /// The owner's file and its bytes.
    pub async fn open(&self, owner_id: &str, id: &str) -> Result<(FileRow, StoredObject), ApiError> {
        let row = self.inner.store.file(owner_id, id).await?.ok_or_else(not_found)?;
        match self.inner.objects.get(&row.storage_key).await {
            Ok(obj) => Ok((row, obj)),
            Err(FileError::NotFound { .. }) => {
                Err(ApiError::coded(StatusCode::GONE, "file_gone", "the file's content is no longer in storage"))
            }
            Err(e) => Err(api_error(e, 0)),
        }
    }

    /// Delete the owner's file (row, attachments made from it, object).
    pub async fn delete(&self, owner_id: &str, id: &str) -> Result<(), ApiError> {
        let row = self.inner.store.delete_file(owner_id, id).await?.ok_or_else(not_found)?;
        self.delete_object(&row.storage_key).await;
        Ok(())
    }

    /// What a chat turn attaches: documents' text (kept with the conversation) and
    /// images (sent with this turn) as `data:` URLs.
    pub async fn for_turn(
        &self,
        owner_id: &str,
        ids: &[String],
    ) -> Result<(Vec<NewAttachment>, Vec<String>), ApiError> {
        if ids.len() > MAX_ATTACH {
            return Err(ApiError::validation("file_ids", format!("file_ids: at most {MAX_ATTACH} files per message")));
        }
        let mut docs = Vec::new();
        let mut images = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
            let row = self.inner.store.file(owner_id, id).await?.ok_or_else(|| {
                ApiError::validation("file_ids", format!("file_ids: no file {id:?} (upload it with POST /api/files)"))
            })?;
            if row.kind == "image" {
                let kind = FileKind::from_mime(&row.mime)
                    .ok_or_else(|| ApiError::Internal(format!("stored mime {:?} is not a known kind", row.mime)))?;
                let url = tenmon_files::data_url_from_store(&self.inner.objects, &row.storage_key, kind)
                    .await
                    .map_err(|e| api_error(e, 0))?;
                images.push(url);
            } else {
                docs.push(NewAttachment {
                    kind: "file".into(),
                    file_id: Some(row.id.clone()),
                    title: row.name.clone(),
                    url: None,
                    text: row.extracted_text.clone().unwrap_or_default(),
                });
            }
        }
        Ok((docs, images))
    }

    /// Delete the objects of these rows (erasure and retention, before the rows go).
    pub async fn delete_objects(&self, rows: &[FileRow]) -> usize {
        let mut n = 0;
        for r in rows {
            match self.inner.objects.delete(&r.storage_key).await {
                Ok(()) => n += 1,
                Err(e) => tracing::warn!(error = %e, "could not delete a stored object"),
            }
        }
        n
    }
}

/// The object storage the settings name.
pub fn open_objects(config: &FilesConfig) -> Result<FileStore, FileError> {
    match &config.s3 {
        Some(s3) => FileStore::s3(&S3Settings {
            bucket: s3.bucket.clone(),
            endpoint: s3.endpoint.clone(),
            region: s3.region.clone(),
            access_key_id: s3.access_key_id.clone(),
            secret_access_key: s3.secret_access_key.expose_secret().to_string().into(),
            allow_http: s3.endpoint.as_deref().is_some_and(|e| e.starts_with("http://")),
        }),
        None => {
            std::fs::create_dir_all(&config.dir)?;
            FileStore::local(&config.dir)
        }
    }
}

/// Write, read back and delete a small object: the storage works (for `doctor`).
pub async fn probe(objects: &FileStore) -> Result<(), FileError> {
    let key = format!("doctor/probe-{}", std::process::id());
    let body = futures::stream::iter([Ok::<Bytes, std::io::Error>(Bytes::from_static(b"tenmon-ark"))]);
    objects.put_stream(&key, body, 64).await?;
    let back = objects.read_all(&key, 64).await;
    objects.delete(&key).await?;
    match back?.as_ref() {
        b"tenmon-ark" => Ok(()),
        _ => Err(FileError::Io(std::io::Error::other("the probe object read back differently"))),
    }
}
