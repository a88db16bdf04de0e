package postgres_test

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

func importRow(line int64, phone, code, zone string, tags ...string) domain.ImportRow {
	if tags == nil {
		tags = []string{}
	}
	return domain.ImportRow{Line: line, Customer: domain.Customer{Phone: phone, PhoneCode: code, Timezone: zone, Tags: tags}}
}

func startImport(t *testing.T, db *postgres.DB, mode domain.ImportConflict) *postgres.Importer {
	t.Helper()
	im, err := postgres.NewCustomers(db).StartImport(context.Background(), mode)
	if err != nil {
		t.Fatalf("start import: %v", err)
	}
	t.Cleanup(func() { _ = im.Close() })
	return im
}

func customerByPhone(t *testing.T, db *postgres.DB, phone string) domain.Customer {
	t.Helper()
	list, err := postgres.NewCustomers(db).List(context.Background(), domain.CustomerFilter{PhonePrefix: phone}, domain.Page{Limit: 2})
	if err != nil || len(list) != 1 {
		t.Fatalf("customer %s: %v %v", phone, list, err)
	}
	return list[0]
}

func TestImportSkipAcrossBatches(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	old, err := postgres.NewCustomers(db).Create(ctx, domain.Customer{Phone: "79160000009", PhoneCode: "916", Timezone: "Europe/Moscow", Tags: []string{"keep"}})
	if err != nil {
		t.Fatal(err)
	}
	im := startImport(t, db, domain.ImportSkip)

	first, err := im.Write(ctx, []domain.ImportRow{
		importRow(2, "79160000001", "916", "Asia/Tokyo", "vip", "new"),
		importRow(3, "79160000002", "001", "Europe/Moscow"),
		importRow(4, "79160000001", "916", "Europe/Moscow"),   // repeated in the batch
		importRow(5, "79160000009", "903", "Asia/Tokyo", "x"), // already stored
	})
	if err != nil {
		t.Fatalf("first batch: %v", err)
	}
	if first.Inserted != 2 || first.Updated != 0 || first.Skipped != 1 {
		t.Fatalf("first batch counts: %+v", first)
	}
	if want := []domain.ImportDuplicate{{Line: 4, Phone: "79160000001"}}; !reflect.DeepEqual(first.Duplicates, want) {
		t.Fatalf("first batch duplicates %+v, want %+v", first.Duplicates, want)
	}
	if len(first.Written) != 2 || first.Written[0].Line != 2 || first.Written[1].Line != 3 || !first.Written[0].Inserted {
		t.Fatalf("written rows: %+v", first.Written)
	}

	second, err := im.Write(ctx, []domain.ImportRow{
		importRow(7, "79160000003", "916", "Europe/Moscow", "vip"),
		importRow(6, "79160000002", "916", "Europe/Moscow"), // stored by the first batch
	})
	if err != nil {
		t.Fatalf("second batch: %v", err)
	}
	if second.Inserted != 1 || second.Skipped != 1 || len(second.Duplicates) != 0 || second.Written[0].Line != 7 {
		t.Fatalf("second batch: %+v", second)
	}

	got := customerByPhone(t, db, "79160000001")
	if got.ID != first.Written[0].ID || got.Timezone != "Asia/Tokyo" || strings.Join(got.Tags, ",") != "new,vip" {
		t.Fatalf("imported customer: %+v", got)
	}
	if got := customerByPhone(t, db, "79160000002"); got.PhoneCode != "001" {
		t.Fatalf("a skipped row changed the stored one: %+v", got)
	}
	if got := customerByPhone(t, db, "79160000009"); got.PhoneCode != "916" || got.Timezone != "Europe/Moscow" || strings.Join(got.Tags, ",") != "keep" || !got.UpdatedAt.Equal(old.UpdatedAt) {
		t.Fatalf("skip changed a stored customer: %+v", got)
	}
	var codes, zones int
	if err := db.SQL().QueryRow(`SELECT (SELECT count(*) FROM phone_codes WHERE code = '001'), (SELECT count(*) FROM timezones WHERE name = 'Asia/Tokyo')`).Scan(&codes, &zones); err != nil {
		t.Fatal(err)
	}
	if codes != 1 || zones != 1 {
		t.Fatalf("references not registered: code 001 %d, Asia/Tokyo %d", codes, zones)
	}
	var tagNames []string
	rows, err := db.SQL().Query(`SELECT name FROM tags ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tagNames = append(tagNames, n)
	}
	// "x" belonged to a skipped row: not registered.
	if strings.Join(tagNames, ",") != "keep,new,vip" {
		t.Fatalf("tags: %v", tagNames)
	}
}

func TestImportUpdateReplacesTags(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	old, err := postgres.NewCustomers(db).Create(ctx, domain.Customer{Phone: "79160000001", PhoneCode: "916", Timezone: "Europe/Moscow", Tags: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	untagged, err := postgres.NewCustomers(db).Create(ctx, domain.Customer{Phone: "79160000002", PhoneCode: "916", Timezone: "Europe/Moscow", Tags: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	im := startImport(t, db, domain.ImportUpdate)
	res, err := im.Write(ctx, []domain.ImportRow{
		importRow(1, "79160000001", "903", "Asia/Tokyo", "b", "c"),
		importRow(2, "79160000002", "916", "Europe/Moscow"),
		importRow(3, "79160000003", "916", "Europe/Moscow", "c"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 1 || res.Updated != 2 || res.Skipped != 0 {
		t.Fatalf("counts: %+v", res)
	}
	want := []domain.ImportedCustomer{{Line: 1, ID: old.ID}, {Line: 2, ID: untagged.ID}}
	if !reflect.DeepEqual(res.Written[:2], want) || !res.Written[2].Inserted {
		t.Fatalf("written: %+v", res.Written)
	}
	got := customerByPhone(t, db, "79160000001")
	if got.PhoneCode != "903" || got.Timezone != "Asia/Tokyo" || strings.Join(got.Tags, ",") != "b,c" || !got.UpdatedAt.After(old.UpdatedAt) {
		t.Fatalf("updated customer: %+v", got)
	}
	if got := customerByPhone(t, db, "79160000002"); len(got.Tags) != 0 {
		t.Fatalf("a row without tags must clear them on update: %+v", got)
	}
	if got := customerByPhone(t, db, "79160000003"); strings.Join(got.Tags, ",") != "c" {
		t.Fatalf("inserted customer: %+v", got)
	}
}

func TestImportFailedBatchKeepsEarlierOnes(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	// One connection: the importer's session is the one inspected afterwards.
	db.SQL().SetMaxOpenConns(1)
	im, err := postgres.NewCustomers(db).StartImport(ctx, domain.ImportSkip)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := im.Write(ctx, []domain.ImportRow{importRow(1, "79160000001", "916", "Europe/Moscow", "t")}); err != nil {
		t.Fatal(err)
	}
	// The store trusts its caller to validate; the schema still refuses.
	_, err = im.Write(ctx, []domain.ImportRow{
		importRow(2, "79160000002", "916", "Europe/Moscow", "t"),
		importRow(3, "12345", "916", "Europe/Moscow"),
	})
	if domain.ErrorCode(err) != domain.CodeInvalid {
		t.Fatalf("bad row: want invalid, got %v", err)
	}
	if err := im.Close(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM customers`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d customers stored, want only the first batch's one", n)
	}
	var leftover bool
	if err := db.SQL().QueryRow(`SELECT to_regclass('pg_temp.import_rows') IS NOT NULL`).Scan(&leftover); err != nil {
		t.Fatal(err)
	}
	if leftover {
		t.Fatal("staging tables outlived the import")
	}
	// A new import on the same session starts clean.
	im2 := startImport(t, db, domain.ImportSkip)
	res, err := im2.Write(ctx, []domain.ImportRow{importRow(1, "79160000001", "916", "Europe/Moscow")})
	if err != nil || res.Skipped != 1 || len(res.Duplicates) != 0 {
		t.Fatalf("second import: %+v %v", res, err)
	}
}

func TestImportRejectsUnknownMode(t *testing.T) {
	db := pgtest.Open(t)
	if _, err := postgres.NewCustomers(db).StartImport(context.Background(), "merge"); err == nil {
		t.Fatal("unknown conflict mode accepted")
	}
}
