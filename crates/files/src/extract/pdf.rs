//! PDF: text through `pdf-extract` (pure Rust, on `lopdf`), which maps glyphs through the
//! fonts' ToUnicode CMaps, so PDFs with embedded Japanese fonts from real tools come out as
//! text.
//!
//! Two guards around a parser that was not written for hostile input:
//! - `pdf-extract` and `lopdf` panic on some malformed files (unwraps and index arithmetic in
//!   their parsers), so the call runs under `catch_unwind` and a panic becomes
//!   [`FileError::UnreadablePdf`]. The default panic hook still prints the message to stderr.
//! - `lopdf` inflates a Flate stream fully, with no limit, when it is used (a page's content, a
//!   form, a font, an object stream), so a small PDF could expand to gigabytes. Before parsing,
//!   every Flate stream is inflated into a scratch buffer, only counting, and the file is
//!   refused when one stream passes [`MAX_STREAM_INFLATED`] (memory: streams are inflated one
//!   at a time) or all together pass [`MAX_TOTAL_INFLATED`] (time). Streams are found in the
//!   raw bytes, not through the object graph, so image streams count too: a PDF with a Flate
//!   image over 64 MiB raw (600 dpi A4 in RGB, say) is refused; scans are JPEG and unaffected.
//!
//! Not bounded: CPU time on a pathological file (`pdf-extract` re-inflates a form each time a
//! page draws it), and streams under other filters (LZW) or encrypted ones, which the scan
//! cannot read before `lopdf` decrypts them.

use std::io;
use std::panic::{self, AssertUnwindSafe};

use flate2::{Decompress, FlushDecompress, Status};
use pdf_extract::{Document, PlainTextOutput};

use super::{Extracted, Sink};
use crate::error::{FileError, Result};

/// The most one Flate stream of a PDF may inflate to.
pub(crate) const MAX_STREAM_INFLATED: u64 = 64 << 20;

/// The most all of a PDF's Flate streams may inflate to together.
pub(crate) const MAX_TOTAL_INFLATED: u64 = 1 << 30;

fn unreadable(reason: impl std::fmt::Display) -> FileError {
    FileError::UnreadablePdf { reason: reason.to_string() }
}

pub(crate) fn extract(bytes: &[u8], max_chars: usize) -> Result<Extracted> {
    check_inflation(bytes)?;
    let mut out = SinkWriter(Sink::new(max_chars));
    let parsed = panic::catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        let mut doc = Document::load_mem(bytes).map_err(|e| e.to_string())?;
        if doc.is_encrypted() {
            // Many PDFs are "encrypted" only to restrict printing, with an empty password.
            doc.decrypt("").map_err(|_| "encrypted with a password".to_owned())?;
        }
        let writer: &mut dyn io::Write = &mut out;
        let mut text = PlainTextOutput::new(writer);
        pdf_extract::output_doc(&doc, &mut text).map_err(|e| format!("{e:?}"))
    }));
    let sink = out.0;
    match parsed {
        Ok(Ok(())) => {}
        // Our writer refused more text: the limit, not a broken file.
        Ok(Err(_)) if sink.is_full() => {}
        Ok(Err(reason)) => return Err(unreadable(reason)),
        Err(_) => return Err(unreadable("the PDF parser crashed on this file")),
    }
    Ok(tidy(sink))
}

/// Feeds extracted text into the sink; fails once it is full, which stops `pdf-extract`.
struct SinkWriter(Sink);

impl io::Write for SinkWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // pdf-extract writes whole `&str`s, so each call is valid UTF-8.
        if self.0.push(&String::from_utf8_lossy(buf)) {
            Ok(buf.len())
        } else {
            Err(io::Error::other("text limit reached"))
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Trims line ends and keeps at most one blank line in a row: `pdf-extract` lays text out with
/// blank lines and padding from the page geometry.
fn tidy(sink: Sink) -> Extracted {
    let out = sink.finish();
    let mut text = String::with_capacity(out.text.len());
    let mut blank = 0;
    for line in out.text.lines().map(str::trim_end) {
        blank = if line.is_empty() { blank + 1 } else { 0 };
        if blank <= 1 {
            text.push_str(line);
            text.push('\n');
        }
    }
    let text = text.trim().to_owned();
    Extracted { text, truncated: out.truncated }
}

/// Refuses a PDF whose Flate streams inflate past the limits (see the module docs).
///
/// Streams are found by their `stream` keyword; one that is not zlib data (an image in JPEG, an
/// encrypted stream, the word inside `endstream`) fails at its header and counts nothing.
/// Memory: one 64 KiB buffer.
fn check_inflation(pdf: &[u8]) -> Result<()> {
    let mut total = 0;
    let mut scratch = vec![0u8; 64 << 10];
    let mut from = 0;
    while let Some(at) = find(&pdf[from..], b"stream") {
        let after = from + at + b"stream".len();
        from = after;
        let start = if pdf[after..].starts_with(b"\r\n") {
            after + 2
        } else if pdf[after..].starts_with(b"\n") {
            after + 1
        } else {
            continue;
        };
        let mut inflater = Decompress::new(true);
        let mut input = &pdf[start..];
        loop {
            let before = (inflater.total_in(), inflater.total_out());
            let status = inflater.decompress(input, &mut scratch, FlushDecompress::None);
            let read = (inflater.total_in() - before.0) as usize;
            let wrote = inflater.total_out() - before.1;
            input = &input[read..];
            total += wrote;
            if inflater.total_out() > MAX_STREAM_INFLATED {
                return Err(FileError::TooLarge { limit: MAX_STREAM_INFLATED });
            }
            if total > MAX_TOTAL_INFLATED {
                return Err(FileError::TooLarge { limit: MAX_TOTAL_INFLATED });
            }
            match status {
                Ok(Status::Ok) if read > 0 || wrote > 0 => continue,
                _ => break,
            }
        }
        from = start + inflater.total_in() as usize;
    }
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use super::*;

    /// A minimal PDF: one page per entry of `pages`, each a content stream, with the fonts
    /// given as extra objects. Offsets in the xref table are computed, so the file is valid.
    pub(crate) fn pdf(pages: &[&str], font: &str, extra: &[&str]) -> Vec<u8> {
        let mut objects: Vec<String> = Vec::new();
        let n = pages.len();
        // 1: catalog, 2: pages, 3: font, then per page: page, contents; then extra objects.
        objects.push("<< /Type /Catalog /Pages 2 0 R >>".into());
        let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
        objects.push(format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")));
        objects.push(font.into());
        for (i, content) in pages.iter().enumerate() {
            objects.push(format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                5 + 2 * i
            ));
            objects.push(format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len() + 1));
        }
        objects.extend(extra.iter().map(|s| s.to_string()));
        let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            write!(out, "{} 0 obj\n{body}\nendobj\n", i + 1).unwrap();
        }
        let xref = out.len();
        write!(out, "xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).unwrap();
        for o in offsets {
            writeln!(out, "{o:010} 00000 n ").unwrap();
        }
        write!(out, "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).unwrap();
        out
    }

    const HELVETICA: &str = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>";

    #[test]
    fn latin_text_from_a_generated_pdf() {
        let bytes = pdf(
            &[
                "BT /F1 12 Tf 72 760 Td (Hello PDF world.) Tj 0 -20 Td (Second line here.) Tj ET",
                "BT /F1 12 Tf 72 760 Td (Page two.) Tj ET",
            ],
            HELVETICA,
            &[],
        );
        let out = extract(&bytes, 10_000).unwrap();
        assert!(out.text.contains("Hello PDF world."), "{:?}", out.text);
        assert!(out.text.contains("Second line here."), "{:?}", out.text);
        assert!(out.text.contains("Page two."), "{:?}", out.text);
        assert!(!out.truncated);
    }

    #[test]
    fn japanese_text_through_a_to_unicode_cmap() {
        // A Type0 font with Identity-H and a ToUnicode CMap, as real tools write Japanese: the
        // content stream holds 2-byte glyph ids, the CMap maps them to 日本語のテキスト。
        let cmap = "/CIDInit /ProcSet findresource begin 12 dict begin begincmap\n\
/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n\
/CMapName /Adobe-Identity-UCS def /CMapType 2 def\n\
1 begincodespacerange <0000> <FFFF> endcodespacerange\n\
9 beginbfchar\n<0001> <65E5>\n<0002> <672C>\n<0003> <8A9E>\n<0004> <306E>\n<0005> <30C6>\n<0006> <30AD>\n<0007> <30B9>\n<0008> <30C8>\n<0009> <3002>\nendbfchar\n\
endcmap CMapName currentdict /CMap defineresource pop end end";
        let font = "<< /Type /Font /Subtype /Type0 /BaseFont /IPAGothic /Encoding /Identity-H /DescendantFonts [20 0 R] /ToUnicode 21 0 R >>";
        let descendant = "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /IPAGothic /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor 22 0 R /DW 1000 >>";
        let descriptor = "<< /Type /FontDescriptor /FontName /IPAGothic /Flags 4 /FontBBox [0 -141 1000 859] /ItalicAngle 0 /Ascent 859 /Descent -141 /CapHeight 859 /StemV 80 >>";
        let cmap_obj = format!("<< /Length {} >>\nstream\n{cmap}\nendstream", cmap.len() + 1);
        // Objects 20..22 are numbered by position: pad the extra list so they land there.
        let page = "BT /F1 12 Tf 72 760 Td <000100020003000400050006000700080009> Tj ET";
        let mut extra: Vec<String> = Vec::new();
        let first_extra = 3 + 2 + 1; // catalog, pages, font, page, contents → next is 6
        for n in first_extra..20 {
            extra.push(format!("<< /Padding {n} >>"));
        }
        extra.push(descendant.into());
        extra.push(cmap_obj);
        extra.push(descriptor.into());
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        let bytes = pdf(&[page], font, &extra);
        let out = extract(&bytes, 10_000).unwrap();
        let squeezed: String = out.text.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(squeezed, "日本語のテキスト。", "{:?}", out.text);
    }

    #[test]
    fn japanese_pdf_from_a_real_tool() {
        // tests/fixtures/japanese.pdf: made with fpdf2 2.8 and IPAGothic embedded as a subset
        // (CIDFontType2, Identity-H, ToUnicode), the way most PDF writers embed Japanese.
        let bytes = include_bytes!("../../tests/fixtures/japanese.pdf");
        let out = extract(bytes, 10_000).unwrap();
        let squeezed: String = out.text.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(squeezed.contains("請求書2026年4月分"), "{:?}", out.text);
        assert!(
            squeezed.contains("お支払い期限は月末です。ご不明な点はサポートまでお問い合わせください。"),
            "{:?}",
            out.text
        );
        assert!(squeezed.contains("Total:12,000JPY"), "{:?}", out.text);
    }

    #[test]
    fn stops_at_max_chars() {
        let line = "(The quick brown fox jumps over the lazy dog.) Tj 0 -14 Td ";
        let page = format!("BT /F1 12 Tf 72 800 Td {} ET", line.repeat(50));
        let out = extract(&pdf(&[&page], HELVETICA, &[]), 100).unwrap();
        assert!(out.truncated);
        assert!(out.text.chars().count() <= 100);
        assert!(out.text.starts_with("The quick brown fox"), "{:?}", out.text);
    }

    #[test]
    fn garbage_is_unreadable_not_a_panic() {
        for bytes in [
            &b"%PDF-1.4\nnothing else"[..],
            b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
            b"",
        ] {
            let err = extract(bytes, 100).unwrap_err();
            assert_eq!(err.code(), "unreadable_pdf", "{err}");
        }
        // Every truncation of a valid file: errors or text, never a panic escaping.
        let good = pdf(&["BT /F1 12 Tf 72 760 Td (Hi) Tj ET"], HELVETICA, &[]);
        for cut in (0..good.len()).step_by(7) {
            let _ = extract(&good[..cut], 100);
        }
    }

    #[test]
    fn a_flate_bomb_is_refused_before_parsing() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..300 {
            z.write_all(&zeros).unwrap();
        }
        let data = z.finish().unwrap();
        let mut bytes = b"%PDF-1.4\n1 0 obj\n<< /Length ".to_vec();
        write!(bytes, "{} /Filter /FlateDecode >>\nstream\n", data.len()).unwrap();
        bytes.extend_from_slice(&data);
        bytes.extend_from_slice(b"\nendstream\nendobj\n%%EOF\n");
        assert!(bytes.len() < 1 << 20);
        let err = extract(&bytes, 100).unwrap_err();
        assert!(matches!(err, FileError::TooLarge { limit: MAX_STREAM_INFLATED }), "{err}");
    }
}
