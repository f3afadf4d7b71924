//! JSON strings written straight into a buffer, escaped as `serde_json` escapes
//! them. Every turn sends the whole prompt upstream, system prompt included, and
//! serde_json checks it byte by byte against a table; here eight bytes are checked
//! at a time (a word-at-a-time test for `"`, `\` and control bytes), and only
//! the rare word that holds one goes byte by byte. Japanese text, where every
//! byte is ≥ 0x80, passes in whole words.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether any byte of `w` is a control byte (< 0x20), `"` or `\`. Exact: the
/// classic "has a zero byte" and "has a byte less than n" tests never miss one.
#[inline]
fn needs_escape(w: u64) -> bool {
    let control = w.wrapping_sub(ONES * 0x20) & !w;
    let quote = w ^ (ONES * u64::from(b'"'));
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = w ^ (ONES * u64::from(b'\\'));
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (control | quote | backslash) & HIGHS != 0
}

/// The escape for `b`, or `None` when it goes as it is.
#[inline]
fn escape(b: u8) -> Option<&'static [u8]> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    static CONTROL: [[u8; 6]; 32] = {
        let mut t = [[0u8; 6]; 32];
        let mut i = 0;
        while i < 32 {
            t[i] = [b'\\', b'u', b'0', b'0', HEX[i >> 4], HEX[i & 0xf]];
            i += 1;
        }
        t
    };
    Some(match b {
        b'"' => b"\\\"",
        b'\\' => b"\\\\",
        b'\n' => b"\\n",
        b'\r' => b"\\r",
        b'\t' => b"\\t",
        0x08 => b"\\b",
        0x0c => b"\\f",
        0..=0x1f => &CONTROL[b as usize],
        _ => return None,
    })
}

/// Append `s` as a JSON string (quotes included).
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let (mut start, mut i) = (0, 0);
    while i < bytes.len() {
        if let Some(word) = bytes.get(i..i + 8) {
            let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
            if !needs_escape(w) {
                i += 8;
                continue;
            }
        }
        // A word with something to escape (or the tail): byte by byte to its end.
        let end = (i + 8).min(bytes.len());
        while i < end {
            if let Some(e) = escape(bytes[i]) {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(e);
                start = i + 1;
            }
            i += 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ours(s: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, s);
        String::from_utf8(out).expect("valid UTF-8")
    }

    #[test]
    fn escapes_exactly_as_serde_json_does() {
        let mut cases: Vec<String> = [
            "",
            "plain ascii text that is longer than a word",
            "予約番号の有効期限は？ MNP予約番号は15日間有効です。",
            "quote \" and backslash \\ and / slash",
            "\u{0}\u{1}\u{8}\u{9}\u{a}\u{b}\u{c}\u{d}\u{1f}\u{7f} end",
            "\u{2028}\u{2029} emoji 😀 é",
            "\"\"\"\"\"\"\"\"\"",
            "1234567\"",
            "12345678\\",
            "a\n",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every byte value at every position of a 17-byte window, so each lands at
        // each offset within a word and in the tail.
        for b in 0u8..0x80 {
            for pos in 0..17 {
                let mut s = "x".repeat(17);
                s.replace_range(pos..pos + 1, &char::from(b).to_string());
                cases.push(s);
            }
        }
        for s in &cases {
            assert_eq!(ours(s), serde_json::to_string(s).unwrap(), "for {s:?}");
        }
    }
}
