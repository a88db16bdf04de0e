package importer_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"mailing/api-service/internal/importer"
	"mailing/shared/domain"
	"mailing/shared/postgres"
	"mailing/shared/postgres/pgtest"
)

// store gives the engine the PostgreSQL store's batch writers, as the API
// server does.
type store struct{ *postgres.Customers }

func (s store) StartImport(ctx context.Context, onConflict domain.ImportConflict) (importer.BatchWriter, error) {
	w, err := s.Customers.StartImport(ctx, onConflict)
	if err != nil {
		return nil, err
	}
	return w, nil
}

func setup(t *testing.T) (*importer.Importer, *postgres.DB) {
	t.Helper()
	db := pgtest.Open(t)
	return importer.New(importer.Config{Store: store{postgres.NewCustomers(db)}, DefaultTimezone: "Europe/Moscow"}), db
}

func count(t *testing.T, db *postgres.DB) int {
	t.Helper()
	var n int
	if err := db.SQL().QueryRow(`SELECT count(*) FROM customers`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// wantError checks a failure's code and message.
func wantError(t *testing.T, err error, code domain.Code, msg string) *domain.Error {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) || de.Code != code || de.Message != msg {
		t.Fatalf("error %v,\nwant %s: %s", err, code, msg)
	}
	return de
}

func TestRun(t *testing.T) {
	im, db := setup(t)
	ctx := context.Background()
	body := `{"phone":"79160000001","tags":["vip"]}` + "\n" + `{"phone":"7916"}` + "\n" + `{"phone":"79160000001"}` + "\n"
	res, err := im.Run(ctx, importer.Options{Format: importer.NDJSON, OnConflict: domain.ImportSkip}, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	want := importer.Result{Inserted: 1, Rejected: 2, Errors: []importer.RowError{
		{Line: 2, Phone: "7916", Error: "phone must match 7XXXXXXXXXX (11 digits starting with 7)"},
		{Line: 3, Phone: "79160000001", Error: "duplicate phone in upload"},
	}}
	if fmt.Sprint(res) != fmt.Sprint(want) {
		t.Fatalf("result %+v,\nwant %+v", res, want)
	}
	res, err = im.Run(ctx, importer.Options{Format: importer.CSV, OnConflict: domain.ImportUpdate},
		strings.NewReader("phone,timezone\n79160000001,Asia/Tokyo\n79160000002,\n"))
	if err != nil || res.Inserted != 1 || res.Updated != 1 || res.Rejected != 0 || res.Errors == nil {
		t.Fatalf("update: %+v %v", res, err)
	}
	if n := count(t, db); n != 2 {
		t.Fatalf("%d customers stored", n)
	}
}

func TestRunRefusesBeforeReading(t *testing.T) {
	im, db := setup(t)
	ctx := context.Background()
	for _, mode := range []domain.ImportConflict{"", "merge"} {
		_, err := im.Run(ctx, importer.Options{Format: importer.CSV, OnConflict: mode}, strings.NewReader("phone\n79160000001\n"))
		if de := wantError(t, err, domain.CodeInvalid, "validation failed"); de.Fields["on_conflict"] == "" {
			t.Fatalf("on_conflict %q: %v", mode, de.Fields)
		}
	}
	if _, err := im.Run(ctx, importer.Options{Format: "xml", OnConflict: domain.ImportSkip}, strings.NewReader("<a/>")); err == nil || domain.ErrorCode(err) != domain.CodeInternal {
		t.Fatalf("unknown format: %v", err)
	}
	_, err := im.Run(ctx, importer.Options{Format: importer.CSV, OnConflict: domain.ImportSkip}, strings.NewReader(""))
	wantError(t, err, domain.CodeInvalid, "the upload is empty")
	_, err = im.Run(ctx, importer.Options{Format: importer.NDJSON, OnConflict: domain.ImportSkip}, strings.NewReader("\n"))
	wantError(t, err, domain.CodeInvalid, "the upload holds no customers; nothing was stored")
	if n := count(t, db); n != 0 {
		t.Fatalf("%d customers stored", n)
	}
}

// failingBody yields rows CSV rows, then fails with err.
func failingBody(rows int, err error) io.Reader {
	var b strings.Builder
	b.WriteString("phone\n")
	for i := range rows {
		fmt.Fprintf(&b, "790%08d\n", i)
	}
	return io.MultiReader(strings.NewReader(b.String()), errReader{err})
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestRunStopsOnReadFailure(t *testing.T) {
	im, db := setup(t)
	ctx := context.Background()
	opts := importer.Options{Format: importer.CSV, OnConflict: domain.ImportSkip}
	// The first batch is whole when the body fails: it is stored, the
	// rows read after it are not.
	reset := errors.New("connection reset")
	_, err := im.Run(ctx, opts, failingBody(15000, reset))
	de := wantError(t, err, domain.CodeInvalid, "could not read request body; lines 1-10001 were processed and stored "+
		"(inserted 10000, updated 0, skipped 0, rejected 0); nothing after line 10001 was stored")
	if !errors.Is(de, reset) {
		t.Fatalf("the cause is lost: %v", de)
	}
	// A reader's own domain error keeps its code and message.
	_, err = im.Run(ctx, opts, failingBody(10, domain.Errorf(domain.CodeTooLarge, "request body exceeds 100 bytes")))
	wantError(t, err, domain.CodeTooLarge, "request body exceeds 100 bytes; nothing was stored")
	if n := count(t, db); n != 10000 {
		t.Fatalf("%d customers stored, want the first batch", n)
	}
}

// failingStore fails every write with err.
type failingStore struct {
	store
	err error
}

func (s failingStore) StartImport(ctx context.Context, onConflict domain.ImportConflict) (importer.BatchWriter, error) {
	w, err := s.store.StartImport(ctx, onConflict)
	if err != nil {
		return nil, err
	}
	return failingWriter{w, s.err}, nil
}

type failingWriter struct {
	importer.BatchWriter
	err error
}

func (w failingWriter) Write(context.Context, []domain.ImportRow) (domain.ImportBatch, error) {
	return domain.ImportBatch{}, w.err
}

func TestRunStoreFailure(t *testing.T) {
	db := pgtest.Open(t)
	lost := errors.New("connection lost")
	im := importer.New(importer.Config{Store: failingStore{store{postgres.NewCustomers(db)}, lost}, DefaultTimezone: "Europe/Moscow"})
	_, err := im.Run(context.Background(), importer.Options{Format: importer.CSV, OnConflict: domain.ImportSkip},
		strings.NewReader("phone\n79160000001\n"))
	if de := wantError(t, err, domain.CodeInternal, "internal error; nothing was stored"); !errors.Is(de, lost) {
		t.Fatalf("the cause is lost: %v", de)
	}
}
