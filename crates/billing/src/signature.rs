//! Stripe webhook signatures, exactly as Stripe specifies them: the header is
//! `t=<unix>,v1=<hex>[,v1=<hex>…][,v0=<hex>]`, the signed payload is
//! `"{t}.{raw body}"`, the MAC is HMAC-SHA256 keyed with the endpoint secret
//! (`whsec_…`, the whole string as key bytes, as Stripe's libraries use it).
//!
//! A body is trusted only after [`verify`] passes, so [`WebhookVerifier::verify_event`]
//! is the one way to turn a request into an [`Event`]: it verifies before any JSON
//! is parsed.

use crate::events::Event;
use crate::BillingError;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use std::time::Duration;
use subtle::ConstantTimeEq;

/// Stripe's own default: events older (or newer) than five minutes are refused,
/// which bounds replays of a captured request.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// The name of the header Stripe signs with.
pub const HEADER: &str = "Stripe-Signature";

/// A webhook endpoint's secret and tolerance; build once from config.
#[derive(Debug, Clone)]
pub struct WebhookVerifier {
    secret: SecretString,
    tolerance: Duration,
}

impl WebhookVerifier {
    pub fn new(secret: SecretString) -> Self {
        Self { secret, tolerance: DEFAULT_TOLERANCE }
    }

    pub fn with_tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Verify the raw body against the header; `now` is unix seconds.
    pub fn verify(&self, header: Option<&str>, body: &[u8], now: i64) -> Result<(), BillingError> {
        verify(self.secret.expose_secret(), header, body, self.tolerance, now)
    }

    /// Verify, then (only then) parse the body into an event.
    pub fn verify_event(&self, header: Option<&str>, body: &[u8], now: i64) -> Result<Event, BillingError> {
        self.verify(header, body, now)?;
        Event::parse(body)
    }
}

type HmacSha256 = Hmac<Sha256>;

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
    // HMAC is defined for keys of every length (long keys are hashed first), so
    // this cannot fail; the Result is only the generic KeyInit signature.
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

struct Header<'a> {
    timestamp: i64,
    v1: Vec<&'a str>,
}

fn parse_header(header: &str) -> Result<Header<'_>, BillingError> {
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for item in header.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (key, value) = item.split_once('=').ok_or(BillingError::MalformedHeader)?;
        match key.trim() {
            // Two timestamps would make "which one was signed" ambiguous.
            "t" if timestamp.is_some() => return Err(BillingError::MalformedHeader),
            "t" => timestamp = Some(value.trim().parse::<i64>().map_err(|_| BillingError::MalformedHeader)?),
            "v1" => v1.push(value.trim()),
            // v0 (test-mode legacy) and any future scheme: not ours to check.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(BillingError::MalformedHeader)?;
    Ok(Header { timestamp, v1 })
}

/// Check a `Stripe-Signature` header against the raw request body.
///
/// Accepts when any `v1` signature matches (Stripe sends several while an
/// endpoint secret is being rolled), each compared in constant time; then
/// refuses a timestamp more than `tolerance` away from `now` (unix seconds), in
/// either direction. The order matches Stripe's libraries: an unsigned timestamp
/// proves nothing, so a bad signature is reported as such.
pub fn verify(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    tolerance: Duration,
    now: i64,
) -> Result<(), BillingError> {
    let header = header.map(str::trim).filter(|h| !h.is_empty()).ok_or(BillingError::MissingHeader)?;
    let parsed = parse_header(header)?;
    if parsed.v1.is_empty() {
        return Err(BillingError::NoV1Signature);
    }
    let expected = mac(secret, parsed.timestamp, body);
    let matched = parsed
        .v1
        .iter()
        .filter_map(|sig| hex::decode(sig).ok())
        .any(|candidate| bool::from(expected.as_slice().ct_eq(candidate.as_slice())));
    if !matched {
        return Err(BillingError::SignatureMismatch);
    }
    if now.abs_diff(parsed.timestamp) > tolerance.as_secs() {
        return Err(BillingError::TimestampOutsideTolerance {
            timestamp: parsed.timestamp,
            tolerance_secs: tolerance.as_secs(),
        });
    }
    Ok(())
}

/// The header Stripe would send for `payload` at `timestamp`: `t=…,v1=…`.
/// For tests and the fake Stripe; production code only verifies.
pub fn sign(secret: &str, payload: &[u8], timestamp: i64) -> String {
    format!("t={timestamp},v1={}", hex::encode(mac(secret, timestamp, payload)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret_0123456789";
    const BODY: &[u8] = br#"{"id":"evt_1","object":"event","type":"customer.created"}"#;
    const T: i64 = 1_700_000_000;

    fn check(header: &str, body: &[u8], now: i64) -> Result<(), BillingError> {
        verify(SECRET, Some(header), body, DEFAULT_TOLERANCE, now)
    }

    #[test]
    fn a_header_from_sign_verifies() {
        assert_eq!(check(&sign(SECRET, BODY, T), BODY, T), Ok(()));
    }

    #[test]
    fn known_vector_matches_a_plain_hmac() {
        // `printf '1.{}' | openssl dgst -sha256 -hmac whsec_abc`
        assert_eq!(
            sign("whsec_abc", b"{}", 1),
            "t=1,v1=07301c55760783275ad3b893a15abe1d07b70c8e96b12a204061b23840f0b05b"
        );
    }

    #[test]
    fn the_wrong_secret_is_a_mismatch() {
        let header = sign("whsec_other", BODY, T);
        assert_eq!(check(&header, BODY, T), Err(BillingError::SignatureMismatch));
    }

    #[test]
    fn a_tampered_body_is_a_mismatch() {
        let header = sign(SECRET, BODY, T);
        let tampered = br#"{"id":"evt_1","object":"event","type":"customer.deleted"}"#;
        assert_eq!(check(&header, tampered, T), Err(BillingError::SignatureMismatch));
    }

    #[test]
    fn a_changed_timestamp_is_a_mismatch() {
        let header = sign(SECRET, BODY, T).replace(&format!("t={T}"), &format!("t={}", T + 1));
        assert_eq!(check(&header, BODY, T), Err(BillingError::SignatureMismatch));
    }

    #[test]
    fn stale_and_future_timestamps_are_refused() {
        let header = sign(SECRET, BODY, T);
        assert_eq!(check(&header, BODY, T + 300), Ok(()));
        assert_eq!(check(&header, BODY, T - 300), Ok(()));
        let outside = Err(BillingError::TimestampOutsideTolerance { timestamp: T, tolerance_secs: 300 });
        assert_eq!(check(&header, BODY, T + 301), outside);
        assert_eq!(check(&header, BODY, T - 301), outside);
        let strict = verify(SECRET, Some(&header), BODY, Duration::from_secs(10), T + 11);
        assert_eq!(strict, Err(BillingError::TimestampOutsideTolerance { timestamp: T, tolerance_secs: 10 }));
    }

    #[test]
    fn any_matching_v1_is_enough() {
        let good = sign(SECRET, BODY, T);
        let good_sig = good.split_once(",v1=").map(|(_, s)| s).unwrap_or_default();
        let old_secret_sig = sign("whsec_old", BODY, T).split_once(",v1=").map(|(_, s)| s.to_string()).unwrap();
        let header = format!("t={T},v1={old_secret_sig},v1={good_sig},v0=deadbeef");
        assert_eq!(check(&header, BODY, T), Ok(()));
        let header = format!("t={T},v1={good_sig},v1=not-hex");
        assert_eq!(check(&header, BODY, T), Ok(()));
        let header = format!("t={T},v1={old_secret_sig},v1=abcd");
        assert_eq!(check(&header, BODY, T), Err(BillingError::SignatureMismatch));
    }

    #[test]
    fn uppercase_hex_and_spaces_are_tolerated() {
        let header = sign(SECRET, BODY, T);
        let (t, sig) = header.split_once(",v1=").unwrap();
        assert_eq!(check(&format!("{t}, v1={}", sig.to_uppercase()), BODY, T), Ok(()));
    }

    #[test]
    fn missing_header() {
        assert_eq!(verify(SECRET, None, BODY, DEFAULT_TOLERANCE, T), Err(BillingError::MissingHeader));
        assert_eq!(check("", BODY, T), Err(BillingError::MissingHeader));
        assert_eq!(check("   ", BODY, T), Err(BillingError::MissingHeader));
    }

    #[test]
    fn malformed_headers() {
        for header in ["garbage", "v1=abcd", "t=abc,v1=abcd", "t=,v1=abcd", "t=1,t=2,v1=abcd", "t=1,v1"] {
            assert_eq!(check(header, BODY, T), Err(BillingError::MalformedHeader), "{header}");
        }
    }

    #[test]
    fn no_v1_signature() {
        assert_eq!(check(&format!("t={T}"), BODY, T), Err(BillingError::NoV1Signature));
        assert_eq!(check(&format!("t={T},v0=abcd"), BODY, T), Err(BillingError::NoV1Signature));
    }

    #[test]
    fn codes_are_the_documented_ones() {
        assert_eq!(BillingError::MissingHeader.code(), "missing_header");
        assert_eq!(BillingError::MalformedHeader.code(), "malformed_header");
        assert_eq!(BillingError::NoV1Signature.code(), "no_v1_signature");
        assert_eq!(BillingError::SignatureMismatch.code(), "signature_mismatch");
        let e = BillingError::TimestampOutsideTolerance { timestamp: 0, tolerance_secs: 300 };
        assert_eq!(e.code(), "timestamp_outside_tolerance");
        assert!(e.is_signature_error());
    }

    #[test]
    fn the_verifier_refuses_before_parsing() {
        let verifier = WebhookVerifier::new(SecretString::from(SECRET));
        // Not JSON at all: a bad signature must win over the parse error.
        let err = verifier.verify_event(Some(&sign("whsec_other", b"not json", T)), b"not json", T);
        assert_eq!(err.err(), Some(BillingError::SignatureMismatch));
        let err = verifier.verify_event(Some(&sign(SECRET, b"not json", T)), b"not json", T);
        assert!(matches!(err, Err(BillingError::MalformedEvent(_))));
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let verifier = WebhookVerifier::new(SecretString::from(SECRET));
        assert!(!format!("{verifier:?}").contains("whsec_test"));
    }
}
