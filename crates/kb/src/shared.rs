//! A search-results cache shared by the replicas (Redis in the server), behind the
//! in-process LRU.
//!
//! Why: a lexical search costs a fraction of a millisecond, about a Redis round
//! trip, so lexical results stay in the in-process cache only; a hybrid search first
//! embeds the query, an upstream call that costs tens of milliseconds and money, so
//! its results are shared: one replica's embedding serves the same question on every
//! other replica.
//!
//! Keys name the knowledge bases' content ([`fingerprint`]): every replica that has
//! the same entries and synonyms computes the same key, an edit changes it, and the
//! stale results are never read again (they expire by TTL). No coordination beyond
//! the reload notice the replicas already exchange.

use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Best effort: `get` answers `None` when the cache is unavailable (callers search
/// instead), `put` may drop the value. Neither may wait long.
#[async_trait]
pub trait SharedCache: Send + Sync + std::fmt::Debug {
    async fn get(&self, key: &str) -> Option<Vec<u8>>;
    async fn put(&self, key: &str, value: Vec<u8>, ttl: Duration);
}

/// FNV-1a: stable across processes and builds (unlike std's hasher), which replicas
/// computing the same key need.
pub(crate) fn fnv(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.iter().chain([0xffu8].iter()) {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The content the results depend on: every entry's id, base, version and state
/// (summed, so order does not matter) and the synonym dictionary.
pub(crate) fn fingerprint<'a>(entries: impl Iterator<Item = (&'a str, &'a str, i64, bool)>, synonyms: &str) -> u64 {
    let sum = entries.fold(0u64, |acc, (id, kb, version, enabled)| {
        acc.wrapping_add(fnv(&[id.as_bytes(), kb.as_bytes(), &version.to_le_bytes(), &[u8::from(enabled)]]))
    });
    sum ^ fnv(&[synonyms.as_bytes()])
}

/// The shared key of one search.
pub(crate) fn key(fingerprint: u64, retrieval: &str, norm: &str, kbs: &[String], limit: usize) -> String {
    let mut h = Sha256::new();
    h.update(norm.as_bytes());
    h.update([0]);
    for kb in kbs {
        h.update(kb.as_bytes());
        h.update([0]);
    }
    h.update(limit.to_le_bytes());
    let digest = h.finalize();
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("tenmon:kb:search:{fingerprint:016x}:{retrieval}:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_ignore_order_and_see_every_edit() {
        let a = [("e1", "mnp", 1, true), ("e2", "mnp", 3, true)];
        let b = [("e2", "mnp", 3, true), ("e1", "mnp", 1, true)];
        let f = fingerprint(a.iter().copied(), "syn");
        assert_eq!(f, fingerprint(b.iter().copied(), "syn"));
        assert_ne!(f, fingerprint([("e1", "mnp", 2, true), ("e2", "mnp", 3, true)].into_iter(), "syn"));
        assert_ne!(f, fingerprint([("e1", "mnp", 1, false), ("e2", "mnp", 3, true)].into_iter(), "syn"));
        assert_ne!(f, fingerprint(a.iter().copied(), "syn2"));
        assert_ne!(f, fingerprint(a[..1].iter().copied(), "syn"));
        // Known value: replicas of different builds must agree.
        assert_eq!(fnv(&[b"a"]), 0x089b_c907_b544_c769, "FNV-1a of \"a\" then the separator");
    }

    #[test]
    fn keys_differ_by_query_bases_limit_and_retrieval() {
        let k = key(7, "lexical", "予約番号", &["mnp".into()], 5);
        assert!(k.starts_with("tenmon:kb:search:0000000000000007:lexical:"));
        assert_ne!(k, key(7, "lexical", "予約番号", &["mnp".into()], 3));
        assert_ne!(k, key(7, "lexical", "予約番号", &[], 5));
        assert_ne!(k, key(7, "hybrid", "予約番号", &["mnp".into()], 5));
        assert_ne!(k, key(8, "lexical", "予約番号", &["mnp".into()], 5));
        assert_eq!(k, key(7, "lexical", "予約番号", &["mnp".into()], 5));
    }
}
