-- Embeddings of knowledge-base entries (see the SQLite dialect).
CREATE TABLE kb_vectors (
    entry_id      VARCHAR(64)   NOT NULL PRIMARY KEY,
    model         VARCHAR(200)  NOT NULL,
    dims          INT           NOT NULL,
    content_hash  VARCHAR(64)   NOT NULL,
    vector        MEDIUMTEXT    NOT NULL,
    updated_at    BIGINT        NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
