-- Accounts linked to an external OpenID Connect identity (issuer + subject).
CREATE TABLE user_identities (
    issuer      VARCHAR(300)  NOT NULL,
    subject     VARCHAR(255)  NOT NULL,
    user_id     VARCHAR(36)   NOT NULL,
    created_at  BIGINT        NOT NULL,
    CONSTRAINT user_identities_key PRIMARY KEY (issuer, subject)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX user_identities_user ON user_identities (user_id);
