//! Text files: decode UTF-8 or Shift_JIS to UTF-8 as the bytes stream by.

use encoding_rs::{CoderResult, SHIFT_JIS, UTF_8};

use super::{Extracted, Sink};
use crate::kind::Charset;

/// A streaming decoder into a bounded [`Sink`].
pub(crate) struct Decoder {
    decoder: encoding_rs::Decoder,
    sink: Sink,
    buf: String,
}

impl Decoder {
    pub(crate) fn new(charset: Charset, max_chars: usize) -> Self {
        let decoder = match charset {
            Charset::Utf8 => UTF_8.new_decoder_with_bom_removal(),
            Charset::ShiftJis => SHIFT_JIS.new_decoder_without_bom_handling(),
        };
        Self { decoder, sink: Sink::new(max_chars), buf: String::with_capacity(8192) }
    }

    /// Decodes the next bytes (malformed ones become U+FFFD); false once the sink is full.
    pub(crate) fn feed(&mut self, mut bytes: &[u8], last: bool) -> bool {
        loop {
            self.buf.clear();
            let (result, read, _) = self.decoder.decode_to_string(bytes, &mut self.buf, last);
            bytes = &bytes[read..];
            if !self.sink.push(&self.buf) {
                return false;
            }
            if result == CoderResult::InputEmpty {
                return true;
            }
        }
    }

    pub(crate) fn finish(self) -> Extracted {
        self.sink.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::extract;
    use crate::kind::{FileKind, TextFormat};

    fn csv(charset: Charset) -> FileKind {
        FileKind::Text(TextFormat::Csv, charset)
    }

    #[test]
    fn shift_jis_csv_becomes_utf8() {
        let (sjis, _, _) = SHIFT_JIS.encode("品名,価格\r\nりんご,100\r\n");
        let out = extract(csv(Charset::ShiftJis), &sjis, 1000).unwrap();
        assert_eq!(out.text, "品名,価格\nりんご,100\n");
        assert!(!out.truncated);
    }

    #[test]
    fn utf8_bom_is_dropped() {
        let out = extract(csv(Charset::Utf8), "\u{feff}a,b\n".as_bytes(), 1000).unwrap();
        assert_eq!(out.text, "a,b\n");
    }

    #[test]
    fn stops_at_max_chars_across_chunks() {
        let mut d = Decoder::new(Charset::Utf8, 4);
        assert!(d.feed("あい".as_bytes(), false));
        // A character split across two chunks still decodes once.
        let u = "うえお".as_bytes();
        assert!(d.feed(&u[..1], false));
        assert!(!d.feed(&u[1..], false));
        let out = d.finish();
        assert_eq!(out.text, "あいうえ");
        assert!(out.truncated);
    }
}
