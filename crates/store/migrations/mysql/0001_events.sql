-- MySQL 8 / MariaDB 10.11 dialect of migrations/sqlite/0001_events.sql: the same
-- tables, columns and constraint names. Every table is InnoDB in utf8mb4 with the
-- binary collation, so keys compare and sort byte-wise as on SQLite (the default
-- collations would make 'A' = 'a' and merge different Japanese questions).
-- Keys need lengths here (SQLite's are the documented ones); other text is
-- MEDIUMTEXT or TEXT, unbounded in practice, as SQLite is. Flags are INT 0/1.
CREATE TABLE events (
    stream_id   VARCHAR(36)   NOT NULL,
    seq         BIGINT        NOT NULL,
    event_type  VARCHAR(64)   NOT NULL,
    payload     MEDIUMTEXT    NOT NULL,
    created_at  BIGINT        NOT NULL,
    CONSTRAINT events_stream_seq_key PRIMARY KEY (stream_id, seq)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE conversations (
    id          VARCHAR(36)   NOT NULL PRIMARY KEY,
    owner_id    VARCHAR(64)   NOT NULL,
    title       TEXT          NOT NULL,
    assistant   VARCHAR(64)   NOT NULL,
    last_seq    BIGINT        NOT NULL,
    created_at  BIGINT        NOT NULL,
    updated_at  BIGINT        NOT NULL,
    deleted     INT           NOT NULL DEFAULT 0
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX conversations_owner_updated ON conversations (owner_id, updated_at, id);

CREATE TABLE messages (
    id                 VARCHAR(36)   NOT NULL PRIMARY KEY,
    conversation_id    VARCHAR(36)   NOT NULL,
    seq                BIGINT        NOT NULL,
    role               VARCHAR(16)   NOT NULL,
    content            MEDIUMTEXT    NOT NULL,
    status             VARCHAR(16)   NOT NULL,
    model              TEXT,
    finish_reason      TEXT,
    prompt_tokens      INT,
    completion_tokens  INT,
    latency_ms         BIGINT,
    sources            MEDIUMTEXT,
    created_at         BIGINT        NOT NULL,
    updated_at         BIGINT        NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX messages_conversation_seq ON messages (conversation_id, seq);
