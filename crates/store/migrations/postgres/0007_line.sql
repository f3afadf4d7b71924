-- LINE Messaging API channel (see migrations/sqlite/0007_line.sql).
CREATE TABLE line_chats (
    chat_id          TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    conversation_id  TEXT COLLATE "C",
    followed         INTEGER           NOT NULL DEFAULT 1,
    updated_at       BIGINT            NOT NULL
);

CREATE TABLE line_webhook_events (
    event_id     TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    received_at  BIGINT            NOT NULL
);
CREATE INDEX line_webhook_events_received ON line_webhook_events (received_at);

CREATE TABLE line_failures (
    id          TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    chat_id     TEXT COLLATE "C"  NOT NULL,
    operation   TEXT              NOT NULL,
    status      INTEGER,
    error       TEXT              NOT NULL,
    created_at  BIGINT            NOT NULL
);
CREATE INDEX line_failures_created ON line_failures (created_at);
