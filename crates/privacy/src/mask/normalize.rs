//! Detection runs on a folded copy of the text (full-width ASCII, ideographic
//! spaces and the many Unicode hyphens become plain ASCII) so one set of rules
//! covers both widths. The offset map takes a match back to the original bytes,
//! because what gets replaced is the user's own span, untouched.

use std::borrow::Cow;
use std::ops::Range;

/// A folded copy of a text and the way back to the original's byte offsets.
pub(crate) struct Normalized<'a> {
    text: Cow<'a, str>,
    /// For each byte of `text` (and one past the end): the original byte offset of
    /// the character it came from. `None` when folding changed no offsets.
    map: Option<Vec<usize>>,
}

impl<'a> Normalized<'a> {
    pub(crate) fn new(src: &'a str) -> Self {
        if src.is_ascii() && !src.contains('\t') {
            return Self { text: Cow::Borrowed(src), map: None };
        }
        let mut out = String::with_capacity(src.len());
        let mut map = Vec::with_capacity(src.len() + 1);
        let mut prev: Option<char> = None;
        let mut it = src.char_indices().peekable();
        while let Some((i, c)) = it.next() {
            let next = it.peek().map(|&(_, n)| n);
            let before = out.len();
            out.push(fold(c, prev, next));
            map.extend(std::iter::repeat_n(i, out.len() - before));
            prev = Some(c);
        }
        map.push(src.len());
        // Every fold that changes a character also shortens it, so equal lengths
        // mean equal offsets.
        let map = (out.len() != src.len()).then_some(map);
        Self { text: Cow::Owned(out), map }
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The original byte range of a range of the folded text (both on char boundaries).
    pub(crate) fn original(&self, r: Range<usize>) -> Range<usize> {
        match &self.map {
            None => r,
            Some(m) => m[r.start]..m[r.end],
        }
    }
}

fn is_digit(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

/// One character in, one character out: the offset map relies on it.
fn fold(c: char, prev: Option<char>, next: Option<char>) -> char {
    match c {
        // Full-width ASCII block: digits, letters, ＠ ． － （ ） ＋ ： ／ and friends.
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{FFE5}' => '¥',
        '\u{3000}' | '\u{00A0}' | '\t' => ' ',
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE63}' => '-',
        // The prolonged sound mark is a hyphen only between digits ("０９０ー1234"):
        // elsewhere it is part of a word (カード, マイナンバー).
        'ー' | 'ｰ' if prev.is_some_and(is_digit) || next.is_some_and(is_digit) => '-',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_full_width_and_maps_back() {
        let src = "電話：０９０－１２３４ー５６７８です";
        let n = Normalized::new(src);
        assert_eq!(n.text(), "電話:090-1234-5678です");
        let start = n.text().find('0').unwrap();
        let r = n.original(start..start + "090-1234-5678".len());
        assert_eq!(&src[r], "０９０－１２３４ー５６７８");
    }

    #[test]
    fn keeps_long_vowel_in_words() {
        assert_eq!(Normalized::new("カード番号とマイナンバー").text(), "カード番号とマイナンバー");
    }

    #[test]
    fn ascii_is_borrowed() {
        let n = Normalized::new("call 090-1234-5678");
        assert!(matches!(n.text, Cow::Borrowed(_)));
        assert_eq!(n.original(5..18), 5..18);
    }
}
