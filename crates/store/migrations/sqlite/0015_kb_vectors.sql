-- Embeddings of knowledge-base entries for dense retrieval (EMBEDDING_MODEL): one
-- per entry, with the model that made it and a hash of the text it was made from,
-- so an edited entry or a new model is embedded again. The vector is the
-- little-endian f32 bytes in base64: text, so `migrate-data` copies and checksums
-- it like every other column. No foreign key, like the other knowledge-base
-- tables: deleting an entry deletes its vector in the same transaction.
CREATE TABLE kb_vectors (
    entry_id      VARCHAR(64)  NOT NULL PRIMARY KEY,
    model         VARCHAR(200) NOT NULL,
    dims          INTEGER      NOT NULL,
    content_hash  VARCHAR(64)  NOT NULL,
    vector        TEXT         NOT NULL,
    updated_at    BIGINT       NOT NULL
);
