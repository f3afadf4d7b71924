-- Tokens used per subject per UTC day (see migrations/sqlite/0006_token_usage.sql).
CREATE TABLE token_usage (
    subject_id  TEXT COLLATE "C"  NOT NULL,
    day         BIGINT            NOT NULL,
    tokens      BIGINT            NOT NULL,
    CONSTRAINT token_usage_key PRIMARY KEY (subject_id, day)
);
