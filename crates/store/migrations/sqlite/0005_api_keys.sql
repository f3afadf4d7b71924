-- Users' API keys: shown once, stored hashed; the prefix identifies a key in lists.
CREATE TABLE api_keys (
    id            VARCHAR(36)  NOT NULL PRIMARY KEY,
    user_id       VARCHAR(36)  NOT NULL,
    name          VARCHAR(100) NOT NULL,
    prefix        VARCHAR(16)  NOT NULL,
    key_hash      VARCHAR(64)  NOT NULL,
    scopes        TEXT         NOT NULL,
    created_at    BIGINT       NOT NULL,
    expires_at    BIGINT,
    last_used_at  BIGINT,
    revoked_at    BIGINT,
    CONSTRAINT api_keys_hash_key UNIQUE (key_hash)
);
CREATE INDEX api_keys_user ON api_keys (user_id);
