-- Assistants made by admins (GET/PUT/DELETE /api/admin/assistants): the definition
-- as JSON (names, system prompt, model, temperature, knowledge bases, greetings).
-- They add to (or override) the built-in ones and those of the config file.
CREATE TABLE assistants (
    id          VARCHAR(64)  NOT NULL PRIMARY KEY,
    definition  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
