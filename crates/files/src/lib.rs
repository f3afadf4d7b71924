//! Files for TENMON-ARK: what an upload is, what to call it, where its bytes live, and the text
//! inside it. No HTTP here: the server maps [`FileError::code`] to responses.
//!
//! - [`sniff`]: the kind from the bytes (an allowlist: PNG, JPEG, GIF, WebP, PDF, DOCX, and
//!   UTF-8 or Shift_JIS text as `.txt`/`.md`/`.csv`), checked against the name's extension.
//! - [`sanitize_name`], [`content_disposition`]: safe display and download names.
//! - [`FileStore`]: bytes in a local directory or an S3-compatible bucket, streamed in and out.
//! - [`ingest`]: the upload flow, all of the above with nothing left behind on refusal.
//! - [`extract`], [`extract_from_store`]: bounded text extraction; [`chunk_text`]: chunks for
//!   the knowledge base; [`data_url`]: images for vision models.
//!
//! Serving is the server's part, and the sniffing here assumes it: send the stored
//! [`FileKind::mime`] with `X-Content-Type-Options: nosniff`, and everything but images as an
//! attachment ([`content_disposition`]), so no upload is ever rendered as a page of our origin.
//!
//! Dependencies, and why each: `object_store` (Apache Arrow's; one interface over a local
//! directory and S3, multipart uploads included; 0.13 is the newest on reqwest 0.12 and ring,
//! shared with the workspace), `zip` + `quick-xml` (DOCX is zipped XML; streaming parse),
//! `pdf-extract` (pure-Rust PDF text with ToUnicode CMaps), `flate2` (counting a PDF's inflated
//! size before the parser inflates it), `encoding_rs` (Shift_JIS), `unicode-normalization`
//! (NFC names), `percent-encoding` (RFC 5987), `base64` (data URLs), `secrecy` (the S3 secret),
//! `sha2`/`hex` (content hashes).

mod chunk;
mod error;
mod extract;
mod image;
mod ingest;
mod kind;
mod name;
mod sniff;
mod storage;
mod zipdir;

pub use chunk::{chunk_text, Chunk, ChunkOptions};
pub use error::{FileError, Result};
pub use extract::{extract, extract_from_store, Extracted, MAX_EXTRACT_BYTES};
pub use image::{data_url, data_url_from_store, MAX_IMAGE_BYTES};
pub use ingest::{ingest, Ingested};
pub use kind::{Charset, FileKind, TextFormat};
pub use name::{content_disposition, sanitize_name, MAX_NAME_BYTES};
pub use sniff::{sniff, sniff_complete, TextCheck, SNIFF_LEN};
pub use storage::{FileStore, PutOutcome, S3Settings, StoredObject, MAX_PARTS_IN_FLIGHT, PART_SIZE};
