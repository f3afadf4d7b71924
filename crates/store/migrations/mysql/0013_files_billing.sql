-- Files, attachments and billing (see migrations/sqlite/0013_files_billing.sql).
-- Extracted text and page text can exceed TEXT's 64 KiB: MEDIUMTEXT.
CREATE TABLE files (
    id              VARCHAR(36)   NOT NULL PRIMARY KEY,
    owner_id        VARCHAR(64)   NOT NULL,
    name            VARCHAR(255)  NOT NULL,
    kind            VARCHAR(16)   NOT NULL,
    mime            VARCHAR(128)  NOT NULL,
    size            BIGINT        NOT NULL,
    sha256          VARCHAR(64)   NOT NULL,
    storage_key     VARCHAR(255)  NOT NULL,
    extracted_text  MEDIUMTEXT,
    text_truncated  INT           NOT NULL DEFAULT 0,
    kb_id           VARCHAR(64),
    created_at      BIGINT        NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
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
    content          MEDIUMTEXT    NOT NULL,
    created_at       BIGINT        NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
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
    cancel_at_period_end  INT           NOT NULL DEFAULT 0,
    past_due_since        BIGINT,
    last_event_at         BIGINT,
    updated_at            BIGINT        NOT NULL,
    CONSTRAINT billing_accounts_customer_key UNIQUE (customer_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE billing_events (
    event_id     VARCHAR(255)  NOT NULL PRIMARY KEY,
    event_type   VARCHAR(128)  NOT NULL,
    received_at  BIGINT        NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX billing_events_received ON billing_events (received_at);
