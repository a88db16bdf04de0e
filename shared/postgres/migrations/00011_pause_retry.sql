-- +goose Up
-- Mailouts can be paused. A paused mailout's jobs are dropped when they
-- arrive, and their messages are marked parked: resuming publishes one job
-- per parked message and nothing else, so however often a mailout is
-- paused and resumed the broker never holds more than one job per pending
-- message.
ALTER TABLE mailouts DROP CONSTRAINT mailouts_status_check,
    ADD CONSTRAINT mailouts_status_check CHECK (status IN ('scheduled', 'running', 'paused', 'finished', 'cancelled'));
-- Constant defaults: catalog-only changes, whatever the size of the table.
-- attempts_base is the attempts a message had when it was last retried
-- by an operator: its attempt budget counts from there, while attempts
-- keeps its whole history.
ALTER TABLE messages ADD COLUMN parked boolean NOT NULL DEFAULT false,
    ADD COLUMN attempts_base integer NOT NULL DEFAULT 0;
CREATE INDEX messages_parked_idx ON messages (mailout_id, id) WHERE parked;

-- +goose Down
DROP INDEX messages_parked_idx;
ALTER TABLE messages DROP COLUMN attempts_base, DROP COLUMN parked;
UPDATE mailouts SET status = 'running' WHERE status = 'paused';
ALTER TABLE mailouts DROP CONSTRAINT mailouts_status_check,
    ADD CONSTRAINT mailouts_status_check CHECK (status IN ('scheduled', 'running', 'finished', 'cancelled'));
