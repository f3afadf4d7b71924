//! Knowledge-base vectors on PostgreSQL, searched with pgvector when the database
//! has it.
//!
//! The extension is optional, so it is not in a migration: at migrate time the
//! store enables it if the server offers it and the role may create it, and adds an
//! `embedding vector` column filled from the stored bytes (also for rows written
//! before, e.g. by `migrate-data` or while the extension was missing). Without it,
//! everything works from the text column and the knowledge base searches in memory.
//!
//! Search is exact (`ORDER BY embedding <=> q`, a scan of one model's vectors,
//! kept inline): FAQ knowledge bases hold hundreds to thousands of entries, where
//! the scan takes milliseconds (measured at 1536 dimensions on 2 cores: 1,000
//! entries 3–10 ms, 10,000 entries 40–65 ms), results are exact, knowledge-base
//! filters cost nothing, and the column needs no fixed dimension. An HNSW index
//! (2–3 ms at 10,000) needs a fixed dimension of at most 2,000, is approximate
//! and filters after the fact, and took 17 s to build at 10,000: worth it only for
//! much larger knowledge bases.

use crate::vectors::{self, KbVectorRow};
use crate::{PostgresStore, StoreError};
use sqlx::Row;
use std::sync::atomic::Ordering;

/// The advisory lock key under which replicas enable pgvector one at a time.
const LOCK_KEY: i64 = 0x7465_6e6d_6f6e_7631;

/// `pgvector` states of a store.
pub(crate) const UNKNOWN: u8 = 0;
const ABSENT: u8 = 1;
const PRESENT: u8 = 2;

/// pgvector's text form of a vector.
fn literal(v: &[f32]) -> String {
    let mut s = String::with_capacity(v.len() * 10 + 2);
    s.push('[');
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&x.to_string());
    }
    s.push(']');
    s
}

impl PostgresStore {
    /// Enable pgvector and the `embedding` column if possible; never fails the
    /// migration. Returns whether vectors are searched natively.
    pub(crate) async fn enable_pgvector(&self) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(LOCK_KEY).execute(&mut *tx).await?;
        if !column_exists(&mut tx).await? {
            let installed: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector')")
                    .fetch_one(&mut *tx)
                    .await?;
            if !installed {
                let available: bool =
                    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')")
                        .fetch_one(&mut *tx)
                        .await?;
                if !available {
                    tx.commit().await?;
                    tracing::info!(
                        "PostgreSQL has no pgvector extension: knowledge-base vectors are searched in memory"
                    );
                    return Ok(self.set_pgvector(false));
                }
                // A savepoint: a refused CREATE EXTENSION must not abort the transaction.
                let mut sp = sqlx::Connection::begin(&mut *tx).await?;
                if let Err(e) = sqlx::query("CREATE EXTENSION IF NOT EXISTS vector").execute(&mut *sp).await {
                    sp.rollback().await?;
                    tx.commit().await?;
                    tracing::warn!(
                        error = %e,
                        "cannot enable pgvector (ask a superuser to run CREATE EXTENSION vector): \
                         knowledge-base vectors are searched in memory"
                    );
                    return Ok(self.set_pgvector(false));
                }
                sp.commit().await?;
            }
            sqlx::query("ALTER TABLE kb_vectors ADD COLUMN IF NOT EXISTS embedding vector").execute(&mut *tx).await?;
            // Inline where it fits (MAIN, not pgvector's EXTERNAL): a search reads every
            // vector, and out-of-line ones cost a TOAST lookup each (×3 at 1536 dims).
            sqlx::query("ALTER TABLE kb_vectors ALTER COLUMN embedding SET STORAGE MAIN").execute(&mut *tx).await?;
            tracing::info!("pgvector enabled for knowledge-base vectors");
        }
        tx.commit().await?;
        self.fill_embeddings().await?;
        Ok(self.set_pgvector(true))
    }

    fn set_pgvector(&self, on: bool) -> bool {
        self.pgvector.store(if on { PRESENT } else { ABSENT }, Ordering::Relaxed);
        on
    }

    /// Whether the `embedding` column is there (asked once when `migrate` did not run
    /// in this process).
    pub(crate) async fn has_pgvector(&self) -> Result<bool, StoreError> {
        match self.pgvector.load(Ordering::Relaxed) {
            PRESENT => Ok(true),
            ABSENT => Ok(false),
            _ => {
                let mut conn = self.pool.acquire().await?;
                let on = column_exists(&mut conn).await?;
                Ok(self.set_pgvector(on))
            }
        }
    }

    /// Set `embedding` where it is missing, from the stored bytes.
    pub(crate) async fn fill_embeddings(&self) -> Result<u64, StoreError> {
        let mut after = String::new();
        let mut n = 0;
        loop {
            let rows = sqlx::query(
                "SELECT entry_id, dims, vector FROM kb_vectors WHERE embedding IS NULL AND entry_id > $1
                 ORDER BY entry_id LIMIT 200",
            )
            .bind(&after)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get("entry_id")?;
            let mut tx = self.pool.begin().await?;
            for r in &rows {
                let id: String = r.try_get("entry_id")?;
                let dims: i32 = r.try_get("dims")?;
                let text: String = r.try_get("vector")?;
                match vectors::decode(&text, i64::from(dims)).and_then(|v| vectors::check_one(&id, &v).map(|_| v)) {
                    Ok(v) => {
                        sqlx::query("UPDATE kb_vectors SET embedding = $1::vector WHERE entry_id = $2")
                            .bind(literal(&v))
                            .bind(&id)
                            .execute(&mut *tx)
                            .await?;
                        n += 1;
                    }
                    Err(e) => tracing::warn!(entry = %id, error = %e, "skipping an unreadable knowledge-base vector"),
                }
            }
            tx.commit().await?;
        }
        Ok(n)
    }

    pub(crate) async fn vectors(&self, model: &str, with_vectors: bool) -> Result<Vec<KbVectorRow>, StoreError> {
        let sql =
            format!("SELECT {} FROM kb_vectors WHERE model = $1 ORDER BY entry_id", vectors::columns(with_vectors));
        let rows = sqlx::query(&sql).bind(model).fetch_all(&self.pool).await?;
        rows.iter().map(vectors::row).collect()
    }

    pub(crate) async fn put_vectors(&self, rows: &[KbVectorRow]) -> Result<(), StoreError> {
        vectors::check(rows)?;
        let native = self.has_pgvector().await?;
        let sql = if native {
            "INSERT INTO kb_vectors (entry_id, model, dims, content_hash, vector, updated_at, embedding)
             VALUES ($1, $2, $3, $4, $5, $6, $7::vector)
             ON CONFLICT (entry_id) DO UPDATE SET model = excluded.model, dims = excluded.dims,
               content_hash = excluded.content_hash, vector = excluded.vector, updated_at = excluded.updated_at,
               embedding = excluded.embedding"
        } else {
            "INSERT INTO kb_vectors (entry_id, model, dims, content_hash, vector, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (entry_id) DO UPDATE SET model = excluded.model, dims = excluded.dims,
               content_hash = excluded.content_hash, vector = excluded.vector, updated_at = excluded.updated_at"
        };
        let mut tx = self.pool.begin().await?;
        for r in rows {
            let mut q = sqlx::query(sql)
                .bind(&r.entry_id)
                .bind(&r.model)
                .bind(r.vector.len() as i32)
                .bind(&r.content_hash)
                .bind(vectors::encode(&r.vector))
                .bind(r.updated_at_ms);
            if native {
                q = q.bind(literal(&r.vector));
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn delete_vectors(&self, ids: &[String]) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM kb_vectors WHERE entry_id = ANY($1)")
            .bind(ids)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    /// The enabled entries nearest to `query` by cosine similarity, with pgvector;
    /// `None` without it. `limit` 0 only asks whether the search is native.
    pub(crate) async fn nearest(
        &self,
        model: &str,
        query: &[f32],
        kbs: &[String],
        limit: usize,
    ) -> Result<Option<Vec<(String, f32)>>, StoreError> {
        if !self.has_pgvector().await? {
            return Ok(None);
        }
        if limit == 0 || query.is_empty() {
            return Ok(Some(Vec::new()));
        }
        vectors::check_one("query", query)?;
        // The query vector is parsed once (a materialised CTE), not per row. `dims`
        // is filtered first: `<=>` refuses vectors of different dimensions, and the
        // filter runs before the ordering expression is computed.
        let rows = sqlx::query(
            "WITH q AS MATERIALIZED (SELECT $1::vector AS v)
             SELECT d.entry_id, 1 - d.distance AS similarity FROM (
               SELECT v.entry_id, v.embedding <=> q.v AS distance
               FROM q, kb_vectors v JOIN kb_entries e ON e.id = v.entry_id
               WHERE v.model = $2 AND v.dims = $3 AND v.embedding IS NOT NULL AND e.enabled <> 0
                 AND (cardinality($4::text[]) = 0 OR e.kb_id = ANY($4::text[]))
             ) d
             ORDER BY d.distance, d.entry_id
             LIMIT $5",
        )
        .bind(literal(query))
        .bind(model)
        .bind(query.len() as i32)
        .bind(kbs)
        .bind(limit.min(10_000) as i64)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let similarity: f64 = r.try_get("similarity")?;
            out.push((r.try_get("entry_id")?, similarity as f32));
        }
        Ok(Some(out))
    }
}

async fn column_exists(conn: &mut sqlx::PgConnection) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = 'kb_vectors' AND column_name = 'embedding')",
    )
    .fetch_one(conn)
    .await?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn vector_literals_round_trip_exactly() {
        let v = [0.1f32, -2.5, 1e-7, 3.0];
        let text = super::literal(&v);
        assert_eq!(text, "[0.1,-2.5,0.0000001,3]");
        let back: Vec<f32> = text.trim_matches(['[', ']']).split(',').map(|x| x.parse().unwrap()).collect();
        assert_eq!(back, v);
    }
}
