package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"mailing/shared/domain"
)

// Importer writes customers in batches through one pooled connection with
// a private staging table: each Write COPYs the batch into staging and
// merges it with a few set-based statements, in one transaction. Not safe
// for concurrent use; several Importers may work side by side on batches
// with distinct phones.
type Importer struct {
	conn       *sql.Conn
	onConflict domain.ImportConflict
}

// The staging table lives in the importer's session only and is emptied by
// every commit.
const importSetup = `
DROP TABLE IF EXISTS pg_temp.import_rows;
CREATE TEMP TABLE import_rows (
    line        bigint NOT NULL,
    phone       text COLLATE "C" NOT NULL,
    phone_code  text NOT NULL,
    timezone    text NOT NULL,
    tags        text[] NOT NULL,
    attributes  jsonb NOT NULL,
    customer_id bigint,
    inserted    boolean
) ON COMMIT DELETE ROWS`

var importColumns = []string{"line", "phone", "phone_code", "timezone", "tags", "attributes"}

// replan makes every import statement planned when it runs. A cached plan
// made for the first batch, while the tables were small, scanned the whole
// customers table in every later batch.
const replan = pgx.QueryExecModeExec

// StartImport reserves a connection and prepares its staging table.
func (s *Customers) StartImport(ctx context.Context, onConflict domain.ImportConflict) (*Importer, error) {
	if !onConflict.Valid() {
		return nil, fmt.Errorf("start import: unknown conflict mode %q", onConflict)
	}
	conn, err := s.db.sql.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("start import: %w", err)
	}
	im := &Importer{conn: conn, onConflict: onConflict}
	err = im.withPgx(func(pc *pgx.Conn) error {
		_, err := pc.Exec(ctx, importSetup, pgx.QueryExecModeSimpleProtocol)
		return err
	})
	if err != nil {
		_ = im.Close()
		return nil, fmt.Errorf("start import: %w", translate(err, "import staging"))
	}
	return im, nil
}

// Close drops the staging table and returns the connection to the pool. A
// connection whose table could not be dropped is discarded instead, so no
// later user of the pool inherits it.
func (im *Importer) Close() error {
	// The request may be gone; cleaning up must not depend on it.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = im.withPgx(func(pc *pgx.Conn) error {
		if _, err := pc.Exec(ctx, `DROP TABLE IF EXISTS pg_temp.import_rows`); err != nil {
			return driver.ErrBadConn
		}
		return nil
	})
	if err := im.conn.Close(); err != nil && !errors.Is(err, sql.ErrConnDone) {
		return fmt.Errorf("close import: %w", err)
	}
	return nil
}

// withPgx runs fn on the importer's connection as a native pgx connection,
// which COPY needs.
func (im *Importer) withPgx(fn func(*pgx.Conn) error) error {
	return rawPgx(im.conn, fn)
}

// Write stores one batch in one transaction. A row repeating the phone of an
// earlier row of the batch is returned as a duplicate and not written; a
// phone stored before, even by an earlier Write, counts as existing.
func (im *Importer) Write(ctx context.Context, rows []domain.ImportRow) (domain.ImportBatch, error) {
	unique, out := dedupeBatch(rows)
	if len(unique) == 0 {
		return out, nil
	}
	err := im.withPgx(func(pc *pgx.Conn) error {
		return pgx.BeginFunc(ctx, pc, func(tx pgx.Tx) error {
			return im.writeBatch(ctx, tx, unique, &out)
		})
	})
	if err != nil {
		return domain.ImportBatch{}, translate(err, "customer import")
	}
	return out, nil
}

// dedupeBatch keeps the first row of each phone within the batch.
func dedupeBatch(rows []domain.ImportRow) ([]domain.ImportRow, domain.ImportBatch) {
	var out domain.ImportBatch
	seen := make(map[string]struct{}, len(rows))
	unique := make([]domain.ImportRow, 0, len(rows))
	for _, r := range rows {
		if _, dup := seen[r.Customer.Phone]; dup {
			out.Duplicates = append(out.Duplicates, domain.ImportDuplicate{Line: r.Line, Phone: r.Customer.Phone})
			continue
		}
		seen[r.Customer.Phone] = struct{}{}
		unique = append(unique, r)
	}
	return unique, out
}

func (im *Importer) writeBatch(ctx context.Context, tx pgx.Tx, rows []domain.ImportRow, out *domain.ImportBatch) error {
	if err := copyImportRows(ctx, tx, rows); err != nil {
		return err
	}
	dropped := map[int64]bool{}
	if im.onConflict == domain.ImportSkip {
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
	var err error
	if im.onConflict == domain.ImportUpdate {
		out.Written, err = upsertImportRows(ctx, tx)
	} else {
		out.Written, err = insertImportRows(ctx, tx)
	}
	if err != nil {
		return err
	}
	sort.Slice(out.Written, func(i, j int) bool { return out.Written[i].Line < out.Written[j].Line })
	for _, w := range out.Written {
		if w.Inserted {
			out.Inserted++
		} else {
			out.Updated++
		}
	}
	out.Skipped = len(rows) - len(out.Written)
	return auditBatch(ctx, tx, im.onConflict, rows, out)
}

// auditInsertPgx is auditInsert with pgx's placeholders.
const auditInsertPgx = `INSERT INTO audit_events
	(actor, actor_name, actor_role, via, action, object_type, object_id, diff, request_id, client_ip)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10)`

// auditBatch records a written batch in the audit trail, in its
// transaction: which lines, and what became of them. The request id ties
// the batches of one upload together.
func auditBatch(ctx context.Context, tx pgx.Tx, mode domain.ImportConflict, rows []domain.ImportRow, out *domain.ImportBatch) error {
	vals, err := auditValues(ctx, domain.AuditCustomersImported, domain.AuditObjectImport, nil, map[string]any{
		"on_conflict": mode, "first_line": rows[0].Line, "last_line": rows[len(rows)-1].Line,
		"inserted": out.Inserted, "updated": out.Updated, "skipped": out.Skipped,
	})
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, auditInsertPgx, vals...)
	return err
}

// noAttributes is the COPY value of a customer without attributes, most
// of an import's rows: no encoding per row.
var noAttributes = json.RawMessage("{}")

func copyImportRows(ctx context.Context, tx pgx.Tx, rows []domain.ImportRow) error {
	src := pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
		c := rows[i].Customer
		attrs := noAttributes
		if len(c.Attributes) > 0 {
			b, err := c.Attributes.MarshalJSON()
			if err != nil {
				return nil, fmt.Errorf("line %d: encode attributes: %w", rows[i].Line, err)
			}
			attrs = b
		}
		return []any{rows[i].Line, c.Phone, c.PhoneCode, c.Timezone, c.Tags, attrs}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"import_rows"}, importColumns, src); err != nil {
		return fmt.Errorf("copy rows: %w", err)
	}
	return nil
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
RETURNING r.line`, replan)
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
func registerImportRefs(ctx context.Context, tx pgx.Tx, rows []domain.ImportRow, dropped map[int64]bool) error {
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
ORDER BY 1 ON CONFLICT (name) DO NOTHING`, replan, codes, zones, tags)
	if err != nil {
		return fmt.Errorf("register codes, zones and tags: %w", err)
	}
	return nil
}

func distinctRefs(rows []domain.ImportRow, dropped map[int64]bool) (codes, zones, tags []string) {
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
func insertImportRows(ctx context.Context, tx pgx.Tx) ([]domain.ImportedCustomer, error) {
	rows, err := tx.Query(ctx, `
WITH up AS (
    INSERT INTO customers (phone, phone_code, timezone, attributes)
    SELECT phone, phone_code, timezone, attributes FROM import_rows ORDER BY line
    ON CONFLICT (phone) DO NOTHING
    RETURNING id, phone),
links AS (
    INSERT INTO customer_tags (customer_id, tag_id)
    SELECT up.id, t.id FROM up JOIN import_rows r ON r.phone = up.phone
    CROSS JOIN LATERAL unnest(r.tags) AS n(name) JOIN tags t ON t.name = n.name)
SELECT r.line, up.id, true FROM up JOIN import_rows r ON r.phone = up.phone`, replan)
	if err != nil {
		return nil, fmt.Errorf("insert customers: %w", err)
	}
	return collectImported(rows)
}

// upsertImportRows inserts new customers, overwrites existing ones (their
// attributes too: a row describes the whole customer) and makes each
// written customer's tags exactly the row's.
func upsertImportRows(ctx context.Context, tx pgx.Tx) ([]domain.ImportedCustomer, error) {
	rows, err := tx.Query(ctx, `
WITH up AS (
    INSERT INTO customers (phone, phone_code, timezone, attributes)
    SELECT phone, phone_code, timezone, attributes FROM import_rows ORDER BY line
    ON CONFLICT (phone) DO UPDATE
    SET phone_code = excluded.phone_code, timezone = excluded.timezone, attributes = excluded.attributes, updated_at = now()
    RETURNING id, phone, xmax = 0 AS inserted)
UPDATE import_rows r SET customer_id = up.id, inserted = up.inserted FROM up WHERE r.phone = up.phone
RETURNING r.line, r.customer_id, r.inserted`, replan)
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
                  WHERE r.customer_id = ct.customer_id AND t.id = ct.tag_id)`, replan)
	if err != nil {
		return nil, fmt.Errorf("remove replaced tags: %w", err)
	}
	_, err = tx.Exec(ctx, `
INSERT INTO customer_tags (customer_id, tag_id)
SELECT r.customer_id, t.id FROM import_rows r
CROSS JOIN LATERAL unnest(r.tags) AS n(name) JOIN tags t ON t.name = n.name
ON CONFLICT DO NOTHING`, replan)
	if err != nil {
		return nil, fmt.Errorf("link tags: %w", err)
	}
	return written, nil
}

func collectImported(rows pgx.Rows) ([]domain.ImportedCustomer, error) {
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.ImportedCustomer, error) {
		var w domain.ImportedCustomer
		err := row.Scan(&w.Line, &w.ID, &w.Inserted)
		return w, err
	})
	if err != nil {
		return nil, fmt.Errorf("read written customers: %w", err)
	}
	return out, nil
}

// AnalyzeCustomers refreshes the planner statistics of the customer tables.
// After a bulk import they describe a much smaller directory, and plans
// made from them can be far off until autovacuum gets to the tables, if it
// runs at all.
func (s *Customers) Analyze(ctx context.Context) error {
	err := s.db.q(ctx).Exec(`ANALYZE customers, customer_tags, tags, phone_codes, timezones`).Error
	return translate(err, "customer statistics")
}
