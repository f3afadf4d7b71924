//! The crate's one error type, with a stable snake_case code per variant.

use std::error::Error as StdError;

/// Everything that can go wrong with a file, from refusing its type to a storage outage.
///
/// [`FileError::code`] is stable and meant for API bodies; [`FileError::is_client_error`] tells
/// the server whether the uploader (4xx) or the system (5xx) is at fault, so this crate stays
/// free of HTTP types.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The upload had no bytes.
    #[error("the file is empty")]
    Empty,
    /// The content is of a type we do not accept (named by what was detected).
    #[error("file type not allowed: {detected}")]
    TypeNotAllowed {
        /// What the content looks like, e.g. `zip`, `html`, `elf`, `binary`.
        detected: String,
    },
    /// The file name's extension is not one we accept.
    #[error("file extension not allowed: {extension:?}")]
    ExtensionNotAllowed {
        /// The lower-cased extension, empty when the name has none.
        extension: String,
    },
    /// The content is an allowed type but the name claims another.
    #[error("the file name says .{extension} but the content is {detected}")]
    ExtensionMismatch {
        /// The lower-cased extension of the name.
        extension: String,
        /// What the content is.
        detected: String,
    },
    /// More bytes than the caller's limit.
    #[error("the file is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// A ZIP that is not a Word document (no `word/document.xml`), or a broken one.
    #[error("not a DOCX document: {reason}")]
    NotADocx {
        /// What was missing or broken.
        reason: String,
    },
    /// A PDF that could not be parsed (or made the parser panic).
    #[error("unreadable PDF: {reason}")]
    UnreadablePdf {
        /// The parser's complaint.
        reason: String,
    },
    /// Text that is neither UTF-8 nor Shift_JIS, or holds binary control bytes.
    #[error("not valid text (UTF-8 or Shift_JIS without control bytes)")]
    NotText,
    /// Text extraction was asked of a kind that has none (an image).
    #[error("no text can be extracted from {kind}")]
    NotExtractable {
        /// The kind's short code, e.g. `png`.
        kind: &'static str,
    },
    /// An image was expected.
    #[error("not an image: {kind}")]
    NotAnImage {
        /// The kind's short code.
        kind: &'static str,
    },
    /// A storage key that could escape its prefix or is not of our shape.
    #[error("invalid storage key: {key:?}")]
    InvalidKey {
        /// The key as given.
        key: String,
    },
    /// No object under that key.
    #[error("no stored object at {key:?}")]
    NotFound {
        /// The key as given.
        key: String,
    },
    /// The upload stream failed (the client went away or sent a broken body).
    #[error("reading the upload failed: {0}")]
    Body(#[source] Box<dyn StdError + Send + Sync>),
    /// The storage backend failed.
    #[error("storage failed: {0}")]
    Storage(#[from] object_store::Error),
    /// Local I/O failed (creating the storage directory).
    #[error("file system error: {0}")]
    Io(#[from] std::io::Error),
}

/// Shorthand used across the crate.
pub type Result<T, E = FileError> = std::result::Result<T, E>;

impl FileError {
    /// A stable snake_case code for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty_file",
            Self::TypeNotAllowed { .. } => "type_not_allowed",
            Self::ExtensionNotAllowed { .. } => "extension_not_allowed",
            Self::ExtensionMismatch { .. } => "extension_mismatch",
            Self::TooLarge { .. } => "too_large",
            Self::NotADocx { .. } => "not_a_docx",
            Self::UnreadablePdf { .. } => "unreadable_pdf",
            Self::NotText => "not_text",
            Self::NotExtractable { .. } => "not_extractable",
            Self::NotAnImage { .. } => "not_an_image",
            Self::InvalidKey { .. } => "invalid_key",
            Self::NotFound { .. } => "not_found",
            Self::Body(_) => "body_read",
            Self::Storage(_) => "storage",
            Self::Io(_) => "io",
        }
    }

    /// True when the uploader's input is at fault (a 4xx), false for our own failures (a 5xx).
    ///
    /// `InvalidKey` counts as ours: keys are made by the server, never by a client.
    pub fn is_client_error(&self) -> bool {
        !matches!(self, Self::InvalidKey { .. } | Self::Storage(_) | Self::Io(_))
    }
}
