-- +goose Up
-- Roles, display names and disabling for local users. Before roles every
-- caller used the one bootstrap account, which could do everything, so the
-- users there are become admins; new users are always given a role.
-- generation is written into a user's tokens: a change that must refuse
-- them (disabling, a new role, a new password) increments it.
ALTER TABLE users
    ADD COLUMN role                text        NOT NULL DEFAULT 'admin' CHECK (role IN ('viewer', 'operator', 'admin')),
    ADD COLUMN display_name        text        NOT NULL DEFAULT '' CHECK (char_length(display_name) <= 200),
    ADD COLUMN disabled_at         timestamptz,
    ADD COLUMN password_changed_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN generation          bigint      NOT NULL DEFAULT 1 CHECK (generation > 0);
ALTER TABLE users ALTER COLUMN role DROP DEFAULT;

-- Integrators' API keys. The secret is shown once and only its SHA-256 is
-- kept; prefix, the secret's public beginning (mk_live_<12 hex digits>),
-- finds the row. Keys are revoked, never deleted, so lists keep their
-- history.
CREATE TABLE api_keys (
    id           bigserial   PRIMARY KEY,
    name         text        NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    role         text        NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    prefix       text        NOT NULL UNIQUE,
    secret_hash  bytea       NOT NULL CHECK (octet_length(secret_hash) = 32),
    created_by   bigint      REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);

-- +goose Down
DROP TABLE api_keys;
ALTER TABLE users DROP COLUMN role, DROP COLUMN display_name, DROP COLUMN disabled_at,
    DROP COLUMN password_changed_at, DROP COLUMN generation;
