-- Files (bytes live in object storage; this is their metadata and extracted text),
-- what a conversation reads besides its messages (attached files, pages from the
-- /browser reader), and Stripe billing state (one row per paying user, and the
-- webhook event ids already applied so a redelivery changes nothing).
CREATE TABLE files (
    id              VARCHAR(36)   NOT NULL PRIMARY KEY,
    owner_id        VARCHAR(64)   NOT NULL,
    name            VARCHAR(255)  NOT NULL,
    kind            VARCHAR(16)   NOT NULL,
    mime            VARCHAR(128)  NOT NULL,
    size            BIGINT        NOT NULL,
    sha256          VARCHAR(64)   NOT NULL,
    storage_key     VARCHAR(255)  NOT NULL,
    extracted_text  TEXT,
    text_truncated  INTEGER       NOT NULL DEFAULT 0,
    kb_id           VARCHAR(64),
    created_at      BIGINT        NOT NULL
);
CREATE INDEX files_owner_created ON files (owner_id, created_at, id);
CREATE INDEX files_created ON files (created_at);

CREATE TABLE attachments (
    id               VARCHAR(36)   NOT NULL PRIMARY KEY,
    conversation_id  VARCHAR(36)   NOT NULL,
    owner_id         VARCHAR(64)   NOT NULL,
    kind             VARCHAR(16)   NOT NULL,
    file_id          VARCHAR(36),
    title            TEXT          NOT NULL,
    url              TEXT,
    content          TEXT          NOT NULL,
    created_at       BIGINT        NOT NULL
);
CREATE INDEX attachments_conversation ON attachments (conversation_id, created_at);
CREATE INDEX attachments_file ON attachments (file_id);

CREATE TABLE billing_accounts (
    user_id               VARCHAR(64)   NOT NULL PRIMARY KEY,
    customer_id           VARCHAR(255)  NOT NULL,
    subscription_id       VARCHAR(255),
    status                VARCHAR(32)   NOT NULL,
    price_id              VARCHAR(255),
    plan_id               VARCHAR(64)   NOT NULL,
    current_period_end    BIGINT,
    cancel_at_period_end  INTEGER       NOT NULL DEFAULT 0,
    past_due_since        BIGINT,
    last_event_at         BIGINT,
    updated_at            BIGINT        NOT NULL,
    CONSTRAINT billing_accounts_customer_key UNIQUE (customer_id)
);

CREATE TABLE billing_events (
    event_id     VARCHAR(255)  NOT NULL PRIMARY KEY,
    event_type   VARCHAR(128)  NOT NULL,
    received_at  BIGINT        NOT NULL
);
CREATE INDEX billing_events_received ON billing_events (received_at);
