-- +goose Up
-- Browsers' server-side sessions. The id is the SHA-256 (hex) of the random
-- token the session cookie carries, so a leaked table holds no usable
-- cookie; the CSRF token is kept hashed for the same reason. A session
-- stores its user's generation and is refused once the user's no longer
-- matches (disabled, new role, new password). It ends at idle_expires_at
-- (moved forward as it is used) or expires_at, whichever comes first, or
-- when revoked.
CREATE TABLE sessions (
    id              text        PRIMARY KEY CHECK (id ~ '^[0-9a-f]{64}$'),
    user_id         bigint      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_hash       text        NOT NULL CHECK (csrf_hash ~ '^[0-9a-f]{64}$'),
    generation      bigint      NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    last_seen_at    timestamptz NOT NULL DEFAULT now(),
    idle_expires_at timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz
);
CREATE INDEX sessions_user_idx ON sessions (user_id);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
