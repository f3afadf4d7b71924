-- Knowledge bases and their entries. The database is the truth; the search index
-- is rebuilt from it at start and updated on every edit.
CREATE TABLE knowledge_bases (
    id           VARCHAR(64)  NOT NULL PRIMARY KEY,
    name         VARCHAR(200) NOT NULL,
    description  TEXT         NOT NULL,
    created_at   BIGINT       NOT NULL,
    updated_at   BIGINT       NOT NULL
);

CREATE TABLE kb_entries (
    id           VARCHAR(64)  NOT NULL PRIMARY KEY,
    kb_id        VARCHAR(64)  NOT NULL,
    question     TEXT         NOT NULL,
    phrasings    TEXT         NOT NULL,
    answer       TEXT         NOT NULL,
    keywords     TEXT         NOT NULL,
    category     VARCHAR(100) NOT NULL,
    source_url   TEXT,
    question_en  TEXT,
    answer_en    TEXT,
    enabled      INTEGER      NOT NULL,
    version      BIGINT       NOT NULL,
    created_at   BIGINT       NOT NULL,
    updated_at   BIGINT       NOT NULL
);
CREATE INDEX kb_entries_kb ON kb_entries (kb_id, id);

-- Small named settings edited at run time (e.g. the synonym dictionary).
CREATE TABLE settings (
    name        VARCHAR(100) NOT NULL PRIMARY KEY,
    value       TEXT         NOT NULL,
    updated_at  BIGINT       NOT NULL
);

-- Questions an assistant could not answer from its knowledge, for the admins.
CREATE TABLE unanswered_questions (
    id          VARCHAR(36)  NOT NULL PRIMARY KEY,
    assistant   VARCHAR(64)  NOT NULL,
    normalized  VARCHAR(500) NOT NULL,
    sample      TEXT         NOT NULL,
    hits        BIGINT       NOT NULL,
    first_seen  BIGINT       NOT NULL,
    last_seen   BIGINT       NOT NULL,
    CONSTRAINT unanswered_key UNIQUE (assistant, normalized)
);
