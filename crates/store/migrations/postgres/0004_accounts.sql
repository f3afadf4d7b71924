-- Accounts and refresh-token families (see migrations/sqlite/0004_accounts.sql).
CREATE TABLE users (
    id             TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    email          TEXT              NOT NULL,
    email_lower    TEXT COLLATE "C"  NOT NULL,
    display_name   TEXT              NOT NULL,
    role           TEXT              NOT NULL,
    locale         TEXT              NOT NULL,
    password_hash  TEXT,
    created_at     BIGINT            NOT NULL,
    updated_at     BIGINT            NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email_lower)
);

CREATE TABLE refresh_tokens (
    id          TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    user_id     TEXT COLLATE "C"  NOT NULL,
    family_id   TEXT COLLATE "C"  NOT NULL,
    token_hash  TEXT COLLATE "C"  NOT NULL,
    created_at  BIGINT            NOT NULL,
    expires_at  BIGINT            NOT NULL,
    used_at     BIGINT,
    revoked_at  BIGINT,
    CONSTRAINT refresh_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX sessions_subject ON sessions (subject_id);
