//! Vectors of knowledge-base entries (dense retrieval): the row, its encoding, and
//! the SQLite and MySQL statements. PostgreSQL, which may search them natively with
//! pgvector, is in [`crate::pgvector`].
//!
//! A vector is stored as base64 of its little-endian f32 bytes in a text column:
//! `migrate-data` copies and checksums every column as JSON text or integers, and a
//! binary column would need its own path through all three backends for no gain
//! worth a third of the space.

use crate::rows::Cells;
use crate::{MysqlStore, SqliteStore, StoreError};
use base64::Engine;
use serde::{Deserialize, Serialize};

/// The vector of one entry, made by `model` from the text whose hash is `content_hash`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KbVectorRow {
    pub entry_id: String,
    pub model: String,
    /// Identifies the embedded text: an entry whose text hashes differently is stale.
    pub content_hash: String,
    /// Empty when listed without vectors.
    pub vector: Vec<f32>,
    pub updated_at_ms: i64,
}

/// The columns of a vector row, in dump order (PostgreSQL's `embedding` is derived).
pub(crate) const COLUMNS: &str = "entry_id, model, dims, content_hash, vector, updated_at";
/// The same, with the vector left out.
const COLUMNS_NO_VECTOR: &str = "entry_id, model, dims, content_hash, '' AS vector, updated_at";

/// Placeholders per DELETE (well under every backend's limit).
const DELETE_CHUNK: usize = 500;

pub(crate) fn columns(with_vectors: bool) -> &'static str {
    if with_vectors {
        COLUMNS
    } else {
        COLUMNS_NO_VECTOR
    }
}

pub(crate) fn encode(v: &[f32]) -> String {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub(crate) fn decode(text: &str, dims: i64) -> Result<Vec<f32>, StoreError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| StoreError::Corrupt(format!("kb vector: {e}")))?;
    if bytes.len() % 4 != 0 || bytes.len() as i64 != dims * 4 {
        return Err(StoreError::Corrupt(format!("kb vector: {} bytes for {dims} dimensions", bytes.len())));
    }
    Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
}

/// Refuse what no database should hold (and pgvector rejects).
pub(crate) fn check(rows: &[KbVectorRow]) -> Result<(), StoreError> {
    rows.iter().try_for_each(|r| check_one(&r.entry_id, &r.vector))
}

pub(crate) fn check_one(id: &str, v: &[f32]) -> Result<(), StoreError> {
    if v.is_empty() || v.iter().any(|x| !x.is_finite()) {
        return Err(StoreError::Corrupt(format!("kb vector of {id}: empty or not finite")));
    }
    Ok(())
}

pub(crate) fn row(r: &impl Cells) -> Result<KbVectorRow, StoreError> {
    let text = r.text("vector")?;
    Ok(KbVectorRow {
        entry_id: r.text("entry_id")?,
        model: r.text("model")?,
        content_hash: r.text("content_hash")?,
        vector: if text.is_empty() { Vec::new() } else { decode(&text, r.int("dims")?)? },
        updated_at_ms: r.int("updated_at")?,
    })
}

/// `?, ?, …` for `n` values.
fn marks(n: usize) -> String {
    vec!["?"; n].join(", ")
}

impl SqliteStore {
    pub(crate) async fn vectors(&self, model: &str, with_vectors: bool) -> Result<Vec<KbVectorRow>, StoreError> {
        let sql = format!("SELECT {} FROM kb_vectors WHERE model = ? ORDER BY entry_id", columns(with_vectors));
        let rows = sqlx::query(&sql).bind(model).fetch_all(&self.pool).await?;
        rows.iter().map(row).collect()
    }

    pub(crate) async fn put_vectors(&self, rows: &[KbVectorRow]) -> Result<(), StoreError> {
        check(rows)?;
        let mut tx = self.writer.begin().await?;
        for r in rows {
            sqlx::query(
                "INSERT INTO kb_vectors (entry_id, model, dims, content_hash, vector, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?)
                 ON CONFLICT (entry_id) DO UPDATE SET model = excluded.model, dims = excluded.dims,
                   content_hash = excluded.content_hash, vector = excluded.vector, updated_at = excluded.updated_at",
            )
            .bind(&r.entry_id)
            .bind(&r.model)
            .bind(r.vector.len() as i64)
            .bind(&r.content_hash)
            .bind(encode(&r.vector))
            .bind(r.updated_at_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn delete_vectors(&self, ids: &[String]) -> Result<u64, StoreError> {
        let mut n = 0;
        for chunk in ids.chunks(DELETE_CHUNK) {
            let sql = format!("DELETE FROM kb_vectors WHERE entry_id IN ({})", marks(chunk.len()));
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            n += q.execute(&self.writer).await?.rows_affected();
        }
        Ok(n)
    }
}

impl MysqlStore {
    pub(crate) async fn vectors(&self, model: &str, with_vectors: bool) -> Result<Vec<KbVectorRow>, StoreError> {
        let sql = format!("SELECT {} FROM kb_vectors WHERE model = ? ORDER BY entry_id", columns(with_vectors));
        let rows = sqlx::query(&sql).bind(model).fetch_all(&self.pool).await?;
        rows.iter().map(row).collect()
    }

    pub(crate) async fn put_vectors(&self, rows: &[KbVectorRow]) -> Result<(), StoreError> {
        check(rows)?;
        let mut tx = self.pool.begin().await?;
        for r in rows {
            sqlx::query(
                "INSERT INTO kb_vectors (entry_id, model, dims, content_hash, vector, updated_at)
                 VALUES (?, ?, ?, ?, ?, ?)
                 ON DUPLICATE KEY UPDATE model = VALUES(model), dims = VALUES(dims),
                   content_hash = VALUES(content_hash), vector = VALUES(vector), updated_at = VALUES(updated_at)",
            )
            .bind(&r.entry_id)
            .bind(&r.model)
            .bind(r.vector.len() as i64)
            .bind(&r.content_hash)
            .bind(encode(&r.vector))
            .bind(r.updated_at_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn delete_vectors(&self, ids: &[String]) -> Result<u64, StoreError> {
        let mut n = 0;
        for chunk in ids.chunks(DELETE_CHUNK) {
            let sql = format!("DELETE FROM kb_vectors WHERE entry_id IN ({})", marks(chunk.len()));
            let mut q = sqlx::query(&sql);
            for id in chunk {
                q = q.bind(id);
            }
            n += q.execute(&self.pool).await?.rows_affected();
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_through_text() {
        let v = vec![0.25f32, -1.0, 1e-7, f32::MIN_POSITIVE, 0.1];
        assert_eq!(decode(&encode(&v), v.len() as i64).unwrap(), v);
        assert!(matches!(decode(&encode(&v), 4), Err(StoreError::Corrupt(_))), "dims are checked");
        assert!(matches!(decode("not base64!", 1), Err(StoreError::Corrupt(_))));
        let bad = KbVectorRow {
            entry_id: "e".into(),
            model: "m".into(),
            content_hash: "h".into(),
            vector: vec![f32::NAN],
            updated_at_ms: 0,
        };
        assert!(check(&[bad]).is_err());
    }
}
