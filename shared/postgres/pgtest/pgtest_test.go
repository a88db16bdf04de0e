package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"strings"
	"sync"
	"testing"
	"time"
)

func admin(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// database reports whether a database exists and, if so, whether it is a
// template that accepts no connections.
func database(t *testing.T, name string) (exists, closedTemplate bool) {
	t.Helper()
	var tmpl, allow bool
	err := admin(t).QueryRow(`SELECT datistemplate, datallowconn FROM pg_database WHERE datname = $1`, name).Scan(&tmpl, &allow)
	if err == sql.ErrNoRows {
		return false, false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true, tmpl && !allow
}

// scratchTemplate is a template name of the test's own, dropped when it
// ends: the tests never touch the template other test binaries clone.
func scratchTemplate(t *testing.T) string {
	t.Helper()
	name := "mailing_tmpl_test_" + strings.ToLower(rand.Text()[:8])
	t.Cleanup(func() {
		for _, n := range []string{name, name + "_building"} {
			if exists, _ := database(t, n); exists {
				_, _ = admin(t).Exec(`ALTER DATABASE ` + n + ` IS_TEMPLATE false`)
				_, _ = admin(t).Exec(`DROP DATABASE ` + n + ` WITH (FORCE)`)
			}
		}
	})
	return name
}

func migrations(t *testing.T, dsn string) int {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&n); err != nil {
		t.Fatalf("read the migrations of %s: %v", dsn, err)
	}
	return n
}

func TestTemplateNameFollowsTheMigrations(t *testing.T) {
	a, err := templateName()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := templateName()
	if a != b || !strings.HasPrefix(a, "mailing_tmpl_") || len(a) != len("mailing_tmpl_")+16 {
		t.Fatalf("template names %q, %q: want one stable mailing_tmpl_<16 hex>", a, b)
	}
}

// Builders racing for one template (as test binaries of many packages
// starting together do) build it once; every one of them then finds it
// complete.
func TestConcurrentBuildersBuildTheTemplateOnce(t *testing.T) {
	name := scratchTemplate(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = ensureTemplate(ctx, name) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("builder %d: %v", i, err)
		}
	}
	if exists, closed := database(t, name); !exists || !closed {
		t.Fatalf("template %s: exists %v, closed template %v", name, exists, closed)
	}
	if exists, _ := database(t, name+"_building"); exists {
		t.Fatal("the temporary database is left behind")
	}
	dsn, drop, err := newDatabase(ctx, " TEMPLATE "+name)
	if err != nil {
		t.Fatal(err)
	}
	defer drop()
	if n := migrations(t, dsn); n < 5 {
		t.Fatalf("a clone holds %d migrations, want every one", n)
	}
}

// A builder that died half-way leaves its temporary database and, with
// its session, the lock: the next builder waits for the lock, replaces
// the leftover and completes the template.
func TestABuilderThatDiedLeavesNothingThatLooksFinished(t *testing.T) {
	name := scratchTemplate(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := admin(t).Exec(`CREATE DATABASE ` + name + `_building WITH IS_TEMPLATE true`); err != nil {
		t.Fatal(err)
	}
	holder, err := admin(t).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if err := holder.QueryRowContext(ctx, `SELECT pg_backend_pid() FROM (SELECT pg_advisory_lock($1)) l`, templateLock).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	done := make(chan error, 1)
	go func() { done <- ensureTemplate(ctx, name) }()
	select {
	case err := <-done:
		t.Fatalf("a builder went ahead while the lock was held: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	if exists, _ := database(t, name); exists {
		t.Fatal("the template exists before its builder had the lock")
	}
	// The holder's server process dies, and its lock with it.
	if _, err := admin(t).Exec(`SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the builder did not take over the lock of a dead session")
	}
	if exists, closed := database(t, name); !exists || !closed {
		t.Fatalf("template %s: exists %v, closed template %v", name, exists, closed)
	}
	if exists, _ := database(t, name+"_building"); exists {
		t.Fatal("the leftover temporary database is still there")
	}
}

func TestClonesAreMigratedIndependentAndDropped(t *testing.T) {
	ctx := context.Background()
	a, dropA, err := NewDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer dropA()
	b := DSN(t)
	if migrations(t, a) < 5 || migrations(t, b) != migrations(t, a) {
		t.Fatalf("clones hold %d and %d migrations", migrations(t, a), migrations(t, b))
	}
	dbA, err := sql.Open("pgx", a)
	if err != nil {
		t.Fatal(err)
	}
	defer dbA.Close()
	if _, err := dbA.Exec(`INSERT INTO timezones (name) VALUES ('Europe/Moscow')`); err != nil {
		t.Fatal(err)
	}
	dbB, err := sql.Open("pgx", b)
	if err != nil {
		t.Fatal(err)
	}
	defer dbB.Close()
	var n int
	if err := dbB.QueryRow(`SELECT count(*) FROM timezones`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the other clone sees %d time zones (%v), want 0", n, err)
	}
	_ = dbA.Close()
	dropA()
	name := a[strings.LastIndex(a, "/")+1 : strings.Index(a, "?")]
	if exists, _ := database(t, name); exists {
		t.Fatalf("database %s not dropped", name)
	}
}

func TestEmptyDatabaseHasNoMigrations(t *testing.T) {
	db, err := sql.Open("pgx", EmptyDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tables int
	if err := db.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil || tables != 0 {
		t.Fatalf("an empty database has %d tables (%v)", tables, err)
	}
}
