-- Embeddings of knowledge-base entries (see the SQLite dialect). With the pgvector
-- extension the store adds an `embedding vector` column at migrate time (not here:
-- the extension may be missing, or arrive later) and searches it.
CREATE TABLE kb_vectors (
    entry_id      TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    model         TEXT              NOT NULL,
    dims          INTEGER           NOT NULL,
    content_hash  TEXT COLLATE "C"  NOT NULL,
    vector        TEXT              NOT NULL,
    updated_at    BIGINT            NOT NULL
);
