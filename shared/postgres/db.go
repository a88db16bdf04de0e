// Package postgres is the PostgreSQL store: the connection, the embedded
// migrations, and one store type per kind of data — Customers (with the
// bulk import writer), Refs (reference data), Mailouts, Sending (starts,
// fan-out, claims, outcomes and repairs), Stats, Outbox, Users and Keys
// (API keys). It
// translates storage errors into domain errors, so callers never see GORM
// or driver types; callers declare the few methods they use as interfaces
// of their own.
//
// How it talks to PostgreSQL, one way per job:
//
//   - GORM is the entry point: Open opens it, with the pgx driver under
//     database/sql, and its pool is the only pool. Directory, mailout,
//     reference-data, outbox, user, API key and statistics queries go
//     through it, written as SQL with ? placeholders (GORM expands slices
//     for IN ?).
//   - Hot set-based paths that need arrays bound as one parameter or COPY
//     — claims, outcomes, the customer list, the import — borrow a native
//     pgx connection from that same pool (withPgx) and use $n
//     placeholders.
//   - A Listener holds one connection of its own outside the pool, a
//     native pgx connection that waits for notifications (LISTEN/NOTIFY)
//     and is reconnected when lost.
//   - A file uses one of the two, never both.
//   - Transactions go through DB.tx. The one exception is the importer's
//     batch, a pgx transaction on its reserved connection, because COPY
//     needs the native connection.
//   - translate is the one error translation, from PostgreSQL's codes
//     (both paths surface the driver's *pgconn.PgError; GORM's own
//     TranslateError is off, because it knows four codes and drops the
//     rest) and gorm.ErrRecordNotFound.
//   - Statuses and reasons reach SQL as parameters taken from domain,
//     never as literals.
//
// goose migrates through the pool's database/sql handle; tests and tools
// read it through DB.SQL.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"mailing/shared/domain"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is the store. Its methods are safe for concurrent use.
type DB struct {
	gorm *gorm.DB
	sql  *sql.DB
	log  *slog.Logger
	dsn  string // for connections outside the pool (Listener)
}

// Open connects to dsn and checks the connection.
func Open(ctx context.Context, dsn string, log *slog.Logger) (*DB, error) {
	g, err := gorm.Open(postgres.Open(dsn), &gorm.Config{
		TranslateError: false, // translate maps PostgreSQL's codes itself

		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	})
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqlDB.SetMaxOpenConns(20)
	sqlDB.SetMaxIdleConns(20)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pingCtx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return &DB{gorm: g, sql: sqlDB, log: log, dsn: dsn}, nil
}

// Close releases the connection pool.
func (db *DB) Close() error { return db.sql.Close() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.sql.PingContext(ctx) }

// SQL exposes the pool for tools that need database/sql (tests, benchmarks).
func (db *DB) SQL() *sql.DB { return db.sql }

// Migrate applies every pending embedded migration.
func (db *DB) Migrate(ctx context.Context) error {
	return Migrate(ctx, db.sql, db.log)
}

// Migrate applies every pending embedded migration on sqlDB.
func Migrate(ctx context.Context, sqlDB *sql.DB, log *slog.Logger) error {
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, mustSub(migrations, "migrations"))
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	for _, r := range results {
		log.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration_ms", r.Duration.Milliseconds())
	}
	return nil
}

func (db *DB) q(ctx context.Context) *gorm.DB { return db.gorm.WithContext(ctx) }

// tx runs fn in one transaction; opts nil means read-committed, read-write.
func (db *DB) tx(ctx context.Context, opts *sql.TxOptions, fn func(tx *gorm.DB) error) error {
	if opts == nil {
		return db.q(ctx).Transaction(fn)
	}
	return db.q(ctx).Transaction(fn, opts)
}

// snapshot is a read-only repeatable-read transaction: every query in it
// sees one consistent state.
var snapshot = &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}

// translate turns storage errors into domain errors. what names the object
// for messages ("customer 5"); conflict explains a unique violation.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return &domain.Error{Code: domain.CodeNotFound, Message: what + " not found", Err: err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "23505": // unique_violation
			return &domain.Error{Code: domain.CodeConflict, Message: what + " already exists", Err: err}
		case "23503": // foreign_key_violation
			return &domain.Error{Code: domain.CodeConflict, Message: what + " is still in use or refers to something missing", Err: err}
		case "23514", "22001", "22P02", "22021", "22P05": // check, too long, bad text, bad encoding, untranslatable character
			return &domain.Error{Code: domain.CodeInvalid, Message: what + " breaks a data rule", Err: err}
		}
	}
	return fmt.Errorf("%s: %w", what, err)
}
