-- Consents and the hash-chained audit log (see migrations/sqlite/0008_privacy.sql).
-- audit_head is this dialect's own: one row that appenders lock (SELECT … FOR
-- UPDATE) so they take turns; locking the log's last row instead would not
-- serialise the very first appends (InnoDB gap locks do not conflict).
CREATE TABLE consents (
    subject_id    VARCHAR(80)   NOT NULL PRIMARY KEY,
    version       VARCHAR(40)   NOT NULL,
    consented_at  BIGINT        NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE audit_log (
    seq         BIGINT        NOT NULL PRIMARY KEY,
    at          VARCHAR(40)   NOT NULL,
    actor       VARCHAR(80),
    action      VARCHAR(64)   NOT NULL,
    target      TEXT,
    ip          VARCHAR(64),
    user_agent  TEXT,
    request_id  TEXT,
    details     MEDIUMTEXT    NOT NULL,
    prev_hash   VARCHAR(64)   NOT NULL,
    hash        VARCHAR(64)   NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);

CREATE TABLE audit_head (
    id  INT NOT NULL PRIMARY KEY
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO audit_head (id) VALUES (1);
