//! Deciding a file's kind from its bytes, never from the client's `Content-Type`.
//!
//! Two stages, because a verdict on the first bytes is not final for every kind:
//! - [`sniff`] looks at the first [`SNIFF_LEN`] bytes and the declared name. Images and PDF are
//!   decided here by their magic numbers. A DOCX is only a ZIP at this point, and text is only
//!   text as far as the prefix goes.
//! - the final check runs once the whole file is there: [`sniff_complete`] on bytes in memory,
//!   or [`crate::ingest`] on a stored object (text through [`TextCheck`] while it streams, DOCX
//!   by reading the ZIP directory from the object's end).
//!
//! Text that opens like an HTML document, an SVG or a script is refused: served back from our
//! origin it would be a stored-XSS or script vector, and no real note or CSV starts that way.

use encoding_rs::{Decoder, DecoderResult, SHIFT_JIS, UTF_8};

use crate::error::{FileError, Result};
use crate::kind::{self, Charset, Declared, FileKind};
use crate::name::sanitize_name;
use crate::zipdir;

/// How many leading bytes [`sniff`] wants (more are ignored).
pub const SNIFF_LEN: usize = 8 * 1024;

/// What the content is, before the name is consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Content {
    Kind(FileKind),
    /// A ZIP; `word` when its first entries look like an Office document.
    Zip {
        word: bool,
    },
    Text(Charset),
    Refused(&'static str),
}

/// Decides the kind of a file from its first bytes and its declared name.
///
/// `head` is the start of the file (the first [`SNIFF_LEN`] bytes are enough; all of it for a
/// small file). `name` is the client's file name; it is sanitised here the same way as
/// [`sanitize_name`] before its extension is read.
///
/// The verdict is final for images and PDF. For [`FileKind::Docx`] and the text kinds it is
/// provisional: confirm with [`sniff_complete`] or let [`crate::ingest`] do it.
pub fn sniff(head: &[u8], name: &str) -> Result<FileKind> {
    let head = &head[..head.len().min(SNIFF_LEN)];
    if head.is_empty() {
        return Err(FileError::Empty);
    }
    let mut text = TextCheck::new();
    text.update(head);
    decide(detect(head, text.charset_so_far()), name)
}

/// Decides the kind of a file whose bytes are all here: [`sniff`], then the whole-file checks
/// (every byte is text in one charset; a ZIP really holds `word/document.xml`).
pub fn sniff_complete(bytes: &[u8], name: &str) -> Result<FileKind> {
    let kind = sniff(bytes, name)?;
    match kind {
        FileKind::Docx => zipdir::check_docx(bytes).map(|()| kind),
        FileKind::Text(format, _) => {
            let mut text = TextCheck::new();
            text.update(bytes);
            text.finish().map(|charset| FileKind::Text(format, charset)).ok_or(FileError::NotText)
        }
        _ => Ok(kind),
    }
}

/// Checks the declared extension against the allowlist, before any byte has arrived.
pub(crate) fn check_extension(name: &str) -> Result<()> {
    let extension = kind::extension(&sanitize_name(name));
    match kind::declared(&extension) {
        Some(_) => Ok(()),
        None => Err(FileError::ExtensionNotAllowed { extension }),
    }
}

fn decide(content: Content, name: &str) -> Result<FileKind> {
    let (detected, kind) = match content {
        Content::Refused(what) => return Err(FileError::TypeNotAllowed { detected: what.to_owned() }),
        Content::Kind(k) => (k.code(), Some(k)),
        Content::Zip { word } => ("docx", word.then_some(FileKind::Docx)),
        Content::Text(_) => ("text", None),
    };
    let extension = kind::extension(&sanitize_name(name));
    let declared =
        kind::declared(&extension).ok_or_else(|| FileError::ExtensionNotAllowed { extension: extension.clone() })?;
    match (declared, content) {
        (Declared::Text(format), Content::Text(charset)) => Ok(FileKind::Text(format, charset)),
        // A ZIP named .docx is a DOCX candidate even if its first entry is unusual; the
        // directory check decides.
        (Declared::Binary(FileKind::Docx), Content::Zip { .. }) => Ok(FileKind::Docx),
        (Declared::Binary(d), _) if Some(d) == kind => Ok(d),
        (_, Content::Zip { word: false }) => Err(FileError::TypeNotAllowed { detected: "zip".to_owned() }),
        _ => Err(FileError::ExtensionMismatch { extension, detected: detected.to_owned() }),
    }
}

fn detect(head: &[u8], text: Option<Charset>) -> Content {
    const MAGIC: &[(&[u8], Content)] = &[
        (b"\x89PNG\r\n\x1a\n", Content::Kind(FileKind::Png)),
        (b"\xff\xd8\xff", Content::Kind(FileKind::Jpeg)),
        (b"GIF87a", Content::Kind(FileKind::Gif)),
        (b"GIF89a", Content::Kind(FileKind::Gif)),
        (b"%PDF-", Content::Kind(FileKind::Pdf)),
        (b"\x7fELF", Content::Refused("elf")),
        (b"\xfe\xed\xfa\xce", Content::Refused("mach-o")),
        (b"\xfe\xed\xfa\xcf", Content::Refused("mach-o")),
        (b"\xce\xfa\xed\xfe", Content::Refused("mach-o")),
        (b"\xcf\xfa\xed\xfe", Content::Refused("mach-o")),
        (b"\xca\xfe\xba\xbe", Content::Refused("mach-o")),
        (b"\0asm", Content::Refused("wasm")),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", Content::Refused("ole (legacy or encrypted Office)")),
        (b"\x1f\x8b", Content::Refused("gzip")),
        (b"7z\xbc\xaf\x27\x1c", Content::Refused("7z")),
        (b"Rar!\x1a\x07", Content::Refused("rar")),
        (b"BZh", Content::Refused("bzip2")),
        (b"\xfd7zXZ\0", Content::Refused("xz")),
        (b"\xff\xfe", Content::Refused("utf-16 text (save as UTF-8)")),
        (b"\xfe\xff", Content::Refused("utf-16 text (save as UTF-8)")),
    ];
    if let Some((_, content)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
        return *content;
    }
    if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        return Content::Kind(FileKind::Webp);
    }
    if head.starts_with(b"PK\x03\x04") {
        return Content::Zip { word: looks_like_office(head) };
    }
    // "MZ" alone is also how a line of text may start; a PE file has NULs right after it.
    if head.starts_with(b"MZ") && head.contains(&0) {
        return Content::Refused("exe");
    }
    match text {
        Some(charset) => match markup(head) {
            Some(what) => Content::Refused(what),
            None => Content::Text(charset),
        },
        None => Content::Refused("binary"),
    }
}

/// Office writers put `[Content_Types].xml` or a `word/`, `_rels/` or `docProps/` entry first;
/// used only to word the error for a DOCX with the wrong name.
fn looks_like_office(head: &[u8]) -> bool {
    let name_len = head.get(26..28).map_or(0, |b| usize::from(u16::from_le_bytes([b[0], b[1]])));
    let first = head.get(30..30 + name_len).unwrap_or_default();
    [&b"[Content_Types].xml"[..], b"word/", b"_rels/", b"docProps/"].iter().any(|p| first.starts_with(p))
}

/// Text that opens as active content a browser would run.
fn markup(head: &[u8]) -> Option<&'static str> {
    let start = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    let start = &start[start.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(start.len())..];
    let lower: Vec<u8> = start.iter().take(16).map(u8::to_ascii_lowercase).collect();
    const OPENERS: &[(&[u8], &str)] = &[
        (b"<!doctype html", "html"),
        (b"<html", "html"),
        (b"<head", "html"),
        (b"<body", "html"),
        (b"<iframe", "html"),
        (b"<script", "html"),
        (b"<svg", "svg"),
        (b"<?xml", "xml"),
        (b"#!", "script"),
    ];
    OPENERS.iter().find(|(opener, _)| lower.starts_with(opener)).map(|(_, what)| *what)
}

/// Streaming check that bytes are text: UTF-8 (with or without BOM) or Shift_JIS (CP932),
/// without NUL or other control bytes that text does not have.
///
/// Fed chunk by chunk, it keeps only two decoders and a scratch buffer, so it can watch a whole
/// upload go by. UTF-8 wins when both decodings work (ASCII is both).
pub struct TextCheck {
    utf8: Option<Decoder>,
    sjis: Option<Decoder>,
    control: bool,
    scratch: Box<[u8]>,
}

impl Default for TextCheck {
    fn default() -> Self {
        Self::new()
    }
}

impl TextCheck {
    /// A check that has seen nothing yet.
    pub fn new() -> Self {
        Self {
            utf8: Some(UTF_8.new_decoder_without_bom_handling()),
            sjis: Some(SHIFT_JIS.new_decoder_without_bom_handling()),
            control: false,
            scratch: vec![0; 4096].into_boxed_slice(),
        }
    }

    /// Feeds the next bytes of the file.
    pub fn update(&mut self, chunk: &[u8]) {
        if self.control {
            return;
        }
        // TAB, LF, VT, FF, CR and ESC (ANSI colours in logs) are fine; the rest marks binary.
        self.control = chunk.iter().any(|&b| matches!(b, 0x00..=0x08 | 0x0e..=0x1a | 0x1c..=0x1f));
        self.feed(chunk, false);
    }

    /// The charset the bytes so far fit, allowing a character cut off at the end.
    pub fn charset_so_far(&self) -> Option<Charset> {
        match (self.control, &self.utf8, &self.sjis) {
            (true, _, _) | (false, None, None) => None,
            (false, Some(_), _) => Some(Charset::Utf8),
            (false, None, Some(_)) => Some(Charset::ShiftJis),
        }
    }

    /// The charset the whole file fits, or `None` when it is not text.
    pub fn finish(mut self) -> Option<Charset> {
        self.feed(&[], true);
        self.charset_so_far()
    }

    fn feed(&mut self, chunk: &[u8], last: bool) {
        for slot in [&mut self.utf8, &mut self.sjis] {
            if let Some(decoder) = slot {
                if !decodes(decoder, chunk, last, &mut self.scratch) {
                    *slot = None;
                }
            }
        }
    }
}

fn decodes(decoder: &mut Decoder, mut src: &[u8], last: bool, scratch: &mut [u8]) -> bool {
    loop {
        let (result, read, _) = decoder.decode_to_utf8_without_replacement(src, scratch, last);
        src = &src[read..];
        match result {
            DecoderResult::InputEmpty => return true,
            DecoderResult::OutputFull => continue,
            DecoderResult::Malformed(..) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kind::TextFormat;
    use crate::zipdir::tests::zip_with;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    const JPEG: &[u8] = b"\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0";
    const GIF: &[u8] = b"GIF89a\x01\0\x01\0\x80\0\0\0\0\0\xff\xff\xff!\xf9\x04";
    const WEBP: &[u8] = b"RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0\x30\x01\0\x9d\x01\x2a";
    const PDF: &[u8] = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n";
    const ELF: &[u8] = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x02\0\x3e\0";
    const EXE: &[u8] = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0";

    fn text(format: TextFormat) -> FileKind {
        FileKind::Text(format, Charset::Utf8)
    }

    fn code(result: Result<FileKind>) -> String {
        match result {
            Ok(kind) => format!("ok:{}", kind.code()),
            Err(FileError::TypeNotAllowed { detected }) => format!("type_not_allowed:{detected}"),
            Err(FileError::ExtensionMismatch { extension, detected }) => {
                format!("extension_mismatch:{extension}/{detected}")
            }
            Err(FileError::ExtensionNotAllowed { extension }) => format!("extension_not_allowed:{extension}"),
            Err(e) => e.code().to_owned(),
        }
    }

    #[test]
    fn sniffing_table() {
        let docx = zip_with(&[("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document/>")]);
        let plain_zip = zip_with(&[("a.txt", b"hi")]);
        let sjis_csv = SHIFT_JIS.encode("品名,価格\r\nりんご,100\r\n").0.into_owned();
        let cases: &[(&[u8], &str, &str)] = &[
            (PNG, "photo.png", "ok:png"),
            (PNG, "PHOTO.PNG", "ok:png"),
            (JPEG, "a.jpg", "ok:jpeg"),
            (JPEG, "a.jpeg", "ok:jpeg"),
            (GIF, "a.gif", "ok:gif"),
            (WEBP, "a.webp", "ok:webp"),
            (PDF, "請求書 2026.pdf", "ok:pdf"),
            (&docx, "report.docx", "ok:docx"),
            (b"hello\n", "a.txt", "ok:txt"),
            (b"# Title\n", "a.md", "ok:md"),
            (b"a,b\n1,2\n", "a.csv", "ok:csv"),
            (&sjis_csv, "売上.csv", "ok:csv"),
            ("\u{feff}見出し\n".as_bytes(), "a.md", "ok:md"),
            // A script renamed .png, HTML renamed .txt, binaries.
            (b"#!/bin/sh\nrm -rf /\n", "evil.png", "type_not_allowed:script"),
            (b"#!/bin/sh\nrm -rf /\n", "evil.txt", "type_not_allowed:script"),
            (b"echo pwned\n", "evil.png", "extension_mismatch:png/text"),
            (b"<!DOCTYPE html><script>alert(1)</script>", "page.txt", "type_not_allowed:html"),
            (b"\n  <html><body>", "page.md", "type_not_allowed:html"),
            (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "x.txt", "type_not_allowed:svg"),
            (b"<?xml version='1.0'?><svg/>", "x.csv", "type_not_allowed:xml"),
            (b"<SCRIPT>alert(1)</SCRIPT>", "x.txt", "type_not_allowed:html"),
            (ELF, "tool.txt", "type_not_allowed:elf"),
            (ELF, "tool.png", "type_not_allowed:elf"),
            (EXE, "setup.pdf", "type_not_allowed:exe"),
            (b"MZ Corp quarterly notes\n", "notes.txt", "ok:txt"),
            (b"\x1f\x8b\x08\0\0\0\0\0", "a.txt", "type_not_allowed:gzip"),
            (&plain_zip, "a.docx", "ok:docx"), // provisional: sniff_complete refuses it
            (&plain_zip, "a.txt", "type_not_allowed:zip"),
            (&docx, "a.pdf", "extension_mismatch:pdf/docx"),
            (b"\xff\xfeh\0i\0", "a.txt", "type_not_allowed:utf-16 text (save as UTF-8)"),
            (b"\0\x01\x02\x03binary", "a.txt", "type_not_allowed:binary"),
            (b"a\0b", "a.txt", "type_not_allowed:binary"),
            // Extension mismatches within and across families.
            (PNG, "notes.txt", "extension_mismatch:txt/png"),
            (PNG, "photo.jpg", "extension_mismatch:jpg/png"),
            (PDF, "a.docx", "extension_mismatch:docx/pdf"),
            (PNG, "photo.bmp", "extension_not_allowed:bmp"),
            (b"hello", "README", "extension_not_allowed:"),
            (b"hello", "run.sh", "extension_not_allowed:sh"),
            (b"hello", "x.html", "extension_not_allowed:html"),
            (b"", "a.txt", "empty_file"),
            // The name is sanitised first: the bidi trick and trailing dots don't help.
            (PNG, "photo\u{202E}gnp.exe", "extension_not_allowed:exe"),
            (PNG, "photo.png. ", "ok:png"),
        ];
        for (bytes, name, want) in cases {
            assert_eq!(code(sniff(bytes, name)), *want, "sniff({name:?})");
        }
    }

    #[test]
    fn text_kinds_follow_the_extension_and_the_charset() {
        assert_eq!(sniff(b"x", "a.markdown").unwrap(), text(TextFormat::Markdown));
        assert_eq!(sniff(b"x", "a.TXT").unwrap(), text(TextFormat::Plain));
        let sjis = SHIFT_JIS.encode("こんにちは").0.into_owned();
        assert_eq!(sniff(&sjis, "a.txt").unwrap(), FileKind::Text(TextFormat::Plain, Charset::ShiftJis));
        assert_eq!(sniff(&sjis, "a.txt").unwrap().mime(), "text/plain; charset=Shift_JIS");
    }

    #[test]
    fn a_character_cut_at_the_sniff_window_is_still_text() {
        let mut bytes = vec![b'a'; SNIFF_LEN - 1];
        bytes.extend_from_slice("あ".as_bytes());
        assert_eq!(sniff(&bytes, "a.txt").unwrap(), text(TextFormat::Plain));
        // ...but the whole file must be complete.
        assert_eq!(sniff_complete(&bytes[..SNIFF_LEN], "a.txt").unwrap_err().code(), "not_text");
    }

    #[test]
    fn complete_checks_see_the_whole_file() {
        let docx = zip_with(&[("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document/>")]);
        assert_eq!(sniff_complete(&docx, "a.docx").unwrap(), FileKind::Docx);
        let plain_zip = zip_with(&[("a.txt", b"hi")]);
        assert_eq!(sniff_complete(&plain_zip, "a.docx").unwrap_err().code(), "not_a_docx");
        // ASCII at the start, Shift_JIS after the sniff window: the charset is decided by all of it.
        let mut mixed = vec![b'a'; SNIFF_LEN * 2];
        mixed.extend_from_slice(&SHIFT_JIS.encode("価格").0);
        assert_eq!(sniff(&mixed, "a.csv").unwrap(), text(TextFormat::Csv));
        assert_eq!(sniff_complete(&mixed, "a.csv").unwrap(), FileKind::Text(TextFormat::Csv, Charset::ShiftJis));
        // A NUL far into a "text" file.
        let mut nul = vec![b'a'; SNIFF_LEN * 2];
        nul.push(0);
        assert_eq!(sniff_complete(&nul, "a.txt").unwrap_err().code(), "not_text");
    }

    #[test]
    fn text_check_streams() {
        let utf8 = "日本語のテキスト".as_bytes();
        let mut check = TextCheck::new();
        for byte in utf8 {
            check.update(std::slice::from_ref(byte));
        }
        assert_eq!(check.finish(), Some(Charset::Utf8));
        let mut check = TextCheck::new();
        check.update(&[0x82]); // a Shift_JIS lead byte with its trail missing
        assert_eq!(check.charset_so_far(), Some(Charset::ShiftJis));
        assert_eq!(check.finish(), None);
        let mut check = TextCheck::new();
        check.update(b"ok\x1b[31m red\x1b[0m\t\r\n\x0c");
        assert_eq!(check.finish(), Some(Charset::Utf8));
    }
}
