-- +goose Up
-- Idempotency keys: a caller's (actor's) key claimed by the first request
-- sent with it, and that request's answer once it completed, replayed to
-- retries until expires_at. The primary key makes the claim race-safe: of
-- concurrent requests with one key exactly one inserts the row. claim is
-- the random token of the request holding the row, so only it completes
-- or releases it; locked_until is renewed while that request runs, and a
-- row left in_progress past it (its process died) may be claimed again.
-- request_hash is the SHA-256 (hex) of method, path, query and body; it
-- is NULL while a streamed body is still being read.
CREATE TABLE idempotency_keys (
    actor            text        NOT NULL CHECK (actor <> ''),
    key              text        NOT NULL CHECK (char_length(key) BETWEEN 1 AND 255 AND key !~ '[^\x20-\x7e]'),
    claim            text        NOT NULL,
    state            text        NOT NULL CHECK (state IN ('in_progress', 'completed')),
    method           text        NOT NULL,
    path             text        NOT NULL,
    request_hash     text        CHECK (request_hash ~ '^[0-9a-f]{64}$'),
    response_status  integer,
    response_headers jsonb,
    response_body    bytea,
    created_at       timestamptz NOT NULL,
    locked_until     timestamptz,
    expires_at       timestamptz NOT NULL,
    PRIMARY KEY (actor, key),
    CHECK (state <> 'completed' OR (request_hash IS NOT NULL AND response_status IS NOT NULL
        AND response_headers IS NOT NULL AND response_body IS NOT NULL)),
    CHECK (state <> 'in_progress' OR locked_until IS NOT NULL)
);
-- The sweep deletes expired keys in batches.
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- +goose Down
DROP TABLE idempotency_keys;
