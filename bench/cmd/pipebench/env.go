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
	"os"
	"os/exec"
	"strings"
	"time"

	"mailing/bench/internal/population"
	"mailing/bench/internal/proc"
	"mailing/sender-worker/probesim"
	"mailing/shared/broker"
	"mailing/shared/postgres"
)

// simSecret signs the tokens of the in-process probe-sim.
const simSecret = "bench-probe-sim-secret-0123456789abcdef"

// env is what a run sets up and tears down: its database, the broker
// topology under its prefix, probe-sim behind an HTTP server and the API
// process. Worker processes belong to each pipeline run.
type env struct {
	o       options
	stderr  io.Writer // receives the processes' output and progress lines
	db      *postgres.DB
	dropDB  bool
	bcfg    broker.Config
	topo    bool
	sim     *probesim.Server
	simSrv  *http.Server
	simURL  string
	token   string
	api     *proc.API
	client  *client
	workers []*proc.Process // of the run in progress, stopped at its end
	pop     population.Population
}

func openEnv(ctx context.Context, o options, stderr io.Writer) (e *env, err error) {
	e = &env{o: o, stderr: stderr}
	defer func() {
		if err != nil {
			e.close()
		}
	}()
	for _, bin := range []string{o.apiBin, o.workerBin} {
		if _, err := os.Stat(bin); err != nil {
			return e, fmt.Errorf("binary: %w (run make build first, or pass -api and -worker)", err)
		}
	}
	if err := e.createDatabase(ctx); err != nil {
		return e, err
	}
	e.bcfg = broker.Config{URL: o.amqpURL, Prefix: o.prefix, Name: o.prefix + "-bench", Logger: slog.New(slog.DiscardHandler)}
	if err := broker.Declare(ctx, e.bcfg); err != nil {
		return e, fmt.Errorf("declare topology: %w", err)
	}
	e.topo = true
	if err := e.startSim(); err != nil {
		return e, err
	}
	if err := e.startAPI(ctx); err != nil {
		return e, err
	}
	return e, nil
}

// startAPI runs the real API process on the run's database and broker
// prefix, with a client pool large enough for the measured API load.
func (e *env) startAPI(ctx context.Context) (err error) {
	e.api, err = proc.StartAPI(ctx, proc.APIConfig{
		Bin: e.o.apiBin, DatabaseURL: e.o.databaseURL, AMQPURL: e.o.amqpURL, AMQPPrefix: e.o.prefix,
		Conns: 4*max(e.o.apiClients, 1) + 4, Output: e.stderr,
	})
	if err != nil {
		return err
	}
	e.client = e.api.Client
	return nil
}

// createDatabase creates the run's database with the real migrate
// command, refusing one that exists: the run drops it at the end.
func (e *env) createDatabase(ctx context.Context) error {
	exists, err := databaseExists(ctx, e.o.databaseURL)
	if err != nil {
		return err
	}
	if exists {
		return errors.New("the run's database already exists; try again")
	}
	e.dropDB = true
	cmd := exec.CommandContext(ctx, e.o.apiBin, "migrate")
	cmd.Env = append(os.Environ(), "DATABASE_URL="+e.o.databaseURL, "LOG_LEVEL=warn")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s migrate: %w\n%s", e.o.apiBin, err, out)
	}
	e.db, err = postgres.Open(ctx, e.o.databaseURL, slog.New(slog.DiscardHandler))
	return err
}

// startSim serves probe-sim on a free local port, healthy and without
// latency until a run sets one.
func (e *env) startSim() error {
	sim, err := probesim.New(probesim.Options{Secret: simSecret, Seed: 1})
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

// setLatency forgets probe-sim's deliveries and gives it a fixed latency,
// in that order: Reset also clears the faults.
func (e *env) setLatency(ms int) error {
	e.sim.Reset()
	if err := e.sim.SetFaults(probesim.Faults{LatencyMS: ms}); err != nil {
		return fmt.Errorf("probe-sim latency: %w", err)
	}
	return nil
}

// close stops everything that was started, reporting failures on stderr:
// a half-finished clean-up should not hide the results.
func (e *env) close() {
	e.stopWorkers()
	if e.api != nil {
		if err := e.api.Stop(20 * time.Second); err != nil {
			fmt.Fprintf(e.stderr, "stop api: %v\n", err)
		}
	}
	if e.sim != nil {
		e.sim.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = e.simSrv.Shutdown(ctx)
		cancel()
	}
	if e.topo {
		if err := broker.DeleteTopology(context.Background(), e.bcfg); err != nil {
			fmt.Fprintf(e.stderr, "delete topology %s: %v\n", e.bcfg.Prefix, err)
		}
	}
	if e.db != nil {
		_ = e.db.Close()
	}
	if e.dropDB {
		if err := dropDatabase(e.o.databaseURL); err != nil {
			fmt.Fprintf(e.stderr, "drop database: %v\n", err)
		}
	}
}

// databaseName is the database a URL names, or "" when it does not parse.
func databaseName(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
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
