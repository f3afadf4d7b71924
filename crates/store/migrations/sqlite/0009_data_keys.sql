-- Encryption at rest (ENCRYPTION_KEY): one data key per conversation, wrapped by
-- the master key and owned by the conversation's owner. Erasing an owner deletes
-- their keys, which leaves their events unreadable even where rows remain
-- (crypto-shredding); `tenmon-ark keys rotate` rewraps these under a new master key.
CREATE TABLE data_keys (
    stream_id   VARCHAR(40)  NOT NULL PRIMARY KEY,
    owner_id    VARCHAR(80)  NOT NULL,
    wrapped     TEXT         NOT NULL,
    created_at  BIGINT       NOT NULL
);
CREATE INDEX data_keys_owner ON data_keys (owner_id);
