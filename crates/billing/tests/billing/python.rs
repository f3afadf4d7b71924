//! Cross-check with Stripe's official Python library (`stripe` in the project's
//! venv): it verifies headers from our `sign()`, and we verify headers it makes.
//! Skipped with a note when the venv is missing, unless `TENMON_REQUIRE_ALL=1`.

use std::path::PathBuf;
use std::process::Command;
use tenmon_billing::{sign, verify, BillingError, DEFAULT_TOLERANCE};

const SECRET: &str = "whsec_crossCheckSecret0123456789";

fn python() -> Option<PathBuf> {
    // `make test` names the venv's python; else the default venv location.
    let path = match std::env::var("TENMON_PYTHON") {
        Ok(p) => PathBuf::from(p),
        Err(_) => PathBuf::from(std::env::var("HOME").unwrap_or_default()).join(".cache/tenmon-ark/venv/bin/python"),
    };
    if path.exists() {
        return Some(path);
    }
    if std::env::var("TENMON_REQUIRE_ALL").as_deref() == Ok("1") {
        panic!("TENMON_REQUIRE_ALL=1 but {} does not exist", path.display());
    }
    println!("note: skipping the stripe-python cross-check: {} does not exist", path.display());
    None
}

/// Run a script with the arguments as `sys.argv[1:]`; stdout, trimmed.
fn run(python: &PathBuf, script: &str, args: &[&str]) -> String {
    let out = Command::new(python).arg("-c").arg(script).args(args).output().expect("run python");
    assert!(out.status.success(), "python failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn body() -> String {
    // Non-ASCII on purpose: the MAC is over the UTF-8 bytes on both sides.
    serde_json::json!({ "id": "evt_x", "object": "event", "type": "invoice.paid", "data": { "object": { "description": "1 × プロ" } } })
        .to_string()
}

#[test]
fn stripe_python_accepts_our_signatures() {
    let Some(python) = python() else { return };
    let body = body();
    let now = tenmon_billing::unix_now();
    let script = r#"
import sys, stripe
payload, header, secret = sys.argv[1], sys.argv[2], sys.argv[3]
try:
    stripe.WebhookSignature.verify_header(payload, header, secret, 300)
    print("ok")
except stripe.SignatureVerificationError as e:
    print("refused")
"#;
    assert_eq!(run(&python, script, &[&body, &sign(SECRET, body.as_bytes(), now), SECRET]), "ok");
    assert_eq!(run(&python, script, &[&body, &sign("whsec_other", body.as_bytes(), now), SECRET]), "refused");
    assert_eq!(run(&python, script, &[&body, &sign(SECRET, body.as_bytes(), now - 301), SECRET]), "refused");
}

#[test]
fn we_accept_stripe_pythons_signatures() {
    let Some(python) = python() else { return };
    let body = body();
    let now = tenmon_billing::unix_now();
    let script = r#"
import sys, stripe
payload, secret, t = sys.argv[1], sys.argv[2], int(sys.argv[3])
print(stripe.WebhookSignature.generate_signature_header(payload, secret, t))
sig = stripe.WebhookSignature._compute_signature("%d.%s" % (t, payload), secret)
print("t=%d,v1=%s,v1=%s" % (t, "0" * 64, sig))
"#;
    let out = run(&python, script, &[&body, SECRET, &now.to_string()]);
    let mut lines = out.lines();
    let generated = lines.next().unwrap();
    let rotated = lines.next().unwrap();
    assert_eq!(generated, sign(SECRET, body.as_bytes(), now), "byte-identical headers");
    assert_eq!(verify(SECRET, Some(generated), body.as_bytes(), DEFAULT_TOLERANCE, now), Ok(()));
    assert_eq!(verify(SECRET, Some(rotated), body.as_bytes(), DEFAULT_TOLERANCE, now), Ok(()));
    assert_eq!(
        verify("whsec_other", Some(generated), body.as_bytes(), DEFAULT_TOLERANCE, now),
        Err(BillingError::SignatureMismatch)
    );
}
