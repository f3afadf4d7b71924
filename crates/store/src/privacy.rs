//! What the store keeps about a person, for export and erasure, and the retention
//! purge. Export is generic over the tables (every column but secrets), so a new
//! table that names its owner cannot be forgotten by a hand-written list.

use serde::Serialize;
use std::collections::BTreeMap;

/// Everything stored about some subjects: table name → rows as JSON objects.
/// Hashes of tokens, keys and passwords are left out (they are secrets, not data
/// about the person).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SubjectExport {
    pub tables: BTreeMap<String, Vec<serde_json::Value>>,
}

/// Rows removed (or, for a dry run, that would be), per table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RowCounts {
    pub tables: BTreeMap<String, u64>,
}

impl RowCounts {
    pub fn add(&mut self, table: &str, n: u64) {
        *self.tables.entry(table.to_string()).or_default() += n;
    }

    pub fn total(&self) -> u64 {
        self.tables.values().sum()
    }

    pub fn get(&self, table: &str) -> u64 {
        self.tables.get(table).copied().unwrap_or(0)
    }
}

/// One audit record as stored (the hash chain is computed outside the store).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub actor: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// Which audit records to list.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub actor: Option<String>,
    /// Records with a smaller sequence (the cursor of the previous page).
    pub before_seq: Option<i64>,
}

/// Makes the next record from its sequence number and the previous record's hash.
pub type AuditSeal = Box<dyn FnOnce(i64, &str) -> AuditRow + Send>;
