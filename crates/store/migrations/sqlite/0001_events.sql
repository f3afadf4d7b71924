-- The event log is the source of truth; conversations and messages are projections
-- of it, rebuilt by `tenmon-ark events replay`. Types are kept portable (VARCHAR,
-- TEXT, BIGINT, INTEGER) so the PostgreSQL and MySQL dialects can mirror this file.
CREATE TABLE events (
    stream_id   VARCHAR(36)  NOT NULL,
    seq         BIGINT       NOT NULL,
    event_type  VARCHAR(64)  NOT NULL,
    payload     TEXT         NOT NULL,
    created_at  BIGINT       NOT NULL,
    CONSTRAINT events_stream_seq_key PRIMARY KEY (stream_id, seq)
);

CREATE TABLE conversations (
    id          VARCHAR(36)  NOT NULL PRIMARY KEY,
    owner_id    VARCHAR(64)  NOT NULL,
    title       VARCHAR(200) NOT NULL,
    assistant   VARCHAR(64)  NOT NULL,
    last_seq    BIGINT       NOT NULL,
    created_at  BIGINT       NOT NULL,
    updated_at  BIGINT       NOT NULL,
    deleted     INTEGER      NOT NULL DEFAULT 0
);
CREATE INDEX conversations_owner_updated ON conversations (owner_id, updated_at, id);

CREATE TABLE messages (
    id                 VARCHAR(36)  NOT NULL PRIMARY KEY,
    conversation_id    VARCHAR(36)  NOT NULL,
    seq                BIGINT       NOT NULL,
    role               VARCHAR(16)  NOT NULL,
    content            TEXT         NOT NULL,
    status             VARCHAR(16)  NOT NULL,
    model              VARCHAR(128),
    finish_reason      VARCHAR(32),
    prompt_tokens      INTEGER,
    completion_tokens  INTEGER,
    latency_ms         BIGINT,
    sources            TEXT,
    created_at         BIGINT       NOT NULL,
    updated_at         BIGINT       NOT NULL
);
CREATE INDEX messages_conversation_seq ON messages (conversation_id, seq);
