//! Safe file names from client-supplied ones, and the `Content-Disposition` to serve them with.
//!
//! The name is only ever shown and offered for download (storage keys are the server's own),
//! so it is cleaned for that: nothing that reads as a path, fools the eye (bidi overrides) or
//! trips Windows when the file is saved.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC};
use unicode_normalization::UnicodeNormalization;

/// The longest name we keep, in UTF-8 bytes (file systems allow 255; this leaves room).
pub const MAX_NAME_BYTES: usize = 200;

/// Used when nothing is left of the name.
const FALLBACK: &str = "file";

/// An extension longer than this is treated as part of the stem when truncating.
const MAX_EXTENSION_BYTES: usize = 16;

/// Device names Windows reserves whatever the extension (`CON.txt` cannot be created).
const WINDOWS_RESERVED: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2",
    "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// A safe display and download name from a client-supplied one.
///
/// NFC-normalises (macOS sends decomposed kana); keeps only the last path component (both `/`
/// and `\`); drops control characters, bidi controls (the `gpj.exe` trick) and invisible
/// zero-width marks; replaces the characters Windows forbids; strips leading dots and spaces
/// and trailing dots and spaces; prefixes Windows device names (`CON.txt` → `_CON.txt`); caps
/// the length at [`MAX_NAME_BYTES`] on a character boundary, keeping the extension. An empty
/// result becomes `file`. Japanese names pass unchanged: `請求書 2026.pdf`.
pub fn sanitize_name(raw: &str) -> String {
    let nfc: String = raw.nfc().collect();
    let last = nfc.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .filter(|&c| !c.is_control() && !is_invisible(c))
        .map(|c| if matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*') { '_' } else { c })
        .collect();
    let trimmed = cleaned.trim_start_matches(|c: char| c == '.' || c.is_whitespace());
    let mut name = trim_end(trimmed).to_owned();
    let stem = name.split('.').next().unwrap_or_default().trim_end();
    if WINDOWS_RESERVED.iter().any(|r| r.eq_ignore_ascii_case(stem)) {
        name.insert(0, '_');
    }
    let name = cap(&name);
    if name.is_empty() {
        FALLBACK.to_owned()
    } else {
        name
    }
}

/// Bidi embeddings, overrides and isolates, marks, and zero-width characters that hide what
/// a name really ends with. ZWJ/ZWNJ stay: emoji and some scripts need them.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}' | '\u{061C}'
        | '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{2028}' | '\u{2029}')
}

fn trim_end(s: &str) -> &str {
    s.trim_end_matches(|c: char| c == '.' || c.is_whitespace())
}

/// Cuts to [`MAX_NAME_BYTES`] on a character boundary, keeping a short extension.
fn cap(name: &str) -> String {
    if name.len() <= MAX_NAME_BYTES {
        return name.to_owned();
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() && ext.len() <= MAX_EXTENSION_BYTES => (stem, &name[stem.len()..]),
        _ => (name, ""),
    };
    let mut end = MAX_NAME_BYTES - ext.len();
    while !stem.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{ext}", trim_end(&stem[..end]))
}

/// RFC 5987 `attr-char`: everything else is percent-encoded in `filename*`.
const ATTR_CHAR: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// A `Content-Disposition` header value that downloads the file under its (sanitised) name:
/// `attachment; filename="<ASCII fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266,
/// RFC 5987). Old clients read the ASCII fallback, every current browser the UTF-8 name.
pub fn content_disposition(name: &str) -> String {
    let name = sanitize_name(name);
    let encoded = percent_encoding::utf8_percent_encode(&name, ATTR_CHAR);
    format!("attachment; filename=\"{}\"; filename*=UTF-8''{encoded}", ascii_fallback(&name))
}

/// The name with every non-ASCII character (and `"`, `\`) as `_`; `file.<ext>` when no letter
/// or digit would be left of the stem, as with an all-Japanese name.
fn ascii_fallback(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| if (c.is_ascii_graphic() && c != '"' && c != '\\') || c == ' ' { c } else { '_' })
        .collect();
    let (stem, ext) = match ascii.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => (stem, &ascii[stem.len()..]),
        _ => (ascii.as_str(), ""),
    };
    if stem.chars().any(|c| c.is_ascii_alphanumeric()) {
        ascii
    } else {
        format!("{FALLBACK}{ext}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitizes_paths_and_odd_names() {
        let cases = [
            ("../../etc/passwd", "passwd"),
            ("C:\\Windows\\x.exe", "x.exe"),
            ("..", "file"),
            ("...", "file"),
            ("", "file"),
            ("   ", "file"),
            ("/", "file"),
            ("dir/", "file"),
            (".htaccess", "htaccess"),
            ("CON.txt", "_CON.txt"),
            ("con", "_con"),
            ("Com1.tar.gz", "_Com1.tar.gz"),
            ("nul .txt", "_nul .txt"),
            ("CONSOLE.txt", "CONSOLE.txt"),
            ("report.pdf. . ", "report.pdf"),
            ("a\u{0000}b\u{001f}c\n.txt", "abc.txt"),
            ("invoice\u{202E}gpj.exe", "invoicegpj.exe"),
            ("\u{2067}x\u{2069}.png", "x.png"),
            ("what?<>:\"|*.txt", "what_______.txt"),
            ("請求書 2026.pdf", "請求書 2026.pdf"),
            ("  スペース.md  ", "スペース.md"),
        ];
        for (raw, want) in cases {
            assert_eq!(sanitize_name(raw), want, "sanitize_name({raw:?})");
        }
    }

    #[test]
    fn nfc_composes_decomposed_kana() {
        // "ガイド" as macOS sends it: カ + combining voiced mark.
        let decomposed = "\u{30AB}\u{3099}\u{30A4}\u{30C9}.txt";
        assert_eq!(sanitize_name(decomposed), "ガイド.txt");
    }

    #[test]
    fn long_japanese_names_are_cut_on_a_char_boundary_keeping_the_extension() {
        let raw = format!("{}.pdf", "長い名前".repeat(40)); // 480 bytes of stem
        let name = sanitize_name(&raw);
        assert!(name.len() <= MAX_NAME_BYTES, "{} bytes", name.len());
        assert!(name.ends_with(".pdf"));
        assert!(name.starts_with("長い名前長い"));
        // 196 bytes for the stem: 65 whole three-byte characters.
        assert_eq!(name.chars().count(), 65 + 4);
    }

    #[test]
    fn a_long_name_without_extension_is_cut_too() {
        let name = sanitize_name(&"あ".repeat(100));
        assert_eq!(name.len(), 198);
    }

    #[test]
    fn content_disposition_has_ascii_fallback_and_utf8_name() {
        assert_eq!(
            content_disposition("請求書 2026.pdf"),
            "attachment; filename=\"___ 2026.pdf\"; filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8%202026.pdf"
        );
        assert_eq!(
            content_disposition("見積書.pdf"),
            "attachment; filename=\"file.pdf\"; filename*=UTF-8''%E8%A6%8B%E7%A9%8D%E6%9B%B8.pdf"
        );
        assert_eq!(
            content_disposition("report (final).txt"),
            "attachment; filename=\"report (final).txt\"; filename*=UTF-8''report%20%28final%29.txt"
        );
    }

    #[test]
    fn content_disposition_cannot_inject_headers_or_quotes() {
        let value = content_disposition("a\"b\\c\r\nSet-Cookie: x=1.txt");
        assert!(!value.contains('\r') && !value.contains('\n'));
        assert_eq!(value.matches('"').count(), 2, "{value}");
    }
}
