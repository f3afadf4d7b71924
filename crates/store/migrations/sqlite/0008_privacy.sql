-- Consent to the privacy notice (when the deployment asks for it), and the
-- append-only, hash-chained audit log: each record carries the hash of the one
-- before, so an edited, removed or reordered record is detected by
-- `tenmon-ark audit verify`. Never message text or secrets.
CREATE TABLE consents (
    subject_id    VARCHAR(80)  NOT NULL PRIMARY KEY,
    version       VARCHAR(40)  NOT NULL,
    consented_at  BIGINT       NOT NULL
);

CREATE TABLE audit_log (
    seq         BIGINT        NOT NULL PRIMARY KEY,
    at          VARCHAR(40)   NOT NULL,
    actor       VARCHAR(80),
    action      VARCHAR(64)   NOT NULL,
    target      VARCHAR(200),
    ip          VARCHAR(64),
    user_agent  VARCHAR(300),
    request_id  VARCHAR(64),
    details     TEXT          NOT NULL,
    prev_hash   CHAR(64)      NOT NULL,
    hash        CHAR(64)      NOT NULL
);
CREATE INDEX audit_log_action ON audit_log (action, seq);
CREATE INDEX audit_log_actor ON audit_log (actor, seq);
