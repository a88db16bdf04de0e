-- +goose Up
-- Warnings about sent messages, per mailout: missing_attribute counts
-- messages sent with a placeholder that had no value and no default (it
-- rendered empty). Written by the statement that records the outcomes, in
-- slots like the other counters so concurrent writers rarely wait.
CREATE TABLE mailout_warnings (
    mailout_id bigint   NOT NULL,
    kind       text     NOT NULL,
    slot       smallint NOT NULL,
    n          bigint   NOT NULL,
    PRIMARY KEY (mailout_id, kind, slot)
) WITH (fillfactor = 50);

-- How far the fan-out has published jobs: the highest message id whose
-- job a planner has taken to publish. Publishers claim the next page by
-- moving it, so two of them (a start event and the reconciler, or a
-- redelivered start event) never publish the same jobs. A constant
-- default: a catalog-only change.
ALTER TABLE mailouts ADD COLUMN jobs_published_through bigint NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE mailouts DROP COLUMN jobs_published_through;
DROP TABLE mailout_warnings;
