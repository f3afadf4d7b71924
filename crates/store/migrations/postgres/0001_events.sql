-- PostgreSQL dialect of migrations/sqlite/0001_events.sql: the same tables, columns
-- and constraint names. Strings are TEXT (SQLite does not enforce VARCHAR lengths,
-- so neither does this dialect); ids compared or ordered by the store are
-- COLLATE "C" so they sort byte-wise, as on SQLite, whatever the database locale.
-- Flags stay INTEGER 0/1 so an export reads the same on every backend.
CREATE TABLE events (
    stream_id   TEXT COLLATE "C"  NOT NULL,
    seq         BIGINT            NOT NULL,
    event_type  TEXT              NOT NULL,
    payload     TEXT              NOT NULL,
    created_at  BIGINT            NOT NULL,
    CONSTRAINT events_stream_seq_key PRIMARY KEY (stream_id, seq)
);

CREATE TABLE conversations (
    id          TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    owner_id    TEXT COLLATE "C"  NOT NULL,
    title       TEXT              NOT NULL,
    assistant   TEXT              NOT NULL,
    last_seq    BIGINT            NOT NULL,
    created_at  BIGINT            NOT NULL,
    updated_at  BIGINT            NOT NULL,
    deleted     INTEGER           NOT NULL DEFAULT 0
);
CREATE INDEX conversations_owner_updated ON conversations (owner_id, updated_at, id);

CREATE TABLE messages (
    id                 TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    conversation_id    TEXT COLLATE "C"  NOT NULL,
    seq                BIGINT            NOT NULL,
    role               TEXT              NOT NULL,
    content            TEXT              NOT NULL,
    status             TEXT              NOT NULL,
    model              TEXT,
    finish_reason      TEXT,
    prompt_tokens      INTEGER,
    completion_tokens  INTEGER,
    latency_ms         BIGINT,
    sources            TEXT,
    created_at         BIGINT            NOT NULL,
    updated_at         BIGINT            NOT NULL
);
CREATE INDEX messages_conversation_seq ON messages (conversation_id, seq);
