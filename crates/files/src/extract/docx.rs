//! DOCX: paragraphs, tabs, breaks and table rows from `word/document.xml`.
//!
//! The XML is parsed as it inflates, through a reader capped at [`MAX_XML_BYTES`], so a ZIP bomb
//! (a tiny archive that inflates to gigabytes) is refused after reading that much, and memory
//! stays at the parser's buffer plus the text kept.

use std::io::{self, BufReader, Cursor, Read};

use quick_xml::events::{BytesRef, Event};
use quick_xml::Reader;

use super::{Extracted, Sink};
use crate::error::{FileError, Result};

/// The most `word/document.xml` may inflate to (a few thousand pages of text).
pub(crate) const MAX_XML_BYTES: u64 = 64 << 20;

fn not_docx(reason: impl std::fmt::Display) -> FileError {
    FileError::NotADocx { reason: reason.to_string() }
}

pub(crate) fn extract(bytes: &[u8], max_chars: usize) -> Result<Extracted> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(not_docx)?;
    let entry = archive.by_name("word/document.xml").map_err(|_| not_docx("no word/document.xml"))?;
    let mut capped = Capped { inner: entry, left: MAX_XML_BYTES, hit: false };
    let mut sink = Sink::new(max_chars);
    match read_document(&mut capped, &mut sink) {
        Ok(()) => {}
        Err(_) if capped.hit => return Err(FileError::TooLarge { limit: MAX_XML_BYTES }),
        Err(e) => return Err(not_docx(e)),
    }
    sink.pop_while(char::is_whitespace);
    Ok(sink.finish())
}

/// What the parser is inside of.
#[derive(Default)]
struct State {
    /// Inside `w:t`, whose text is document text.
    in_text: bool,
    /// Depth inside a subtree we skip: `mc:Fallback` repeats its `mc:Choice`, and `w:tabs`
    /// holds tab-stop definitions, not tabs.
    skip: usize,
    /// Depth of table cells (tables nest).
    cells: usize,
}

fn read_document(input: impl Read, sink: &mut Sink) -> Result<(), quick_xml::Error> {
    let mut reader = Reader::from_reader(BufReader::new(input));
    let mut buf = Vec::new();
    let mut state = State::default();
    while !sink.is_full() {
        buf.clear();
        match reader.read_event_into(&mut buf)? {
            Event::Eof => break,
            Event::Start(e) => {
                let name = e.local_name();
                if state.skip > 0 || matches!(name.as_ref(), b"Fallback" | b"tabs") {
                    state.skip += 1;
                } else {
                    match name.as_ref() {
                        b"t" => state.in_text = true,
                        b"tc" => state.cells += 1,
                        other => inline(other, sink),
                    }
                }
            }
            Event::Empty(e) if state.skip == 0 => inline(e.local_name().as_ref(), sink),
            Event::End(e) => {
                if state.skip > 0 {
                    state.skip -= 1;
                    continue;
                }
                match e.local_name().as_ref() {
                    b"t" => state.in_text = false,
                    // Paragraphs inside a cell run on with a space; the row ends the line.
                    b"p" if state.cells > 0 => {
                        sink.push_char(' ');
                    }
                    b"p" => {
                        sink.push_char('\n');
                    }
                    b"tc" => {
                        state.cells = state.cells.saturating_sub(1);
                        sink.pop_while(|c| c == ' ');
                        sink.push_char('\t');
                    }
                    b"tr" => {
                        sink.pop_while(|c| c == '\t' || c == ' ');
                        sink.push_char(if state.cells > 0 { ' ' } else { '\n' });
                    }
                    _ => {}
                }
            }
            Event::Text(t) if state.in_text && state.skip == 0 => {
                sink.push(&t.decode()?);
            }
            Event::CData(t) if state.in_text && state.skip == 0 => {
                sink.push(&t.decode()?);
            }
            Event::GeneralRef(r) if state.in_text && state.skip == 0 => {
                if let Some(c) = entity(&r)? {
                    sink.push(&c);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Run content that stands for a character.
fn inline(name: &[u8], sink: &mut Sink) {
    match name {
        b"tab" => sink.push_char('\t'),
        b"br" | b"cr" => sink.push_char('\n'),
        b"noBreakHyphen" => sink.push_char('-'),
        _ => true,
    };
}

/// `&amp;`, `&#x3042;` and the like inside text.
fn entity(r: &BytesRef<'_>) -> Result<Option<String>, quick_xml::Error> {
    if let Some(c) = r.resolve_char_ref()? {
        return Ok(Some(c.to_string()));
    }
    let name = r.decode()?;
    Ok(quick_xml::escape::resolve_predefined_entity(&name).map(str::to_owned))
}

/// A reader that fails once `left` bytes have been read, and says so.
struct Capped<R> {
    inner: R,
    left: u64,
    hit: bool,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            // One more byte tells "exactly at the cap" from "over it".
            let mut probe = [0u8; 1];
            if self.inner.read(&mut probe)? == 0 {
                return Ok(0);
            }
            self.hit = true;
            return Err(io::Error::other("word/document.xml inflates past the limit"));
        }
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        self.left -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use super::*;

    /// A DOCX with this `<w:body>` content, built with the `zip` crate.
    pub(crate) fn docx(body: &str) -> Vec<u8> {
        let xml = format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"
 xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006"><w:body>{body}</w:body></w:document>"#
        );
        crate::zipdir::tests::zip_with(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("_rels/.rels", b"<Relationships/>"),
            ("word/document.xml", xml.as_bytes()),
        ])
    }

    fn para(text: &str) -> String {
        format!("<w:p><w:pPr><w:tabs><w:tab w:val=\"left\" w:pos=\"720\"/></w:tabs></w:pPr><w:r><w:t>{text}</w:t></w:r></w:p>")
    }

    #[test]
    fn paragraphs_tabs_breaks_entities_and_japanese() {
        let body = format!(
            "{}{}<w:p><w:r><w:t>a</w:t><w:tab/><w:t xml:space=\"preserve\">b </w:t><w:br/><w:t>c &amp; d &#x3042;</w:t></w:r></w:p>\
             <w:p><w:r><w:delText>deleted</w:delText><w:instrText>PAGE</w:instrText></w:r></w:p>\
             <w:p><mc:AlternateContent><mc:Choice><w:r><w:t>once</w:t></w:r></mc:Choice><mc:Fallback><w:r><w:t>once</w:t></w:r></mc:Fallback></mc:AlternateContent></w:p>",
            para("見出し"),
            para("本文です。")
        );
        let out = extract(&docx(&body), 1000).unwrap();
        assert_eq!(out.text, "見出し\n本文です。\na\tb \nc & d あ\n\nonce");
        assert!(!out.truncated);
    }

    #[test]
    fn tables_come_out_row_by_row() {
        let cell = |t: &str| format!("<w:tc><w:p><w:r><w:t>{t}</w:t></w:r></w:p></w:tc>");
        let two = "<w:tc><w:p><w:r><w:t>x</w:t></w:r></w:p><w:p><w:r><w:t>y</w:t></w:r></w:p></w:tc>";
        let body = format!(
            "<w:tbl><w:tr>{}{}</w:tr><w:tr>{}{two}</w:tr></w:tbl>{}",
            cell("品名"),
            cell("価格"),
            cell("りんご"),
            para("after")
        );
        let out = extract(&docx(&body), 1000).unwrap();
        assert_eq!(out.text, "品名\t価格\nりんご\tx y\nafter");
    }

    #[test]
    fn stops_at_max_chars() {
        let body: String = (0..100).map(|i| para(&format!("paragraph {i}"))).collect();
        let out = extract(&docx(&body), 50).unwrap();
        assert_eq!(out.text.chars().count(), 50);
        assert!(out.truncated);
    }

    #[test]
    fn not_a_docx() {
        let zip = crate::zipdir::tests::zip_with(&[("hello.txt", b"hi")]);
        assert_eq!(extract(&zip, 10).unwrap_err().code(), "not_a_docx");
        assert_eq!(extract(b"not a zip at all", 10).unwrap_err().code(), "not_a_docx");
        let broken = docx("<w:p><w:r><w:t>unclosed</w:r></w:p>");
        assert_eq!(extract(&broken, 100).unwrap_err().code(), "not_a_docx");
    }

    #[test]
    fn a_zip_bomb_is_refused_within_the_cap() {
        // 200 MiB of whitespace inside <w:body> deflates to about 200 KiB; no text comes out of
        // it, so only the inflate cap stops the read.
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default().compression_level(Some(9));
        w.start_file("[Content_Types].xml", opts).unwrap();
        w.write_all(b"<Types/>").unwrap();
        w.start_file("word/document.xml", opts).unwrap();
        w.write_all(b"<w:document xmlns:w=\"x\"><w:body>").unwrap();
        let spaces = vec![b' '; 1 << 20];
        for _ in 0..200 {
            w.write_all(&spaces).unwrap();
        }
        w.write_all(b"</w:body></w:document>").unwrap();
        let bomb = w.finish().unwrap().into_inner();
        assert!(bomb.len() < 1 << 20, "bomb is {} bytes", bomb.len());
        let err = extract(&bomb, 1000).unwrap_err();
        assert_eq!(err.code(), "too_large", "{err}");
    }
}
