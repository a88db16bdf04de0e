package postgres_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

// Every change records who made it, through which request, with a compact
// diff, in the change's own transaction: a refused change records nothing.
func TestChangesWriteTheAuditTrail(t *testing.T) {
	db := pgtest.Open(t)
	ctx := domain.WithRequest(domain.WithPrincipal(context.Background(),
		domain.Principal{Kind: domain.PrincipalUser, ID: 3, Name: "Maria", Role: domain.RoleOperator, Via: domain.ViaJWT}),
		domain.RequestInfo{ID: "req-1", ClientIP: "203.0.113.9"})
	customers, mailouts, refs := postgres.NewCustomers(db), postgres.NewMailouts(db), postgres.NewRefs(db)

	c, err := customers.Create(ctx, domain.Customer{Phone: "79160000001", PhoneCode: "916", Timezone: "UTC", Tags: []string{"vip"}})
	if err != nil {
		t.Fatal(err)
	}
	c.Timezone = "Europe/Moscow"
	if _, err := customers.Update(ctx, c.ID, false, replaceWith(c)); err != nil {
		t.Fatal(err)
	}
	if _, err := customers.Create(ctx, domain.Customer{Phone: "79160000001", PhoneCode: "916", Timezone: "UTC"}); domain.ErrorCode(err) != domain.CodeConflict {
		t.Fatalf("duplicate phone: %v", err)
	}
	start := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	m, err := mailouts.Create(ctx, domain.Mailout{Text: "hi", StartAt: start, EndAt: start.Add(time.Hour),
		Filter: domain.Filter{Tags: []string{}, PhoneCodes: []string{}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mailouts.Cancel(ctx, m.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := mailouts.Cancel(ctx, m.ID); domain.ErrorCode(err) != domain.CodeConflict {
		t.Fatalf("second cancel: %v", err)
	}
	pc, err := refs.CreatePhoneCode(ctx, "903")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := refs.UpdatePhoneCode(ctx, pc.ID, "904"); err != nil {
		t.Fatal(err)
	}

	events, err := postgres.NewAudit(db).List(context.Background(), domain.AuditFilter{}, domain.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"customer.created", "customer.updated", "mailout.created", "mailout.cancelled", "phone_code.created", "phone_code.renamed"}
	if len(events) != len(want) {
		t.Fatalf("events %+v, want %v", events, want)
	}
	for i, e := range events {
		if e.Action != want[i] || e.Actor != "user:3" || e.ActorName != "Maria" || e.ActorRole != domain.RoleOperator ||
			e.Via != domain.ViaJWT || e.RequestID != "req-1" || e.ClientIP != "203.0.113.9" {
			t.Errorf("event %d: %+v, want %s by user:3 through req-1", i, e, want[i])
		}
	}
	var diff map[string]domain.Change
	if err := json.Unmarshal(events[1].Diff, &diff); err != nil || len(diff) != 1 ||
		diff["timezone"].From != "UTC" || diff["timezone"].To != "Europe/Moscow" {
		t.Errorf("update diff %s (%v): want only the time zone, UTC to Europe/Moscow", events[1].Diff, err)
	}
	if events[0].ObjectType != "customer" || events[0].ObjectID != strconv.FormatInt(c.ID, 10) || events[3].ObjectID != strconv.FormatInt(m.ID, 10) {
		t.Errorf("objects: %+v %+v", events[0], events[3])
	}
	if err := json.Unmarshal(events[3].Diff, &diff); err != nil || diff["status"].From != "scheduled" || diff["status"].To != "cancelled" {
		t.Errorf("cancel diff %s", events[3].Diff)
	}
	byObject, err := postgres.NewAudit(db).List(context.Background(), domain.AuditFilter{ObjectType: "mailout", ObjectID: strconv.FormatInt(m.ID, 10)}, domain.Page{Limit: 100})
	if err != nil || len(byObject) != 2 {
		t.Fatalf("mailout's events: %+v %v", byObject, err)
	}
	page, err := postgres.NewAudit(db).List(context.Background(), domain.AuditFilter{Actor: "user:3"}, domain.Page{Limit: 2, After: events[1].ID})
	if err != nil || len(page) != 2 || page[0].ID != events[2].ID {
		t.Fatalf("page after %d: %+v %v", events[1].ID, page, err)
	}
}

// An import records each batch it writes, in the batch's transaction.
func TestImportBatchesWriteTheAuditTrail(t *testing.T) {
	db := pgtest.Open(t)
	ctx := domain.WithRequest(domain.WithPrincipal(context.Background(),
		domain.Principal{Kind: domain.PrincipalKey, ID: 7, Name: "crm", Role: domain.RoleOperator, Via: domain.ViaKey}),
		domain.RequestInfo{ID: "req-import"})
	im, err := postgres.NewCustomers(db).StartImport(ctx, domain.ImportSkip)
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	rows := []domain.ImportRow{
		{Line: 2, Customer: domain.Customer{Phone: "79160000001", PhoneCode: "916", Timezone: "UTC", Tags: []string{}}},
		{Line: 3, Customer: domain.Customer{Phone: "79160000002", PhoneCode: "916", Timezone: "UTC", Tags: []string{}}},
	}
	if _, err := im.Write(ctx, rows); err != nil {
		t.Fatal(err)
	}
	events, err := postgres.NewAudit(db).List(context.Background(), domain.AuditFilter{Action: domain.AuditCustomersImported}, domain.Page{Limit: 10})
	if err != nil || len(events) != 1 {
		t.Fatalf("import events: %+v %v", events, err)
	}
	var diff map[string]any
	if err := json.Unmarshal(events[0].Diff, &diff); err != nil || diff["inserted"] != float64(2) || diff["first_line"] != float64(2) ||
		diff["last_line"] != float64(3) || events[0].Actor != "key:7" || events[0].RequestID != "req-import" {
		t.Fatalf("import event %+v (%s)", events[0], events[0].Diff)
	}
}
