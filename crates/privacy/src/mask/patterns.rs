//! The kinds a regex describes well: email addresses, postal codes and dates of
//! birth. Postal codes and birth dates look like any other number or date, so they
//! count only next to a word that names them (〒, 郵便番号, 生年月日, DOB, …).

use super::{Candidate, Kind};
use regex::{Captures, Regex};
use std::ops::Range;

pub(super) struct Patterns {
    email: Regex,
    url: Regex,
    postal: Regex,
    birth_word: Regex,
    birth_before: Regex,
    birth_after: Regex,
    dates: Vec<(Regex, DateForm)>,
}

#[derive(Clone, Copy)]
enum DateForm {
    /// 平成2年1月2日, 令和元年5月1日, H2.1.2: era, year, month, day.
    Era,
    /// 1990年1月2日, 1990/01/02, 1990-01-02, 19900102.
    YearFirst,
    /// 1/2/1990 (month or day first; kept in written order).
    YearLast,
    /// January 2, 1990.
    MonthName,
    /// 2 January 1990.
    DayMonthName,
}

const MONTHS: &str = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec";

/// The patterns are constants: every one is compiled by each test run.
fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("valid pattern")
}

impl Patterns {
    pub(super) fn new() -> Self {
        let gap = r"(?:\s|[:=()「」、,\-]|は|が|も|を|です|is|was|on|in|of|the)*";
        Self {
            email: re(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
            url: re(r"(?i)(?:https?://|www\.)[^\s<>「」、。）]+"),
            postal: re(
                r"(?i)(?:〒|郵便番号|postal\s?code|zip\s?code|zip|post\s?code)(?:\s|[:()]|は|が)*(\d{3}-?\d{4})",
            ),
            birth_word: re(r"(?i)生|誕生日|dob|d\.o\.b|birth|born"),
            birth_before: re(&format!(
                r"(?i)(?:生年月日|誕生日|生まれ|dob|d\.o\.b\.?|date of birth|birth\s?date|birthday|born){gap}$"
            )),
            birth_after: re(r"(?i)^\s*(?:生まれ|生|born)"),
            dates: vec![
                (
                    re(r"(明治|大正|昭和|平成|令和)\s*(元|\d{1,2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"),
                    DateForm::Era,
                ),
                (re(r"(?-u:\b)([MTSHR])\s?(\d{1,2})[./\-](\d{1,2})[./\-](\d{1,2})"), DateForm::Era),
                (re(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"), DateForm::YearFirst),
                (re(r"(\d{4})[/.\-](\d{1,2})[/.\-](\d{1,2})"), DateForm::YearFirst),
                (re(r"(\d{4})(\d{2})(\d{2})"), DateForm::YearFirst),
                (re(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})"), DateForm::YearLast),
                (
                    re(&format!(r"(?i)(?-u:\b)({MONTHS})[a-z]*\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+(\d{{4}})")),
                    DateForm::MonthName,
                ),
                (
                    re(&format!(r"(?i)(\d{{1,2}})(?:st|nd|rd|th)?\s+({MONTHS})[a-z]*\.?,?\s+(\d{{4}})")),
                    DateForm::DayMonthName,
                ),
            ],
        }
    }

    pub(super) fn emails(&self, s: &str, out: &mut Vec<Candidate>) {
        if !s.contains('@') {
            return;
        }
        for m in self.email.find_iter(s) {
            out.push(Candidate::new(Kind::Email, m.range(), m.as_str().to_ascii_lowercase()));
        }
    }

    pub(super) fn urls(&self, s: &str) -> Vec<Range<usize>> {
        if !s.contains("http") && !s.contains("www.") {
            return Vec::new();
        }
        self.url.find_iter(s).map(|m| m.range()).collect()
    }

    pub(super) fn postal_codes(&self, s: &str, out: &mut Vec<Candidate>) {
        for c in self.postal.captures_iter(s) {
            let Some(m) = c.get(1) else { continue };
            if digit_at_edges(s, m.range()) {
                continue;
            }
            let key: String = m.as_str().chars().filter(char::is_ascii_digit).collect();
            out.push(Candidate::new(Kind::Postal, m.range(), key));
        }
    }

    pub(super) fn birth_dates(&self, s: &str, out: &mut Vec<Candidate>) {
        if !self.birth_word.is_match(s) {
            return;
        }
        let mut dates = Vec::new();
        for (re, form) in &self.dates {
            for c in re.captures_iter(s) {
                let Some(m) = c.get(0) else { continue };
                if digit_at_edges(s, m.range()) {
                    continue;
                }
                if let Some(key) = date_key(&c, *form) {
                    dates.push((m.range(), key, self.next_to_birth_word(s, m.range())));
                }
            }
        }
        // The same day written again ("平成2年1月2日(1990/01/02)") is the same birth date.
        let births: Vec<String> = dates.iter().filter(|d| d.2).map(|d| d.1.clone()).collect();
        for (range, key, _) in dates {
            if births.contains(&key) {
                out.push(Candidate::new(Kind::BirthDate, range, key));
            }
        }
    }

    fn next_to_birth_word(&self, s: &str, r: Range<usize>) -> bool {
        let before = &s[..r.start];
        let from = before.char_indices().rev().nth(31).map_or(0, |(i, _)| i);
        self.birth_before.is_match(&before[from..]) || self.birth_after.is_match(&s[r.end..])
    }
}

/// A match glued to more digits is part of a longer number.
fn digit_at_edges(s: &str, r: Range<usize>) -> bool {
    s[..r.start].chars().next_back().is_some_and(|c| c.is_ascii_digit())
        || s[r.end..].chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// "1990-01-02" for every way of writing that day, so one birth date gets one
/// placeholder; `None` for impossible dates.
fn date_key(c: &Captures<'_>, form: DateForm) -> Option<String> {
    let num = |i: usize| c.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let (y, m, d) = match form {
        DateForm::Era => {
            let era = c.get(1)?.as_str();
            let base = match era {
                "明治" | "M" => 1868,
                "大正" | "T" => 1912,
                "昭和" | "S" => 1926,
                "平成" | "H" => 1989,
                _ => 2019,
            };
            let n = if c.get(2)?.as_str() == "元" { 1 } else { num(2)? };
            (base + n - 1, num(3)?, num(4)?)
        }
        DateForm::YearFirst => (num(1)?, num(2)?, num(3)?),
        DateForm::YearLast => (num(3)?, num(1)?, num(2)?),
        DateForm::MonthName => (num(3)?, month(c.get(1)?.as_str())?, num(2)?),
        DateForm::DayMonthName => (num(3)?, month(c.get(2)?.as_str())?, num(1)?),
    };
    let month_ok = match form {
        DateForm::YearLast => (1..=31).contains(&m) && (1..=12).contains(&m.min(d)),
        _ => (1..=12).contains(&m),
    };
    ((1868..=2100).contains(&y) && month_ok && (1..=31).contains(&d)).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

fn month(name: &str) -> Option<u32> {
    let i = MONTHS.split('|').position(|m| m.eq_ignore_ascii_case(name))?;
    u32::try_from(i + 1).ok()
}
