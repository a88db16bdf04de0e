package importer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"mailing/shared/domain"
	"mailing/shared/logging"
)

// job is the state of one import. The caller's goroutine reads, validates
// and batches records; sessions writers store the batches side by side,
// each batch in one transaction on the writer's own connection. Repeated
// phones are caught while reading, so batches never share a phone and the
// writers cannot collide.
type job struct {
	store     Store
	mode      domain.ImportConflict
	defaultTZ string
	log       *slog.Logger
	debug     bool

	// Reader's state.
	//
	// zones memoizes domain.ValidateTimezone: loading a zone reads zone
	// data on every call, which would dominate the cost of a large import.
	zones     map[string]string
	phones    *phoneSet
	batch     batch
	batches   int   // batches handed to the writers
	records   int64 // records read, valid or not
	lastLine  int64 // line of the last record read
	rejected  int
	errors    []RowError
	truncated bool

	// Writers' state, guarded by mu.
	mu                         sync.Mutex
	inserted, updated, skipped int
	done                       map[int]mark // committed batches by number
}

// batch is what one transaction writes: the valid rows among a run of
// records.
type batch struct {
	seq  int
	rows []domain.ImportRow
	mark mark
}

// mark is where a batch ends and how many of its records were rejected;
// progress reports are built from the marks of committed batches.
type mark struct {
	lastLine int64
	rejected int
}

// run reads every record and writes the batches; it returns the first
// error of either side. Batches read completely before a read error are
// still written.
func (j *job) run(ctx context.Context, records recordReader) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan batch, sessions)
	errs := make([]error, sessions)
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Go(func() { errs[i] = j.writeAll(ctx, batches, cancel) })
	}
	readErr := j.readAll(ctx, records, batches)
	close(batches)
	wg.Wait()
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return cause // a writer failed
	}
	if readErr != nil {
		return readErr
	}
	return errors.Join(errs...)
}

func (j *job) readAll(ctx context.Context, records recordReader, batches chan<- batch) error {
	var rec record
	for {
		err := records.next(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return readProblem(err)
		}
		j.add(&rec)
		if len(j.batch.rows)+j.batch.mark.rejected >= batchSize {
			if err := j.send(ctx, batches); err != nil {
				return err
			}
		}
	}
	if j.records == 0 {
		return domain.Errorf(domain.CodeInvalid, "the upload holds no customers")
	}
	return j.send(ctx, batches)
}

// send hands the current batch to the writers and starts a new one.
func (j *job) send(ctx context.Context, batches chan<- batch) error {
	b := j.batch
	j.batch = batch{}
	if b.mark.lastLine == 0 {
		return nil
	}
	b.seq = j.batches
	j.batches++
	select {
	case batches <- b:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// add validates one record into the current batch.
func (j *job) add(rec *record) {
	j.records++
	j.lastLine = rec.line
	j.batch.mark.lastLine = rec.line
	cust, problem := j.validate(rec)
	if problem == "" && !j.phones.add(cust.Phone) {
		problem = "duplicate phone in upload"
	}
	if problem != "" {
		j.reject(RowError{Line: rec.line, Phone: clip(rec.phone), Error: problem})
		return
	}
	if j.batch.rows == nil {
		j.batch.rows = make([]domain.ImportRow, 0, batchSize)
	}
	j.batch.rows = append(j.batch.rows, domain.ImportRow{Line: rec.line, Customer: cust})
}

// reject counts a rejected record and lists it while there is room.
func (j *job) reject(e RowError) {
	j.rejected++
	j.batch.mark.rejected++
	if len(j.errors) < maxErrors {
		j.errors = append(j.errors, e)
	} else {
		j.truncated = true
	}
}

// validate applies the rules of POST /api/customers to one record.
func (j *job) validate(rec *record) (domain.Customer, string) {
	if rec.problem != "" {
		return domain.Customer{}, rec.problem
	}
	in := rec.input
	if in.Phone == nil {
		return domain.Customer{}, "phone is required"
	}
	zone := j.defaultTZ
	if in.Timezone != nil {
		zone = *in.Timezone
	}
	zoneProblem := j.checkZone(zone)
	// The zone was checked above; "UTC" is the one name Apply checks
	// without loading zone data.
	utc := "UTC"
	in.Timezone = &utc
	cust, err := in.Apply(domain.Customer{}, j.defaultTZ)
	fields := domain.FieldErrors{}
	var de *domain.Error
	if errors.As(err, &de) {
		for k, v := range de.Fields {
			fields.Add(k, v)
		}
	} else if err != nil {
		return domain.Customer{}, err.Error()
	}
	if zoneProblem != "" {
		fields.Add("timezone", zoneProblem)
	}
	if len(fields) > 0 {
		return domain.Customer{}, fieldsText(fields)
	}
	cust.Timezone = zone
	return cust, ""
}

// maxZoneMemo bounds the memo so that a flood of distinct bad names cannot
// grow it without limit.
const maxZoneMemo = 1024

func (j *job) checkZone(name string) string {
	if p, ok := j.zones[name]; ok {
		return p
	}
	p := domain.ValidateTimezone(name)
	if len(j.zones) < maxZoneMemo {
		j.zones[name] = p
	}
	return p
}

// writeAll is one writer: it stores batches on its own connection until
// the channel closes or a batch fails, which stops the others through
// cancel.
func (j *job) writeAll(ctx context.Context, batches <-chan batch, cancel context.CancelCauseFunc) error {
	var w BatchWriter
	defer func() {
		if w != nil {
			if err := w.Close(); err != nil {
				j.log.Warn("closing customer import", "error", err.Error())
			}
		}
	}()
	for b := range batches {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		var out domain.ImportBatch
		var err error
		if len(b.rows) > 0 {
			if w == nil {
				// Reserved on first use, so uploads refused early
				// never take a connection.
				if w, err = j.store.StartImport(ctx, j.mode); err != nil {
					w = nil // not a typed nil left to close
				}
			}
			if err == nil {
				out, err = w.Write(ctx, b.rows)
			}
		}
		if err != nil {
			cancel(err)
			return err
		}
		j.logWritten(ctx, out.Written)
		j.commit(b, out)
	}
	return nil
}

// commit records a stored batch.
func (j *job) commit(b batch, out domain.ImportBatch) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.inserted += out.Inserted
	j.updated += out.Updated
	j.skipped += out.Skipped
	j.done[b.seq] = b.mark
}

// logWritten logs one debug line per written customer; the check keeps a
// million-row import from formatting a million discarded lines.
func (j *job) logWritten(ctx context.Context, written []domain.ImportedCustomer) {
	if !j.debug {
		return
	}
	for _, w := range written {
		action := "updated"
		if w.Inserted {
			action = "inserted"
		}
		j.log.LogAttrs(ctx, slog.LevelDebug, "customer imported",
			slog.Int64(logging.CustomerID, w.ID), slog.Int64("line", w.Line), slog.String("action", action))
	}
}

// progress says what an interrupted import stored: every line up to the
// end of the first batch that is not committed, and maybe some batches
// after it (writers work side by side). Sending the rest again with
// on_conflict=skip is safe either way.
func (j *job) progress() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var prefix, last int64
	rejected := 0
	contiguous := true
	for seq := 0; seq < j.batches; seq++ {
		m, ok := j.done[seq]
		if !ok {
			contiguous = false
			continue
		}
		rejected += m.rejected
		last = m.lastLine
		if contiguous {
			prefix = m.lastLine
		}
	}
	if last == 0 {
		return "nothing was stored"
	}
	counts := fmt.Sprintf("inserted %d, updated %d, skipped %d, rejected %d", j.inserted, j.updated, j.skipped, rejected)
	switch {
	case prefix == 0:
		return fmt.Sprintf("lines 1-%d were stored in part (%s); nothing after line %d was stored", last, counts, last)
	case prefix == last:
		return fmt.Sprintf("lines 1-%d were processed and stored (%s); nothing after line %d was stored", last, counts, last)
	}
	return fmt.Sprintf("lines 1-%d were processed and stored, lines %d-%d in part (%s); nothing after line %d was stored",
		prefix, prefix+1, last, counts, last)
}

// fieldsText renders field problems as one line, e.g. "phone must match ...".
func fieldsText(fields domain.FieldErrors) string {
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + " " + fields[k]
	}
	return strings.Join(parts, "; ")
}

// clip bounds a phone echoed back in an error report.
func clip(s string) string {
	const max = 64
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}
