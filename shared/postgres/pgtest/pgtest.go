// Package pgtest gives each test package its own migrated PostgreSQL
// database on the local server and drops it afterwards.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"mailing/shared/postgres"
)

// AdminURL is the server-level DSN tests connect to; TEST_DATABASE_URL
// overrides it.
func AdminURL() string {
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// NewDatabase creates an empty, migrated database with a random name and
// returns its DSN and a function that drops it.
func NewDatabase(ctx context.Context) (string, func(), error) {
	admin, err := sql.Open("pgx", AdminURL())
	if err != nil {
		return "", nil, err
	}
	defer admin.Close()
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	name := "test_" + hex.EncodeToString(buf)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create test database: %w", err)
	}
	u, err := url.Parse(AdminURL())
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	dsn := u.String()
	drop := func() {
		a, err := sql.Open("pgx", AdminURL())
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		drop()
		return "", nil, err
	}
	defer db.Close()
	if err := postgres.Migrate(ctx, db, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		drop()
		return "", nil, err
	}
	return dsn, drop, nil
}

// DSN creates a migrated database for t and drops it when t ends.
func DSN(t testing.TB) string {
	t.Helper()
	dsn, drop, err := NewDatabase(context.Background())
	if err != nil {
		t.Fatalf("test database: %v", err)
	}
	t.Cleanup(drop)
	return dsn
}

// Open returns a store on a fresh database for t.
func Open(t testing.TB) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), DSN(t), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
