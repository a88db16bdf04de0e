package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

func TestMailoutStartAt(t *testing.T) {
	db := pgtest.Open(t)
	ctx := context.Background()
	start := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	m, err := postgres.NewMailouts(db).Create(ctx, domain.Mailout{Text: "hi", StartAt: start, EndAt: start.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := postgres.NewSending(db).MailoutStartAt(ctx, m.ID)
	if err != nil || !got.Equal(start) {
		t.Fatalf("MailoutStartAt = %v, %v; want %v", got, err, start)
	}
	var de *domain.Error
	if _, err := postgres.NewSending(db).MailoutStartAt(ctx, m.ID+1000); !errors.As(err, &de) || de.Code != domain.CodeNotFound {
		t.Fatalf("missing mailout: %v, want not found", err)
	}
}
