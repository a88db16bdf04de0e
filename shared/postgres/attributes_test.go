package postgres_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

// replaceWith is a change that makes a customer c.
func replaceWith(c domain.Customer) func(domain.Customer) (domain.Customer, error) {
	return func(domain.Customer) (domain.Customer, error) { return c, nil }
}

func TestCustomerAttributesStored(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	customers := postgres.NewCustomers(db)
	attrs := domain.Attributes{"name": "Анна <b>&</b>", "age": json.Number("30"), "id": json.Number("12345678901234567890"),
		"ratio": json.Number("1.50"), "vip": true, "none": ""}
	c, err := customers.Create(ctx, domain.Customer{Phone: "79160000001", PhoneCode: "916", Timezone: "UTC", Tags: []string{}, Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Attributes, attrs) {
		t.Fatalf("created %#v, want %#v", c.Attributes, attrs)
	}
	got, err := customers.Get(ctx, c.ID)
	if err != nil || !reflect.DeepEqual(got.Attributes, attrs) {
		t.Fatalf("get %#v (%v), want %#v", got.Attributes, err, attrs)
	}
	list, err := customers.List(ctx, domain.CustomerFilter{}, domain.Page{Limit: 10})
	if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0].Attributes, attrs) {
		t.Fatalf("list %+v (%v)", list, err)
	}

	got.Attributes = domain.Attributes{"name": "Olga"}
	updated, err := customers.Update(ctx, got.ID, false, replaceWith(got))
	if err != nil || !reflect.DeepEqual(updated.Attributes, domain.Attributes{"name": "Olga"}) {
		t.Fatalf("update %#v (%v)", updated.Attributes, err)
	}
	updated.Attributes = nil
	cleared, err := customers.Update(ctx, updated.ID, false, replaceWith(updated))
	if err != nil || cleared.Attributes == nil || len(cleared.Attributes) != 0 {
		t.Fatalf("cleared %#v (%v), want {}", cleared.Attributes, err)
	}

	// A change that fails writes nothing.
	refused := domain.Invalid(map[string]string{"attributes": "no"})
	if _, err := customers.Update(ctx, c.ID, false, func(domain.Customer) (domain.Customer, error) { return domain.Customer{}, refused }); err != refused {
		t.Fatalf("refused change: %v", err)
	}
	if events, _ := postgres.NewAudit(db).List(ctx, domain.AuditFilter{Action: domain.AuditCustomerUpdated}, domain.Page{Limit: 10}); len(events) != 2 {
		t.Fatalf("%d update events, want the 2 made", len(events))
	}
	if _, err := customers.Update(ctx, 999999, false, replaceWith(got)); domain.ErrorCode(err) != domain.CodeNotFound {
		t.Fatalf("missing customer: %v", err)
	}

	// Customers written without attributes (older code, bulk SQL) read as {}.
	if _, err := db.SQL().Exec(`INSERT INTO customers (phone, phone_code, timezone) VALUES ('79160000002', '916', 'UTC')`); err != nil {
		t.Fatal(err)
	}
	plain := customerByPhone(t, db, "79160000002")
	if plain.Attributes == nil || len(plain.Attributes) != 0 {
		t.Fatalf("a customer without attributes: %#v", plain.Attributes)
	}
	// The database keeps the column an object whoever writes it.
	if _, err := db.SQL().Exec(`UPDATE customers SET attributes = '[1]' WHERE phone = '79160000002'`); err == nil {
		t.Fatal("an array was stored as attributes")
	}
}

// The audit diff of a change names each attribute, with the values as
// stored.
func TestCustomerAttributesAudited(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	customers := postgres.NewCustomers(db)
	c, err := customers.Create(ctx, domain.Customer{Phone: "79160000001", PhoneCode: "916", Timezone: "UTC", Tags: []string{},
		Attributes: domain.Attributes{"city": "Kazan", "age": json.Number("3e1")}})
	if err != nil {
		t.Fatal(err)
	}
	c.Attributes = domain.Attributes{"city": "Omsk", "age": json.Number("30"), "vip": true}
	if _, err := customers.Update(ctx, c.ID, false, replaceWith(c)); err != nil {
		t.Fatal(err)
	}
	events, err := postgres.NewAudit(db).List(ctx, domain.AuditFilter{ObjectType: "customer"}, domain.Page{Limit: 10})
	if err != nil || len(events) != 2 {
		t.Fatalf("events %+v %v", events, err)
	}
	var created, updated map[string]domain.Change
	if err := json.Unmarshal(events[0].Diff, &created); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(events[1].Diff, &updated); err != nil {
		t.Fatal(err)
	}
	// jsonb writes 3e1 as 30: the same number, so no change of age.
	if created["attributes.age"].To != 30.0 || created["attributes.city"].To != "Kazan" {
		t.Errorf("create diff %s", events[0].Diff)
	}
	want := map[string]domain.Change{"attributes.city": {From: "Kazan", To: "Omsk"}, "attributes.vip": {To: true}}
	if !reflect.DeepEqual(updated, want) {
		t.Errorf("update diff %s, want city and vip", events[1].Diff)
	}
}

func TestImportAttributes(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	row := func(line int64, phone string, attrs domain.Attributes) domain.ImportRow {
		r := importRow(line, phone, "916", "UTC")
		r.Customer.Attributes = attrs
		return r
	}
	im := startImport(t, db, domain.ImportSkip)
	if _, err := im.Write(ctx, []domain.ImportRow{
		row(1, "79160000001", domain.Attributes{"city": "Kazan", "age": json.Number("30")}),
		row(2, "79160000002", nil),
		row(3, "79160000003", domain.Attributes{}),
	}); err != nil {
		t.Fatal(err)
	}
	for phone, want := range map[string]domain.Attributes{
		"79160000001": {"city": "Kazan", "age": json.Number("30")},
		"79160000002": {},
		"79160000003": {},
	} {
		if got := customerByPhone(t, db, phone).Attributes; !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %#v, want %#v", phone, got, want)
		}
	}
	// skip leaves stored attributes alone; update replaces them.
	if _, err := im.Write(ctx, []domain.ImportRow{row(4, "79160000001", domain.Attributes{"city": "Omsk"})}); err != nil {
		t.Fatal(err)
	}
	if got := customerByPhone(t, db, "79160000001").Attributes["city"]; got != "Kazan" {
		t.Fatalf("skip changed the city to %v", got)
	}
	up := startImport(t, db, domain.ImportUpdate)
	if _, err := up.Write(ctx, []domain.ImportRow{
		row(5, "79160000001", domain.Attributes{"city": "Omsk"}),
		row(6, "79160000002", domain.Attributes{"vip": true}),
	}); err != nil {
		t.Fatal(err)
	}
	if got := customerByPhone(t, db, "79160000001").Attributes; !reflect.DeepEqual(got, domain.Attributes{"city": "Omsk"}) {
		t.Errorf("updated: %#v", got)
	}
	if got := customerByPhone(t, db, "79160000002").Attributes; !reflect.DeepEqual(got, domain.Attributes{"vip": true}) {
		t.Errorf("updated: %#v", got)
	}
}
