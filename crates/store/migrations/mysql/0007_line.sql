-- LINE Messaging API channel (see migrations/sqlite/0007_line.sql).
CREATE TABLE line_chats (
    chat_id          VARCHAR(64)   NOT NULL PRIMARY KEY,
    conversation_id  VARCHAR(40),
    followed         INT           NOT NULL DEFAULT 1,
    updated_at       BIGINT        NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE line_webhook_events (
    event_id     VARCHAR(64)   NOT NULL PRIMARY KEY,
    received_at  BIGINT        NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX line_webhook_events_received ON line_webhook_events (received_at);

CREATE TABLE line_failures (
    id          VARCHAR(40)   NOT NULL PRIMARY KEY,
    chat_id     VARCHAR(64)   NOT NULL,
    operation   VARCHAR(16)   NOT NULL,
    status      INT,
    error       MEDIUMTEXT    NOT NULL,
    created_at  BIGINT        NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX line_failures_created ON line_failures (created_at);
