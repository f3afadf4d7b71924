-- Sessions (see migrations/sqlite/0002_sessions.sql). Only token hashes are stored.
CREATE TABLE sessions (
    id          VARCHAR(36)   NOT NULL PRIMARY KEY,
    token_hash  VARCHAR(64)   NOT NULL,
    subject_id  VARCHAR(64)   NOT NULL,
    kind        VARCHAR(16)   NOT NULL,
    created_at  BIGINT        NOT NULL,
    expires_at  BIGINT        NOT NULL,
    revoked     INT           NOT NULL DEFAULT 0,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX messages_status ON messages (status);
