-- Sessions: a token identifies a caller (a guest now; a user once accounts land).
-- Only the SHA-256 of the token is stored, so a leaked database does not leak
-- usable tokens.
CREATE TABLE sessions (
    id          VARCHAR(36)  NOT NULL PRIMARY KEY,
    token_hash  VARCHAR(64)  NOT NULL,
    subject_id  VARCHAR(64)  NOT NULL,
    kind        VARCHAR(16)  NOT NULL,
    created_at  BIGINT       NOT NULL,
    expires_at  BIGINT       NOT NULL,
    revoked     INTEGER      NOT NULL DEFAULT 0,
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash)
);
CREATE INDEX messages_status ON messages (status);
