-- Users' API keys, stored hashed (see migrations/sqlite/0005_api_keys.sql).
CREATE TABLE api_keys (
    id            TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    user_id       TEXT COLLATE "C"  NOT NULL,
    name          TEXT              NOT NULL,
    prefix        TEXT              NOT NULL,
    key_hash      TEXT COLLATE "C"  NOT NULL,
    scopes        TEXT              NOT NULL,
    created_at    BIGINT            NOT NULL,
    expires_at    BIGINT,
    last_used_at  BIGINT,
    revoked_at    BIGINT,
    CONSTRAINT api_keys_hash_key UNIQUE (key_hash)
);
CREATE INDEX api_keys_user ON api_keys (user_id);
