-- LINE Messaging API channel: one conversation per LINE chat (user, group or
-- room), webhook event ids seen (redeliveries are processed once), and delivery
-- failures for the admins.
CREATE TABLE line_chats (
    chat_id          VARCHAR(64)  NOT NULL PRIMARY KEY,
    conversation_id  VARCHAR(40),
    followed         INTEGER      NOT NULL DEFAULT 1,
    updated_at       BIGINT       NOT NULL
);

CREATE TABLE line_webhook_events (
    event_id     VARCHAR(64)  NOT NULL PRIMARY KEY,
    received_at  BIGINT       NOT NULL
);
CREATE INDEX line_webhook_events_received ON line_webhook_events (received_at);

CREATE TABLE line_failures (
    id          VARCHAR(40)  NOT NULL PRIMARY KEY,
    chat_id     VARCHAR(64)  NOT NULL,
    operation   VARCHAR(16)  NOT NULL,
    status      INTEGER,
    error       TEXT         NOT NULL,
    created_at  BIGINT       NOT NULL
);
CREATE INDEX line_failures_created ON line_failures (created_at);
