-- +goose Up
-- The reconciler looks for pending messages whose job may be lost and for
-- claims left by dead workers; both sets are small, so partial indexes keep
-- those scans off the bulk of delivered history.
CREATE INDEX messages_pending_due_idx ON messages (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX messages_sending_idx ON messages (updated_at) WHERE status = 'sending';
CREATE INDEX mailouts_running_idx ON mailouts (end_at) WHERE status = 'running';

-- +goose Down
DROP INDEX mailouts_running_idx;
DROP INDEX messages_sending_idx;
DROP INDEX messages_pending_due_idx;
