-- Files, attachments and billing (see migrations/sqlite/0013_files_billing.sql).
CREATE TABLE files (
    id              TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    owner_id        TEXT COLLATE "C"  NOT NULL,
    name            TEXT              NOT NULL,
    kind            TEXT              NOT NULL,
    mime            TEXT              NOT NULL,
    size            BIGINT            NOT NULL,
    sha256          TEXT              NOT NULL,
    storage_key     TEXT              NOT NULL,
    extracted_text  TEXT,
    text_truncated  INTEGER           NOT NULL DEFAULT 0,
    kb_id           TEXT COLLATE "C",
    created_at      BIGINT            NOT NULL
);
CREATE INDEX files_owner_created ON files (owner_id, created_at, id);
CREATE INDEX files_created ON files (created_at);

CREATE TABLE attachments (
    id               TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    conversation_id  TEXT COLLATE "C"  NOT NULL,
    owner_id         TEXT COLLATE "C"  NOT NULL,
    kind             TEXT              NOT NULL,
    file_id          TEXT COLLATE "C",
    title            TEXT              NOT NULL,
    url              TEXT,
    content          TEXT              NOT NULL,
    created_at       BIGINT            NOT NULL
);
CREATE INDEX attachments_conversation ON attachments (conversation_id, created_at);
CREATE INDEX attachments_file ON attachments (file_id);

CREATE TABLE billing_accounts (
    user_id               TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    customer_id           TEXT COLLATE "C"  NOT NULL,
    subscription_id       TEXT,
    status                TEXT              NOT NULL,
    price_id              TEXT,
    plan_id               TEXT              NOT NULL,
    current_period_end    BIGINT,
    cancel_at_period_end  INTEGER           NOT NULL DEFAULT 0,
    past_due_since        BIGINT,
    last_event_at         BIGINT,
    updated_at            BIGINT            NOT NULL,
    CONSTRAINT billing_accounts_customer_key UNIQUE (customer_id)
);

CREATE TABLE billing_events (
    event_id     TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    event_type   TEXT              NOT NULL,
    received_at  BIGINT            NOT NULL
);
CREATE INDEX billing_events_received ON billing_events (received_at);
