-- Accounts linked to an external OpenID Connect identity (issuer + subject).
CREATE TABLE user_identities (
    issuer      TEXT COLLATE "C"  NOT NULL,
    subject     TEXT COLLATE "C"  NOT NULL,
    user_id     TEXT COLLATE "C"  NOT NULL,
    created_at  BIGINT            NOT NULL,
    CONSTRAINT user_identities_key PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities (user_id);
