//! The allowlist of file kinds: what each is served as and which names it may carry.

/// A file kind we accept, decided from the content (see [`crate::sniff`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// PNG image.
    Png,
    /// JPEG image.
    Jpeg,
    /// GIF image.
    Gif,
    /// WebP image.
    Webp,
    /// PDF document.
    Pdf,
    /// Word document (Office Open XML).
    Docx,
    /// Plain text in one of the text formats, with the encoding found in it.
    Text(TextFormat, Charset),
}

/// Which text format the name declares; the bytes are text either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TextFormat {
    /// `.txt`
    Plain,
    /// `.md`
    Markdown,
    /// `.csv`
    Csv,
}

/// The encoding of a text file. Kept so a Shift_JIS CSV (as Excel in Japan writes it) is served
/// with the right charset rather than as garbled UTF-8.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Charset {
    /// UTF-8, with or without a BOM (plain ASCII counts as UTF-8).
    Utf8,
    /// Shift_JIS as Windows writes it (CP932 / Windows-31J).
    ShiftJis,
}

/// Every kind with a fixed MIME type, for [`FileKind::from_mime`].
const ALL: [FileKind; 12] = [
    FileKind::Png,
    FileKind::Jpeg,
    FileKind::Gif,
    FileKind::Webp,
    FileKind::Pdf,
    FileKind::Docx,
    FileKind::Text(TextFormat::Plain, Charset::Utf8),
    FileKind::Text(TextFormat::Plain, Charset::ShiftJis),
    FileKind::Text(TextFormat::Markdown, Charset::Utf8),
    FileKind::Text(TextFormat::Markdown, Charset::ShiftJis),
    FileKind::Text(TextFormat::Csv, Charset::Utf8),
    FileKind::Text(TextFormat::Csv, Charset::ShiftJis),
];

impl FileKind {
    /// The `Content-Type` to serve the file with.
    pub fn mime(self) -> &'static str {
        use Charset::{ShiftJis, Utf8};
        use TextFormat::{Csv, Markdown, Plain};
        match self {
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Pdf => "application/pdf",
            Self::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            Self::Text(Plain, Utf8) => "text/plain; charset=utf-8",
            Self::Text(Plain, ShiftJis) => "text/plain; charset=Shift_JIS",
            Self::Text(Markdown, Utf8) => "text/markdown; charset=utf-8",
            Self::Text(Markdown, ShiftJis) => "text/markdown; charset=Shift_JIS",
            Self::Text(Csv, Utf8) => "text/csv; charset=utf-8",
            Self::Text(Csv, ShiftJis) => "text/csv; charset=Shift_JIS",
        }
    }

    /// The kind back from a stored [`FileKind::mime`] (case-insensitive), so the server can keep
    /// one column and still know how to extract.
    pub fn from_mime(mime: &str) -> Option<Self> {
        let mime = mime.trim();
        ALL.into_iter().find(|k| k.mime().eq_ignore_ascii_case(mime))
    }

    /// A short stable name for logs, metrics and error messages (`png`, `txt`, …).
    pub fn code(self) -> &'static str {
        match self {
            Self::Png => "png",
            Self::Jpeg => "jpeg",
            Self::Gif => "gif",
            Self::Webp => "webp",
            Self::Pdf => "pdf",
            Self::Docx => "docx",
            Self::Text(TextFormat::Plain, _) => "txt",
            Self::Text(TextFormat::Markdown, _) => "md",
            Self::Text(TextFormat::Csv, _) => "csv",
        }
    }

    /// True for the image kinds (the ones a vision model can take).
    pub fn is_image(self) -> bool {
        matches!(self, Self::Png | Self::Jpeg | Self::Gif | Self::Webp)
    }

    /// True for the text family (`txt`, `md`, `csv`).
    pub fn is_text(self) -> bool {
        matches!(self, Self::Text(..))
    }
}

/// What a lower-cased file-name extension declares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Declared {
    /// One binary kind.
    Binary(FileKind),
    /// A text format; the charset comes from the content.
    Text(TextFormat),
}

/// The allowlist of extensions.
pub(crate) fn declared(extension: &str) -> Option<Declared> {
    Some(match extension {
        "png" => Declared::Binary(FileKind::Png),
        "jpg" | "jpeg" => Declared::Binary(FileKind::Jpeg),
        "gif" => Declared::Binary(FileKind::Gif),
        "webp" => Declared::Binary(FileKind::Webp),
        "pdf" => Declared::Binary(FileKind::Pdf),
        "docx" => Declared::Binary(FileKind::Docx),
        "txt" | "text" => Declared::Text(TextFormat::Plain),
        "md" | "markdown" => Declared::Text(TextFormat::Markdown),
        "csv" => Declared::Text(TextFormat::Csv),
        _ => return None,
    })
}

/// The lower-cased extension of a file name (after the last dot), empty when there is none.
pub(crate) fn extension(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_round_trips_for_every_kind() {
        for kind in ALL {
            assert_eq!(FileKind::from_mime(kind.mime()), Some(kind));
        }
        assert_eq!(
            FileKind::from_mime("TEXT/CSV; CHARSET=UTF-8"),
            Some(FileKind::Text(TextFormat::Csv, Charset::Utf8))
        );
        assert_eq!(FileKind::from_mime("image/svg+xml"), None);
    }

    #[test]
    fn extension_is_lower_cased_and_needs_a_stem() {
        assert_eq!(extension("Photo.PNG"), "png");
        assert_eq!(extension("a.tar.gz"), "gz");
        assert_eq!(extension("README"), "");
        assert_eq!(extension(".env"), "");
    }
}
