-- Accounts. Emails are unique ignoring case (email_lower). A login creates a family
-- of refresh tokens (rotated on each refresh; a reused token revokes the family) and
-- a cookie session with the family's id; access tokens name the family, so revoking
-- it ends the whole login at once.
CREATE TABLE users (
    id             VARCHAR(36)  NOT NULL PRIMARY KEY,
    email          VARCHAR(320) NOT NULL,
    email_lower    VARCHAR(320) NOT NULL,
    display_name   VARCHAR(100) NOT NULL,
    role           VARCHAR(16)  NOT NULL,
    locale         VARCHAR(16)  NOT NULL,
    password_hash  TEXT,
    created_at     BIGINT       NOT NULL,
    updated_at     BIGINT       NOT NULL,
    CONSTRAINT users_email_key UNIQUE (email_lower)
);

CREATE TABLE refresh_tokens (
    id          VARCHAR(36)  NOT NULL PRIMARY KEY,
    user_id     VARCHAR(36)  NOT NULL,
    family_id   VARCHAR(36)  NOT NULL,
    token_hash  VARCHAR(64)  NOT NULL,
    created_at  BIGINT       NOT NULL,
    expires_at  BIGINT       NOT NULL,
    used_at     BIGINT,
    revoked_at  BIGINT,
    CONSTRAINT refresh_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);
CREATE INDEX sessions_subject ON sessions (subject_id);
