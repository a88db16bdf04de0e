package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
	"mailing/shared/testkit"
)

// "api local-sign-in on" is the way back in when local sign-in is off and
// the provider cannot sign an admin in; "off" obeys the API's rule.
func TestLocalSignInCommand(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.EmptyDSN(t)
	vars := map[string]string{"DATABASE_URL": dsn}
	if err := run(ctx, []string{"migrate"}, testkit.Env(vars), io.Discard); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	db, err := postgres.Open(ctx, dsn, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	settings := postgres.NewSettings(db)
	off := false
	if _, err := settings.Update(ctx, domain.SettingsChange{LocalSignIn: &off}); err != nil {
		t.Fatal(err)
	}

	var out bytes.Buffer
	if err := run(ctx, []string{"local-sign-in", "on"}, testkit.Env(vars), &out); err != nil {
		t.Fatalf("on: %v", err)
	}
	if st, err := settings.Get(ctx); err != nil || !st.LocalSignIn || !strings.Contains(out.String(), "local sign-in is on") {
		t.Fatalf("after on: %+v %v, printed %q", st, err, out.String())
	}
	err = run(ctx, []string{"local-sign-in", "off"}, testkit.Env(vars), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "OIDC_ISSUER") {
		t.Fatalf("off without a provider: %v", err)
	}
	if st, _ := settings.Get(ctx); !st.LocalSignIn {
		t.Fatal("turned off without a provider")
	}
	for _, bad := range [][]string{{"local-sign-in"}, {"local-sign-in", "maybe"}, {"local-sign-in", "on", "now"}} {
		if err := run(ctx, bad, testkit.Env(vars), io.Discard); err == nil || !strings.Contains(err.Error(), "usage") {
			t.Errorf("%v: %v", bad, err)
		}
	}
}
