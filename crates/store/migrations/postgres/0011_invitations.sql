-- Sign-up invitations (see migrations/sqlite/0011_invitations.sql).
CREATE TABLE invitations (
    id          TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    token_hash  TEXT COLLATE "C"  NOT NULL,
    email       TEXT,
    role        TEXT              NOT NULL,
    created_by  TEXT COLLATE "C"  NOT NULL,
    created_at  BIGINT            NOT NULL,
    expires_at  BIGINT            NOT NULL,
    used_at     BIGINT,
    used_by     TEXT COLLATE "C",
    revoked_at  BIGINT,
    CONSTRAINT invitations_token_key UNIQUE (token_hash)
);
