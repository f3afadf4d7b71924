-- A disabled account cannot sign in; its logins and keys are revoked when it is disabled.
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
