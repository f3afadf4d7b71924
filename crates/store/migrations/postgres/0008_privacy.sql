-- Consents and the hash-chained audit log (see migrations/sqlite/0008_privacy.sql).
-- The hashes are TEXT, not CHAR(64): CHAR pads the empty `prev_hash` of the first
-- record with spaces, which would break the chain.
CREATE TABLE consents (
    subject_id    TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    version       TEXT              NOT NULL,
    consented_at  BIGINT            NOT NULL
);

CREATE TABLE audit_log (
    seq         BIGINT            NOT NULL PRIMARY KEY,
    at          TEXT              NOT NULL,
    actor       TEXT COLLATE "C",
    action      TEXT COLLATE "C"  NOT NULL,
    target      TEXT,
    ip          TEXT,
    user_agent  TEXT,
    request_id  TEXT,
    details     TEXT              NOT NULL,
    prev_hash   TEXT              NOT NULL,
    hash        TEXT              NOT NULL
);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
