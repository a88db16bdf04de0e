-- +goose Up
-- Customers per operator code, kept exact by statement-level triggers in the
-- same transactions as the changes they count. A mailout's audience without
-- a tag filter is then a sum over a few rows instead of a scan of the
-- directory, which keeps creating and reading mailouts fast at millions of
-- customers.
CREATE TABLE customer_code_counts (
    phone_code text PRIMARY KEY,
    n          bigint NOT NULL
);

INSERT INTO customer_code_counts (phone_code, n)
SELECT phone_code, count(*) FROM customers GROUP BY phone_code;

-- +goose StatementBegin
CREATE FUNCTION customer_code_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Upserts in code order so concurrent statements lock counter rows in
    -- the same order and cannot deadlock.
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
-- +goose StatementEnd

CREATE TRIGGER customers_count_insert AFTER INSERT ON customers
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_code_counts_apply();
CREATE TRIGGER customers_count_delete AFTER DELETE ON customers
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_code_counts_apply();
CREATE TRIGGER customers_count_update AFTER UPDATE ON customers
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION customer_code_counts_apply();

-- +goose Down
DROP TRIGGER customers_count_update ON customers;
DROP TRIGGER customers_count_delete ON customers;
DROP TRIGGER customers_count_insert ON customers;
DROP FUNCTION customer_code_counts_apply();
DROP TABLE customer_code_counts;
