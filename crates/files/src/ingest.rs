//! The whole upload flow: stream into storage while sniffing, hashing and counting, then make
//! the final type check and delete the object if it fails.

use std::error::Error as StdError;

use bytes::Bytes;
use futures::Stream;

use crate::error::{FileError, Result};
use crate::kind::FileKind;
use crate::name::sanitize_name;
use crate::sniff::{self, TextCheck, SNIFF_LEN};
use crate::storage::FileStore;
use crate::zipdir::{self, CentralDir};

/// A stored upload whose type has been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingested {
    /// What the content is.
    pub kind: FileKind,
    /// Bytes stored.
    pub size: u64,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
    /// The sanitised name to show and to download under.
    pub safe_name: String,
}

/// Stores an upload under `key` and decides its kind; on any refusal nothing stays stored.
///
/// Memory stays bounded whatever the size: the first [`SNIFF_LEN`] bytes are kept for
/// sniffing, text is checked as it streams by ([`TextCheck`]), a DOCX is confirmed by reading
/// its ZIP directory back from storage, and the upload itself buffers at most a few parts (see
/// [`FileStore::put_stream`]). The extension is checked before the first byte is read, and the
/// content as soon as the first [`SNIFF_LEN`] bytes are in, so a refused file is not uploaded
/// in full.
pub async fn ingest<S, E>(store: &FileStore, key: &str, stream: S, name: &str, max_bytes: u64) -> Result<Ingested>
where
    S: Stream<Item = Result<Bytes, E>> + Send,
    E: Into<Box<dyn StdError + Send + Sync>>,
{
    let safe_name = sanitize_name(name);
    sniff::check_extension(&safe_name)?;
    let mut probe = Probe { head: Vec::with_capacity(SNIFF_LEN), kind: None, text: TextCheck::new() };
    let stored = store.put_inspected(key, stream, max_bytes, |chunk| probe.see(chunk, &safe_name)).await?;
    match confirm(store, key, probe, &safe_name, stored.size).await {
        Ok(kind) => Ok(Ingested { kind, size: stored.size, sha256: stored.sha256, safe_name }),
        Err(e) => {
            if let Err(error) = store.delete(key).await {
                tracing::warn!(%error, key, "deleting a refused upload failed");
            }
            Err(e)
        }
    }
}

/// What ingest keeps while the upload streams by.
struct Probe {
    head: Vec<u8>,
    /// The provisional verdict, once [`SNIFF_LEN`] bytes are in.
    kind: Option<FileKind>,
    text: TextCheck,
}

impl Probe {
    fn see(&mut self, chunk: &[u8], name: &str) -> Result<()> {
        if self.kind.is_none() {
            let room = SNIFF_LEN - self.head.len();
            self.head.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if self.head.len() == SNIFF_LEN {
                self.kind = Some(sniff::sniff(&self.head, name)?);
            }
        }
        // Only text needs every byte looked at; anything else was decided by its head.
        if self.kind.is_none_or(FileKind::is_text) {
            self.text.update(chunk);
        }
        Ok(())
    }
}

async fn confirm(store: &FileStore, key: &str, probe: Probe, name: &str, size: u64) -> Result<FileKind> {
    let kind = match probe.kind {
        Some(kind) => kind,
        None => sniff::sniff(&probe.head, name)?,
    };
    match kind {
        FileKind::Text(format, _) => {
            probe.text.finish().map(|charset| FileKind::Text(format, charset)).ok_or(FileError::NotText)
        }
        FileKind::Docx => {
            check_stored_docx(store, key, size).await?;
            Ok(kind)
        }
        _ => Ok(kind),
    }
}

/// Confirms a stored ZIP is a Word document from its directory, with one or two ranged reads.
async fn check_stored_docx(store: &FileStore, key: &str, size: u64) -> Result<()> {
    let tail_start = size.saturating_sub(zipdir::TAIL_LEN);
    let tail = store.get_range(key, tail_start..size).await?;
    match zipdir::locate(&tail, tail_start)? {
        CentralDir::InTail(range) => zipdir::check_docx_entries(&tail[range]),
        CentralDir::At(range) => zipdir::check_docx_entries(&store.get_range(key, range).await?),
    }
}
