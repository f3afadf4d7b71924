//! The vaults of recent conversations (personal data behind their placeholders),
//! kept in memory for [`VAULT_TTL`] after their last turn here.
//!
//! Expiry walks a queue in insertion order, so keeping a vault costs O(1) amortised;
//! sweeping the whole map on every turn made a busy server's turns quadratic.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tenmon_privacy::Vault;

/// How long a conversation's vault outlives its last turn here.
pub(crate) const VAULT_TTL: Duration = Duration::from_secs(15 * 60);

#[derive(Default)]
pub(crate) struct Vaults {
    by_conversation: HashMap<String, (Arc<Vault>, Instant)>,
    /// (kept at, conversation), oldest first; a conversation kept again has a newer
    /// entry later in the queue and its older ones are skipped.
    order: VecDeque<(Instant, String)>,
}

impl std::fmt::Debug for Vaults {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vaults").field("kept", &self.by_conversation.len()).finish()
    }
}

impl Vaults {
    pub(crate) fn keep(&mut self, conversation_id: &str, vault: Arc<Vault>, now: Instant) {
        while let Some((at, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < VAULT_TTL {
                break;
            }
            if let Some((_, id)) = self.order.pop_front() {
                let expired = self
                    .by_conversation
                    .get(&id)
                    .is_some_and(|(_, kept)| now.saturating_duration_since(*kept) >= VAULT_TTL);
                if expired {
                    self.by_conversation.remove(&id);
                }
            }
        }
        self.by_conversation.insert(conversation_id.to_string(), (vault, now));
        self.order.push_back((now, conversation_id.to_string()));
    }

    pub(crate) fn get(&self, conversation_id: &str, now: Instant) -> Option<Arc<Vault>> {
        self.by_conversation
            .get(conversation_id)
            .filter(|(_, at)| now.saturating_duration_since(*at) < VAULT_TTL)
            .map(|(v, _)| v.clone())
    }

    pub(crate) fn contains(&self, conversation_id: &str) -> bool {
        self.by_conversation.contains_key(conversation_id)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.by_conversation.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expire_after_the_ttl_and_a_renewed_vault_survives_its_old_entry() {
        let mut v = Vaults::default();
        let t0 = Instant::now();
        v.keep("a", Arc::new(Vault::default()), t0);
        v.keep("b", Arc::new(Vault::default()), t0 + Duration::from_secs(60));
        // "a" kept again later: its first queue entry must not evict it.
        v.keep("a", Arc::new(Vault::default()), t0 + Duration::from_secs(120));
        let later = t0 + VAULT_TTL + Duration::from_secs(61);
        assert!(v.get("b", later).is_none(), "past its TTL");
        v.keep("c", Arc::new(Vault::default()), later);
        assert_eq!(v.len(), 2, "b swept, a renewed, c new");
        assert!(v.get("a", later).is_some());
        assert!(v.get("c", later).is_some());
        let much_later = later + VAULT_TTL;
        v.keep("d", Arc::new(Vault::default()), much_later);
        assert_eq!(v.len(), 1);
    }
}
