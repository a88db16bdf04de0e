-- +goose Up
-- Customers per tag, kept exact by statement-level triggers like
-- customer_code_counts: a single-tag audience is one row read.
CREATE TABLE tag_counts (
    tag_id bigint PRIMARY KEY,
    n      bigint NOT NULL
);

INSERT INTO tag_counts (tag_id, n)
SELECT tag_id, count(*) FROM customer_tags GROUP BY tag_id;

-- +goose StatementBegin
CREATE FUNCTION tag_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO tag_counts AS t (tag_id, n)
        SELECT tag_id, count(*) FROM new_rows GROUP BY tag_id ORDER BY tag_id
        ON CONFLICT (tag_id) DO UPDATE SET n = t.n + EXCLUDED.n;
    ELSIF TG_OP = 'DELETE' THEN
        -- A tag deleted in the same statement leaves a zero row behind;
        -- it is harmless and removed with the tag below.
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

CREATE FUNCTION tag_counts_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM tag_counts WHERE tag_id IN (SELECT id FROM old_rows);
    RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER customer_tags_count_insert AFTER INSERT ON customer_tags
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tag_counts_apply();
CREATE TRIGGER customer_tags_count_delete AFTER DELETE ON customer_tags
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tag_counts_apply();
CREATE TRIGGER customer_tags_count_update AFTER UPDATE ON customer_tags
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tag_counts_apply();
CREATE TRIGGER tags_forget_count AFTER DELETE ON tags
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tag_counts_forget();

-- +goose Down
DROP TRIGGER tags_forget_count ON tags;
DROP TRIGGER customer_tags_count_update ON customer_tags;
DROP TRIGGER customer_tags_count_delete ON customer_tags;
DROP TRIGGER customer_tags_count_insert ON customer_tags;
DROP FUNCTION tag_counts_forget();
DROP FUNCTION tag_counts_apply();
DROP TABLE tag_counts;
