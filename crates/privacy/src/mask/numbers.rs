//! Numbers: phone, MNP reservation, My Number and card numbers.
//!
//! Regexes are a poor fit here (no look-around, and one digit string can be four
//! different things), so the text is cut into digit runs, runs joined by a short
//! separator ("-", " ", "(", ")", ".") form a chain, and every contiguous slice of
//! whole runs in a chain is checked against each kind. A slice never splits a run,
//! so ten digits are never taken out of a sixteen-digit run.

use super::{Candidate, Kind};
use std::ops::Range;

/// Characters that, right after a number, make it a quantity rather than an id.
const UNITS: &str = "円万億千件回個人台年月日時分秒歳才倍枚本点名行桁位階号線";

/// Words that say what the number right after them is. The nearest one wins.
const HINTS: &[(&str, Hint)] = &[
    ("予約", Hint::Reservation),
    ("mnp", Hint::Reservation),
    ("reservation", Hint::Reservation),
    ("電話", Hint::Phone),
    ("携帯", Hint::Phone),
    ("連絡先", Hint::Phone),
    ("tel", Hint::Phone),
    ("phone", Hint::Phone),
    ("fax", Hint::Phone),
    ("マイナンバー", Hint::Personal),
    ("個人番号", Hint::Personal),
    ("my number", Hint::Personal),
    ("カード", Hint::Personal),
    ("クレジット", Hint::Personal),
    ("card", Hint::Personal),
    ("注文", Hint::Other),
    ("order", Hint::Other),
    ("受付番号", Hint::Other),
    ("問い合わせ", Hint::Other),
    ("問合せ", Hint::Other),
    ("伝票", Hint::Other),
    ("追跡", Hint::Other),
    ("tracking", Hint::Other),
    ("invoice", Hint::Other),
    ("請求", Hint::Other),
    ("型番", Hint::Other),
    ("品番", Hint::Other),
    ("製造番号", Hint::Other),
    ("シリアル", Hint::Other),
    ("serial", Hint::Other),
    ("imei", Hint::Other),
    ("管理番号", Hint::Other),
    ("お客様番号", Hint::Other),
    ("顧客番号", Hint::Other),
    ("契約番号", Hint::Other),
    ("会員", Hint::Other),
    ("金額", Hint::Other),
    ("合計", Hint::Other),
    ("残高", Hint::Other),
    ("料金", Hint::Other),
    ("価格", Hint::Other),
    ("total", Hint::Other),
    ("amount", Hint::Other),
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Hint {
    Reservation,
    Phone,
    /// My Number or card: only outranks an [`Hint::Other`] further back.
    Personal,
    /// An order, tracking, serial or similar number: not personal data we mask.
    Other,
}

/// A run of ASCII digits (the text is already folded).
#[derive(Clone, Copy)]
struct Run {
    start: usize,
    end: usize,
}

impl Run {
    fn len(self) -> usize {
        self.end - self.start
    }
}

/// What joins two runs into one number.
#[derive(Clone, Copy, Default)]
struct Gap {
    starts_ws: bool,
    ends_ws: bool,
    ws_only: bool,
    open: bool,
    close: bool,
    dot: bool,
    hyphen: bool,
}

fn gap(b: &[u8]) -> Option<Gap> {
    if b.is_empty() || b.len() > 3 {
        return None;
    }
    let (mut dashes, mut parens, mut g) = (0, 0, Gap::default());
    for &c in b {
        match c {
            b' ' => {}
            b'-' => {
                dashes += 1;
                g.hyphen = true;
            }
            b'.' => {
                dashes += 1;
                g.dot = true;
            }
            b'(' => {
                parens += 1;
                g.open = true;
            }
            b')' => {
                parens += 1;
                g.close = true;
            }
            _ => return None,
        }
    }
    if dashes > 1 || parens > 1 {
        return None;
    }
    g.starts_ws = b[0] == b' ';
    g.ends_ws = b[b.len() - 1] == b' ';
    g.ws_only = dashes == 0 && parens == 0;
    Some(g)
}

/// Finds number candidates in folded text `s`; `urls` are spans where bare ids are
/// left alone (timestamps and ids in links are not reservation numbers).
pub(super) fn find(s: &str, urls: &[Range<usize>], out: &mut Vec<Candidate>) {
    let b = s.as_bytes();
    let mut runs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            runs.push(Run { start, end: i });
        } else {
            i += 1;
        }
    }
    let mut c0 = 0;
    while c0 < runs.len() {
        let mut gaps = Vec::new();
        let mut c1 = c0 + 1;
        while c1 < runs.len() {
            match gap(&b[runs[c1 - 1].end..runs[c1].start]) {
                Some(g) => gaps.push(g),
                None => break,
            }
            c1 += 1;
        }
        Chain { s, runs: &runs[c0..c1], gaps: &gaps, urls }.candidates(out);
        c0 = c1;
    }
}

struct Chain<'a> {
    s: &'a str,
    runs: &'a [Run],
    /// `gaps[k]` joins `runs[k]` and `runs[k + 1]`.
    gaps: &'a [Gap],
    urls: &'a [Range<usize>],
}

/// A slice of a chain, with everything the kinds are decided on.
struct Slice {
    digits: String,
    lens: Vec<usize>,
    span: Range<usize>,
    plus81: bool,
    dot: bool,
    /// Some group is joined by a hyphen.
    hyphen: bool,
    /// Cut out of a longer chain between two four-digit groups ("1234 5678 9012 3456"):
    /// fine for a phone number, not for the ids that come in four-digit groups.
    cut_in_group: bool,
}

impl Chain<'_> {
    fn candidates(&self, out: &mut Vec<Candidate>) {
        let n = self.runs.len();
        let four = |k: usize| self.runs[k].len() == 4 && self.runs[k + 1].len() == 4;
        for i in 0..n {
            if i > 0 && !self.gaps[i - 1].ends_ws {
                continue;
            }
            let mut digits = 0;
            for j in i..n.min(i + 6) {
                digits += self.runs[j].len();
                if digits > 21 {
                    break;
                }
                if j + 1 < n && !self.gaps[j].starts_ws {
                    continue;
                }
                let cut_in_group = (i > 0 && four(i - 1)) || (j + 1 < n && four(j));
                let slice = self.slice(i, j, cut_in_group);
                if let Some(c) = self.classify(&slice) {
                    out.push(c);
                }
            }
        }
    }

    fn slice(&self, i: usize, j: usize, cut_in_group: bool) -> Slice {
        let runs = &self.runs[i..=j];
        let inner = &self.gaps[i..j];
        let mut digits = String::with_capacity(20);
        for r in runs {
            digits.push_str(&self.s[r.start..r.end]);
        }
        let mut start = runs[0].start;
        let before = &self.s[..start];
        let plus81 = before.ends_with('+') && digits.starts_with("81");
        if plus81 {
            start -= 1;
        }
        // "(03)1234-5678": the opening parenthesis belongs to the number.
        if self.s[..start].ends_with('(') && inner.iter().any(|g| g.close) && !inner.iter().any(|g| g.open) {
            start -= 1;
        }
        Slice {
            digits,
            lens: runs.iter().map(|r| r.len()).collect(),
            span: start..runs[runs.len() - 1].end,
            plus81,
            dot: inner.iter().any(|g| g.dot),
            hyphen: inner.iter().any(|g| g.hyphen),
            cut_in_group,
        }
    }

    fn classify(&self, sl: &Slice) -> Option<Candidate> {
        let d = sl.digits.as_str();
        let n = d.len();
        if !(10..=19).contains(&n) {
            return None;
        }
        let (lead, trail) = (lead(self.s, sl.span.start), trail(self.s, sl.span.end));
        if lead == Edge::Reject || trail == Edge::Reject {
            return None;
        }
        let phone = phone_number(sl);
        let hit = |kind, key: String| Some(Candidate::new(kind, sl.span.clone(), key));
        if lead == Edge::OnlyPhone || trail == Edge::OnlyPhone {
            return phone.and_then(|p| hit(Kind::Phone, p));
        }
        let plain = !sl.plus81 && !sl.dot && !sl.cut_in_group && !all_same(d);
        let in_url = self.urls.iter().any(|u| u.start <= sl.span.start && sl.span.end <= u.end);
        let hint = || hint_before(self.s, sl.span.start);
        match n {
            10 if plain && sl.lens.len() <= 3 && hint() == Some(Hint::Reservation) => hit(Kind::Reservation, d.into()),
            10 if phone.is_some() => phone.and_then(|p| hit(Kind::Phone, p)),
            10 if plain && sl.lens.len() == 1 && !d.starts_with('0') && !in_url && hint() != Some(Hint::Other) => {
                hit(Kind::Reservation, d.into())
            }
            12 if plain && (sl.lens.len() == 1 || sl.lens == [4, 4, 4]) && my_number_ok(d) => {
                let hint = hint();
                // Three space-separated four-digit numbers are as likely a price
                // list ("2980 3980 4980"): they need a My Number word.
                let spaced = sl.lens.len() > 1 && !sl.hyphen;
                (!in_url && hint != Some(Hint::Other) && (!spaced || hint == Some(Hint::Personal)))
                    .then(|| Candidate::new(Kind::MyNumber, sl.span.clone(), d.into()))
            }
            13..=19
                if plain
                    && card_prefix_ok(d)
                    && (sl.lens.len() == 1 || (sl.lens[0] == 4 && sl.lens.iter().all(|l| (3..=7).contains(l))))
                    && luhn_ok(d) =>
            {
                let hint = hint();
                // A JAN/EAN-13 barcode passes Luhn one time in ten: thirteen digits
                // that are a valid barcode need a card word.
                let barcode = n == 13 && ean13_ok(d) && hint != Some(Hint::Personal);
                (!in_url && !barcode && hint != Some(Hint::Other))
                    .then(|| Candidate::new(Kind::Card, sl.span.clone(), d.into()))
            }
            _ => phone.and_then(|p| hit(Kind::Phone, p)),
        }
    }
}

/// The domestic digits ("09012345678") if the slice is a Japanese phone number.
fn phone_number(sl: &Slice) -> Option<String> {
    let domestic = if sl.plus81 {
        let rest = &sl.digits[2..];
        // "+81 (0)90…" and the common slip "+81 090…".
        let rest = rest.strip_prefix('0').unwrap_or(rest);
        if sl.lens.len() > 5 {
            return None;
        }
        format!("0{rest}")
    } else {
        if sl.lens.len() > 4 || (sl.lens.len() > 1 && !(2..=5).contains(&sl.lens[0])) {
            return None;
        }
        sl.digits.clone()
    };
    valid_phone(&domestic).then_some(domestic)
}

/// Japanese numbering: 11 digits for mobile, IP phone, M2M and 0800 toll-free;
/// 10 digits for fixed lines, 0120 toll-free and 0570.
fn valid_phone(d: &str) -> bool {
    const ELEVEN: [&str; 6] = ["020", "050", "060", "070", "080", "090"];
    let b = d.as_bytes();
    if b.first() != Some(&b'0') || b.get(1) == Some(&b'0') {
        return false;
    }
    match b.len() {
        11 => ELEVEN.iter().any(|p| d.starts_with(p)),
        10 => !ELEVEN.iter().any(|p| d.starts_with(p)),
        _ => false,
    }
}

fn all_same(d: &str) -> bool {
    let b = d.as_bytes();
    b.iter().all(|&c| c == b[0])
}

/// The official My Number check digit: weights n+1 for n = 1..=6 and n-5 for
/// n = 7..=11, n counted from the right over the first eleven digits.
pub(crate) fn my_number_ok(d: &str) -> bool {
    let b = d.as_bytes();
    if b.len() != 12 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let sum: u32 = (1..=11u32)
        .map(|n| {
            let p = u32::from(b[11 - n as usize] - b'0');
            p * if n <= 6 { n + 1 } else { n - 5 }
        })
        .sum();
    let r = sum % 11;
    let check = if r <= 1 { 0 } else { 11 - r };
    u32::from(b[11] - b'0') == check
}

pub(crate) fn luhn_ok(d: &str) -> bool {
    let mut sum = 0;
    for (i, c) in d.bytes().rev().enumerate() {
        let mut x = u32::from(c - b'0');
        if i % 2 == 1 {
            x *= 2;
            if x > 9 {
                x -= 9;
            }
        }
        sum += x;
    }
    sum % 10 == 0
}

/// Issuer prefixes by length, loosely: enough to keep 15-digit IMEIs (TAC 35…)
/// and other Luhn-valid ids out. 13: Visa; 14: Diners; 15: Amex, old JCB, UATP;
/// 16–19: Visa, Mastercard, JCB, Discover, UnionPay, Mir.
fn card_prefix_ok(d: &str) -> bool {
    match d.len() {
        13 => d.starts_with('4'),
        14 => ["30", "36", "38", "39"].iter().any(|p| d.starts_with(p)),
        15 => ["34", "37", "2131", "1"].iter().any(|p| d.starts_with(p)),
        _ => matches!(d.as_bytes()[0], b'2'..=b'6'),
    }
}

fn ean13_ok(d: &str) -> bool {
    let b = d.as_bytes();
    if b.len() != 13 {
        return false;
    }
    let sum: u32 = b[..12].iter().enumerate().map(|(i, &c)| u32::from(c - b'0') * if i % 2 == 1 { 3 } else { 1 }).sum();
    (10 - sum % 10) % 10 == u32::from(b[12] - b'0')
}

/// What the text on one side of a number allows it to be.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Edge {
    Ok,
    /// Glued to letters that name a phone ("TEL0312345678"), or in a comma list.
    OnlyPhone,
    Reject,
}

/// Whether what precedes `start` lets a number begin there: not glued to letters,
/// digits, a price sign or the tail of a longer number ("2024-", "1.", "1,").
fn lead(s: &str, start: usize) -> Edge {
    let before = &s[..start];
    let mut it = before.chars().rev();
    let Some(p) = it.next() else { return Edge::Ok };
    let pp = it.next();
    if p.is_ascii_alphabetic() {
        let tail = before.get(before.len().saturating_sub(3)..).unwrap_or("");
        return if tail.eq_ignore_ascii_case("tel") || tail.eq_ignore_ascii_case("fax") {
            Edge::OnlyPhone
        } else {
            Edge::Reject
        };
    }
    if p == ' ' && pp.is_some_and(|c| matches!(c, '¥' | '$' | '€' | '£')) {
        return Edge::Reject;
    }
    let reject = match p {
        '_' | '¥' | '$' | '€' | '£' | '#' | '+' => true,
        '-' => pp.is_some_and(|c| c.is_ascii_alphanumeric()),
        '.' | ':' => pp.is_some_and(|c| c.is_ascii_digit()),
        ',' if pp.is_some_and(|c| c.is_ascii_digit()) => return Edge::OnlyPhone,
        _ => false,
    };
    if reject {
        Edge::Reject
    } else {
        Edge::Ok
    }
}

/// Whether what follows `end` lets a number end there: not glued to letters, not
/// the head of a longer number ("-1", ".5"), not a quantity ("円", "件", "%").
fn trail(s: &str, end: usize) -> Edge {
    let mut it = s[end..].chars();
    let Some(c) = it.next() else { return Edge::Ok };
    let digit_next = it.next().is_some_and(|d| d.is_ascii_digit());
    if c.is_ascii_alphanumeric() || c == '_' || c == '%' {
        return Edge::Reject;
    }
    // A quantity ("1234567890円"); a phone number is never one, so it may stay.
    if UNITS.contains(c) || s[end..].starts_with(" 円") {
        return Edge::OnlyPhone;
    }
    match c {
        // A list of phone numbers ("09012345678,09087654321"); for other kinds a
        // comma before a digit is a thousands separator.
        ',' if digit_next => Edge::OnlyPhone,
        '.' | '-' | ':' if digit_next => Edge::Reject,
        _ => Edge::Ok,
    }
}

/// The nearest naming word in the same sentence before `pos`, with no digits between.
fn hint_before(s: &str, pos: usize) -> Option<Hint> {
    let before = &s[..pos];
    let mut from = pos;
    for (count, (i, c)) in before.char_indices().rev().enumerate() {
        if count >= 24 || c.is_ascii_digit() || matches!(c, '\n' | '。' | '?' | '!') {
            break;
        }
        from = i;
    }
    let window = before[from..].to_ascii_lowercase();
    HINTS
        .iter()
        .filter_map(|&(w, h)| window.rfind(w).map(|at| (at + w.len(), w.len(), h)))
        .max_by_key(|&(end, len, _)| (end, len))
        .map(|(_, _, h)| h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn my_number_check_digit() {
        assert!(my_number_ok("123456789018"));
        assert!(!my_number_ok("123456789012"));
        assert!(my_number_ok("000000000000"));
        assert!(!my_number_ok("12345678901"));
    }

    #[test]
    fn luhn() {
        assert!(luhn_ok("4111111111111111"));
        assert!(luhn_ok("378282246310005"));
        assert!(!luhn_ok("4111111111111112"));
    }

    #[test]
    fn phone_numbering() {
        for ok in ["09012345678", "0312345678", "0120123456", "08001234567", "05012345678", "0570123456"] {
            assert!(valid_phone(ok), "{ok}");
        }
        for bad in ["0901234567", "090123456789", "0012345678", "1234567890", "031234567"] {
            assert!(!valid_phone(bad), "{bad}");
        }
    }

    #[test]
    fn nearest_hint_wins() {
        let s = "MNP予約番号は1234567890、電話番号は0312345678";
        let at = s.rfind("03").unwrap();
        assert_eq!(hint_before(s, at), Some(Hint::Phone));
        let s = "注文のカード 4111";
        assert_eq!(hint_before(s, s.len() - 4), Some(Hint::Personal));
        assert_eq!(hint_before("予約番号は以下です。", "予約番号は以下です。".len()), None);
    }
}
