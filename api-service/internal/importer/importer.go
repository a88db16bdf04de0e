// Package importer is the customer import engine: it streams a CSV or
// NDJSON upload, validates every row like a single customer, catches
// phones repeated in the upload and writes the valid rows in batches
// through the store, several batches side by side. Transports (the HTTP
// API, later the admin UI's backend) parse their request, call Run and
// answer its Result or its domain error.
package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"mailing/shared/domain"
)

const (
	// batchSize records are written per transaction: large enough that
	// per-statement costs vanish, small enough that a failure loses little
	// and a batch's staging rows stay in memory.
	batchSize = 10000
	// maxErrors bounds the rejected rows listed in a result; all of them
	// are counted.
	maxErrors = 1000
	// maxRecord bounds one NDJSON line or CSV record, so that no single row
	// can make the engine buffer the whole upload.
	maxRecord = 1 << 20
	// readBuffer is the read-ahead on the upload.
	readBuffer = 64 << 10
	// sessions batches are written side by side, each on its own
	// connection: foreign key checks and index updates make writing cost
	// far more than reading, and one connection uses one database CPU.
	sessions = 2
	// analyzeRows written rows make an import refresh the planner
	// statistics before it returns, so that lists are planned for the new
	// size of the directory right away.
	analyzeRows = 50000
)

// Store is what the engine needs of the customer store.
type Store interface {
	// StartImport reserves a connection of its own for a batch writer
	// that treats stored phones as onConflict says.
	StartImport(ctx context.Context, onConflict domain.ImportConflict) (BatchWriter, error)
	// Analyze refreshes the planner statistics of the customer
	// tables.
	Analyze(ctx context.Context) error
}

// BatchWriter stores batches of rows, each in one transaction. It is used
// by one goroutine; writers of one import get batches with distinct phones.
type BatchWriter interface {
	Write(ctx context.Context, rows []domain.ImportRow) (domain.ImportBatch, error)
	// Close gives the connection back.
	Close() error
}

// Format is the encoding of an upload.
type Format string

const (
	// CSV is a header record naming the columns, then one customer per
	// record; tags are ;-separated.
	CSV Format = "csv"
	// NDJSON is one JSON customer object per line.
	NDJSON Format = "ndjson"
)

// Config holds an Importer's dependencies.
type Config struct {
	Store Store
	// DefaultTimezone is the zone of rows that name none.
	DefaultTimezone string
	// Log receives the log lines of imports whose Options name no logger.
	Log *slog.Logger
}

// Importer runs customer imports; it is safe for concurrent use.
type Importer struct {
	store     Store
	defaultTZ string
	log       *slog.Logger
}

// New builds an Importer.
func New(cfg Config) *Importer {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Importer{store: cfg.Store, defaultTZ: cfg.DefaultTimezone, log: log}
}

// Options describe one import.
type Options struct {
	Format Format
	// OnConflict decides about phones already stored; it must be
	// domain.ImportSkip or domain.ImportUpdate.
	OnConflict domain.ImportConflict
	// Log, when set, receives the import's log lines, e.g. a logger that
	// carries the request id.
	Log *slog.Logger
}

// Result is the outcome of a completed import.
type Result struct {
	Inserted        int        `json:"inserted" example:"9997"`
	Updated         int        `json:"updated" example:"0"`
	Skipped         int        `json:"skipped" example:"1"`
	Rejected        int        `json:"rejected" example:"2"`
	Errors          []RowError `json:"errors"`
	ErrorsTruncated bool       `json:"errors_truncated" example:"false"`
}

// RowError is one rejected row of an import.
type RowError struct {
	Line  int64  `json:"line" example:"3"`
	Phone string `json:"phone" example:"7916123"`
	Error string `json:"error" example:"phone must match 7XXXXXXXXXX (11 digits starting with 7)"`
}

// Run imports the customers of body. Bad rows are rejected in the Result
// and the rest goes on. Failures are *domain.Error values: bad options,
// an empty upload or a malformed CSV header are refused before anything is
// stored; an import that stops later (a body read failing, with a domain
// error of its own or otherwise, an overlong CSV record, the store
// failing) says in its message which lines were stored. A cancelled ctx
// returns its context.Canceled as is.
func (im *Importer) Run(ctx context.Context, opts Options, body io.Reader) (Result, error) {
	start := time.Now()
	if opts.Format != CSV && opts.Format != NDJSON {
		// A caller's mistake, not the client's.
		return Result{}, fmt.Errorf("customer import: unknown format %q", opts.Format)
	}
	if !opts.OnConflict.Valid() {
		return Result{}, domain.Invalid(map[string]string{"on_conflict": "must be skip or update"})
	}
	records, err := newRecordReader(opts.Format, body)
	if err != nil {
		return Result{}, readProblem(err)
	}
	log := opts.Log
	if log == nil {
		log = im.log
	}
	j := &job{
		store: im.store, mode: opts.OnConflict, defaultTZ: im.defaultTZ, log: log,
		debug: log.Enabled(ctx, slog.LevelDebug), zones: map[string]string{}, phones: newPhoneSet(),
		errors: []RowError{}, done: map[int]mark{},
	}
	if err := j.run(ctx, records); err != nil {
		return Result{}, j.stopped(ctx, err)
	}
	if j.inserted+j.updated >= analyzeRows {
		if err := im.store.Analyze(ctx); err != nil {
			log.Warn("refreshing statistics after customer import", "error", err.Error())
		}
	}
	res := Result{
		Inserted: j.inserted, Updated: j.updated, Skipped: j.skipped,
		Rejected: j.rejected, Errors: j.errors, ErrorsTruncated: j.truncated,
	}
	log.Info("customers imported", "format", string(opts.Format), "on_conflict", string(opts.OnConflict),
		"inserted", res.Inserted, "updated", res.Updated, "skipped", res.Skipped,
		"rejected", res.Rejected, "lines", j.lastLine, "duration_ms", time.Since(start).Milliseconds())
	return res, nil
}

// readProblem turns a failure to read the upload into a domain error. A
// reader's own domain error (a body over its limit) is kept.
func readProblem(err error) error {
	var de *domain.Error
	if errors.As(err, &de) || errors.Is(err, context.Canceled) {
		return err
	}
	return &domain.Error{Code: domain.CodeInvalid, Message: "could not read request body", Err: err}
}

// stopped logs an import that stopped early and returns its error, which
// tells which lines are stored so the rest can be sent again.
func (j *job) stopped(ctx context.Context, err error) error {
	progress := j.progress()
	var de *domain.Error
	switch {
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		j.log.Warn("customer import stopped: the client went away", "progress", progress)
		return err
	case !errors.As(err, &de) || de.Code == domain.CodeInternal:
		// The caller logs internal errors with their cause.
		return &domain.Error{Code: domain.CodeInternal, Message: "internal error; " + progress, Err: err}
	default:
		j.log.Warn("customer import stopped", "error", err.Error(), "progress", progress)
		return &domain.Error{Code: de.Code, Message: de.Message + "; " + progress, Fields: de.Fields, Err: de.Err}
	}
}
