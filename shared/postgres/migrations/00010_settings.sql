-- +goose Up
-- Deployment-wide settings an admin changes at run time, in one row (the
-- key column can only be true). local_sign_in says whether usernames and
-- passwords are accepted; turning it off leaves sign-in to the OpenID
-- Provider.
CREATE TABLE settings (
    id            boolean     PRIMARY KEY DEFAULT true CHECK (id),
    local_sign_in boolean     NOT NULL DEFAULT true,
    updated_at    timestamptz NOT NULL DEFAULT now()
);
INSERT INTO settings DEFAULT VALUES;

-- The sweeper finds the sessions that ended: idled out (idle_expires_at
-- never passes expires_at) or revoked.
CREATE INDEX sessions_idle_expires_idx ON sessions (idle_expires_at);
CREATE INDEX sessions_revoked_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

-- +goose Down
DROP INDEX sessions_revoked_idx;
DROP INDEX sessions_idle_expires_idx;
DROP TABLE settings;
