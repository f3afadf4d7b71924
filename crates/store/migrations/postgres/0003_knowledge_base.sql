-- Knowledge bases, settings and unanswered questions (see the SQLite dialect).
CREATE TABLE knowledge_bases (
    id           TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    name         TEXT              NOT NULL,
    description  TEXT              NOT NULL,
    created_at   BIGINT            NOT NULL,
    updated_at   BIGINT            NOT NULL
);

CREATE TABLE kb_entries (
    id           TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    kb_id        TEXT COLLATE "C"  NOT NULL,
    question     TEXT              NOT NULL,
    phrasings    TEXT              NOT NULL,
    answer       TEXT              NOT NULL,
    keywords     TEXT              NOT NULL,
    category     TEXT              NOT NULL,
    source_url   TEXT,
    question_en  TEXT,
    answer_en    TEXT,
    enabled      INTEGER           NOT NULL,
    version      BIGINT            NOT NULL,
    created_at   BIGINT            NOT NULL,
    updated_at   BIGINT            NOT NULL
);
CREATE INDEX kb_entries_kb ON kb_entries (kb_id, id);

CREATE TABLE settings (
    name        TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    value       TEXT              NOT NULL,
    updated_at  BIGINT            NOT NULL
);

CREATE TABLE unanswered_questions (
    id          TEXT COLLATE "C"  NOT NULL PRIMARY KEY,
    assistant   TEXT COLLATE "C"  NOT NULL,
    normalized  TEXT COLLATE "C"  NOT NULL,
    sample      TEXT              NOT NULL,
    hits        BIGINT            NOT NULL,
    first_seen  BIGINT            NOT NULL,
    last_seen   BIGINT            NOT NULL,
    CONSTRAINT unanswered_key UNIQUE (assistant, normalized)
);
