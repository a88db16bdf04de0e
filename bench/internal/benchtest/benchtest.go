// Package benchtest holds the checks the measuring tools' tests share: the
// JSON results a run wrote, and the database a run must have dropped.
package benchtest

import (
	"database/sql"
	"encoding/json"
	"os"
	"testing"

	"mailing/shared/postgres/pgtest"
)

// ReadJSON decodes the JSON file at path into v.
func ReadJSON(t testing.TB, path string, v any) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
}

// AssertNoDatabase fails the test if the server of pgtest.AdminURL still
// has a database called name (or name is empty), and drops one left
// behind.
func AssertNoDatabase(t testing.TB, name string) {
	t.Helper()
	admin, err := sql.Open("pgx", pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var exists bool
	if err := admin.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if name == "" || exists {
		t.Errorf("database %q left behind", name)
		_, _ = admin.Exec(`DROP DATABASE IF EXISTS "` + name + `" WITH (FORCE)`)
	}
}
