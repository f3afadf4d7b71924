//! File bytes in object storage: a local directory (the default) or an S3-compatible bucket,
//! behind one [`FileStore`].
//!
//! Uploads stream: up to [`PART_SIZE`] is buffered, a small file goes up in one `PUT`, a larger
//! one as a multipart upload with at most [`MAX_PARTS_IN_FLIGHT`] parts on the wire, so an upload
//! holds about 15 MiB of memory whatever its size. When the body fails or runs past its limit the
//! multipart upload is aborted, which leaves nothing behind (S3 drops the parts; the local
//! backend deletes its staging file).

use std::error::Error as StdError;
use std::ops::Range;
use std::path::Path as FsPath;
use std::pin::pin;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{Stream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::error::{FileError, Result};

/// Multipart part size, and the most a small upload buffers before switching to multipart.
/// 5 MiB is S3's minimum part size.
pub const PART_SIZE: usize = 5 << 20;

/// Parts uploaded at once; bounds memory to about `PART_SIZE * (MAX_PARTS_IN_FLIGHT + 1)`.
pub const MAX_PARTS_IN_FLIGHT: usize = 2;

/// The longest key we accept.
const MAX_KEY_BYTES: usize = 512;

/// Where an S3-compatible bucket is and how to sign for it.
///
/// With an `endpoint` (MinIO, moto, R2, …) requests are path-style (`<endpoint>/<bucket>/<key>`),
/// which those servers expect; without one, AWS itself with virtual-hosted-style requests.
#[derive(Clone, Debug)]
pub struct S3Settings {
    /// Bucket name; the bucket must exist.
    pub bucket: String,
    /// Base URL of a non-AWS server, e.g. `http://127.0.0.1:9000`.
    pub endpoint: Option<String>,
    /// Region, e.g. `ap-northeast-1` (any value for most S3-compatible servers).
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key; redacted in `Debug`.
    pub secret_access_key: SecretString,
    /// Allow a plain `http://` endpoint (a server on the same host or network).
    pub allow_http: bool,
}

/// What a finished upload was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutOutcome {
    /// Bytes stored.
    pub size: u64,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
}

/// A stored object being read.
pub struct StoredObject {
    /// Its size in bytes.
    pub size: u64,
    /// Its bytes, in chunks as the backend delivers them.
    pub stream: BoxStream<'static, Result<Bytes>>,
}

impl std::fmt::Debug for StoredObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredObject").field("size", &self.size).finish_non_exhaustive()
    }
}

/// File bytes under caller-made keys (e.g. `<owner>/<uuid>`), in a local directory or S3.
///
/// Cheap to clone; clones share the backend and its connection pool.
#[derive(Clone, Debug)]
pub struct FileStore {
    inner: Arc<dyn ObjectStore>,
}

impl FileStore {
    /// Files under a local directory, created if missing.
    pub fn local(root: impl AsRef<FsPath>) -> Result<Self> {
        std::fs::create_dir_all(root.as_ref())?;
        Ok(Self::from_object_store(Arc::new(LocalFileSystem::new_with_prefix(root)?)))
    }

    /// Files in an S3-compatible bucket.
    pub fn s3(settings: &S3Settings) -> Result<Self> {
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_access_key_id(&settings.access_key_id)
            .with_secret_access_key(settings.secret_access_key.expose_secret())
            .with_allow_http(settings.allow_http);
        builder = match &settings.endpoint {
            Some(endpoint) => builder.with_endpoint(endpoint).with_virtual_hosted_style_request(false),
            None => builder.with_virtual_hosted_style_request(true),
        };
        Ok(Self::from_object_store(Arc::new(builder.build()?)))
    }

    /// Any other `object_store` backend (in-memory for tests, or one wrapped with limits).
    pub fn from_object_store(inner: Arc<dyn ObjectStore>) -> Self {
        Self { inner }
    }

    /// Streams `stream` into `key`, hashing and counting as it goes, without holding the file in
    /// memory. More than `max_bytes` aborts with [`FileError::TooLarge`]; a failing stream aborts
    /// with [`FileError::Body`]. Either way nothing is left under `key` (an object already there
    /// is not touched).
    ///
    /// If this future is dropped mid-upload (the request was cancelled), an S3 multipart upload
    /// stays open until the bucket's lifecycle rule (`AbortIncompleteMultipartUpload`) removes
    /// it, and the local backend leaves a `<key>#<n>` staging file; run uploads on a task that
    /// outlives the request to avoid both.
    pub async fn put_stream<S, E>(&self, key: &str, stream: S, max_bytes: u64) -> Result<PutOutcome>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: Into<Box<dyn StdError + Send + Sync>>,
    {
        self.put_inspected(key, stream, max_bytes, |_| Ok(())).await
    }

    /// [`FileStore::put_stream`] that shows every chunk to `inspect` before it is stored; an
    /// error from `inspect` aborts the upload like a body error.
    pub(crate) async fn put_inspected<S, E, F>(
        &self,
        key: &str,
        stream: S,
        max_bytes: u64,
        mut inspect: F,
    ) -> Result<PutOutcome>
    where
        S: Stream<Item = Result<Bytes, E>> + Send,
        E: Into<Box<dyn StdError + Send + Sync>>,
        F: FnMut(&Bytes) -> Result<()> + Send,
    {
        let path = object_path(key)?;
        let mut stream = pin!(stream);
        let mut upload = Upload::Buffering(Vec::new(), 0);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        while let Some(next) = stream.next().await {
            let step = match next {
                Err(e) => Err(FileError::Body(e.into())),
                Ok(chunk) => {
                    size += chunk.len() as u64;
                    if size > max_bytes {
                        Err(FileError::TooLarge { limit: max_bytes })
                    } else {
                        hasher.update(&chunk);
                        match inspect(&chunk) {
                            Ok(()) => upload.push(&self.inner, &path, chunk).await,
                            Err(e) => Err(e),
                        }
                    }
                }
            };
            if let Err(e) = step {
                upload.abort(key).await;
                return Err(e);
            }
        }
        upload.finish(&self.inner, &path).await?;
        Ok(PutOutcome { size, sha256: hex::encode(hasher.finalize()) })
    }

    /// Reads an object as a stream, with its size.
    pub async fn get(&self, key: &str) -> Result<StoredObject> {
        let result = self.inner.get(&object_path(key)?).await.map_err(|e| not_found(e, key))?;
        let size = result.meta.size;
        let key = key.to_owned();
        let stream = result.into_stream().map_err(move |e| not_found(e, &key)).boxed();
        Ok(StoredObject { size, stream })
    }

    /// Reads a byte range of an object (for sniffing or a ZIP directory).
    pub async fn get_range(&self, key: &str, range: Range<u64>) -> Result<Bytes> {
        self.inner.get_range(&object_path(key)?, range).await.map_err(|e| not_found(e, key))
    }

    /// The size of an object.
    pub async fn size(&self, key: &str) -> Result<u64> {
        Ok(self.inner.head(&object_path(key)?).await.map_err(|e| not_found(e, key))?.size)
    }

    /// Reads a whole object into memory, refusing one larger than `limit` before reading it.
    pub async fn read_all(&self, key: &str, limit: u64) -> Result<Bytes> {
        let object = self.get(key).await?;
        if object.size > limit {
            return Err(FileError::TooLarge { limit });
        }
        let mut buf = Vec::with_capacity(usize::try_from(object.size).unwrap_or(0));
        let mut stream = object.stream;
        while let Some(chunk) = stream.try_next().await? {
            if (buf.len() + chunk.len()) as u64 > limit {
                return Err(FileError::TooLarge { limit });
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.into())
    }

    /// Deletes an object; deleting one that is not there is not an error.
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.inner.delete(&object_path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes every object under `prefix` (a whole key segment: `u1` covers `u1/x`, not
    /// `u10/x`), for erasing an owner's files. Returns how many were deleted.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        let prefix = object_path(prefix)?;
        let locations = self.inner.list(Some(&prefix)).map_ok(|meta| meta.location).boxed();
        let mut deleted = 0;
        let mut results = self.inner.delete_stream(locations);
        while let Some(result) = results.next().await {
            match result {
                Ok(_) => deleted += 1,
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(deleted)
    }

    /// The keys under `prefix` (a whole key segment), in no particular order.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>> {
        let prefix = object_path(prefix)?;
        let metas: Vec<_> = self.inner.list(Some(&prefix)).try_collect().await?;
        Ok(metas.into_iter().map(|m| m.location.to_string()).collect())
    }
}

/// Either still under [`PART_SIZE`] (one `PUT` at the end) or a multipart upload.
enum Upload {
    Buffering(Vec<Bytes>, usize),
    Multipart(WriteMultipart),
}

impl Upload {
    async fn push(&mut self, store: &Arc<dyn ObjectStore>, path: &Path, chunk: Bytes) -> Result<()> {
        match self {
            Self::Buffering(chunks, len) if *len + chunk.len() < PART_SIZE => {
                *len += chunk.len();
                chunks.push(chunk);
            }
            Self::Buffering(chunks, _) => {
                let mut writer = WriteMultipart::new_with_chunk_size(store.put_multipart(path).await?, PART_SIZE);
                for c in chunks.drain(..) {
                    writer.put(c);
                }
                writer.put(chunk);
                *self = Self::Multipart(writer);
            }
            Self::Multipart(writer) => {
                writer.wait_for_capacity(MAX_PARTS_IN_FLIGHT).await?;
                writer.put(chunk);
            }
        }
        Ok(())
    }

    async fn finish(self, store: &Arc<dyn ObjectStore>, path: &Path) -> Result<()> {
        match self {
            Self::Buffering(chunks, _) => store.put(path, PutPayload::from_iter(chunks)).await?,
            Self::Multipart(writer) => writer.finish().await?,
        };
        Ok(())
    }

    async fn abort(self, key: &str) {
        if let Self::Multipart(writer) = self {
            if let Err(error) = writer.abort().await {
                tracing::warn!(%error, key, "aborting a multipart upload failed; parts may linger");
            }
        }
    }
}

/// A caller-made key as an object path. Keys are segments of `[A-Za-z0-9._-]` joined by `/`:
/// nothing that could climb out (`..`), start at the root, or clash with the local backend's
/// `#` staging files.
pub(crate) fn object_path(key: &str) -> Result<Path> {
    let invalid = || FileError::InvalidKey { key: key.to_owned() };
    let segment_ok = |s: &str| {
        !s.is_empty() && s != "." && s != ".." && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    };
    if key.len() > MAX_KEY_BYTES || !key.split('/').all(segment_ok) {
        return Err(invalid());
    }
    Path::parse(key).map_err(|_| invalid())
}

fn not_found(e: object_store::Error, key: &str) -> FileError {
    match e {
        object_store::Error::NotFound { .. } => FileError::NotFound { key: key.to_owned() },
        e => FileError::Storage(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_could_escape_are_refused() {
        for bad in ["", "/abs", "a/../b", "..", "a//b", "a/", "a\\b", "a/./b", "a#1", "ä", "a b", &"x".repeat(600)] {
            assert_eq!(object_path(bad).unwrap_err().code(), "invalid_key", "{bad:?}");
        }
        for good in ["u1/0190a3b2-7c4e-7d1a-8b3c-123456789abc", "a", "a/b.c/d_e-f"] {
            object_path(good).unwrap();
        }
    }

    #[test]
    fn settings_debug_hides_the_secret() {
        let s = S3Settings {
            bucket: "b".into(),
            endpoint: None,
            region: "r".into(),
            access_key_id: "id".into(),
            secret_access_key: SecretString::from("hunter2"),
            allow_http: false,
        };
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
