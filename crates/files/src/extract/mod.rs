//! Text out of stored files, for the knowledge base and for chat attachments.
//!
//! Every extractor writes into a [`Sink`] that stops at `max_chars`, so a huge file yields a
//! bounded string and `truncated: true` instead of unbounded memory. Malformed input is an
//! error, never a panic.

mod docx;
mod pdf;
mod text;

use futures::TryStreamExt;

use crate::error::{FileError, Result};
use crate::kind::FileKind;
use crate::storage::FileStore;

/// The largest PDF or DOCX [`extract_from_store`] reads into memory.
pub const MAX_EXTRACT_BYTES: u64 = 32 << 20;

/// Text taken out of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extracted {
    /// The text, with `\n` line ends.
    pub text: String,
    /// True when the file had more text than `max_chars`.
    pub truncated: bool,
}

/// Extracts the text of a file held in memory, up to `max_chars` characters.
///
/// Text kinds are decoded from their charset (a BOM is dropped, line ends become `\n`; CSV
/// stays CSV, which models and the search index read as it is, quoted fields included). PDF
/// text comes from `pdf-extract`, DOCX paragraphs and table rows from `word/document.xml`.
/// Images have no text: [`FileError::NotExtractable`].
///
/// CPU-bound (a large PDF takes a while): the server should call it off the async workers.
pub fn extract(kind: FileKind, bytes: &[u8], max_chars: usize) -> Result<Extracted> {
    match kind {
        FileKind::Text(_, charset) => {
            let mut decoder = text::Decoder::new(charset, max_chars);
            decoder.feed(bytes, true);
            Ok(decoder.finish())
        }
        FileKind::Pdf => pdf::extract(bytes, max_chars),
        FileKind::Docx => docx::extract(bytes, max_chars),
        _ => Err(FileError::NotExtractable { kind: kind.code() }),
    }
}

/// Extracts the text of a stored file.
///
/// Text is decoded as it streams, so any size works and reading stops at `max_chars`. A PDF or
/// DOCX is read whole into memory first, and one larger than [`MAX_EXTRACT_BYTES`] is refused
/// with [`FileError::TooLarge`]. Runs the extraction on the calling task (see [`extract`]).
pub async fn extract_from_store(store: &FileStore, key: &str, kind: FileKind, max_chars: usize) -> Result<Extracted> {
    match kind {
        FileKind::Text(_, charset) => {
            let mut object = store.get(key).await?;
            let mut decoder = text::Decoder::new(charset, max_chars);
            while let Some(chunk) = object.stream.try_next().await? {
                if !decoder.feed(&chunk, false) {
                    break;
                }
            }
            decoder.feed(&[], true);
            Ok(decoder.finish())
        }
        FileKind::Pdf | FileKind::Docx => {
            let bytes = store.read_all(key, MAX_EXTRACT_BYTES).await?;
            extract(kind, &bytes, max_chars)
        }
        _ => Err(FileError::NotExtractable { kind: kind.code() }),
    }
}

/// Collects text up to a character limit, with line ends made `\n`.
pub(crate) struct Sink {
    text: String,
    chars: usize,
    max: usize,
    truncated: bool,
    after_cr: bool,
}

impl Sink {
    pub(crate) fn new(max: usize) -> Self {
        Self { text: String::new(), chars: 0, max, truncated: false, after_cr: false }
    }

    /// Appends `s`; false once the limit is reached (the rest of `s` is dropped).
    pub(crate) fn push(&mut self, s: &str) -> bool {
        for c in s.chars() {
            if !self.push_char(c) {
                return false;
            }
        }
        true
    }

    pub(crate) fn push_char(&mut self, c: char) -> bool {
        let after_cr = std::mem::replace(&mut self.after_cr, c == '\r');
        if c == '\n' && after_cr {
            return true;
        }
        if self.chars == self.max {
            self.truncated = true;
            return false;
        }
        self.text.push(if c == '\r' { '\n' } else { c });
        self.chars += 1;
        true
    }

    pub(crate) fn is_full(&self) -> bool {
        self.truncated
    }

    #[cfg(test)]
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Removes trailing characters that match `f` (the limit then has room again).
    pub(crate) fn pop_while(&mut self, f: impl Fn(char) -> bool) {
        while self.text.chars().next_back().is_some_and(&f) {
            self.text.pop();
            self.chars -= 1;
        }
    }

    pub(crate) fn finish(self) -> Extracted {
        Extracted { text: self.text, truncated: self.truncated }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_normalises_line_ends_and_stops_at_the_limit() {
        let mut sink = Sink::new(5);
        assert!(sink.push("a\r\nb\rc"));
        assert_eq!(sink.text(), "a\nb\nc");
        assert!(!sink.push("d"));
        let out = sink.finish();
        assert_eq!(out, Extracted { text: "a\nb\nc".into(), truncated: true });
    }

    #[test]
    fn images_have_no_text() {
        assert_eq!(extract(FileKind::Png, b"\x89PNG", 10).unwrap_err().code(), "not_extractable");
    }
}
