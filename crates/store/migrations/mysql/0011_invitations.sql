-- Sign-up invitations (see migrations/sqlite/0011_invitations.sql).
CREATE TABLE invitations (
    id          VARCHAR(36)   NOT NULL PRIMARY KEY,
    token_hash  VARCHAR(64)   NOT NULL,
    email       VARCHAR(320),
    role        VARCHAR(16)   NOT NULL,
    created_by  VARCHAR(36)   NOT NULL,
    created_at  BIGINT        NOT NULL,
    expires_at  BIGINT        NOT NULL,
    used_at     BIGINT,
    used_by     VARCHAR(36),
    revoked_at  BIGINT,
    CONSTRAINT invitations_token_key UNIQUE (token_hash)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
