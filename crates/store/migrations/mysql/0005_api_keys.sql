-- Users' API keys, stored hashed (see migrations/sqlite/0005_api_keys.sql).
CREATE TABLE api_keys (
    id            VARCHAR(36)   NOT NULL PRIMARY KEY,
    user_id       VARCHAR(36)   NOT NULL,
    name          TEXT          NOT NULL,
    prefix        VARCHAR(16)   NOT NULL,
    key_hash      VARCHAR(64)   NOT NULL,
    scopes        TEXT          NOT NULL,
    created_at    BIGINT        NOT NULL,
    expires_at    BIGINT,
    last_used_at  BIGINT,
    revoked_at    BIGINT,
    CONSTRAINT api_keys_hash_key UNIQUE (key_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX api_keys_user ON api_keys (user_id);
