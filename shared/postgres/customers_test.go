package postgres_test

import (
	"context"
	"errors"
	"testing"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

func TestCustomerLifecycle(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	c, err := postgres.NewCustomers(db).Create(ctx, domain.Customer{Phone: "79161234567", PhoneCode: "916", Timezone: "Europe/Moscow", Tags: []string{"vip", "new"}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if c.ID == 0 || len(c.Tags) != 2 || c.Tags[0] != "new" {
		t.Fatalf("unexpected customer %+v", c)
	}
	_, err = postgres.NewCustomers(db).Create(ctx, domain.Customer{Phone: "79161234567", PhoneCode: "916", Timezone: "Europe/Moscow"})
	if domain.ErrorCode(err) != domain.CodeConflict {
		t.Fatalf("duplicate phone: want conflict, got %v", err)
	}
	list, err := postgres.NewCustomers(db).List(ctx, domain.CustomerFilter{Tags: []string{"vip"}}, domain.Page{Limit: 10})
	if err != nil || len(list) != 1 {
		t.Fatalf("list by tag: %v %v", list, err)
	}
	list, err = postgres.NewCustomers(db).List(ctx, domain.CustomerFilter{PhoneCodes: []string{"903"}}, domain.Page{Limit: 10})
	if err != nil || len(list) != 0 {
		t.Fatalf("list by other code: %v %v", list, err)
	}
	if err := postgres.NewCustomers(db).Delete(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	var de *domain.Error
	if _, err := postgres.NewCustomers(db).Get(ctx, c.ID); !errors.As(err, &de) || de.Code != domain.CodeNotFound {
		t.Fatalf("after delete: want not found, got %v", err)
	}
}
