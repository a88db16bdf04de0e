package postgres_test

import (
	"context"
	"testing"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

// The per-code counters behind audiences stay equal to a count of the
// directory through creates, code changes, deletes and bulk statements.
func TestAudienceCountersStayExact(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	var ids []int64
	for _, phone := range []string{"79160000001", "79160000002", "79030000003", "79030000004", "79250000005"} {
		c, err := postgres.NewCustomers(db).Create(ctx, domain.Customer{Phone: phone, PhoneCode: domain.PhoneCodeOf(phone), Timezone: "UTC"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	moved, err := postgres.NewCustomers(db).Get(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	moved.PhoneCode = "903"
	if _, err := postgres.NewCustomers(db).Update(ctx, moved.ID, false, replaceWith(moved)); err != nil {
		t.Fatal(err)
	}
	if err := postgres.NewCustomers(db).Delete(ctx, ids[4]); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids[:3] {
		if _, err := postgres.NewCustomers(db).AddTag(ctx, id, "vip"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := postgres.NewCustomers(db).AddTag(ctx, ids[3], "new"); err != nil {
		t.Fatal(err)
	}
	var vipID int64
	if err := db.SQL().QueryRow(`SELECT id FROM tags WHERE name = 'vip'`).Scan(&vipID); err != nil {
		t.Fatal(err)
	}
	if _, err := postgres.NewCustomers(db).RemoveTag(ctx, ids[1], vipID); err != nil {
		t.Fatal(err)
	}
	// A multi-row statement, as bulk import issues.
	if _, err := db.SQL().Exec(`INSERT INTO customers (phone, phone_code, timezone)
		SELECT '7999' || lpad(g::text, 7, '0'), '916', 'UTC' FROM generate_series(1, 50) g`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec(`UPDATE customers SET phone_code = '925' WHERE phone LIKE '7999%' AND id % 2 = 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.SQL().Exec(`INSERT INTO customer_tags (customer_id, tag_id)
		SELECT id, (SELECT id FROM tags WHERE name = 'vip') FROM customers WHERE phone LIKE '7999%' AND id % 3 = 0`); err != nil {
		t.Fatal(err)
	}
	// Deleting a tagged customer cascades to its tag links.
	if err := postgres.NewCustomers(db).Delete(ctx, ids[0]); err != nil {
		t.Fatal(err)
	}

	truth := func(where string) int64 {
		var n int64
		if err := db.SQL().QueryRow(`SELECT count(*) FROM customers WHERE ` + where).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	cases := []struct {
		filter domain.Filter
		where  string
	}{
		{domain.Filter{}, "TRUE"},
		{domain.Filter{PhoneCodes: []string{"903"}}, "phone_code = '903'"},
		{domain.Filter{PhoneCodes: []string{"916", "925"}}, "phone_code IN ('916', '925')"},
		{domain.Filter{PhoneCodes: []string{"111"}}, "FALSE"},
		{domain.Filter{Tags: []string{"vip"}}, "id IN (SELECT customer_id FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE t.name = 'vip')"},
		{domain.Filter{Tags: []string{"new"}}, "id IN (SELECT customer_id FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE t.name = 'new')"},
		{domain.Filter{Tags: []string{"vip", "new"}}, "id IN (SELECT customer_id FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id WHERE t.name IN ('vip', 'new'))"},
	}
	for _, tc := range cases {
		m := newMailout(t, db, tc.filter)
		got, err := postgres.NewMailouts(db).Get(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := truth(tc.where); got.Audience != want || m.Audience != want {
			t.Errorf("filter %+v: audience %d (on create %d), want %d", tc.filter, got.Audience, m.Audience, want)
		}
	}
}
