//! Data subject rights and retention, free of HTTP: export everything stored about
//! a person, erase it everywhere (database rows, stored files, unanswered-question
//! samples made from their messages, the search cache), and purge what is older than the
//! retention limit on a schedule.

use crate::app::AppState;
use std::time::Duration;
use tenmon_store::{RowCounts, StoreError, SubjectExport};

/// The export archive's format name.
pub const EXPORT_FORMAT: &str = "tenmon-ark-export/1";

pub async fn export(state: &AppState, subject_id: &str) -> Result<SubjectExport, StoreError> {
    state.store.export_subjects(&[subject_id.to_string()]).await
}

/// Erase a subject (a user id, a guest id, or `line:<id>`) everywhere.
pub async fn erase(state: &AppState, subject_id: &str) -> Result<RowCounts, StoreError> {
    let ids = [subject_id.to_string()];
    // Unanswered questions are kept by their normalised text, without an owner:
    // find the ones this person's messages made.
    let data = state.store.export_subjects(&ids).await?;
    let keys: Vec<String> = data
        .tables
        .get("messages")
        .into_iter()
        .flatten()
        .filter(|m| m["role"] == "user")
        .filter_map(|m| m["content"].as_str())
        .map(tenmon_kb::KnowledgeBase::unanswered_key)
        .collect();
    // Stored files' bytes first: once the rows are gone nothing points at them.
    let files = state.store.files_of(&ids).await?;
    state.files.delete_objects(&files).await;
    let counts = state.store.erase_subjects(&ids, &keys).await?;
    // Cached searches are keyed by what people typed.
    state.kb.clear_cache();
    state.metrics.erasures.inc();
    Ok(counts)
}

/// One retention pass: remove what is older than the limit.
pub async fn purge(state: &AppState, days: u32, dry_run: bool) -> Result<RowCounts, StoreError> {
    let now = tenmon_chat::now_ms();
    let cutoff = now - i64::from(days) * 86_400_000;
    if !dry_run {
        let old = state.store.files_before(cutoff).await?;
        state.files.delete_objects(&old).await;
    }
    let counts = state.store.purge(cutoff, now, dry_run).await?;
    if !dry_run {
        if counts.total() > 0 {
            state.kb.clear_cache();
        }
        for (table, n) in &counts.tables {
            state
                .metrics
                .retention_purged
                .get_or_create(&crate::metrics::TableLabels { table: table.clone() })
                .inc_by(*n);
        }
    }
    Ok(counts)
}

/// Run the retention job every `DATA_RETENTION_INTERVAL_SECONDS` until shutdown.
pub fn spawn_retention(state: &AppState) {
    let Some(days) = state.config.privacy.retention_days else { return };
    let interval = state.config.privacy.retention_interval;
    let st = state.clone();
    state.tasks.spawn(async move {
        if let Some(redis) = &st.redis {
            tokio::select! {
                _ = st.shutdown.cancelled() => return,
                _ = redis.wait_connected(Duration::from_secs(10)) => {}
            }
        }
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = st.shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            // One replica at a time: the lease lasts most of an interval. Without
            // Redis each replica purges (the purge is idempotent).
            if let Some(redis) = &st.redis {
                let ttl = interval.mul_f64(0.9).max(Duration::from_secs(1));
                match redis.lease("retention", ttl).await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => tracing::debug!(error = %e, "no Redis for the retention lease; purging here"),
                }
            }
            st.metrics.retention_runs.inc();
            match purge(&st, days, false).await {
                Ok(c) if c.total() > 0 => tracing::info!(rows = c.total(), days, "retention purge"),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "retention purge failed; retrying later");
                    tokio::time::sleep(Duration::from_secs(5)).await;
                }
            }
        }
    });
}
