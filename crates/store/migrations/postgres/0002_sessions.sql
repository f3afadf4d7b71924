-- Sessions (see migrations/sqlite/0002_sessions.sql). Only token hashes are stored.
CREATE TABLE sessions (
    id          TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    token_hash  TEXT COLLATE "C"  NOT NULL,
    subject_id  TEXT COLLATE "C"  NOT NULL,
    kind        TEXT              NOT NULL,
    created_at  BIGINT            NOT NULL,
    expires_at  BIGINT            NOT NULL,
    revoked     INTEGER           NOT NULL DEFAULT 0,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX messages_status ON messages (status);
