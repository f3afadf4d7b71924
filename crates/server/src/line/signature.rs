//! `X-Line-Signature`: base64 of HMAC-SHA256 over the raw request body, keyed by
//! the channel secret. Checked before anything in the body is parsed.

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The signature LINE sends for `body`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = HmacSha256::new_from_slice(secret).unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `header` is the signature of `body`: decoded and compared in constant time.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(sent) = header.map(str::trim).filter(|s| !s.is_empty()) else { return false };
    let Ok(sent) = base64::engine::general_purpose::STANDARD.decode(sent) else { return false };
    let Ok(mut mac) = HmacSha256::new_from_slice(secret) else { return false };
    mac.update(body);
    // `verify_slice` compares in constant time (and rejects a wrong length).
    mac.verify_slice(&sent).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        // RFC 4231-style check computed independently: HMAC-SHA256("key", "The quick brown fox jumps over the lazy dog").
        let sig = sign(b"key", b"The quick brown fox jumps over the lazy dog");
        assert_eq!(sig, "97yD9DBThCSxMpjmqm+xQ+9NWaFJRhdZl0edvC0aPNg=");
    }

    #[test]
    fn verify_accepts_only_the_exact_signature() {
        let body = br#"{"events":[]}"#;
        let sig = sign(b"secret", body);
        assert!(verify(b"secret", body, Some(&sig)));
        assert!(!verify(b"other", body, Some(&sig)));
        assert!(!verify(b"secret", br#"{"events":[ ]}"#, Some(&sig)));
        assert!(!verify(b"secret", body, None));
        assert!(!verify(b"secret", body, Some("")));
        assert!(!verify(b"secret", body, Some("not base64!")));
        assert!(!verify(b"secret", body, Some(&sig[..20])));
    }
}
