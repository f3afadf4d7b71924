//! Moving everything from one database to another (`tenmon-ark migrate-data`):
//! table by table, in pages, inserting rows the target does not have yet, then
//! checking that both sides hold the same rows: per-table counts and an
//! order-independent checksum of every row (collations differ between databases,
//! so the rows' order may too). Run it again after an interruption: tables already
//! equal are skipped, the others continue where they stopped. Nothing is deleted
//! from either side.

use crate::{Store, StoreError};
use sha2::{Digest, Sha256};

/// Every table, with the columns that order it (its primary key). The schema
/// migrations table is not copied: the target runs its own migrations.
pub const TABLES: [(&str, &str); 26] = [
    ("users", "id"),
    ("user_identities", "issuer, subject"),
    ("invitations", "id"),
    ("sessions", "id"),
    ("refresh_tokens", "id"),
    ("api_keys", "id"),
    ("consents", "subject_id"),
    ("data_keys", "stream_id"),
    ("events", "stream_id, seq"),
    ("conversations", "id"),
    ("messages", "id"),
    ("attachments", "id"),
    ("files", "id"),
    ("knowledge_bases", "id"),
    ("kb_entries", "id"),
    ("kb_vectors", "entry_id"),
    ("settings", "name"),
    ("assistants", "id"),
    ("unanswered_questions", "id"),
    ("token_usage", "subject_id, day"),
    ("line_chats", "chat_id"),
    ("line_webhook_events", "event_id"),
    ("line_failures", "id"),
    ("audit_log", "seq"),
    ("billing_accounts", "user_id"),
    ("billing_events", "event_id"),
];

/// Rows per page.
pub const PAGE: u32 = 500;

/// The `ORDER BY` of a known table (anything else is refused: names go into SQL).
pub(crate) fn order_of(table: &str) -> Result<&'static str, StoreError> {
    TABLES
        .iter()
        .find(|(t, _)| *t == table)
        .map(|(_, o)| *o)
        .ok_or_else(|| StoreError::Unsupported(format!("unknown table {table:?}")))
}

/// Column names of a dumped row, checked to be plain identifiers.
pub(crate) fn columns(row: &serde_json::Value) -> Result<Vec<String>, StoreError> {
    let obj = row.as_object().ok_or_else(|| StoreError::Corrupt("a row is not an object".into()))?;
    let cols: Vec<String> = obj.keys().cloned().collect();
    if cols.is_empty()
        || cols
            .iter()
            .any(|c| c.is_empty() || !c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
    {
        return Err(StoreError::Corrupt(format!("unexpected column names {cols:?}")));
    }
    Ok(cols)
}

/// What one table looked like after the copy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TableReport {
    pub table: String,
    pub source_rows: u64,
    pub target_rows: u64,
    /// Rows inserted by this run (0 when the table was already complete).
    pub copied: u64,
    pub source_checksum: String,
    pub target_checksum: String,
}

impl TableReport {
    pub fn equal(&self) -> bool {
        self.source_rows == self.target_rows && self.source_checksum == self.target_checksum
    }
}

/// Why a migration stopped.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "table {table}: after copying, the target has {target_rows} rows (checksum {target_checksum}) and the source {source_rows} ({source_checksum}); the target holds rows that differ from the source: migrate into an empty database"
    )]
    Mismatch { table: String, source_rows: u64, target_rows: u64, source_checksum: String, target_checksum: String },
}

/// Count and checksum of a table: the sum (mod 2^128) of each row's SHA-256, over
/// its canonical JSON (keys sorted; integers as numbers, the rest as text on every
/// backend), so the same rows give the same checksum on any database.
pub async fn digest(store: &dyn Store, table: &str) -> Result<(u64, String), StoreError> {
    let mut n = 0u64;
    let mut sum = 0u128;
    let mut offset = 0u64;
    loop {
        let rows = store.dump_rows(table, offset, PAGE).await?;
        for row in &rows {
            let canonical = serde_json::to_vec(row)?;
            let h = Sha256::digest(&canonical);
            let mut first = [0u8; 16];
            first.copy_from_slice(&h[..16]);
            sum = sum.wrapping_add(u128::from_be_bytes(first));
        }
        n += rows.len() as u64;
        offset += rows.len() as u64;
        if rows.len() < PAGE as usize {
            break;
        }
    }
    Ok((n, format!("{sum:032x}")))
}

/// Copy every table from `from` to `to` (both migrated), verifying each.
/// `progress` hears about each table when it is done.
pub async fn migrate_data(
    from: &dyn Store,
    to: &dyn Store,
    mut progress: impl FnMut(&TableReport),
) -> Result<Vec<TableReport>, MigrateError> {
    let mut reports = Vec::new();
    for (table, _) in TABLES {
        let (source_rows, source_checksum) = digest(from, table).await?;
        let (mut target_rows, mut target_checksum) = digest(to, table).await?;
        let mut copied = 0;
        if (source_rows, &source_checksum) != (target_rows, &target_checksum) {
            let mut offset = 0u64;
            loop {
                let rows = from.dump_rows(table, offset, PAGE).await?;
                if !rows.is_empty() {
                    copied += to.load_rows(table, &rows).await?;
                }
                offset += rows.len() as u64;
                if rows.len() < PAGE as usize {
                    break;
                }
            }
            (target_rows, target_checksum) = digest(to, table).await?;
        }
        let report = TableReport {
            table: table.to_string(),
            source_rows,
            target_rows,
            copied,
            source_checksum,
            target_checksum,
        };
        if !report.equal() {
            return Err(MigrateError::Mismatch {
                table: report.table,
                source_rows: report.source_rows,
                target_rows: report.target_rows,
                source_checksum: report.source_checksum,
                target_checksum: report.target_checksum,
            });
        }
        progress(&report);
        reports.push(report);
    }
    Ok(reports)
}
