//! Turning response bytes into text: the `Content-Type` header, then the body's own
//! declaration, then UTF-8. Japanese sites still serve plenty of Shift_JIS and EUC-JP.

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// How far into an HTML document we look for `<meta charset>`. The HTML standard says 1024
/// bytes; real pages put long comments and scripts first, so we look a little further.
const META_SCAN_BYTES: usize = 4096;

/// A `Content-Type` header split into its lowercase essence and its charset, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentType {
    pub essence: String,
    pub charset: Option<String>,
}

impl ContentType {
    pub fn parse(header: &str) -> Self {
        let mut parts = header.split(';');
        let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let charset = parts.find_map(|param| {
            let (name, value) = param.split_once('=')?;
            name.trim().eq_ignore_ascii_case("charset").then(|| value.trim().trim_matches(['"', '\'']).to_owned())
        });
        Self { essence, charset }
    }
}

/// Decodes `bytes`. A byte-order mark wins, then the header's charset, then (for HTML) a
/// `<meta>` declaration, then UTF-8 when the bytes are UTF-8, else a guess from the bytes
/// (chardetng, the detector Firefox uses: old Japanese pages often declare nothing and
/// are Shift_JIS or EUC-JP). Undecodable bytes become U+FFFD rather than failing: a
/// reader would rather show a few replacement characters than nothing.
pub fn decode(bytes: &[u8], header_charset: Option<&str>, is_html: bool) -> String {
    let declared = header_charset
        .and_then(|label| Encoding::for_label(label.as_bytes()))
        .or_else(|| is_html.then(|| meta_charset(bytes)).flatten())
        .unwrap_or_else(|| guess(bytes));
    // `decode` sniffs the BOM itself and lets it override `declared`.
    let (text, _, _) = declared.decode(bytes);
    text.into_owned()
}

/// Nothing declared: UTF-8 if the bytes are UTF-8, else what they look like.
fn guess(bytes: &[u8]) -> &'static Encoding {
    if std::str::from_utf8(bytes).is_ok() {
        return UTF_8;
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    detector.guess(None, true)
}

/// The encoding an HTML document declares in `<meta charset=...>` or
/// `<meta http-equiv="Content-Type" content="...; charset=...">`.
fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(META_SCAN_BYTES)];
    let lower = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(start) = find(&lower[from..], b"<meta").map(|i| i + from) {
        let end = find(&lower[start..], b">").map_or(lower.len(), |i| i + start);
        let tag = &lower[start..end];
        if let Some(at) = find(tag, b"charset") {
            let rest = tag[at + b"charset".len()..].trim_ascii_start();
            if let Some(value) = rest.strip_prefix(b"=") {
                let value = value.trim_ascii_start();
                let value = value.strip_prefix(b"\"").or_else(|| value.strip_prefix(b"'")).unwrap_or(value);
                let len = value.iter().position(|b| matches!(b, b'"' | b'\'' | b';' | b'/') || b.is_ascii_whitespace());
                if let Some(encoding) = Encoding::for_label(&value[..len.unwrap_or(value.len())]) {
                    return Some(html_override(encoding));
                }
            }
        }
        from = end;
    }
    None
}

/// The HTML standard's corrections to a `<meta>` declaration: a document that could declare
/// UTF-16 in ASCII is not UTF-16, and x-user-defined means windows-1252.
fn html_override(encoding: &'static Encoding) -> &'static Encoding {
    if encoding == encoding_rs::UTF_16LE || encoding == encoding_rs::UTF_16BE {
        UTF_8
    } else if encoding == encoding_rs::X_USER_DEFINED {
        WINDOWS_1252
    } else {
        encoding
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use encoding_rs::{EUC_JP, SHIFT_JIS};

    use super::*;

    #[test]
    fn content_type_parsing() {
        assert_eq!(
            ContentType::parse("Text/HTML; Charset=\"Shift_JIS\""),
            ContentType { essence: "text/html".into(), charset: Some("Shift_JIS".into()) }
        );
        assert_eq!(ContentType::parse("text/plain"), ContentType { essence: "text/plain".into(), charset: None });
        assert_eq!(ContentType::parse("").essence, "");
    }

    #[test]
    fn header_charset_wins_over_meta() {
        let (bytes, _, _) = EUC_JP.encode("<meta charset=\"shift_jis\"><p>日本語</p>");
        assert!(decode(&bytes, Some("euc-jp"), true).contains("日本語"));
    }

    #[test]
    fn meta_declarations() {
        let (sjis, _, _) = SHIFT_JIS.encode("<html><head><meta charset=Shift_JIS></head><p>こんにちは</p>");
        assert!(decode(&sjis, None, true).contains("こんにちは"));
        let (euc, _, _) = EUC_JP.encode(
            "<!-- a comment --><META HTTP-EQUIV=\"Content-Type\" CONTENT=\"text/html; charset=EUC-JP\"><p>漢字</p>",
        );
        assert!(decode(&euc, None, true).contains("漢字"));
        // Plain text has no meta tags to believe; the bytes are guessed instead.
        assert!(decode(&sjis, None, false).contains("こんにちは"));
    }

    #[test]
    fn bom_and_fallbacks() {
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend_from_slice("é".as_bytes());
        assert_eq!(decode(&bom, Some("shift_jis"), true), "é");
        assert_eq!(decode("héllo".as_bytes(), None, true), "héllo");
        assert_eq!(decode("héllo".as_bytes(), Some("no-such-charset"), true), "héllo");
        assert_eq!(decode(b"<meta charset=utf-16le>ok", None, true), "<meta charset=utf-16le>ok");
        // Not UTF-8 and nothing declared: a single byte guesses as windows-1252.
        assert_eq!(decode(b"\xff", None, false), "ÿ");
    }
}

#[cfg(test)]
mod guess_tests {
    use super::*;

    #[test]
    fn undeclared_japanese_legacy_encodings_are_guessed() {
        let text =
            "携帯電話の番号はそのままで、乗り換え先の会社へ移ることができます。予約番号の有効期限は十五日間です。";
        for enc in [encoding_rs::SHIFT_JIS, encoding_rs::EUC_JP] {
            let (bytes, _, _) = enc.encode(text);
            assert_eq!(decode(&bytes, None, true), text, "{}", enc.name());
            assert_eq!(decode(&bytes, None, false), text, "{}", enc.name());
        }
        // UTF-8 stays UTF-8, and a declaration still wins over the guess.
        assert_eq!(decode(text.as_bytes(), None, true), text);
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(text);
        assert_ne!(decode(&sjis, Some("iso-8859-1"), true), text);
    }
}
