-- +goose Up
-- The audience counters by time zone: customer_code_counts and tag_counts
-- become counts per (phone code, time zone) and per (tag, time zone), so a
-- mailout preview tells how many customers of a one-code or one-tag
-- audience are inside a send window right now from a row per zone instead
-- of a scan of the audience. A code's or a tag's rows sum to what its one
-- row held, so audiences read them as before (sum(n) ... WHERE ...).
--
-- The statement-level triggers keep them exact in the transactions of the
-- changes:
--   - customers INSERT, UPDATE, DELETE: codes by zone. An UPDATE also moves
--     the tag counts of customers whose zone changed to the new zone.
--   - customer_tags INSERT, UPDATE, DELETE: tags in the zone of the
--     customer, read from customers (after the statement, so links written
--     with their new customers in one statement are found).
--   - A customer's own deletion: its links go by ON DELETE CASCADE, and
--     neither table's statement trigger can see both the links and the
--     customer then (the cascade runs before customers' statement trigger,
--     and the customer is gone when customer_tags' runs). A row-level
--     BEFORE DELETE trigger takes the customer's tags off while both
--     exist; customer_tags' trigger skips links whose customer is gone.
-- Reading the zone from customers is exact because every writer of
-- customer_tags holds the customer's row lock (it creates, updates or locks
-- the customer first), so no zone changes between the link's write and
-- its count. A single statement must not change customers' zones and
-- their links together (a CTE doing both would count the new links
-- twice); the store never does.
--
-- Upserts go in key order, so concurrent statements lock counter rows in
-- the same order. Rows that fall to zero stay, as before.
--
-- Migrating locks writes to the directory while it counts: about 2 s for
-- 1,000,000 customers with 1,500,000 tag links.
LOCK TABLE customers, customer_tags IN SHARE MODE;

DROP TABLE customer_code_counts;
CREATE TABLE customer_code_counts (
    phone_code text   NOT NULL,
    timezone   text   NOT NULL,
    n          bigint NOT NULL,
    PRIMARY KEY (phone_code, timezone)
);
INSERT INTO customer_code_counts (phone_code, timezone, n)
SELECT phone_code, timezone, count(*) FROM customers GROUP BY phone_code, timezone;

DROP TABLE tag_counts;
CREATE TABLE tag_counts (
    tag_id   bigint NOT NULL,
    timezone text   NOT NULL,
    n        bigint NOT NULL,
    PRIMARY KEY (tag_id, timezone)
);
INSERT INTO tag_counts (tag_id, timezone, n)
SELECT ct.tag_id, c.timezone, count(*) FROM customer_tags ct JOIN customers c ON c.id = ct.customer_id
GROUP BY ct.tag_id, c.timezone;

-- The triggers of 00002 and 00003 keep calling these functions; only
-- their bodies change. JIT is off in them: the planner cannot tell that a
-- join of a statement's old and new rows matches each row once, prices a
-- batch's few thousand rows as millions, and JIT-compiled each trigger
-- statement of an import batch (60 ms) for nothing.
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION customer_code_counts_apply() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- The new customers' links are counted by customer_tags' trigger.
        INSERT INTO customer_code_counts AS t (phone_code, timezone, n)
        SELECT phone_code, timezone, count(*) FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (phone_code, timezone) DO UPDATE SET n = t.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        -- Their tags were taken off by customers_tag_counts_delete.
        INSERT INTO customer_code_counts AS t (phone_code, timezone, n)
        SELECT phone_code, timezone, -count(*) FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (phone_code, timezone) DO UPDATE SET n = t.n + EXCLUDED.n;
    ELSE
        INSERT INTO customer_code_counts AS t (phone_code, timezone, n)
        SELECT phone_code, timezone, sum(d) FROM (
            SELECT phone_code, timezone, 1 AS d FROM new_rows
            UNION ALL
            SELECT phone_code, timezone, -1 FROM old_rows
        ) changes GROUP BY 1, 2 HAVING sum(d) <> 0 ORDER BY 1, 2
        ON CONFLICT (phone_code, timezone) DO UPDATE SET n = t.n + EXCLUDED.n;
        -- Tags move with customers that changed zone. Most updates change
        -- no zone, and then nothing is joined.
        WITH moved AS (
            SELECT o.id, o.timezone AS was, n.timezone AS now
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE o.timezone <> n.timezone)
        INSERT INTO tag_counts AS t (tag_id, timezone, n)
        SELECT ct.tag_id, z.timezone, sum(z.d)
        FROM moved m
        JOIN customer_tags ct ON ct.customer_id = m.id
        CROSS JOIN LATERAL (VALUES (m.now, 1), (m.was, -1)) z (timezone, d)
        GROUP BY 1, 2 HAVING sum(z.d) <> 0 ORDER BY 1, 2
        ON CONFLICT (tag_id, timezone) DO UPDATE SET n = t.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;

-- The links' customers are read from customers by their ids. A batch of
-- new customers (an import's) has ids close together, and one range of the
-- primary key reads them in order at half the cost of looking each one up
-- (17 against 34 ms of CPU for 10,000 customers with 15,000 links); other
-- statements pass the ids as ARRAY(SELECT ...), as the import does, since
-- joined to the transition table the lookups were planned as a hash join
-- over the whole table.
CREATE OR REPLACE FUNCTION tag_counts_apply() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $$
DECLARE
    lo bigint;
    hi bigint;
    links bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT min(customer_id), max(customer_id), count(*) INTO lo, hi, links FROM new_rows;
        IF hi - lo < 4 * links THEN
            INSERT INTO tag_counts AS t (tag_id, timezone, n)
            SELECT r.tag_id, c.timezone, count(*)
            FROM new_rows r JOIN customers c ON c.id = r.customer_id
            WHERE c.id BETWEEN lo AND hi
            GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (tag_id, timezone) DO UPDATE SET n = t.n + EXCLUDED.n;
        ELSE
            INSERT INTO tag_counts AS t (tag_id, timezone, n)
            SELECT r.tag_id, c.timezone, count(*)
            FROM new_rows r JOIN customers c ON c.id = r.customer_id
            WHERE c.id = ANY (ARRAY(SELECT customer_id FROM new_rows))
            GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (tag_id, timezone) DO UPDATE SET n = t.n + EXCLUDED.n;
        END IF;
    ELSIF TG_OP = 'DELETE' THEN
        -- Links of a customer deleted by this statement find no customer:
        -- customers_tag_counts_delete took them off already.
        SELECT min(customer_id), max(customer_id), count(*) INTO lo, hi, links FROM old_rows;
        IF hi - lo < 4 * links THEN
            INSERT INTO tag_counts AS t (tag_id, timezone, n)
            SELECT r.tag_id, c.timezone, -count(*)
            FROM old_rows r JOIN customers c ON c.id = r.customer_id
            WHERE c.id BETWEEN lo AND hi
            GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (tag_id, timezone) DO UPDATE SET n = t.n + EXCLUDED.n;
        ELSE
            INSERT INTO tag_counts AS t (tag_id, timezone, n)
            SELECT r.tag_id, c.timezone, -count(*)
            FROM old_rows r JOIN customers c ON c.id = r.customer_id
            WHERE c.id = ANY (ARRAY(SELECT customer_id FROM old_rows))
            GROUP BY 1, 2 ORDER BY 1, 2
            ON CONFLICT (tag_id, timezone) DO UPDATE SET n = t.n + EXCLUDED.n;
        END IF;
    ELSE
        INSERT INTO tag_counts AS t (tag_id, timezone, n)
        SELECT r.tag_id, c.timezone, sum(r.d) FROM (
            SELECT customer_id, tag_id, 1 AS d FROM new_rows
            UNION ALL
            SELECT customer_id, tag_id, -1 FROM old_rows
        ) r JOIN customers c ON c.id = r.customer_id
        WHERE c.id = ANY (ARRAY(SELECT customer_id FROM new_rows UNION SELECT customer_id FROM old_rows))
        GROUP BY 1, 2 HAVING sum(r.d) <> 0 ORDER BY 1, 2
        ON CONFLICT (tag_id, timezone) DO UPDATE SET n = t.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;

-- A deleted customer's tags come off in its zone before the cascade
-- removes its links. Row by row: one upsert per deleted customer, beside
-- the cascade's own work per customer.
CREATE FUNCTION customer_tag_counts_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tag_counts AS t (tag_id, timezone, n)
    SELECT tag_id, OLD.timezone, -1 FROM customer_tags WHERE customer_id = OLD.id ORDER BY tag_id
    ON CONFLICT (tag_id, timezone) DO UPDATE SET n = t.n + EXCLUDED.n;
    RETURN OLD;
END
$$;

-- TRUNCATE fires no row or statement DELETE triggers; it empties the
-- counters with the tables.
CREATE FUNCTION customer_counts_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'customers' THEN
        DELETE FROM customer_code_counts;
    END IF;
    DELETE FROM tag_counts;
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER customers_tag_counts_delete BEFORE DELETE ON customers
    FOR EACH ROW EXECUTE FUNCTION customer_tag_counts_forget();
CREATE TRIGGER customers_count_truncate AFTER TRUNCATE ON customers
    FOR EACH STATEMENT EXECUTE FUNCTION customer_counts_truncate();
CREATE TRIGGER customer_tags_count_truncate AFTER TRUNCATE ON customer_tags
    FOR EACH STATEMENT EXECUTE FUNCTION customer_counts_truncate();

-- +goose Down
LOCK TABLE customers, customer_tags IN SHARE MODE;

DROP TRIGGER customer_tags_count_truncate ON customer_tags;
DROP TRIGGER customers_count_truncate ON customers;
DROP TRIGGER customers_tag_counts_delete ON customers;
DROP FUNCTION customer_counts_truncate();
DROP FUNCTION customer_tag_counts_forget();

DROP TABLE customer_code_counts;
CREATE TABLE customer_code_counts (
    phone_code text PRIMARY KEY,
    n          bigint NOT NULL
);
INSERT INTO customer_code_counts (phone_code, n)
SELECT phone_code, count(*) FROM customers GROUP BY phone_code;

DROP TABLE tag_counts;
CREATE TABLE tag_counts (
    tag_id bigint PRIMARY KEY,
    n      bigint NOT NULL
);
INSERT INTO tag_counts (tag_id, n)
SELECT tag_id, count(*) FROM customer_tags GROUP BY tag_id;

-- +goose StatementBegin
CREATE OR REPLACE FUNCTION customer_code_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO customer_code_counts AS t (phone_code, n)
        SELECT phone_code, count(*) FROM new_rows GROUP BY phone_code ORDER BY phone_code
        ON CONFLICT (phone_code) DO UPDATE SET n = t.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO customer_code_counts AS t (phone_code, n)
        SELECT phone_code, -count(*) FROM old_rows GROUP BY phone_code ORDER BY phone_code
        ON CONFLICT (phone_code) DO UPDATE SET n = t.n + EXCLUDED.n;
    ELSE
        INSERT INTO customer_code_counts AS t (phone_code, n)
        SELECT phone_code, sum(d) FROM (
            SELECT phone_code, 1 AS d FROM new_rows
            UNION ALL
            SELECT phone_code, -1 FROM old_rows
        ) changes GROUP BY phone_code HAVING sum(d) <> 0 ORDER BY phone_code
        ON CONFLICT (phone_code) DO UPDATE SET n = t.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION tag_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tag_counts AS t (tag_id, n)
        SELECT tag_id, count(*) FROM new_rows GROUP BY tag_id ORDER BY tag_id
        ON CONFLICT (tag_id) DO UPDATE SET n = t.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO tag_counts AS t (tag_id, n)
        SELECT tag_id, -count(*) FROM old_rows GROUP BY tag_id ORDER BY tag_id
        ON CONFLICT (tag_id) DO UPDATE SET n = t.n + EXCLUDED.n;
    ELSE
        INSERT INTO tag_counts AS t (tag_id, n)
        SELECT tag_id, sum(d) FROM (
            SELECT tag_id, 1 AS d FROM new_rows
            UNION ALL
            SELECT tag_id, -1 FROM old_rows
        ) changes GROUP BY tag_id HAVING sum(d) <> 0 ORDER BY tag_id
        ON CONFLICT (tag_id) DO UPDATE SET n = t.n + EXCLUDED.n;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
