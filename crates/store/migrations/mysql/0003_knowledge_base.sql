-- Knowledge bases, settings and unanswered questions (see the SQLite dialect).
CREATE TABLE knowledge_bases (
    id           VARCHAR(64)   NOT NULL PRIMARY KEY,
    name         TEXT          NOT NULL,
    description  MEDIUMTEXT    NOT NULL,
    created_at   BIGINT        NOT NULL,
    updated_at   BIGINT        NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE kb_entries (
    id           VARCHAR(64)   NOT NULL PRIMARY KEY,
    kb_id        VARCHAR(64)   NOT NULL,
    question     MEDIUMTEXT    NOT NULL,
    phrasings    MEDIUMTEXT    NOT NULL,
    answer       MEDIUMTEXT    NOT NULL,
    keywords     MEDIUMTEXT    NOT NULL,
    category     TEXT          NOT NULL,
    source_url   TEXT,
    question_en  MEDIUMTEXT,
    answer_en    MEDIUMTEXT,
    enabled      INT           NOT NULL,
    version      BIGINT        NOT NULL,
    created_at   BIGINT        NOT NULL,
    updated_at   BIGINT        NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX kb_entries_kb ON kb_entries (kb_id, id);

CREATE TABLE settings (
    name        VARCHAR(100)  NOT NULL PRIMARY KEY,
    value       MEDIUMTEXT    NOT NULL,
    updated_at  BIGINT        NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE unanswered_questions (
    id          VARCHAR(36)   NOT NULL PRIMARY KEY,
    assistant   VARCHAR(64)   NOT NULL,
    normalized  VARCHAR(500)  NOT NULL,
    sample      MEDIUMTEXT    NOT NULL,
    hits        BIGINT        NOT NULL,
    first_seen  BIGINT        NOT NULL,
    last_seen   BIGINT        NOT NULL,
    CONSTRAINT unanswered_key UNIQUE (assistant, normalized)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
