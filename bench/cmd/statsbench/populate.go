package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"

	"mailing/shared/domain"
	"mailing/shared/postgres"
)

// bench is the dedicated database and what was put in it.
type bench struct {
	db        *postgres.DB
	adminURL  string
	name      string
	runningID int64
}

// plainName is a database name that needs no quoting.
var plainName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// openBench drops and creates the database named in dsn (unless reuse is
// set), migrates it and opens the store on it.
func openBench(ctx context.Context, dsn string, reuse bool) (*bench, error) {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("-database-url must be a postgres:// URL")
	}
	name := strings.TrimPrefix(u.Path, "/")
	if !plainName.MatchString(name) || name == "postgres" {
		return nil, fmt.Errorf("-database-url must name a dedicated database (lower-case letters, digits, _), not %q", name)
	}
	admin := *u
	admin.Path = "/postgres"
	b := &bench{adminURL: admin.String(), name: name}
	if !reuse {
		if err := b.admin(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			return nil, err
		}
		if err := b.admin(ctx, "CREATE DATABASE "+name); err != nil {
			return nil, err
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if b.db, err = postgres.Open(ctx, dsn, log); err != nil {
		return nil, err
	}
	if err := b.db.Migrate(ctx); err != nil {
		_ = b.db.Close()
		return nil, err
	}
	return b, nil
}

// admin runs one statement on the server's postgres database (the store
// registers the "pgx" driver).
func (b *bench) admin(ctx context.Context, stmt string) error {
	a, err := sql.Open("pgx", b.adminURL)
	if err != nil {
		return fmt.Errorf("connect to the server: %w", err)
	}
	defer a.Close()
	if _, err := a.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", stmt, err)
	}
	return nil
}

// close drops the database unless keep is set.
func (b *bench) close(ctx context.Context, keep bool, stderr io.Writer) {
	_ = b.db.Close()
	if keep {
		fmt.Fprintf(stderr, "database %s kept\n", b.name)
		return
	}
	// The run's context may be cancelled (Ctrl-C): drop anyway.
	if err := b.admin(context.WithoutCancel(ctx), "DROP DATABASE IF EXISTS "+b.name+" WITH (FORCE)"); err != nil {
		fmt.Fprintln(stderr, "statsbench:", err)
	}
}

// populateTimes are the preparation steps, with the counting triggers on.
type populateTimes struct {
	CustomersSeconds float64 `json:"customers_seconds"`
	FinishedRows     int     `json:"finished_rows"`
	FinishedSeconds  float64 `json:"finished_seconds"`
	FanOutRows       int64   `json:"fan_out_rows"`
	FanOutSeconds    float64 `json:"fan_out_seconds"`
	AnalyzeSeconds   float64 `json:"analyze_seconds"`
}

// populate writes the customers of the running mailout, the finished
// mailouts with their messages, and the running mailout's fan-out.
func (b *bench) populate(ctx context.Context, o options, stderr io.Writer) (populateTimes, error) {
	var t populateTimes
	start := time.Now()
	if err := b.exec(ctx, `INSERT INTO phone_codes (code) VALUES ('999')`,
		`INSERT INTO timezones (name) VALUES ('Europe/Moscow')`,
		fmt.Sprintf(`INSERT INTO customers (phone, phone_code, timezone)
			SELECT '7999' || lpad(g::text, 7, '0'), '999', 'Europe/Moscow' FROM generate_series(1, %d) g`, o.running)); err != nil {
		return t, err
	}
	t.CustomersSeconds = time.Since(start).Seconds()
	fmt.Fprintf(stderr, "%d customers in %.1fs\n", o.running, t.CustomersSeconds)

	start = time.Now()
	rows, err := b.finishedMailouts(ctx, o, stderr)
	if err != nil {
		return t, err
	}
	t.FinishedRows, t.FinishedSeconds = rows, time.Since(start).Seconds()
	fmt.Fprintf(stderr, "%d finished mailouts, %d messages in %.1fs\n", o.mailouts-1, rows, t.FinishedSeconds)

	start = time.Now()
	if t.FanOutRows, err = b.runningMailout(ctx); err != nil {
		return t, err
	}
	t.FanOutSeconds = time.Since(start).Seconds()
	fmt.Fprintf(stderr, "running mailout %d: %d messages fanned out in %.1fs\n", b.runningID, t.FanOutRows, t.FanOutSeconds)

	start = time.Now()
	if err := b.exec(ctx, `ANALYZE`); err != nil {
		return t, err
	}
	t.AnalyzeSeconds = time.Since(start).Seconds()
	return t, nil
}

// finishedMailouts creates the finished mailouts and writes their messages
// straight into messages, one statement per mailout: mostly sent at 5,000
// per second from the start, some failed, expired and cancelled with their
// reasons and attempts.
func (b *bench) finishedMailouts(ctx context.Context, o options, stderr io.Writer) (int, error) {
	n := o.mailouts - 1
	rows, err := b.db.SQL().QueryContext(ctx, `INSERT INTO mailouts (text, start_at, end_at, status, started_at, finished_at, created_at, updated_at)
		SELECT 'finished mailout ' || g, s, s + interval '1 day', 'finished', s, s + interval '1 hour', s - interval '1 day', s
		FROM generate_series(1, $1::int) g, LATERAL (SELECT now() - (($1::int + 2 - g) * interval '1 day') AS s) x
		RETURNING id`, n)
	if err != nil {
		return 0, fmt.Errorf("create finished mailouts: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return 0, fmt.Errorf("create finished mailouts: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("create finished mailouts: %w", err)
	}
	total := o.messages - o.running
	written := 0
	for i, id := range ids {
		rows := total / n
		if i < total%n {
			rows++
		}
		if _, err := b.db.SQL().ExecContext(ctx, finishedMessagesSQL, id, rows); err != nil {
			return written, fmt.Errorf("messages of mailout %d: %w", id, err)
		}
		written += rows
		if (i+1)%10 == 0 || i == len(ids)-1 {
			fmt.Fprintf(stderr, "  %d/%d mailouts, %d messages\n", i+1, n, written)
		}
	}
	return written, nil
}

const finishedMessagesSQL = `INSERT INTO messages (mailout_id, customer_id, status, attempts, reason, last_error, sent_at, created_at, updated_at)
	SELECT $1, x.g, x.status,
	       CASE x.status WHEN 'sent' THEN 1 + (x.r2 < 0.1)::int + (x.r2 < 0.02)::int
	                     WHEN 'failed' THEN 1 + floor(x.r2 * 10)::int
	                     WHEN 'expired' THEN floor(x.r2 * 3)::int ELSE 0 END,
	       x.reason, x.reason,
	       CASE WHEN x.status = 'sent' THEN mo.started_at + x.g * interval '200 microseconds' END,
	       mo.started_at, mo.started_at + x.g * interval '200 microseconds'
	FROM mailouts mo, LATERAL (
		SELECT g, r2, status,
		       CASE status WHEN 'failed' THEN (ARRAY['timeout', 'http_5xx', 'bad_response', 'rejected_4xx', 'auth'])[1 + floor(r2 * 5)::int]
		                   WHEN 'expired' THEN CASE WHEN r2 < 0.5 THEN 'expired' ELSE 'outside_window' END
		                   WHEN 'cancelled' THEN 'cancelled' ELSE '' END AS reason
		FROM (SELECT g, random() AS r1, random() AS r2 FROM generate_series(1, $2::int) g) r,
		     LATERAL (SELECT CASE WHEN r1 < 0.93 THEN 'sent' WHEN r1 < 0.96 THEN 'failed'
		                          WHEN r1 < 0.99 THEN 'expired' ELSE 'cancelled' END AS status) s
	) x
	WHERE mo.id = $1`

// runningMailout creates the running mailout through the store and fans
// it out as the planner does: one INSERT ... SELECT of every customer.
func (b *bench) runningMailout(ctx context.Context) (int64, error) {
	now := time.Now().UTC()
	m, err := postgres.NewMailouts(b.db).Create(ctx, domain.Mailout{Text: "running mailout", StartAt: now.Add(-time.Minute), EndAt: now.Add(6 * time.Hour)})
	if err != nil {
		return 0, err
	}
	b.runningID = m.ID
	res, err := postgres.NewSending(b.db).Start(ctx, m.ID, m.Version, now)
	if err != nil {
		return 0, err
	}
	if res.Outcome != domain.StartStarted {
		return 0, fmt.Errorf("start mailout %d: %s %s", m.ID, res.Outcome, res.Reason)
	}
	return res.Created, nil
}

// findRunning finds the running mailout of a database filled earlier.
func (b *bench) findRunning(ctx context.Context) error {
	err := b.db.SQL().QueryRowContext(ctx, `SELECT id FROM mailouts WHERE status = 'running' ORDER BY id DESC LIMIT 1`).Scan(&b.runningID)
	if err != nil {
		return fmt.Errorf("find the running mailout of %s (fill it with -keep first): %w", b.name, err)
	}
	return nil
}

func (b *bench) exec(ctx context.Context, stmts ...string) error {
	for _, s := range stmts {
		if _, err := b.db.SQL().ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", strings.SplitN(s, "\n", 2)[0], err)
		}
	}
	return nil
}
