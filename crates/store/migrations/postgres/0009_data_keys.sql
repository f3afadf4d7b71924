-- Per-conversation data keys for encryption at rest (see the SQLite dialect).
CREATE TABLE data_keys (
    stream_id   TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    owner_id    TEXT COLLATE "C"  NOT NULL,
    wrapped     TEXT              NOT NULL,
    created_at  BIGINT            NOT NULL
);
CREATE INDEX data_keys_owner ON data_keys (owner_id);
