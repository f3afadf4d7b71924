//! The storage error type. Callers map it to API errors; they never see sqlx.

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer appended the same (stream, sequence) first.
    #[error("conflict: stream {stream_id} already has sequence {seq}")]
    Conflict { stream_id: String, seq: i64 },
    /// A unique constraint (named) was violated.
    #[error("duplicate: {0}")]
    Duplicate(String),
    /// The database cannot be reached or is not the one we opened.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// This backend cannot do that (e.g. `backup` of a database server).
    #[error("{0}")]
    Unsupported(String),
    /// A stored payload could not be decoded.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// Migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// Any other database error.
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(err: sqlx::Error) -> Self {
        match &err {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                StoreError::Unavailable(err.to_string())
            }
            _ => StoreError::Database(err),
        }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(err: serde_json::Error) -> Self {
        StoreError::Corrupt(err.to_string())
    }
}
