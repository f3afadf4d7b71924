//! The audit log's hash chain: each record carries the SHA-256 of its own content
//! and of the record before it, so editing, removing or reordering a stored record
//! is detected when the chain is verified.
//!
//! What a chain alone cannot show: a removed *last* record (the shorter chain is
//! still a valid chain), or a chain rewritten wholesale by someone who can write
//! the table (there is no secret in a hash). Both are caught by comparing the head
//! with a checkpoint kept elsewhere (exported, logged, or in another system):
//! [`verify_with_head`] and [`verify_from`].
//!
//! The hash input is a length-prefixed encoding (no separator can be forged by a
//! field's content) with `details` as canonical JSON (sorted keys), so it survives
//! a database that reorders JSON keys (PostgreSQL `jsonb`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One sealed entry of the audit log. Sequences start at 1.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AuditRecord {
    pub seq: i64,
    /// RFC 3339 time, hashed as written.
    pub at: String,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub details: serde_json::Value,
    /// Hex SHA-256 of the previous record ([`genesis_hash`] for the first).
    pub prev_hash: String,
    /// Hex SHA-256 of this record's content and `prev_hash`.
    pub hash: String,
}

/// What happened, before it gets a place in the chain.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct AuditDraft {
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub details: serde_json::Value,
}

impl AuditDraft {
    pub fn new(action: impl Into<String>) -> Self {
        Self { action: action.into(), ..Self::default() }
    }
}

/// Where verification found the chain broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The record's content does not match its hash.
    #[error("audit record {seq} was edited")]
    Edited { seq: i64 },
    /// The record does not follow the one before it (one was removed or inserted).
    #[error("audit chain broken before record {seq}")]
    Broken { seq: i64 },
    /// Sequence numbers skip: records `expected..found` are missing.
    #[error("audit records missing: expected {expected}, found {found}")]
    Gap { expected: i64, found: i64 },
    /// Records are out of order.
    #[error("audit records out of order: expected {expected}, found {found}")]
    Reordered { expected: i64, found: i64 },
    /// The chain is valid but ends elsewhere than the checkpoint: records were
    /// removed from the end, or the chain was rewritten.
    #[error("audit chain head does not match the checkpoint (last seq {last_seq})")]
    HeadMismatch { last_seq: i64 },
}

/// The `prev_hash` of the first record.
pub fn genesis_hash() -> String {
    "0".repeat(64)
}

/// The hash of a record with this content at this place in the chain.
pub fn compute_hash(seq: i64, at: &str, draft: &AuditDraft, prev_hash: &str) -> String {
    Fields {
        seq,
        at,
        actor: draft.actor.as_deref(),
        action: &draft.action,
        target: draft.target.as_deref(),
        ip: draft.ip.as_deref(),
        user_agent: draft.user_agent.as_deref(),
        request_id: draft.request_id.as_deref(),
        details: &draft.details,
        prev_hash,
    }
    .hash()
}

/// Gives a draft its place in the chain.
pub fn seal(draft: AuditDraft, seq: i64, at: String, prev_hash: &str) -> AuditRecord {
    let hash = compute_hash(seq, &at, &draft, prev_hash);
    AuditRecord {
        seq,
        at,
        actor: draft.actor,
        action: draft.action,
        target: draft.target,
        ip: draft.ip,
        user_agent: draft.user_agent,
        request_id: draft.request_id,
        details: draft.details,
        prev_hash: prev_hash.to_owned(),
        hash,
    }
}

impl AuditRecord {
    /// The hash this record's content should have.
    pub fn expected_hash(&self) -> String {
        Fields {
            seq: self.seq,
            at: &self.at,
            actor: self.actor.as_deref(),
            action: &self.action,
            target: self.target.as_deref(),
            ip: self.ip.as_deref(),
            user_agent: self.user_agent.as_deref(),
            request_id: self.request_id.as_deref(),
            details: &self.details,
            prev_hash: &self.prev_hash,
        }
        .hash()
    }
}

/// Verifies a whole chain from its first record (seq 1); returns the record count.
pub fn verify<'a>(records: impl IntoIterator<Item = &'a AuditRecord>) -> Result<u64, ChainError> {
    verify_from(0, &genesis_hash(), records).map(|(n, _)| n)
}

/// Verifies a whole chain and that it ends at `expected_head` (the hash of the
/// last record at the last checkpoint, or [`genesis_hash`] for an empty log).
pub fn verify_with_head<'a>(
    records: impl IntoIterator<Item = &'a AuditRecord>,
    expected_head: &str,
) -> Result<u64, ChainError> {
    let (n, head) = verify_from(0, &genesis_hash(), records)?;
    if head.hash != expected_head {
        return Err(ChainError::HeadMismatch { last_seq: head.seq });
    }
    Ok(n)
}

/// The last record a verification saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub seq: i64,
    pub hash: String,
}

/// Verifies the records that follow a trusted point (`after_seq`, `after_hash`),
/// e.g. a stored checkpoint, so a long log need not be re-read from the start.
/// Returns the count and the new head.
pub fn verify_from<'a>(
    after_seq: i64,
    after_hash: &str,
    records: impl IntoIterator<Item = &'a AuditRecord>,
) -> Result<(u64, Head), ChainError> {
    let mut head = Head { seq: after_seq, hash: after_hash.to_owned() };
    let mut count = 0;
    let records: Vec<&AuditRecord> = records.into_iter().collect();
    for (i, r) in records.iter().enumerate() {
        let expected = head.seq + 1;
        if r.seq != expected {
            let later = records[i + 1..].iter().any(|n| n.seq == expected);
            return Err(if r.seq < expected || later {
                ChainError::Reordered { expected, found: r.seq }
            } else {
                ChainError::Gap { expected, found: r.seq }
            });
        }
        if r.expected_hash() != r.hash {
            return Err(ChainError::Edited { seq: r.seq });
        }
        if r.prev_hash != head.hash {
            return Err(ChainError::Broken { seq: r.seq });
        }
        head = Head { seq: r.seq, hash: r.hash.clone() };
        count += 1;
    }
    Ok((count, head))
}

/// Borrowed view of everything a record's hash covers.
struct Fields<'a> {
    seq: i64,
    at: &'a str,
    actor: Option<&'a str>,
    action: &'a str,
    target: Option<&'a str>,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    request_id: Option<&'a str>,
    details: &'a serde_json::Value,
    prev_hash: &'a str,
}

impl Fields<'_> {
    fn hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"tenmon-audit-v1");
        h.update(self.seq.to_be_bytes());
        field(&mut h, Some(self.at));
        field(&mut h, self.actor);
        field(&mut h, Some(self.action));
        field(&mut h, self.target);
        field(&mut h, self.ip);
        field(&mut h, self.user_agent);
        field(&mut h, self.request_id);
        let mut details = String::new();
        canonical_json(self.details, &mut details);
        field(&mut h, Some(&details));
        field(&mut h, Some(self.prev_hash));
        hex::encode(h.finalize())
    }
}

/// A presence byte, then the length, then the bytes: `None` and `Some("")` differ,
/// and no content can pass for a field boundary.
fn field(h: &mut Sha256, v: Option<&str>) {
    match v {
        None => h.update([0u8]),
        Some(s) => {
            h.update([1u8]);
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        }
    }
}

/// JSON with object keys sorted by their bytes, no whitespace.
fn canonical_json(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(v) = map.get(k) {
                    canonical_json(v, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut prev = genesis_hash();
        (1..=n)
            .map(|seq| {
                let mut d = AuditDraft::new(if seq % 2 == 0 { "kb.entry.update" } else { "user.login" });
                d.actor = Some(format!("user-{seq}"));
                d.ip = Some("192.0.2.1".into());
                d.details = json!({"seq": seq, "b": [1, {"y": 2, "x": null}], "a": "テスト"});
                let r = seal(d, seq, format!("2024-04-01T10:00:{seq:02}Z"), &prev);
                prev = r.hash.clone();
                r
            })
            .collect()
    }

    #[test]
    fn intact_chain_verifies() {
        let c = chain(5);
        assert_eq!(verify(&c), Ok(5));
        assert_eq!(verify(&[]), Ok(0));
        assert_eq!(verify_with_head(&c, &c[4].hash), Ok(5));
        assert_eq!(verify_with_head(&[], &genesis_hash()), Ok(0));
        assert_eq!(c[0].prev_hash, genesis_hash());
        assert_eq!(c[0].hash.len(), 64);
    }

    #[test]
    fn edited_field_is_detected() {
        let edits: [fn(&mut AuditRecord); 6] = [
            |r| r.action = "user.logout".into(),
            |r| r.actor = None,
            |r| r.ip = Some("192.0.2.2".into()),
            |r| r.details["a"] = json!("改ざん"),
            |r| r.at = "2024-04-01T10:00:59Z".into(),
            |r| r.user_agent = Some(String::new()),
        ];
        for edit in edits {
            let mut c = chain(5);
            edit(&mut c[2]);
            assert_eq!(verify(&c), Err(ChainError::Edited { seq: 3 }));
        }
    }

    #[test]
    fn removed_middle_record_is_detected() {
        let mut c = chain(5);
        c.remove(2);
        assert_eq!(verify(&c), Err(ChainError::Gap { expected: 3, found: 4 }));
        // Renumbered and re-hashed by someone without the removed record's hash:
        // the link to the record before no longer holds.
        let mut c = chain(5);
        c.remove(2);
        for r in &mut c[2..] {
            r.seq -= 1;
            r.hash = r.expected_hash();
        }
        assert_eq!(verify(&c), Err(ChainError::Broken { seq: 3 }));
        // Renumbered only.
        let mut c = chain(5);
        c.remove(2);
        c[2].seq = 3;
        assert_eq!(verify(&c), Err(ChainError::Edited { seq: 3 }));
    }

    #[test]
    fn removed_first_record_is_detected() {
        let mut c = chain(3);
        c.remove(0);
        assert_eq!(verify(&c), Err(ChainError::Gap { expected: 1, found: 2 }));
    }

    #[test]
    fn swapped_records_are_detected() {
        let mut c = chain(5);
        c.swap(1, 2);
        assert_eq!(verify(&c), Err(ChainError::Reordered { expected: 2, found: 3 }));
        // Swapped with their sequence numbers kept in place.
        let mut c = chain(5);
        c.swap(1, 2);
        c[1].seq = 2;
        c[2].seq = 3;
        assert_eq!(verify(&c), Err(ChainError::Edited { seq: 2 }));
        let mut c = chain(5);
        c.swap(1, 3);
        assert_eq!(verify(&c), Err(ChainError::Reordered { expected: 2, found: 4 }));
    }

    #[test]
    fn removed_last_record_needs_the_checkpoint() {
        let mut c = chain(5);
        let head = c[4].hash.clone();
        c.pop();
        // The chain alone cannot tell: this is why the head is checkpointed.
        assert_eq!(verify(&c), Ok(4));
        assert_eq!(verify_with_head(&c, &head), Err(ChainError::HeadMismatch { last_seq: 4 }));
    }

    #[test]
    fn verify_from_a_checkpoint() {
        let c = chain(6);
        let (n, head) = verify_from(3, &c[2].hash, &c[3..]).unwrap();
        assert_eq!((n, head.seq, head.hash.as_str()), (3, 6, c[5].hash.as_str()));
        assert_eq!(verify_from(3, &c[1].hash, &c[3..]), Err(ChainError::Broken { seq: 4 }));
    }

    #[test]
    fn hash_is_stable_and_key_order_free() {
        let mut a = AuditDraft::new("x");
        a.details = serde_json::from_str(r#"{"b":1,"a":{"d":[1,2],"c":"é"}}"#).unwrap();
        let mut b = a.clone();
        b.details = serde_json::from_str(r#"{"a":{"c":"é","d":[1,2]},"b":1}"#).unwrap();
        let g = genesis_hash();
        assert_eq!(compute_hash(1, "t", &a, &g), compute_hash(1, "t", &b, &g));
        let mut canon = String::new();
        canonical_json(&a.details, &mut canon);
        assert_eq!(canon, r#"{"a":{"c":"é","d":[1,2]},"b":1}"#);
    }

    #[test]
    fn field_boundaries_are_unambiguous() {
        let g = genesis_hash();
        let mut a = AuditDraft::new("ab");
        a.target = Some("c".into());
        let mut b = AuditDraft::new("a");
        b.target = Some("bc".into());
        assert_ne!(compute_hash(1, "t", &a, &g), compute_hash(1, "t", &b, &g));
        let none = AuditDraft::new("a");
        let mut empty = AuditDraft::new("a");
        empty.actor = Some(String::new());
        assert_ne!(compute_hash(1, "t", &none, &g), compute_hash(1, "t", &empty, &g));
        assert_ne!(compute_hash(1, "t", &none, &g), compute_hash(2, "t", &none, &g));
    }
}
