-- Accounts and refresh-token families (see migrations/sqlite/0004_accounts.sql).
CREATE TABLE users (
    id             VARCHAR(36)   NOT NULL PRIMARY KEY,
    email          VARCHAR(320)  NOT NULL,
    email_lower    VARCHAR(320)  NOT NULL,
    display_name   TEXT          NOT NULL,
    role           VARCHAR(16)   NOT NULL,
    locale         VARCHAR(16)   NOT NULL,
    password_hash  TEXT,
    created_at     BIGINT        NOT NULL,
    updated_at     BIGINT        NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email_lower)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE refresh_tokens (
    id          VARCHAR(36)   NOT NULL PRIMARY KEY,
    user_id     VARCHAR(36)   NOT NULL,
    family_id   VARCHAR(36)   NOT NULL,
    token_hash  VARCHAR(64)   NOT NULL,
    created_at  BIGINT        NOT NULL,
    expires_at  BIGINT        NOT NULL,
    used_at     BIGINT,
    revoked_at  BIGINT,
    CONSTRAINT refresh_tokens_hash_key UNIQUE (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX sessions_subject ON sessions (subject_id);
