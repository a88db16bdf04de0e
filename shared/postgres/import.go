package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"mailing/shared/domain"
)

// ImportConflict says what an import does with a phone that is already stored.
type ImportConflict string

const (
	// ImportSkip leaves the stored customer as it is.
	ImportSkip ImportConflict = "skip"
	// ImportUpdate overwrites the stored phone code and time zone and
	// replaces the stored tags with the row's.
	ImportUpdate ImportConflict = "update"
)

// ImportOptions configure an import.
type ImportOptions struct {
	OnConflict ImportConflict
	// Sessions is how many connections write each batch in parallel; a
	// phone always goes to the same one. Zero means one.
	Sessions int
}

// ImportRow is one validated customer and the line of the upload it came from.
type ImportRow struct {
	Line     int64
	Customer domain.Customer
}

// ImportDuplicate is a row not written because an earlier line of the same
// import already had its phone.
type ImportDuplicate struct {
	Line  int64
	Phone string
}

// ImportedCustomer is a row an import wrote.
type ImportedCustomer struct {
	Line     int64
	ID       int64
	Inserted bool // false: an existing customer was updated
}

// ImportBatch is what one Importer.Write stored.
type ImportBatch struct {
	Inserted, Updated, Skipped int
	Duplicates                 []ImportDuplicate  // in line order
	Written                    []ImportedCustomer // in line order
}

// Importer writes customers in batches. Each session is one pooled
// connection with private staging tables; Write splits a batch among the
// sessions by phone, and each session COPYs its share into staging and
// merges it with a few set-based statements in one transaction. Not safe
// for concurrent use.
type Importer struct {
	sessions   []*importSession
	onConflict ImportConflict
}

type importSession struct {
	conn *sql.Conn
}

// The staging tables live in one session only. import_rows is emptied by
// every commit; import_seen keeps the phones of the session's earlier
// batches, so a phone repeated anywhere in the upload is caught whatever the
// batch boundaries (a phone always goes to the same session).
const importSetup = `
DROP TABLE IF EXISTS pg_temp.import_rows, pg_temp.import_seen;
CREATE TEMP TABLE import_rows (
    line        bigint NOT NULL,
    phone       text COLLATE "C" NOT NULL,
    phone_code  text NOT NULL,
    timezone    text NOT NULL,
    tags        text[] NOT NULL,
    customer_id bigint,
    inserted    boolean
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE import_seen (phone text COLLATE "C" PRIMARY KEY);`

var importColumns = []string{"line", "phone", "phone_code", "timezone", "tags"}

// StartImport reserves the sessions' connections and prepares their staging
// tables.
func (db *DB) StartImport(ctx context.Context, opts ImportOptions) (*Importer, error) {
	if opts.OnConflict != ImportSkip && opts.OnConflict != ImportUpdate {
		return nil, fmt.Errorf("start import: unknown conflict mode %q", opts.OnConflict)
	}
	n := max(opts.Sessions, 1)
	im := &Importer{onConflict: opts.OnConflict}
	for range n {
		s, err := db.openImportSession(ctx)
		if err != nil {
			_ = im.Close()
			return nil, err
		}
		im.sessions = append(im.sessions, s)
	}
	return im, nil
}

func (db *DB) openImportSession(ctx context.Context) (*importSession, error) {
	conn, err := db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("start import: %w", err)
	}
	s := &importSession{conn: conn}
	err = s.withPgx(func(pc *pgx.Conn) error {
		_, err := pc.Exec(ctx, importSetup, pgx.QueryExecModeSimpleProtocol)
		return err
	})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("start import: %w", translate(err, "import staging"))
	}
	return s, nil
}

// Close drops the staging tables and returns the connections to the pool.
func (im *Importer) Close() error {
	for _, s := range im.sessions {
		s.close()
	}
	im.sessions = nil
	return nil
}

// close drops the session's staging tables. A connection whose tables could
// not be dropped is discarded instead, so no later user of the pool
// inherits them.
func (s *importSession) close() {
	// The request may be gone; cleaning up must not depend on it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.withPgx(func(pc *pgx.Conn) error {
		if _, err := pc.Exec(ctx, `DROP TABLE IF EXISTS pg_temp.import_rows, pg_temp.import_seen`); err != nil {
			return driver.ErrBadConn
		}
		return nil
	})
	_ = s.conn.Close()
}

// withPgx runs fn on the session's connection as a native pgx connection,
// which COPY needs.
func (s *importSession) withPgx(fn func(*pgx.Conn) error) error {
	return s.conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("import needs the pgx driver, got %T", dc)
		}
		return fn(sc.Conn())
	})
}

// Write stores one batch: each session's share in one transaction, the
// shares in parallel. Rows repeating a phone of an earlier row of this
// import are returned as duplicates and not written. On error the result
// still counts the shares that were committed.
func (im *Importer) Write(ctx context.Context, rows []ImportRow) (ImportBatch, error) {
	unique, out := dedupeBatch(rows)
	shares := im.split(unique)
	results := make([]ImportBatch, len(shares))
	errs := make([]error, len(shares))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i, share := range shares {
		if len(share) == 0 {
			continue
		}
		wg.Go(func() {
			results[i], errs[i] = im.sessions[i].write(ctx, im.onConflict, share)
			if errs[i] != nil {
				// The other shares stop too, so a failed batch is
				// mostly not stored.
				cancel(errs[i])
			}
		})
	}
	wg.Wait()
	for _, r := range results {
		out.Inserted += r.Inserted
		out.Updated += r.Updated
		out.Skipped += r.Skipped
		out.Duplicates = append(out.Duplicates, r.Duplicates...)
		out.Written = append(out.Written, r.Written...)
	}
	sort.Slice(out.Duplicates, func(i, j int) bool { return out.Duplicates[i].Line < out.Duplicates[j].Line })
	sort.Slice(out.Written, func(i, j int) bool { return out.Written[i].Line < out.Written[j].Line })
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return out, translate(cause, "customer import")
	}
	for _, err := range errs {
		if err != nil {
			return out, translate(err, "customer import")
		}
	}
	return out, nil
}

// dedupeBatch keeps the first row of each phone within the batch.
func dedupeBatch(rows []ImportRow) ([]ImportRow, ImportBatch) {
	var out ImportBatch
	seen := make(map[string]struct{}, len(rows))
	unique := make([]ImportRow, 0, len(rows))
	for _, r := range rows {
		if _, dup := seen[r.Customer.Phone]; dup {
			out.Duplicates = append(out.Duplicates, ImportDuplicate{Line: r.Line, Phone: r.Customer.Phone})
			continue
		}
		seen[r.Customer.Phone] = struct{}{}
		unique = append(unique, r)
	}
	return unique, out
}

// split gives each session the rows whose phone hashes to it.
func (im *Importer) split(rows []ImportRow) [][]ImportRow {
	n := len(im.sessions)
	shares := make([][]ImportRow, n)
	if n == 1 {
		shares[0] = rows
		return shares
	}
	for _, r := range rows {
		i := int(phoneHash(r.Customer.Phone) % uint32(n))
		shares[i] = append(shares[i], r)
	}
	return shares
}

// phoneHash is FNV-1a, spreading phones evenly whatever their digits.
func phoneHash(phone string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(phone); i++ {
		h ^= uint32(phone[i])
		h *= 16777619
	}
	return h
}

// write stores one share in one transaction.
func (s *importSession) write(ctx context.Context, mode ImportConflict, rows []ImportRow) (ImportBatch, error) {
	var out ImportBatch
	err := s.withPgx(func(pc *pgx.Conn) error {
		return pgx.BeginFunc(ctx, pc, func(tx pgx.Tx) error {
			out = ImportBatch{}
			return writeShare(ctx, tx, mode, rows, &out)
		})
	})
	if err != nil {
		return ImportBatch{}, err
	}
	return out, nil
}

func writeShare(ctx context.Context, tx pgx.Tx, mode ImportConflict, rows []ImportRow, out *ImportBatch) error {
	if err := copyImportRows(ctx, tx, rows); err != nil {
		return err
	}
	dups, err := dropSeenPhones(ctx, tx)
	if err != nil {
		return err
	}
	out.Duplicates = dups
	dropped := make(map[int64]bool, len(dups))
	for _, d := range dups {
		dropped[d.Line] = true
	}
	if mode == ImportSkip {
		// Known phones leave before anything is registered, so a skipped
		// row adds no code, zone or tag.
		stored, err := dropStoredPhones(ctx, tx)
		if err != nil {
			return err
		}
		for _, line := range stored {
			dropped[line] = true
		}
	}
	if err := registerImportRefs(ctx, tx, rows, dropped); err != nil {
		return err
	}
	if mode == ImportUpdate {
		out.Written, err = upsertImportRows(ctx, tx)
	} else {
		out.Written, err = insertImportRows(ctx, tx)
	}
	if err != nil {
		return err
	}
	for _, w := range out.Written {
		if w.Inserted {
			out.Inserted++
		} else {
			out.Updated++
		}
	}
	out.Skipped = len(rows) - len(dups) - len(out.Written)
	return nil
}

func copyImportRows(ctx context.Context, tx pgx.Tx, rows []ImportRow) error {
	src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		c := rows[i].Customer
		return []any{rows[i].Line, c.Phone, c.PhoneCode, c.Timezone, c.Tags}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_rows"}, importColumns, src); err != nil {
		return fmt.Errorf("copy rows: %w", err)
	}
	return nil
}

// dropSeenPhones records the share's phones and removes the rows whose
// phone an earlier batch already had.
func dropSeenPhones(ctx context.Context, tx pgx.Tx) ([]ImportDuplicate, error) {
	rows, err := tx.Query(ctx, `
WITH fresh AS (
    INSERT INTO import_seen (phone) SELECT phone FROM import_rows
    ON CONFLICT (phone) DO NOTHING RETURNING phone)
DELETE FROM import_rows r WHERE NOT EXISTS (SELECT 1 FROM fresh f WHERE f.phone = r.phone)
RETURNING r.line, r.phone`)
	if err != nil {
		return nil, fmt.Errorf("find repeated phones: %w", err)
	}
	dups, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ImportDuplicate, error) {
		var d ImportDuplicate
		err := row.Scan(&d.Line, &d.Phone)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("find repeated phones: %w", err)
	}
	return dups, nil
}

// The statements below that look rows of a large table up by the staged
// rows pass the staged keys as ARRAY(SELECT ...). The planner cannot see
// the array's length and plans a few index probes; with a join it would
// often hash the whole table instead, because it prices each probe as a
// disk read. That choice made every batch slower as the table grew.

// dropStoredPhones removes the staged rows whose phone is already stored
// and returns their lines.
func dropStoredPhones(ctx context.Context, tx pgx.Tx) ([]int64, error) {
	rows, err := tx.Query(ctx, `
DELETE FROM import_rows r USING customers c
WHERE c.phone = ANY (ARRAY(SELECT phone FROM import_rows)) AND r.phone = c.phone
RETURNING r.line`)
	if err != nil {
		return nil, fmt.Errorf("find stored phones: %w", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("find stored phones: %w", err)
	}
	return lines, nil
}

// registerImportRefs adds the new phone codes, time zones and tags of the
// rows not dropped to their reference tables. The NOT EXISTS spares the
// sequences: ON CONFLICT alone would burn an id per value and batch.
func registerImportRefs(ctx context.Context, tx pgx.Tx, rows []ImportRow, dropped map[int64]bool) error {
	codes, zones, tags := distinctRefs(rows, dropped)
	_, err := tx.Exec(ctx, `
WITH c AS (
    INSERT INTO phone_codes (code)
    SELECT v FROM unnest($1::text[]) v WHERE NOT EXISTS (SELECT 1 FROM phone_codes p WHERE p.code = v)
    ORDER BY 1 ON CONFLICT (code) DO NOTHING),
z AS (
    INSERT INTO timezones (name)
    SELECT v FROM unnest($2::text[]) v WHERE NOT EXISTS (SELECT 1 FROM timezones z WHERE z.name = v)
    ORDER BY 1 ON CONFLICT (name) DO NOTHING)
INSERT INTO tags (name)
SELECT v FROM unnest($3::text[]) v WHERE NOT EXISTS (SELECT 1 FROM tags t WHERE t.name = v)
ORDER BY 1 ON CONFLICT (name) DO NOTHING`, codes, zones, tags)
	if err != nil {
		return fmt.Errorf("register codes, zones and tags: %w", err)
	}
	return nil
}

func distinctRefs(rows []ImportRow, dropped map[int64]bool) (codes, zones, tags []string) {
	seenCode, seenZone, seenTag := map[string]bool{}, map[string]bool{}, map[string]bool{}
	codes, zones, tags = []string{}, []string{}, []string{}
	for _, r := range rows {
		if dropped[r.Line] {
			continue
		}
		c := r.Customer
		if !seenCode[c.PhoneCode] {
			seenCode[c.PhoneCode] = true
			codes = append(codes, c.PhoneCode)
		}
		if !seenZone[c.Timezone] {
			seenZone[c.Timezone] = true
			zones = append(zones, c.Timezone)
		}
		for _, t := range c.Tags {
			if !seenTag[t] {
				seenTag[t] = true
				tags = append(tags, t)
			}
		}
	}
	return codes, zones, tags
}

// insertImportRows inserts the staged customers whose phone is new and links
// their tags, in one statement.
func insertImportRows(ctx context.Context, tx pgx.Tx) ([]ImportedCustomer, error) {
	rows, err := tx.Query(ctx, `
WITH up AS (
    INSERT INTO customers (phone, phone_code, timezone)
    SELECT phone, phone_code, timezone FROM import_rows ORDER BY line
    ON CONFLICT (phone) DO NOTHING
    RETURNING id, phone),
links AS (
    INSERT INTO customer_tags (customer_id, tag_id)
    SELECT up.id, t.id FROM up JOIN import_rows r ON r.phone = up.phone
    CROSS JOIN LATERAL unnest(r.tags) AS n(name) JOIN tags t ON t.name = n.name)
SELECT r.line, up.id, true FROM up JOIN import_rows r ON r.phone = up.phone`)
	if err != nil {
		return nil, fmt.Errorf("insert customers: %w", err)
	}
	return collectImported(rows)
}

// upsertImportRows inserts new customers, overwrites existing ones and makes
// each written customer's tags exactly the row's.
func upsertImportRows(ctx context.Context, tx pgx.Tx) ([]ImportedCustomer, error) {
	rows, err := tx.Query(ctx, `
WITH up AS (
    INSERT INTO customers (phone, phone_code, timezone)
    SELECT phone, phone_code, timezone FROM import_rows ORDER BY line
    ON CONFLICT (phone) DO UPDATE
    SET phone_code = excluded.phone_code, timezone = excluded.timezone, updated_at = now()
    RETURNING id, phone, xmax = 0 AS inserted)
UPDATE import_rows r SET customer_id = up.id, inserted = up.inserted FROM up WHERE r.phone = up.phone
RETURNING r.line, r.customer_id, r.inserted`)
	if err != nil {
		return nil, fmt.Errorf("upsert customers: %w", err)
	}
	written, err := collectImported(rows)
	if err != nil {
		return nil, err
	}
	// Only links that change are touched, so re-importing the same file
	// rewrites no tag rows.
	_, err = tx.Exec(ctx, `
DELETE FROM customer_tags ct
WHERE ct.customer_id = ANY (ARRAY(SELECT customer_id FROM import_rows WHERE NOT inserted))
  AND NOT EXISTS (SELECT 1 FROM import_rows r JOIN tags t ON t.name = ANY (r.tags)
                  WHERE r.customer_id = ct.customer_id AND t.id = ct.tag_id)`)
	if err != nil {
		return nil, fmt.Errorf("remove replaced tags: %w", err)
	}
	_, err = tx.Exec(ctx, `
INSERT INTO customer_tags (customer_id, tag_id)
SELECT r.customer_id, t.id FROM import_rows r
CROSS JOIN LATERAL unnest(r.tags) AS n(name) JOIN tags t ON t.name = n.name
ON CONFLICT DO NOTHING`)
	if err != nil {
		return nil, fmt.Errorf("link tags: %w", err)
	}
	return written, nil
}

func collectImported(rows pgx.Rows) ([]ImportedCustomer, error) {
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (ImportedCustomer, error) {
		var w ImportedCustomer
		err := row.Scan(&w.Line, &w.ID, &w.Inserted)
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("read written customers: %w", err)
	}
	return out, nil
}
