// Package pgtest gives tests their own migrated PostgreSQL databases on the
// local server and drops each one when its test ends.
//
// Migrating a database takes far longer than copying one, so the
// migrations run once into a template database named after a hash of the
// embedded migrations (mailing_tmpl_<hash>) and every test database is
// cloned from it with CREATE DATABASE ... TEMPLATE. The template is built
// at most once however many test binaries start at the same time: under a
// PostgreSQL advisory lock, under a temporary name renamed only once it is
// fully migrated, so a builder that crashed half-way leaves nothing that
// looks finished. It accepts no connections, as cloning requires.
//
// A template stays on the server for the next run; a change to the
// migrations makes a new one. Templates of old migrations can be dropped
// when no test run needs them:
//
//	ALTER DATABASE mailing_tmpl_<hash> IS_TEMPLATE false;
//	DROP DATABASE mailing_tmpl_<hash>;
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
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

// templateFormat is part of the template's hash: bump it when the way the
// template is built changes, so no run clones one built the old way.
const templateFormat = "1"

// templateLock is the advisory lock key that serialises building
// templates. Advisory locks belong to a database: every builder takes it
// in the database of AdminURL.
const templateLock int64 = 0x6d61696c5f746d70 // "mail_tmp"

// templateName is the template's name: a hash of the embedded migrations.
func templateName() (string, error) {
	h := sha256.New()
	io.WriteString(h, templateFormat+"\x00")
	err := fs.WalkDir(postgres.Migrations(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(postgres.Migrations(), path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash the migrations: %w", err)
	}
	return "mailing_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16], nil
}

// template ensures the template database exists, once per test binary.
var template = sync.OnceValues(func() (string, error) {
	name, err := templateName()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return name, ensureTemplate(ctx, name)
})

// ensureTemplate builds the template called name unless it exists. The
// lock makes concurrent test binaries wait for one builder.
func ensureTemplate(ctx context.Context, name string) error {
	admin, err := sql.Open("pgx", AdminURL())
	if err != nil {
		return err
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect to the test server: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, templateLock); err != nil {
		return fmt.Errorf("wait for the template lock: %w", err)
	}
	defer func() {
		_, _ = conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, templateLock)
	}()

	var exists bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("look for template %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if err := buildTemplate(ctx, conn, name); err != nil {
		return fmt.Errorf("build template %s: %w", name, err)
	}
	return nil
}

// buildTemplate migrates a database under a temporary name, closes it to
// connections and renames it to name: the rename is the one step that
// makes the template visible, and it comes last.
func buildTemplate(ctx context.Context, conn *sql.Conn, name string) error {
	tmp := name + "_building"
	// Left by a builder that died; no one else builds while we hold the
	// lock. It may already be marked a template, which DROP refuses.
	var left bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, tmp).Scan(&left); err != nil {
		return err
	}
	if left {
		if _, err := conn.ExecContext(ctx, `ALTER DATABASE `+tmp+` IS_TEMPLATE false`); err != nil {
			return err
		}
		if _, err := conn.ExecContext(ctx, `DROP DATABASE `+tmp+` WITH (FORCE)`); err != nil {
			return err
		}
	}
	if _, err := conn.ExecContext(ctx, `CREATE DATABASE `+tmp); err != nil {
		return err
	}
	if err := migrate(ctx, dsnOf(tmp)); err != nil {
		return err
	}
	if _, err := conn.ExecContext(ctx, `ALTER DATABASE `+tmp+` WITH ALLOW_CONNECTIONS false IS_TEMPLATE true`); err != nil {
		return err
	}
	// The migration's connections are closed, but their server processes
	// may take a moment to exit; a rename needs the database unused.
	for {
		_, err := conn.ExecContext(ctx, `ALTER DATABASE `+tmp+` RENAME TO `+name)
		var pgErr *pgconn.PgError
		if err == nil || !errors.As(err, &pgErr) || pgErr.Code != "55006" { // object_in_use
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (still in use: %v)", ctx.Err(), err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func migrate(ctx context.Context, dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	return postgres.Migrate(ctx, db, slog.New(slog.DiscardHandler))
}

// dsnOf is AdminURL naming database name instead.
func dsnOf(name string) string {
	u, err := url.Parse(AdminURL())
	if err != nil {
		panic(fmt.Sprintf("TEST_DATABASE_URL: %v", err))
	}
	u.Path = "/" + name
	return u.String()
}

// NewDatabase creates a migrated database with a random name, cloned from
// the template, and returns its DSN and a function that drops it.
func NewDatabase(ctx context.Context) (string, func(), error) {
	tmpl, err := template()
	if err != nil {
		return "", nil, err
	}
	return newDatabase(ctx, " TEMPLATE "+tmpl)
}

// NewEmptyDatabase creates a database without any migration applied, for
// tests of migrating itself, and returns its DSN and a function that
// drops it.
func NewEmptyDatabase(ctx context.Context) (string, func(), error) {
	return newDatabase(ctx, "")
}

func newDatabase(ctx context.Context, clause string) (string, func(), error) {
	admin, err := sql.Open("pgx", AdminURL())
	if err != nil {
		return "", nil, err
	}
	defer admin.Close()
	name := "test_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+clause); err != nil {
		return "", nil, fmt.Errorf("create test database: %w", err)
	}
	drop := func() {
		a, err := sql.Open("pgx", AdminURL())
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	return dsnOf(name), drop, nil
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

// EmptyDSN creates a database with no migration applied for t and drops
// it when t ends.
func EmptyDSN(t testing.TB) string {
	t.Helper()
	dsn, drop, err := NewEmptyDatabase(context.Background())
	if err != nil {
		t.Fatalf("test database: %v", err)
	}
	t.Cleanup(drop)
	return dsn
}

// Open returns a store on a fresh migrated database for t.
func Open(t testing.TB) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(context.Background(), DSN(t), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
