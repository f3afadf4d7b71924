//! Just enough of the ZIP format to read an archive's entry names from its end.
//!
//! Confirming that an upload is a DOCX needs the central directory, which sits at the end of
//! the file. Reading it with two small ranged reads (the tail, then the directory if it is not
//! in the tail) keeps the check bounded in memory for any file size, where handing the whole
//! object to the `zip` crate would mean reading all of it.

use std::ops::Range;

use crate::error::{FileError, Result};

/// The end-of-central-directory record is 22 bytes plus a comment of at most 65535 bytes.
pub(crate) const TAIL_LEN: u64 = 22 + 65_535;

/// A directory bigger than this is not a document we want (4 MiB ≈ 50 000 entries).
const MAX_CENTRAL_DIR: u64 = 4 << 20;

/// The entries every Word document has.
const REQUIRED: [&[u8]; 2] = [b"[Content_Types].xml", b"word/document.xml"];

/// Where the central directory is, relative to the bytes we already have.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum CentralDir {
    /// Inside the tail, at this range of the tail slice.
    InTail(Range<usize>),
    /// Elsewhere: read this range of the file.
    At(Range<u64>),
}

fn not_docx(reason: &str) -> FileError {
    FileError::NotADocx { reason: reason.to_owned() }
}

fn u16_at(b: &[u8], at: usize) -> u64 {
    u64::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn u32_at(b: &[u8], at: usize) -> u64 {
    u64::from(u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]))
}

/// Finds the central directory from the file's last bytes (`tail` starts at `tail_start` and
/// runs to the end of the file).
pub(crate) fn locate(tail: &[u8], tail_start: u64) -> Result<CentralDir> {
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| {
            // The signature alone can occur in compressed data; the comment length must also
            // reach no further than the end of the file.
            tail[i..].starts_with(b"PK\x05\x06") && i + 22 + u16_at(tail, i + 20) as usize <= tail.len()
        })
        .ok_or_else(|| not_docx("no ZIP end-of-directory record"))?;
    let size = u32_at(tail, eocd + 12);
    let offset = u32_at(tail, eocd + 16);
    if size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
        return Err(not_docx("ZIP64 archives are not supported"));
    }
    if size > MAX_CENTRAL_DIR {
        return Err(not_docx("ZIP directory too large"));
    }
    let end = offset + size;
    if end > tail_start + eocd as u64 {
        return Err(not_docx("ZIP directory points past its end"));
    }
    if offset >= tail_start {
        let start = usize::try_from(offset - tail_start).map_err(|_| not_docx("bad offset"))?;
        Ok(CentralDir::InTail(start..start + size as usize))
    } else {
        Ok(CentralDir::At(offset..end))
    }
}

/// Checks the central directory lists the entries of a Word document.
pub(crate) fn check_docx_entries(dir: &[u8]) -> Result<()> {
    let mut found = [false; REQUIRED.len()];
    let mut pos = 0;
    while pos + 46 <= dir.len() && dir[pos..].starts_with(b"PK\x01\x02") {
        let name_len = u16_at(dir, pos + 28) as usize;
        let rest = (u16_at(dir, pos + 30) + u16_at(dir, pos + 32)) as usize;
        let Some(name) = dir.get(pos + 46..pos + 46 + name_len) else { break };
        for (seen, wanted) in found.iter_mut().zip(REQUIRED) {
            *seen |= name == wanted;
        }
        pos += 46 + name_len + rest;
    }
    if found.iter().all(|f| *f) {
        Ok(())
    } else {
        Err(not_docx("no word/document.xml in the archive"))
    }
}

/// The whole check on an archive held in memory.
pub(crate) fn check_docx(bytes: &[u8]) -> Result<()> {
    let tail_start = (bytes.len() as u64).saturating_sub(TAIL_LEN);
    let tail = &bytes[tail_start as usize..];
    let dir = match locate(tail, tail_start)? {
        CentralDir::InTail(r) => &tail[r],
        CentralDir::At(r) => &bytes[r.start as usize..r.end as usize],
    };
    check_docx_entries(dir)
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Write;

    use super::*;

    /// A ZIP with the given entries, written by the `zip` crate.
    pub(crate) fn zip_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        for (name, body) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(body).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn a_word_document_passes() {
        let z = zip_with(&[("[Content_Types].xml", b"<Types/>"), ("word/document.xml", b"<w:document/>")]);
        check_docx(&z).unwrap();
    }

    #[test]
    fn a_plain_zip_is_not_a_docx() {
        let z = zip_with(&[("hello.txt", b"hi")]);
        assert_eq!(check_docx(&z).unwrap_err().code(), "not_a_docx");
    }

    #[test]
    fn truncated_or_garbage_is_not_a_docx() {
        let z = zip_with(&[("[Content_Types].xml", b"x"), ("word/document.xml", b"y")]);
        assert!(check_docx(&z[..z.len() - 10]).is_err());
        assert!(check_docx(b"PK\x03\x04 nothing more").is_err());
        assert!(check_docx(b"").is_err());
    }

    #[test]
    fn the_directory_outside_the_tail_is_asked_for() {
        // A tail that starts after the directory: locate asks for the directory's range.
        let body = vec![b'a'; 100_000];
        let z = zip_with(&[("[Content_Types].xml", b"x"), ("word/document.xml", &body)]);
        let tail_start = z.len() as u64 - 30;
        match locate(&z[tail_start as usize..], tail_start).unwrap() {
            CentralDir::At(r) => check_docx_entries(&z[r.start as usize..r.end as usize]).unwrap(),
            other => panic!("expected a range, got {other:?}"),
        }
    }
}
