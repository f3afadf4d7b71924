-- Per-conversation data keys for encryption at rest (see the SQLite dialect).
CREATE TABLE data_keys (
    stream_id   VARCHAR(40)   NOT NULL PRIMARY KEY,
    owner_id    VARCHAR(80)   NOT NULL,
    wrapped     TEXT          NOT NULL,
    created_at  BIGINT        NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX data_keys_owner ON data_keys (owner_id);
