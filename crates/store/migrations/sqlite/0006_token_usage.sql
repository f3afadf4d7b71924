-- Tokens used per subject (a user, a guest, or `key:<id>` for an API key) per UTC
-- day (days since the Unix epoch), for daily quotas.
CREATE TABLE token_usage (
    subject_id  VARCHAR(80)  NOT NULL,
    day         BIGINT       NOT NULL,
    tokens      BIGINT       NOT NULL,
    CONSTRAINT token_usage_key PRIMARY KEY (subject_id, day)
);
