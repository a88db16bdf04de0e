-- +goose Up
-- Why a message is not (yet) sent, as a short code: the external API
-- client's reason (timeout, http_5xx, rejected_4xx, ...), or outside_window,
-- expired, cancelled, worker_lost. last_error keeps the human-readable text.
-- A constant default makes this a catalog-only change, whatever the size
-- of the table.
ALTER TABLE messages ADD COLUMN reason text NOT NULL DEFAULT '';

-- Statistics of messages per mailout, kept exact by statement-level
-- triggers in the same transactions as the message changes they count, so
-- reading a mailout's statistics costs a few dozen rows instead of a scan
-- of its messages (a million while it is being sent).
--
-- Every writer adds its deltas to the rows of its own slot (its backend
-- pid modulo 8) and readers sum the slots: workers recording outcomes of
-- the same mailout at the same time then rarely wait for each other's
-- counter row locks. The counter tables leave half of each page free so
-- that their constant updates stay on the page (HOT) instead of adding
-- index entries.

-- Messages by (status, reason, attempts): counts by status, failures by
-- reason and the distribution of attempts are sums over these rows.
CREATE TABLE mailout_message_counts (
    mailout_id bigint   NOT NULL,
    status     text     NOT NULL,
    reason     text     NOT NULL,
    attempts   integer  NOT NULL,
    slot       smallint NOT NULL,
    n          bigint   NOT NULL,
    PRIMARY KEY (mailout_id, status, reason, attempts, slot)
) WITH (fillfactor = 50);

-- Sent messages per minute of sent_at: the delivery series, and the first
-- and last delivery times.
CREATE TABLE mailout_delivery_minutes (
    mailout_id bigint      NOT NULL,
    minute     timestamptz NOT NULL,
    slot       smallint    NOT NULL,
    n          bigint      NOT NULL,
    first_at   timestamptz,
    last_at    timestamptz,
    PRIMARY KEY (mailout_id, minute, slot)
) WITH (fillfactor = 50);

-- Sent messages per second of sent_at for the last two minutes, as a ring
-- of 120 rows per slot (ring = epoch second mod 120): the current rate is
-- exact without keeping a row per second forever. A row holds the newest
-- second written to its position; a delta for an older second at the same
-- position is at least two minutes old and is dropped.
CREATE TABLE mailout_delivery_seconds (
    mailout_id bigint   NOT NULL,
    ring       smallint NOT NULL,
    slot       smallint NOT NULL,
    sec        bigint   NOT NULL,
    n          bigint   NOT NULL,
    PRIMARY KEY (mailout_id, ring, slot)
) WITH (fillfactor = 50);

-- The lowest and highest message id of each mailout. A fan-out inserts a
-- mailout's messages in one statement, so its ids form one block: the
-- list of a mailout's messages in id order is then a range of the primary
-- key, whatever the statuses.
CREATE TABLE mailout_message_ids (
    mailout_id bigint PRIMARY KEY,
    min_id     bigint NOT NULL,
    max_id     bigint NOT NULL
);

-- One group of changed messages: n messages (negative when they left the
-- group) of a mailout in a status, reason and attempts, and for sent ones
-- the second of sent_at with the earliest and latest sent_at.
CREATE TYPE message_stats_delta AS (
    mailout_id  bigint,
    status      text,
    reason      text,
    attempts    integer,
    sent_second timestamptz,
    first_at    timestamptz,
    last_at     timestamptz,
    n           bigint
);

-- +goose StatementBegin
-- Rows are upserted in key order, table after table, so that concurrent
-- statements lock counter rows in the same order and cannot deadlock.
CREATE FUNCTION message_stats_apply(deltas message_stats_delta[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    s smallint := pg_backend_pid() % 8;
BEGIN
    INSERT INTO mailout_message_counts AS t (mailout_id, status, reason, attempts, slot, n)
    SELECT d.mailout_id, d.status, d.reason, d.attempts, s, sum(d.n)
    FROM unnest(deltas) d
    GROUP BY d.mailout_id, d.status, d.reason, d.attempts
    HAVING sum(d.n) <> 0
    ORDER BY d.mailout_id, d.status, d.reason, d.attempts
    ON CONFLICT (mailout_id, status, reason, attempts, slot) DO UPDATE SET n = t.n + EXCLUDED.n;

    IF NOT EXISTS (SELECT 1 FROM unnest(deltas) d WHERE d.sent_second IS NOT NULL) THEN
        RETURN;
    END IF;

    INSERT INTO mailout_delivery_minutes AS t (mailout_id, minute, slot, n, first_at, last_at)
    SELECT d.mailout_id, date_trunc('minute', d.sent_second, 'UTC'), s, sum(d.n), min(d.first_at), max(d.last_at)
    FROM unnest(deltas) d
    WHERE d.sent_second IS NOT NULL
    GROUP BY d.mailout_id, date_trunc('minute', d.sent_second, 'UTC')
    HAVING sum(d.n) <> 0
    ORDER BY 1, 2
    ON CONFLICT (mailout_id, minute, slot) DO UPDATE SET n = t.n + EXCLUDED.n,
        first_at = LEAST(t.first_at, EXCLUDED.first_at), last_at = GREATEST(t.last_at, EXCLUDED.last_at);

    -- One row per ring position and statement: ON CONFLICT may not touch
    -- a row twice, so of two seconds falling on the same position only the
    -- newer is kept (the older is two minutes older).
    INSERT INTO mailout_delivery_seconds AS t (mailout_id, ring, slot, sec, n)
    SELECT DISTINCT ON (x.mailout_id, x.sec % 120) x.mailout_id, (x.sec % 120)::smallint, s, x.sec, x.n
    FROM (
        SELECT d.mailout_id, extract(epoch FROM d.sent_second)::bigint AS sec, sum(d.n) AS n
        FROM unnest(deltas) d
        WHERE d.sent_second IS NOT NULL
        GROUP BY 1, 2
        HAVING sum(d.n) <> 0
    ) x
    ORDER BY x.mailout_id, x.sec % 120, x.sec DESC
    ON CONFLICT (mailout_id, ring, slot) DO UPDATE SET
        n = CASE WHEN t.sec = EXCLUDED.sec THEN t.n + EXCLUDED.n
                 WHEN t.sec < EXCLUDED.sec THEN EXCLUDED.n
                 ELSE t.n END,
        sec = GREATEST(t.sec, EXCLUDED.sec);
END
$$;

-- Inserted and deleted rows (a fan-out, history written in bulk) are
-- grouped into deltas first: a fan-out of a million messages is one.
CREATE FUNCTION messages_stats_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM message_stats_apply(ARRAY(
        SELECT ROW(mailout_id, status, reason, attempts, sent_second, min(sent_at), max(sent_at), count(*))::message_stats_delta
        FROM (SELECT mailout_id, status, reason, attempts, sent_at,
                     CASE WHEN status = 'sent' THEN date_trunc('second', sent_at, 'UTC') END AS sent_second
              FROM new_rows) c
        GROUP BY mailout_id, status, reason, attempts, sent_second));
    INSERT INTO mailout_message_ids AS t (mailout_id, min_id, max_id)
    SELECT mailout_id, min(id), max(id) FROM new_rows GROUP BY mailout_id ORDER BY mailout_id
    ON CONFLICT (mailout_id) DO UPDATE SET min_id = LEAST(t.min_id, EXCLUDED.min_id), max_id = GREATEST(t.max_id, EXCLUDED.max_id);
    RETURN NULL;
END
$$;

CREATE FUNCTION messages_stats_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM message_stats_apply(ARRAY(
        SELECT ROW(mailout_id, status, reason, attempts, sent_second, NULL, NULL, -count(*))::message_stats_delta
        FROM (SELECT mailout_id, status, reason, attempts,
                     CASE WHEN status = 'sent' THEN date_trunc('second', sent_at, 'UTC') END AS sent_second
              FROM old_rows) c
        GROUP BY mailout_id, status, reason, attempts, sent_second));
    RETURN NULL;
END
$$;

-- Updates are the hot path: every claim and every batch of outcomes. Its
-- cost is mostly per statement (the sender's batches are small, a few to
-- a few dozen rows), so the updated rows feed the upserts directly, with
-- no deltas array, and the delivery counters are skipped unless a sent
-- message changed: a claim costs one upsert. The effect is that of
-- message_stats_apply, locks taken in the same order.
CREATE FUNCTION messages_stats_updated() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s smallint := pg_backend_pid() % 8;
BEGIN
    INSERT INTO mailout_message_counts AS t (mailout_id, status, reason, attempts, slot, n)
    SELECT mailout_id, status, reason, attempts, s, sum(delta)
    FROM (SELECT mailout_id, status, reason, attempts, 1 AS delta FROM new_rows
          UNION ALL
          SELECT mailout_id, status, reason, attempts, -1 FROM old_rows) c
    GROUP BY mailout_id, status, reason, attempts
    HAVING sum(delta) <> 0
    ORDER BY mailout_id, status, reason, attempts
    ON CONFLICT (mailout_id, status, reason, attempts, slot) DO UPDATE SET n = t.n + EXCLUDED.n;

    IF NOT EXISTS (SELECT 1 FROM new_rows WHERE status = 'sent' UNION ALL SELECT 1 FROM old_rows WHERE status = 'sent') THEN
        RETURN NULL;
    END IF;

    -- The minutes are upserted by the main statement, the ring by the
    -- data-modifying CTE, which runs after it as nothing reads it.
    WITH d AS MATERIALIZED (
        SELECT mailout_id, date_trunc('second', sent_at, 'UTC') AS sec, sum(delta) AS n,
               min(sent_at) FILTER (WHERE delta > 0) AS first_at, max(sent_at) FILTER (WHERE delta > 0) AS last_at
        FROM (SELECT mailout_id, sent_at, 1 AS delta FROM new_rows WHERE status = 'sent' AND sent_at IS NOT NULL
              UNION ALL
              SELECT mailout_id, sent_at, -1 FROM old_rows WHERE status = 'sent' AND sent_at IS NOT NULL) c
        GROUP BY 1, 2
        HAVING sum(delta) <> 0
    ), ring AS (
        INSERT INTO mailout_delivery_seconds AS t (mailout_id, ring, slot, sec, n)
        SELECT DISTINCT ON (x.mailout_id, x.sec % 120) x.mailout_id, (x.sec % 120)::smallint, s, x.sec, x.n
        FROM (SELECT mailout_id, extract(epoch FROM sec)::bigint AS sec, n FROM d) x
        ORDER BY x.mailout_id, x.sec % 120, x.sec DESC
        ON CONFLICT (mailout_id, ring, slot) DO UPDATE SET
            n = CASE WHEN t.sec = EXCLUDED.sec THEN t.n + EXCLUDED.n
                     WHEN t.sec < EXCLUDED.sec THEN EXCLUDED.n
                     ELSE t.n END,
            sec = GREATEST(t.sec, EXCLUDED.sec)
    )
    INSERT INTO mailout_delivery_minutes AS t (mailout_id, minute, slot, n, first_at, last_at)
    SELECT mailout_id, date_trunc('minute', sec, 'UTC'), s, sum(n), min(first_at), max(last_at)
    FROM d
    GROUP BY 1, 2
    HAVING sum(n) <> 0
    ORDER BY 1, 2
    ON CONFLICT (mailout_id, minute, slot) DO UPDATE SET n = t.n + EXCLUDED.n,
        first_at = LEAST(t.first_at, EXCLUDED.first_at), last_at = GREATEST(t.last_at, EXCLUDED.last_at);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER messages_stats_insert AFTER INSERT ON messages
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION messages_stats_inserted();
CREATE TRIGGER messages_stats_delete AFTER DELETE ON messages
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION messages_stats_deleted();
CREATE TRIGGER messages_stats_update AFTER UPDATE ON messages
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION messages_stats_updated();

-- Messages that exist already are counted once, as if inserted now.
SELECT message_stats_apply(ARRAY(
    SELECT ROW(mailout_id, status, reason, attempts, sent_second, min(sent_at), max(sent_at), count(*))::message_stats_delta
    FROM (SELECT mailout_id, status, reason, attempts, sent_at,
                 CASE WHEN status = 'sent' THEN date_trunc('second', sent_at, 'UTC') END AS sent_second
          FROM messages) c
    GROUP BY mailout_id, status, reason, attempts, sent_second));

INSERT INTO mailout_message_ids (mailout_id, min_id, max_id)
SELECT mailout_id, min(id), max(id) FROM messages GROUP BY mailout_id;

-- +goose Down
DROP TRIGGER messages_stats_update ON messages;
DROP TRIGGER messages_stats_delete ON messages;
DROP TRIGGER messages_stats_insert ON messages;
DROP FUNCTION messages_stats_updated();
DROP FUNCTION messages_stats_deleted();
DROP FUNCTION messages_stats_inserted();
DROP FUNCTION message_stats_apply(message_stats_delta[]);
DROP TYPE message_stats_delta;
DROP TABLE mailout_message_ids, mailout_delivery_seconds, mailout_delivery_minutes, mailout_message_counts;
ALTER TABLE messages DROP COLUMN reason;
