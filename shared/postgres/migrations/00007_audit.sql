-- +goose Up
-- The audit trail: one row per change made through the API, written in
-- the transaction of the change, so a change and its record exist
-- together or not at all. actor is "user:3", "key:7" or '' (the system);
-- the name and role are copied as they were at the time.
CREATE TABLE audit_events (
    id          bigserial   PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text        NOT NULL DEFAULT '',
    actor_name  text        NOT NULL DEFAULT '',
    actor_role  text        NOT NULL DEFAULT '',
    via         text        NOT NULL DEFAULT '',
    action      text        NOT NULL,
    object_type text        NOT NULL,
    object_id   text        NOT NULL DEFAULT '',
    diff        jsonb       NOT NULL DEFAULT '{}',
    request_id  text        NOT NULL DEFAULT '',
    client_ip   text        NOT NULL DEFAULT ''
);
-- Lists walk one of these from a cursor, newest first.
CREATE INDEX audit_events_actor_idx  ON audit_events (actor, id);
CREATE INDEX audit_events_object_idx ON audit_events (object_type, object_id, id);
CREATE INDEX audit_events_action_idx ON audit_events (action, id);
CREATE INDEX audit_events_at_idx     ON audit_events (at);

-- +goose Down
DROP TABLE audit_events;
