package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"mailing/sender-worker/internal/probesim"
	"mailing/shared/broker"
	"mailing/shared/postgres"
)

// simSecret signs the workers' tokens for the in-process probe-sim.
const simSecret = "pipebench-probe-sim-secret-0123456789abcdef"

// benchTimezone is every generated customer's zone; with no send window it
// only has to be a valid zone.
const benchTimezone = "Europe/Moscow"

// env is what a run sets up and tears down: the store, probe-sim behind an
// HTTP server, the broker topology and the worker processes.
type env struct {
	o       options
	stderr  io.Writer // receives the workers' output
	db      *postgres.DB
	dropDB  func() error
	bcfg    broker.Config
	pub     *broker.Publisher
	sim     *probesim.Server
	simSrv  *http.Server
	simURL  string
	token   string
	workers []*worker
}

func openEnv(ctx context.Context, o options, stderr io.Writer) (e *env, err error) {
	quiet := slog.New(slog.DiscardHandler)
	e = &env{o: o, stderr: stderr}
	defer func() {
		if err != nil {
			e.close(stderr)
		}
	}()
	if o.createDB {
		// Only a database this run created is dropped at the end.
		exists, err := databaseExists(ctx, o.databaseURL)
		if err != nil {
			return e, err
		}
		if exists {
			return e, errors.New("-create-db: the database already exists; name a new one, or leave out -create-db to use it")
		}
		if err := postgres.EnsureDatabase(ctx, o.databaseURL); err != nil {
			return e, err
		}
		e.dropDB = func() error { return dropDatabase(o.databaseURL) }
	}
	if e.db, err = postgres.Open(ctx, o.databaseURL, quiet); err != nil {
		return e, err
	}
	if err := e.db.Migrate(ctx); err != nil {
		return e, err
	}
	e.bcfg = broker.Config{URL: o.amqpURL, Prefix: o.prefix, Name: o.prefix + "-bench", Logger: quiet}
	if err := broker.Declare(ctx, e.bcfg); err != nil {
		return e, fmt.Errorf("declare topology: %w", err)
	}
	if e.pub, err = broker.NewPublisher(e.bcfg); err != nil {
		return e, err
	}
	if err := e.startSim(o); err != nil {
		return e, err
	}
	return e, nil
}

// startSim serves probe-sim on a free local port with the run's latency.
func (e *env) startSim(o options) error {
	sim, err := probesim.New(probesim.Options{Secret: simSecret, Seed: 1,
		Faults: probesim.Faults{LatencyMS: o.latencyMS, JitterMS: o.jitterMS}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("probe-sim listener: %w", err)
	}
	e.sim = sim
	e.simSrv = &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	e.simURL = "http://" + ln.Addr().String() + "/v1"
	go func() { _ = e.simSrv.Serve(ln) }()
	e.token, err = probesim.MintToken(simSecret, time.Now().Add(24*time.Hour))
	return err
}

// close stops everything that was started, reporting failures on stderr:
// a half-finished clean-up should not hide the results.
func (e *env) close(stderr io.Writer) {
	for _, w := range e.workers {
		if err := w.stop(20 * time.Second); err != nil {
			fmt.Fprintf(stderr, "stop worker %d: %v\n", w.index, err)
		}
	}
	if e.sim != nil {
		e.sim.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = e.simSrv.Shutdown(ctx)
		cancel()
	}
	if e.pub != nil {
		_ = e.pub.Close()
		if err := broker.DeleteTopology(context.Background(), e.bcfg); err != nil {
			fmt.Fprintf(stderr, "delete topology %s: %v\n", e.bcfg.Prefix, err)
		}
	}
	if e.db != nil {
		_ = e.db.Close()
	}
	if e.dropDB != nil {
		if err := e.dropDB(); err != nil {
			fmt.Fprintf(stderr, "drop database: %v\n", err)
		}
	}
}

// serverDB opens the server's maintenance database "postgres" with dsn's
// credentials and returns it with the name of the database dsn names.
func serverDB(dsn string) (*sql.DB, string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, "", fmt.Errorf("database URL: %w", err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return nil, "", errors.New("the database URL names no database")
	}
	u.Path = "/postgres"
	admin, err := sql.Open("pgx", u.String())
	return admin, name, err
}

func databaseExists(ctx context.Context, dsn string) (bool, error) {
	admin, name, err := serverDB(dsn)
	if err != nil {
		return false, err
	}
	defer admin.Close()
	var exists bool
	err = admin.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists)
	if err != nil {
		return false, fmt.Errorf("look for database %s: %w", name, err)
	}
	return exists, nil
}

// dropDatabase drops the database dsn names, closing its connections.
func dropDatabase(dsn string) error {
	admin, name, err := serverDB(dsn)
	if err != nil {
		return err
	}
	defer admin.Close()
	_, err = admin.Exec(`DROP DATABASE IF EXISTS "` + strings.ReplaceAll(name, `"`, `""`) + `" WITH (FORCE)`)
	return err
}

// createCustomers inserts n customers under an operator code no existing
// customer uses (nor any phone starting with it), so a filter on that code
// matches exactly them, and returns the code.
func (e *env) createCustomers(ctx context.Context, n int) (string, error) {
	q := e.db.SQL()
	var code string
	err := q.QueryRowContext(ctx, `SELECT c FROM (SELECT lpad(g::text, 3, '0') AS c FROM generate_series(999, 100, -1) g) codes
		WHERE NOT EXISTS (SELECT 1 FROM customers WHERE phone_code = codes.c)
		  AND NOT EXISTS (SELECT 1 FROM customers WHERE phone >= '7' || codes.c AND phone < '7' || codes.c || ':')
		LIMIT 1`).Scan(&code)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errors.New("every operator code is in use: run on a fresh database (-create-db)")
	}
	if err != nil {
		return "", fmt.Errorf("pick an operator code: %w", err)
	}
	stmts := []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO phone_codes (code) VALUES ($1) ON CONFLICT DO NOTHING`, []any{code}},
		{`INSERT INTO timezones (name) VALUES ($1) ON CONFLICT DO NOTHING`, []any{benchTimezone}},
		{`INSERT INTO customers (phone, phone_code, timezone)
			SELECT '7' || $1 || lpad(g::text, 7, '0'), $1, $2 FROM generate_series(1, $3::int) g`, []any{code, benchTimezone, n}},
		{`ANALYZE customers`, nil},
	}
	for _, s := range stmts {
		if _, err := q.ExecContext(ctx, s.sql, s.args...); err != nil {
			return "", fmt.Errorf("create customers: %w", err)
		}
	}
	return code, nil
}
