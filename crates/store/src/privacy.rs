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

/// Columns never exported.
pub(crate) const SECRET_COLUMNS: [&str; 4] = ["token_hash", "key_hash", "password_hash", "wrapped"];

/// The tables that hold rows about a subject, and the condition selecting them, one
/// list for every backend (`CONCAT` is the one string concatenation all three
/// share: `||` is OR on MySQL). `{ids}` stands for the subject ids. The order is the
/// order of deletion.
pub(crate) const OWNED: [(&str, &str); 16] = [
    ("user_identities", "user_id IN ({ids})"),
    // The invitation this person used names their email.
    ("invitations", "used_by IN ({ids})"),
    // The keys first: even a row that survived would be unreadable (crypto-shredding).
    ("data_keys", "owner_id IN ({ids})"),
    ("events", "stream_id IN (SELECT id FROM conversations WHERE owner_id IN ({ids}))"),
    ("messages", "conversation_id IN (SELECT id FROM conversations WHERE owner_id IN ({ids}))"),
    // Usage of the subjects' API keys, before the keys themselves go.
    (
        "token_usage",
        "subject_id IN ({ids}) OR subject_id IN (SELECT CONCAT('key:', id) FROM api_keys WHERE user_id IN ({ids}))",
    ),
    ("attachments", "owner_id IN ({ids})"),
    // Objects in storage are deleted by the caller first (it reads `files_of`).
    ("files", "owner_id IN ({ids})"),
    // The Stripe customer itself stays at Stripe (invoices are kept by law there).
    ("billing_accounts", "user_id IN ({ids})"),
    ("conversations", "owner_id IN ({ids})"),
    ("sessions", "subject_id IN ({ids})"),
    ("refresh_tokens", "user_id IN ({ids})"),
    ("api_keys", "user_id IN ({ids})"),
    ("line_chats", "CONCAT('line:', chat_id) IN ({ids})"),
    ("consents", "subject_id IN ({ids})"),
    ("users", "id IN ({ids})"),
];

/// Which value a retention condition compares with.
#[derive(Debug, Clone, Copy)]
pub(crate) enum PurgeArg {
    /// The cut-off time (ms).
    Cutoff,
    /// Now (ms): expired rows.
    Now,
    /// The cut-off as a day number (days since the epoch).
    CutoffDay,
}

/// The retention plan: table, condition over `{arg}`, and what `{arg}` is. The order
/// is the order of deletion (rows that hang off old conversations before them).
pub(crate) const PURGE: [(&str, &str, PurgeArg); 14] = [
    ("data_keys", "stream_id IN (SELECT id FROM conversations WHERE updated_at < {arg})", PurgeArg::Cutoff),
    ("events", "stream_id IN (SELECT id FROM conversations WHERE updated_at < {arg})", PurgeArg::Cutoff),
    ("messages", "conversation_id IN (SELECT id FROM conversations WHERE updated_at < {arg})", PurgeArg::Cutoff),
    ("line_chats", "conversation_id IN (SELECT id FROM conversations WHERE updated_at < {arg})", PurgeArg::Cutoff),
    ("attachments", "conversation_id IN (SELECT id FROM conversations WHERE updated_at < {arg})", PurgeArg::Cutoff),
    ("conversations", "updated_at < {arg}", PurgeArg::Cutoff),
    // Uploaded files (not knowledge-base documents): the caller deleted their
    // objects first (`files_before`).
    (
        "data_keys",
        "stream_id IN (SELECT CONCAT('file:', id) FROM files WHERE created_at < {arg} AND kb_id IS NULL)",
        PurgeArg::Cutoff,
    ),
    ("files", "created_at < {arg} AND kb_id IS NULL", PurgeArg::Cutoff),
    ("billing_events", "received_at < {arg}", PurgeArg::Cutoff),
    ("sessions", "expires_at < {arg}", PurgeArg::Now),
    ("refresh_tokens", "expires_at < {arg}", PurgeArg::Now),
    ("token_usage", "day < {arg}", PurgeArg::CutoffDay),
    ("line_webhook_events", "received_at < {arg}", PurgeArg::Cutoff),
    ("unanswered_questions", "last_seen < {arg}", PurgeArg::Cutoff),
];

impl PurgeArg {
    pub(crate) fn value(self, cutoff_ms: i64, now_ms: i64) -> i64 {
        match self {
            PurgeArg::Cutoff => cutoff_ms,
            PurgeArg::Now => now_ms,
            PurgeArg::CutoffDay => cutoff_ms.div_euclid(86_400_000),
        }
    }
}

/// How a backend writes bind parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marks {
    /// `?` (SQLite, MySQL): bound in order of appearance.
    Question,
    /// `$1`, `$2`, … (PostgreSQL).
    Dollar,
}

impl Marks {
    /// Replace each `{name}` in `sql` with `n` placeholders. Returns the SQL and how
    /// many times the `n` values must be bound, in order.
    pub(crate) fn expand(self, sql: &str, name: &str, n: usize) -> (String, usize) {
        let pattern = format!("{{{name}}}");
        let parts: Vec<&str> = sql.split(&pattern).collect();
        let mut out = String::with_capacity(sql.len() + n * 4);
        let mut next = 1;
        for (i, part) in parts.iter().enumerate() {
            out.push_str(part);
            if i + 1 < parts.len() {
                let marks: Vec<String> = (0..n)
                    .map(|_| match self {
                        Marks::Question => "?".to_string(),
                        Marks::Dollar => {
                            next += 1;
                            format!("${}", next - 1)
                        }
                    })
                    .collect();
                out.push_str(&marks.join(", "));
            }
        }
        (out, parts.len() - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_per_dialect() {
        let sql = "a IN ({ids}) OR b IN ({ids})";
        assert_eq!(Marks::Question.expand(sql, "ids", 2), ("a IN (?, ?) OR b IN (?, ?)".to_string(), 2));
        assert_eq!(Marks::Dollar.expand(sql, "ids", 2), ("a IN ($1, $2) OR b IN ($3, $4)".to_string(), 2));
        assert_eq!(Marks::Dollar.expand("x < {arg}", "arg", 1), ("x < $1".to_string(), 1));
    }
}

/// Usage per UTC day, for the admin dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DayStats {
    /// Days since the Unix epoch.
    pub day: i64,
    pub conversations: i64,
    pub messages: i64,
    /// Assistant answers that completed (a knowledge-base hand-off does not count).
    pub answered: i64,
    /// Hand-offs, failures and interruptions.
    pub unanswered: i64,
    pub tokens: i64,
}

/// How often an FAQ entry was the top source of an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryUse {
    pub id: String,
    pub kb: String,
    pub question: String,
    pub count: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Analytics {
    pub days: Vec<DayStats>,
    pub top_entries: Vec<EntryUse>,
}
