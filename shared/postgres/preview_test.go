package postgres_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

// Every filter shape counts its audience per zone and picks its samples as
// a brute-force query over the directory does, whether the counters or
// the customers themselves answer.
func TestAudienceByZone(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO phone_codes (code) VALUES ('916'), ('903'), ('925')`,
		`INSERT INTO timezones (name) VALUES ('Europe/Moscow'), ('Asia/Tokyo'), ('America/New_York')`,
		`INSERT INTO tags (name) VALUES ('a'), ('b'), ('c')`,
		`INSERT INTO customers (phone, phone_code, timezone, attributes)
			SELECT '7900' || lpad(g::text, 7, '0'), (ARRAY['916', '903', '925'])[1 + g % 3],
			       (ARRAY['Europe/Moscow', 'Asia/Tokyo', 'America/New_York'])[1 + (g / 3) % 3],
			       jsonb_build_object('n', g)
			FROM generate_series(1, 600) g`,
		`INSERT INTO customer_tags (customer_id, tag_id)
			SELECT c.id, t.id FROM customers c JOIN tags t ON (c.id * 7 + t.id * 13) % 5 < 2`,
		`UPDATE customers SET timezone = 'Asia/Tokyo' WHERE id % 11 = 0`,
		`DELETE FROM customers WHERE id % 13 = 0`,
	} {
		if _, err := db.SQL().Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	filters := []domain.Filter{
		{},
		{PhoneCodes: []string{"916"}},
		{PhoneCodes: []string{"916", "925"}},
		{Tags: []string{"a"}},
		{Tags: []string{"a", "c"}},
		{Tags: []string{"b"}, PhoneCodes: []string{"903"}},
		{Tags: []string{"a", "b", "c"}, PhoneCodes: []string{"903", "925"}},
		{Tags: []string{"zzz"}},
		{Tags: []string{"zzz", "b"}},
		{PhoneCodes: []string{"999"}},
	}
	for _, f := range filters {
		where := []string{"TRUE"}
		if len(f.Tags) > 0 {
			where = append(where, fmt.Sprintf(`id IN (SELECT ct.customer_id FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE t.name IN ('%s'))`, strings.Join(f.Tags, "', '")))
		}
		if len(f.PhoneCodes) > 0 {
			where = append(where, fmt.Sprintf(`phone_code IN ('%s')`, strings.Join(f.PhoneCodes, "', '")))
		}
		cond := strings.Join(where, " AND ")
		truth := map[string]int64{}
		for k, n := range zoneCounts(t, db, `SELECT 'all', timezone, count(*) FROM customers WHERE `+cond+` GROUP BY timezone`) {
			truth[strings.TrimPrefix(k, "all|")] = n
		}
		var total int64
		for _, n := range truth {
			total += n
		}
		var firstIDs []int64
		rows, err := db.SQL().Query(`SELECT id FROM customers WHERE ` + cond + ` ORDER BY id LIMIT 7`)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			firstIDs = append(firstIDs, id)
		}
		rows.Close()

		for _, byZone := range []bool{true, false} {
			a, err := postgres.NewMailouts(db).Audience(ctx, domain.AudienceQuery{Filter: f, ByZone: byZone, Samples: 7})
			if err != nil {
				t.Fatalf("%+v: %v", f, err)
			}
			if a.Count != total {
				t.Errorf("%+v (by zone %v): audience %d, want %d", f, byZone, a.Count, total)
			}
			if byZone && !maps.Equal(a.ByZone, truth) {
				t.Errorf("%+v: by zone %v, want %v", f, a.ByZone, truth)
			}
			if !byZone && a.ByZone != nil {
				t.Errorf("%+v: zones counted unasked: %v", f, a.ByZone)
			}
			ids := make([]int64, len(a.Samples))
			for i, c := range a.Samples {
				ids[i] = c.ID
				if c.Phone == "" || c.Timezone == "" || c.Attributes["n"] == nil {
					t.Errorf("%+v: sample %+v lacks its fields", f, c)
				}
			}
			if !slices.Equal(ids, firstIDs) && !(len(ids) == 0 && len(firstIDs) == 0) {
				t.Errorf("%+v: samples %v, want %v", f, ids, firstIDs)
			}
		}
	}
}
