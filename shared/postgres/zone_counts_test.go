package postgres_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"testing"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

// zoneCounts reads a query of (key, zone, n) rows, leaving out zeros.
func zoneCounts(t testing.TB, db *postgres.DB, query string) map[string]int64 {
	t.Helper()
	rows, err := db.SQL().Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var key, zone string
		var n int64
		if err := rows.Scan(&key, &zone, &n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			out[key+"|"+zone] = n
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkZoneCounts compares both counters with a GROUP BY of the directory.
func checkZoneCounts(t testing.TB, db *postgres.DB, step string) {
	t.Helper()
	pairs := []struct{ name, counters, truth string }{
		{"codes", `SELECT phone_code, timezone, n FROM customer_code_counts`,
			`SELECT phone_code, timezone, count(*) FROM customers GROUP BY 1, 2`},
		{"tags", `SELECT tag_id::text, timezone, n FROM tag_counts`,
			`SELECT ct.tag_id::text, c.timezone, count(*) FROM customer_tags ct JOIN customers c ON c.id = ct.customer_id GROUP BY 1, 2`},
	}
	for _, p := range pairs {
		got, want := zoneCounts(t, db, p.counters), zoneCounts(t, db, p.truth)
		if !maps.Equal(got, want) {
			t.Fatalf("after %s: %s counters by zone\n got  %v\n want %v", step, p.name, sorted(got), sorted(want))
		}
	}
}

func sorted(m map[string]int64) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	slices.Sort(out)
	return out
}

// The counters by (code, zone) and (tag, zone) stay equal to a count of the
// directory through every kind of change: the store's single changes, bulk
// statements, both import modes, cascading deletes and TRUNCATE.
func TestZoneCountersStayExact(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	cs := postgres.NewCustomers(db)
	zones := []string{"Europe/Moscow", "Asia/Tokyo", "America/New_York"}
	var ids []int64
	for i, phone := range []string{"79160000001", "79160000002", "79030000003", "79030000004", "79250000005", "79250000006"} {
		c, err := cs.Create(ctx, domain.Customer{Phone: phone, PhoneCode: domain.PhoneCodeOf(phone), Timezone: zones[i%3], Tags: []string{"vip", fmt.Sprintf("t%d", i%2)}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	checkZoneCounts(t, db, "creates")

	update := func(id int64, replaceTags bool, edit func(*domain.Customer)) {
		t.Helper()
		_, err := cs.Update(ctx, id, replaceTags, func(cur domain.Customer) (domain.Customer, error) {
			edit(&cur)
			return cur, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	update(ids[0], false, func(c *domain.Customer) { c.Timezone = "Asia/Tokyo" })
	checkZoneCounts(t, db, "a zone change")
	update(ids[1], false, func(c *domain.Customer) { c.PhoneCode = "903" })
	checkZoneCounts(t, db, "a code change")
	update(ids[2], true, func(c *domain.Customer) { c.Timezone, c.PhoneCode, c.Tags = "America/New_York", "925", []string{"new"} })
	checkZoneCounts(t, db, "a zone, code and tags change")
	update(ids[3], false, func(c *domain.Customer) { c.Attributes = domain.Attributes{"name": "Anna"} })
	checkZoneCounts(t, db, "an attributes change")

	if _, err := cs.AddTag(ctx, ids[4], "new"); err != nil {
		t.Fatal(err)
	}
	var vipID int64
	if err := db.SQL().QueryRow(`SELECT id FROM tags WHERE name = 'vip'`).Scan(&vipID); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.RemoveTag(ctx, ids[5], vipID); err != nil {
		t.Fatal(err)
	}
	checkZoneCounts(t, db, "tag links")
	if err := cs.Delete(ctx, ids[4]); err != nil {
		t.Fatal(err)
	}
	checkZoneCounts(t, db, "deleting a tagged customer")

	// Bulk statements, as scripts and imports issue them.
	bulk := []string{
		`INSERT INTO customers (phone, phone_code, timezone)
			SELECT '7999' || lpad(g::text, 7, '0'), '916', (ARRAY['Europe/Moscow', 'Asia/Tokyo', 'America/New_York'])[1 + g % 3]
			FROM generate_series(1, 300) g`,
		`INSERT INTO customer_tags (customer_id, tag_id)
			SELECT c.id, t.id FROM customers c, tags t WHERE c.phone LIKE '7999%' AND (c.id + t.id) % 3 = 0`,
		`UPDATE customers SET timezone = 'Asia/Tokyo' WHERE phone LIKE '7999%' AND id % 4 = 0`,
		`UPDATE customers SET phone_code = '925', timezone = 'Europe/Moscow' WHERE phone LIKE '7999%' AND id % 5 = 0`,
		`UPDATE customers SET updated_at = now() WHERE phone LIKE '7999%'`,
		`DELETE FROM customer_tags WHERE customer_id % 7 = 0`,
		// Links of customers far apart, looked up one by one rather than
		// as a range of ids.
		`INSERT INTO customer_tags (customer_id, tag_id)
			SELECT c.id, t.id FROM customers c, tags t WHERE c.id % 40 = 1 AND t.name = 'new' ON CONFLICT DO NOTHING`,
		`DELETE FROM customers WHERE phone LIKE '7999%' AND id % 6 = 0`,
		// One statement writing customers and their links, as the import does.
		`WITH up AS (
			INSERT INTO customers (phone, phone_code, timezone)
			SELECT '7998' || lpad(g::text, 7, '0'), '916', (ARRAY['Asia/Tokyo', 'America/New_York'])[1 + g % 2] FROM generate_series(1, 50) g
			RETURNING id)
		INSERT INTO customer_tags (customer_id, tag_id) SELECT up.id, t.id FROM up, tags t WHERE t.name IN ('vip', 'new')`,
		// Zones and codes moving back and forth in one statement.
		`UPDATE customers SET timezone = CASE timezone WHEN 'Asia/Tokyo' THEN 'America/New_York' ELSE 'Asia/Tokyo' END WHERE phone LIKE '7998%'`,
	}
	for _, q := range bulk {
		if _, err := db.SQL().Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		checkZoneCounts(t, db, q)
	}

	// Imports: new customers, then the same phones in other zones with
	// other tags, in both conflict modes.
	row := func(line int, zone string, tags ...string) domain.ImportRow {
		phone := fmt.Sprintf("7997%07d", line)
		if tags == nil {
			tags = []string{}
		}
		return domain.ImportRow{Line: int64(line), Customer: domain.Customer{Phone: phone, PhoneCode: domain.PhoneCodeOf(phone), Timezone: zone, Tags: tags}}
	}
	batches := []struct {
		mode domain.ImportConflict
		rows []domain.ImportRow
	}{
		{domain.ImportSkip, []domain.ImportRow{row(1, "Asia/Tokyo", "vip"), row(2, "Europe/Moscow", "vip", "imp"), row(3, "America/New_York")}},
		{domain.ImportSkip, []domain.ImportRow{row(1, "Europe/Moscow", "x"), row(4, "Asia/Tokyo", "imp")}},
		{domain.ImportUpdate, []domain.ImportRow{row(1, "America/New_York", "vip", "imp"), row(2, "Asia/Tokyo", "imp"), row(3, "America/New_York", "new"), row(5, "Asia/Tokyo", "vip")}},
		{domain.ImportUpdate, []domain.ImportRow{row(1, "America/New_York", "vip", "imp"), row(4, "Europe/Moscow")}},
	}
	for i, b := range batches {
		im, err := cs.StartImport(ctx, b.mode)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := im.Write(ctx, b.rows); err != nil {
			t.Fatal(err)
		}
		if err := im.Close(); err != nil {
			t.Fatal(err)
		}
		checkZoneCounts(t, db, fmt.Sprintf("import batch %d (%s)", i+1, b.mode))
	}

	// A deleted tag takes its counters with it.
	if _, err := db.SQL().Exec(`DELETE FROM customer_tags WHERE tag_id = (SELECT id FROM tags WHERE name = 'x')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec(`DELETE FROM tags WHERE name = 'x'`); err != nil {
		t.Fatal(err)
	}
	checkZoneCounts(t, db, "deleting a tag")

	if _, err := db.SQL().Exec(`TRUNCATE customers CASCADE`); err != nil {
		t.Fatal(err)
	}
	checkZoneCounts(t, db, "TRUNCATE")
	var left int64
	if err := db.SQL().QueryRow(`SELECT (SELECT count(*) FROM customer_code_counts) + (SELECT count(*) FROM tag_counts)`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("counter rows after TRUNCATE: %d (%v)", left, err)
	}
}
