//! Import and export: JSONL (one entry per line) and CSV, in UTF-8 with or without a
//! BOM, or Shift_JIS/CP932 as Excel writes it in Japan. Parsing reports every bad row
//! by line number; nothing is written unless the whole file is good.

use crate::EntryInput;
use serde::Serialize;
use tenmon_store::KbEntryRow;

/// File formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jsonl,
    Csv,
    /// CSV encoded as Shift_JIS (CP932), for Excel in Japan.
    CsvShiftJis,
}

/// A problem with one row of an imported file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// 1-based line (for CSV, the record's first line).
    pub line: usize,
    pub message: String,
}

/// The CSV columns, in order. List columns hold items separated by `|` or new lines.
pub const CSV_COLUMNS: [&str; 10] = [
    "id",
    "question",
    "phrasings",
    "answer",
    "keywords",
    "category",
    "source_url",
    "question_en",
    "answer_en",
    "enabled",
];

/// Decode to text: UTF-8 (a BOM is dropped), else Shift_JIS/CP932.
pub fn decode(bytes: &[u8]) -> Result<String, RowError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    let (text, _, had_errors) = encoding_rs::SHIFT_JIS.decode(bytes);
    if had_errors {
        return Err(RowError { line: 1, message: "the file is neither UTF-8 nor Shift_JIS (CP932)".into() });
    }
    Ok(text.into_owned())
}

/// Parse a file into entries with their line numbers, and the rows that could not be
/// read (so that every problem of a file is reported at once).
pub fn parse_all(bytes: &[u8], format: Format) -> (Vec<(usize, EntryInput)>, Vec<RowError>) {
    let text = match decode(bytes) {
        Ok(t) => t,
        Err(e) => return (Vec::new(), vec![e]),
    };
    match format {
        Format::Jsonl => parse_jsonl(&text),
        Format::Csv | Format::CsvShiftJis => parse_csv(&text),
    }
}

/// Parse a file; any unreadable row is an error.
pub fn parse(bytes: &[u8], format: Format) -> Result<Vec<(usize, EntryInput)>, Vec<RowError>> {
    let (rows, errors) = parse_all(bytes, format);
    if errors.is_empty() {
        Ok(rows)
    } else {
        Err(errors)
    }
}

fn parse_jsonl(text: &str) -> (Vec<(usize, EntryInput)>, Vec<RowError>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<EntryInput>(line) {
            Ok(e) => out.push((i + 1, e)),
            Err(e) => {
                let msg = e.to_string();
                let msg = msg.rsplit_once(" at line ").map(|(m, _)| m.to_string()).unwrap_or(msg);
                errors.push(RowError { line: i + 1, message: msg });
            }
        }
    }
    (out, errors)
}

fn split_list(s: &str) -> Vec<String> {
    s.split(['|', '\n']).map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect()
}

fn parse_csv(text: &str) -> (Vec<(usize, EntryInput)>, Vec<RowError>) {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.trim().to_ascii_lowercase()).collect::<Vec<_>>(),
        Err(e) => return (Vec::new(), vec![RowError { line: 1, message: format!("cannot read the header: {e}") }]),
    };
    let col = |name: &str| headers.iter().position(|h| h == name);
    let mut errors = Vec::new();
    for required in ["question", "answer"] {
        if col(required).is_none() {
            errors.push(RowError {
                line: 1,
                message: format!("the header has no {required:?} column (columns: {})", CSV_COLUMNS.join(",")),
            });
        }
    }
    for h in &headers {
        if !CSV_COLUMNS.contains(&h.as_str()) {
            errors.push(RowError { line: 1, message: format!("unknown column {h:?}") });
        }
    }
    if !errors.is_empty() {
        return (Vec::new(), errors);
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                errors.push(RowError { line, message: format!("malformed CSV: {e}") });
                continue;
            }
        };
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        let get = |name: &str| col(name).and_then(|i| record.get(i)).map(str::trim).unwrap_or("");
        let opt = |name: &str| Some(get(name).to_string()).filter(|s| !s.is_empty());
        let enabled = match get("enabled").to_ascii_lowercase().as_str() {
            "" | "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            other => {
                errors.push(RowError { line, message: format!("enabled: {other:?} is not true or false") });
                true
            }
        };
        out.push((
            line,
            EntryInput {
                id: opt("id"),
                question: get("question").into(),
                phrasings: split_list(get("phrasings")),
                answer: get("answer").into(),
                keywords: split_list(get("keywords")),
                category: get("category").into(),
                source_url: opt("source_url"),
                question_en: opt("question_en"),
                answer_en: opt("answer_en"),
                enabled,
            },
        ));
    }
    (out, errors)
}

/// Write entries in a format. CSV gets a UTF-8 BOM so Excel reads it correctly.
pub fn write(rows: &[KbEntryRow], format: Format) -> Vec<u8> {
    match format {
        Format::Jsonl => {
            let mut out = Vec::new();
            for r in rows {
                let input = EntryInput {
                    id: Some(r.id.clone()),
                    question: r.question.clone(),
                    phrasings: r.phrasings.clone(),
                    answer: r.answer.clone(),
                    keywords: r.keywords.clone(),
                    category: r.category.clone(),
                    source_url: r.source_url.clone(),
                    question_en: r.question_en.clone(),
                    answer_en: r.answer_en.clone(),
                    enabled: r.enabled,
                };
                if let Ok(line) = serde_json::to_string(&input) {
                    out.extend_from_slice(line.as_bytes());
                    out.push(b'\n');
                }
            }
            out
        }
        Format::Csv | Format::CsvShiftJis => {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(CSV_COLUMNS);
            for r in rows {
                let _ = w.write_record([
                    r.id.as_str(),
                    &r.question,
                    &r.phrasings.join("|"),
                    &r.answer,
                    &r.keywords.join("|"),
                    &r.category,
                    r.source_url.as_deref().unwrap_or(""),
                    r.question_en.as_deref().unwrap_or(""),
                    r.answer_en.as_deref().unwrap_or(""),
                    if r.enabled { "true" } else { "false" },
                ]);
            }
            let text = w.into_inner().unwrap_or_default();
            if format == Format::CsvShiftJis {
                let s = String::from_utf8_lossy(&text);
                encoding_rs::SHIFT_JIS.encode(&s).0.into_owned()
            } else {
                let mut out = b"\xEF\xBB\xBF".to_vec();
                out.extend(text);
                out
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_in_shift_jis_with_list_columns() {
        let csv = "id,question,phrasings,answer,keywords,category\nq1,予約番号とは？,予約番号って何|MNP番号,10桁の番号です。,予約番号|MNP,予約番号\n";
        let sjis = encoding_rs::SHIFT_JIS.encode(csv).0.into_owned();
        assert!(std::str::from_utf8(&sjis).is_err(), "really Shift_JIS");
        let rows = parse(&sjis, Format::Csv).unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].0, 2);
        assert_eq!(rows[0].1.question, "予約番号とは？");
        assert_eq!(rows[0].1.phrasings, vec!["予約番号って何", "MNP番号"]);
    }

    #[test]
    fn utf8_bom_is_dropped() {
        let mut bytes = b"\xEF\xBB\xBF".to_vec();
        bytes.extend("question,answer\n質問,回答\n".as_bytes());
        assert_eq!(parse(&bytes, Format::Csv).unwrap()[0].1.question, "質問");
    }

    #[test]
    fn every_bad_row_is_listed_by_line() {
        let jsonl = "{\"question\":\"q\",\"answer\":\"a\"}\nnot json\n{\"question\":\"q\"}\n";
        let errs = parse(jsonl.as_bytes(), Format::Jsonl).unwrap_err();
        assert_eq!(errs.iter().map(|e| e.line).collect::<Vec<_>>(), vec![2, 3]);
        assert!(errs[1].message.contains("answer"), "{errs:?}");
        let errs = parse("question,answer,colour\nq,a,red\n".as_bytes(), Format::Csv).unwrap_err();
        assert!(errs[0].message.contains("colour"));
    }

    #[test]
    fn export_round_trips() {
        let rows = vec![KbEntryRow {
            id: "x1".into(),
            kb_id: "k".into(),
            question: "質問, \"引用\"".into(),
            phrasings: vec!["言い換え".into()],
            answer: "回答\n二行目".into(),
            keywords: vec!["鍵".into()],
            category: "c".into(),
            source_url: None,
            question_en: Some("Q".into()),
            answer_en: None,
            enabled: false,
            version: 1,
            created_at_ms: 0,
            updated_at_ms: 0,
        }];
        for f in [Format::Jsonl, Format::Csv, Format::CsvShiftJis] {
            let back = parse(&write(&rows, f), f).unwrap();
            assert_eq!(back[0].1.question, rows[0].question, "{f:?}");
            assert_eq!(back[0].1.answer, rows[0].answer, "{f:?}");
            assert!(!back[0].1.enabled);
        }
    }
}
