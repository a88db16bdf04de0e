package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"mailing/api-service/internal/jsoninput"
	"mailing/shared/domain"
	"mailing/shared/logging"
	"mailing/shared/postgres"
)

const (
	// importBatchSize records are written per transaction: large enough
	// that per-statement costs vanish, small enough that a failure loses
	// little and a batch's staging rows stay in memory.
	importBatchSize = 10000
	// defaultImportMaxBytes bounds an import body unless the server is
	// configured otherwise.
	defaultImportMaxBytes = 512 << 20
	// maxImportErrors bounds the rejected rows listed in an answer; all of
	// them are counted.
	maxImportErrors = 1000
	// maxImportRecord bounds one NDJSON line or CSV record, so that no
	// single row can make the server buffer the whole upload.
	maxImportRecord = 1 << 20
	// importReadBuffer is the read-ahead on the request body.
	importReadBuffer = 64 << 10
	// importSessions batches are written side by side, each on its own
	// connection: foreign key checks and index updates make writing cost
	// far more than reading, and one connection uses one database CPU.
	importSessions = 2
	// importAnalyzeRows written rows make an import refresh the planner
	// statistics before it answers, so that lists are planned for the new
	// size of the directory right away.
	importAnalyzeRows = 50000
)

// ImportResult is the answer of a customer import.
type ImportResult struct {
	Inserted        int           `json:"inserted" example:"9997"`
	Updated         int           `json:"updated" example:"0"`
	Skipped         int           `json:"skipped" example:"1"`
	Rejected        int           `json:"rejected" example:"2"`
	Errors          []ImportError `json:"errors"`
	ErrorsTruncated bool          `json:"errors_truncated" example:"false"`
}

// ImportError is one rejected row of an import.
type ImportError struct {
	Line  int64  `json:"line" example:"3"`
	Phone string `json:"phone" example:"7916123"`
	Error string `json:"error" example:"phone must match 7XXXXXXXXXX (11 digits starting with 7)"`
}

// importCustomers godoc
//
//	@Summary		Import customers in bulk
//	@Description	Streams a large upload of customers; the format follows Content-Type. Each row has the fields of POST /api/customers: phone (required), phone_code (default: digits 2–4 of the phone), timezone (default: the service's DEFAULT_TIMEZONE), tags.
//	@Description	**NDJSON** (`application/x-ndjson` or `application/jsonl`): one JSON object per line; unknown and server-owned fields reject that line; blank lines are ignored. Example:
//	@Description	```
//	@Description	{"phone": "79161234567", "tags": ["vip", "new"]}
//	@Description	{"phone": "79031234567", "phone_code": "903", "timezone": "Asia/Yekaterinburg"}
//	@Description	```
//	@Description	**CSV** (`text/csv`): a header row naming the columns (phone required; phone_code, timezone, tags optional, any order), then one customer per record; empty phone_code/timezone take the defaults; tags are `;`-separated (empty items are ignored). Example:
//	@Description	```
//	@Description	phone,phone_code,timezone,tags
//	@Description	79161234567,,,vip;new
//	@Description	79031234567,903,Asia/Yekaterinburg,
//	@Description	```
//	@Description	Rows are validated like single customers; a bad row is rejected with its line (1-based physical line; the CSV header is line 1) and reason, and the rest goes on. Only the first 1000 rejected rows are listed (errors_truncated tells), all are counted.
//	@Description	A phone that appears again later in the same upload is rejected on its later lines as "duplicate phone in upload"; the first valid occurrence counts.
//	@Description	on_conflict decides about phones already stored: skip (default) leaves those customers untouched; update sets their phone_code and timezone and replaces their tags with the row's (no tags when the row has none). New phone codes, time zones and tags are registered.
//	@Description	Rows are written in batches of 10000 records, each batch in one transaction, two batches side by side. If the import stops (body over the limit, server or connection failure), each batch is stored whole or not at all: every line before the batches in progress is stored, those batches may or may not be, and the error answer says up to which line rows were stored. Sending the rest again with on_conflict=skip is safe.
//	@Description	An NDJSON line over 1 MiB is rejected; a CSV record over 1 MiB stops the import (400). The body may be up to 512 MiB (413 beyond, with the rows before the limit already stored). An empty upload and a CSV without a valid header are refused with 400; other content types with 415. After an import that wrote 50000 rows or more, the planner statistics of the customer tables are refreshed before the answer.
//	@Tags			customers
//	@Accept			text/csv,application/x-ndjson,application/jsonl
//	@Produce		json
//	@Param			on_conflict	query		string		false	"what to do with phones already stored"	Enums(skip, update)	default(skip)
//	@Param			customers	body		string		true	"CSV or NDJSON rows"
//	@Success		200			{object}	ImportResult
//	@Failure		400			{object}	ErrorBody	"empty upload, bad CSV header, bad on_conflict"
//	@Failure		401			{object}	ErrorBody
//	@Failure		413			{object}	ErrorBody	"body over the limit; the message says which lines were stored"
//	@Failure		415			{object}	ErrorBody	"unsupported Content-Type"
//	@Security		OAuth2Password
//	@Router			/api/customers/import [post]
func (s *Server) importCustomers(c *gin.Context) {
	start := time.Now()
	format := strings.ToLower(c.ContentType())
	if !importFormat(format) {
		c.AbortWithStatusJSON(http.StatusUnsupportedMediaType, ErrorBody{Error: ErrorDetail{
			Code:    "unsupported_media_type",
			Message: "Content-Type must be text/csv, application/x-ndjson or application/jsonl",
		}})
		return
	}
	mode := domain.ImportConflict(c.DefaultQuery("on_conflict", string(domain.ImportSkip)))
	if mode != domain.ImportSkip && mode != domain.ImportUpdate {
		writeError(c, domain.Invalid(map[string]string{"on_conflict": "must be skip or update"}))
		return
	}
	body := http.MaxBytesReader(c.Writer, c.Request.Body, s.importMaxBytes)
	records, err := newRecordReader(format, body)
	if err != nil {
		writeError(c, s.readProblem(err))
		return
	}
	run := &importRun{
		db: s.db, mode: mode, defaultTZ: s.defaultTZ, log: logger(c),
		readProblem: s.readProblem, zones: map[string]string{}, phones: newPhoneSet(),
		errors: []ImportError{}, done: map[int]importMark{},
	}
	run.debug = run.log.Enabled(c.Request.Context(), slog.LevelDebug)
	if err := run.run(c.Request.Context(), records); err != nil {
		answerImportFailure(c, run, err)
		return
	}
	if run.inserted+run.updated >= importAnalyzeRows {
		if err := s.db.AnalyzeCustomers(c.Request.Context()); err != nil {
			run.log.Warn("refreshing statistics after customer import", "error", err.Error())
		}
	}
	res := ImportResult{
		Inserted: run.inserted, Updated: run.updated, Skipped: run.skipped,
		Rejected: run.rejected, Errors: run.errors, ErrorsTruncated: run.truncated,
	}
	s.metrics.importRows(res)
	run.log.Info("customers imported", "format", format, "on_conflict", string(mode),
		"inserted", res.Inserted, "updated", res.Updated, "skipped", res.Skipped,
		"rejected", res.Rejected, "lines", run.lastLine, "duration_ms", time.Since(start).Milliseconds())
	c.JSON(http.StatusOK, res)
}

// importFormat reports whether a media type is one the import reads.
func importFormat(mediaType string) bool {
	switch mediaType {
	case "text/csv", "application/x-ndjson", "application/jsonl":
		return true
	}
	return false
}

// readProblem turns a failure to read the body into a domain error.
func (s *Server) readProblem(err error) error {
	var tooBig *http.MaxBytesError
	var de *domain.Error
	switch {
	case errors.As(err, &tooBig):
		return domain.Errorf(domain.CodeTooLarge, "request body exceeds %d bytes", s.importMaxBytes)
	case errors.As(err, &de), errors.Is(err, context.Canceled):
		return err
	}
	return &domain.Error{Code: domain.CodeInvalid, Message: "could not read request body", Err: err}
}

// answerImportFailure answers an import that stopped early, telling the
// client which lines are stored so it can send the rest again.
func answerImportFailure(c *gin.Context, run *importRun, err error) {
	progress := run.progress()
	var de *domain.Error
	switch {
	case errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil:
		run.log.Warn("customer import stopped: the client went away", "progress", progress)
		writeError(c, err)
	case !errors.As(err, &de) || de.Code == domain.CodeInternal:
		run.log.Error("customer import failed", "error", err.Error(), "progress", progress)
		c.AbortWithStatusJSON(http.StatusInternalServerError, ErrorBody{Error: ErrorDetail{
			Code: string(domain.CodeInternal), Message: "internal error; " + progress,
		}})
	default:
		run.log.Warn("customer import stopped", "error", err.Error(), "progress", progress)
		writeError(c, &domain.Error{Code: de.Code, Message: de.Message + "; " + progress, Fields: de.Fields, Err: de.Err})
	}
}

// importRun is the state of one import request. The request's goroutine
// reads, validates and batches records; importSessions writers store the
// batches side by side, each batch in one transaction on the writer's own
// connection. Repeated phones are caught while reading, so batches never
// share a phone and the writers cannot collide.
type importRun struct {
	db          *postgres.DB
	mode        domain.ImportConflict
	defaultTZ   string
	log         *slog.Logger
	debug       bool
	readProblem func(error) error

	// Reader's state.
	//
	// zones memoizes domain.ValidateTimezone: loading a zone reads zone
	// data on every call, which would dominate the cost of a large import.
	zones     map[string]string
	phones    *phoneSet
	batch     importBatch
	batches   int   // batches handed to the writers
	records   int64 // records read, valid or not
	lastLine  int64 // line of the last record read
	rejected  int
	errors    []ImportError
	truncated bool

	// Writers' state, guarded by mu.
	mu                         sync.Mutex
	inserted, updated, skipped int
	done                       map[int]importMark // committed batches by number
}

// importBatch is what one transaction writes: the valid rows among a run of
// records.
type importBatch struct {
	seq  int
	rows []domain.ImportRow
	mark importMark
}

// importMark is where a batch ends and how many of its records were
// rejected; progress reports are built from the marks of committed batches.
type importMark struct {
	lastLine int64
	rejected int
}

// run reads every record and writes the batches; it returns the first
// error of either side. Batches read completely before a read error are
// still written.
func (r *importRun) run(ctx context.Context, records recordReader) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan importBatch, importSessions)
	errs := make([]error, importSessions)
	var wg sync.WaitGroup
	for i := range importSessions {
		wg.Go(func() { errs[i] = r.writeAll(ctx, batches, cancel) })
	}
	readErr := r.readAll(ctx, records, batches)
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

func (r *importRun) readAll(ctx context.Context, records recordReader, batches chan<- importBatch) error {
	var rec importRecord
	for {
		err := records.next(&rec)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return r.readProblem(err)
		}
		r.add(&rec)
		if len(r.batch.rows)+r.batch.mark.rejected >= importBatchSize {
			if err := r.send(ctx, batches); err != nil {
				return err
			}
		}
	}
	if r.records == 0 {
		return domain.Errorf(domain.CodeInvalid, "the upload holds no customers")
	}
	return r.send(ctx, batches)
}

// send hands the current batch to the writers and starts a new one.
func (r *importRun) send(ctx context.Context, batches chan<- importBatch) error {
	b := r.batch
	r.batch = importBatch{}
	if b.mark.lastLine == 0 {
		return nil
	}
	b.seq = r.batches
	r.batches++
	select {
	case batches <- b:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// add validates one record into the current batch.
func (r *importRun) add(rec *importRecord) {
	r.records++
	r.lastLine = rec.line
	r.batch.mark.lastLine = rec.line
	cust, problem := r.validate(rec)
	if problem == "" && !r.phones.add(cust.Phone) {
		problem = "duplicate phone in upload"
	}
	if problem != "" {
		r.reject(ImportError{Line: rec.line, Phone: clip(rec.phone), Error: problem})
		return
	}
	if r.batch.rows == nil {
		r.batch.rows = make([]domain.ImportRow, 0, importBatchSize)
	}
	r.batch.rows = append(r.batch.rows, domain.ImportRow{Line: rec.line, Customer: cust})
}

// reject counts a rejected record and lists it while there is room.
func (r *importRun) reject(e ImportError) {
	r.rejected++
	r.batch.mark.rejected++
	if len(r.errors) < maxImportErrors {
		r.errors = append(r.errors, e)
	} else {
		r.truncated = true
	}
}

// validate applies the rules of POST /api/customers to one record.
func (r *importRun) validate(rec *importRecord) (domain.Customer, string) {
	if rec.problem != "" {
		return domain.Customer{}, rec.problem
	}
	in := rec.input
	if in.Phone == nil {
		return domain.Customer{}, "phone is required"
	}
	zone := r.defaultTZ
	if in.Timezone != nil {
		zone = *in.Timezone
	}
	zoneProblem := r.checkZone(zone)
	// The zone was checked above; "UTC" is the one name Apply checks
	// without loading zone data.
	utc := "UTC"
	in.Timezone = &utc
	cust, err := in.Apply(domain.Customer{}, r.defaultTZ)
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

func (r *importRun) checkZone(name string) string {
	if p, ok := r.zones[name]; ok {
		return p
	}
	p := domain.ValidateTimezone(name)
	if len(r.zones) < maxZoneMemo {
		r.zones[name] = p
	}
	return p
}

// writeAll is one writer: it stores batches on its own connection until
// the channel closes or a batch fails, which stops the others through
// cancel.
func (r *importRun) writeAll(ctx context.Context, batches <-chan importBatch, cancel context.CancelCauseFunc) error {
	var im *postgres.Importer
	defer func() {
		if im != nil {
			if err := im.Close(); err != nil {
				r.log.Warn("closing customer import", "error", err.Error())
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
			if im == nil {
				// Reserved on first use, so uploads refused early
				// never take a connection.
				im, err = r.db.StartImport(ctx, r.mode)
			}
			if err == nil {
				out, err = im.Write(ctx, b.rows)
			}
		}
		if err != nil {
			cancel(err)
			return err
		}
		r.logWritten(ctx, out.Written)
		r.commit(b, out)
	}
	return nil
}

// commit records a stored batch.
func (r *importRun) commit(b importBatch, out domain.ImportBatch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inserted += out.Inserted
	r.updated += out.Updated
	r.skipped += out.Skipped
	r.done[b.seq] = b.mark
}

// logWritten logs one debug line per written customer; the check keeps a
// million-row import from formatting a million discarded lines.
func (r *importRun) logWritten(ctx context.Context, written []domain.ImportedCustomer) {
	if !r.debug {
		return
	}
	for _, w := range written {
		action := "updated"
		if w.Inserted {
			action = "inserted"
		}
		r.log.LogAttrs(ctx, slog.LevelDebug, "customer imported",
			slog.Int64(logging.CustomerID, w.ID), slog.Int64("line", w.Line), slog.String("action", action))
	}
}

// progress says what an interrupted import stored: every line up to the
// end of the first batch that is not committed, and maybe some batches
// after it (writers work side by side). Sending the rest again with
// on_conflict=skip is safe either way.
func (r *importRun) progress() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var prefix, last int64
	rejected := 0
	contiguous := true
	for seq := 0; seq < r.batches; seq++ {
		m, ok := r.done[seq]
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
	counts := fmt.Sprintf("inserted %d, updated %d, skipped %d, rejected %d", r.inserted, r.updated, r.skipped, rejected)
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

// importRecord is one parsed record of an upload, before validation.
type importRecord struct {
	line    int64
	input   domain.CustomerInput
	phone   string // as sent, for error reports
	problem string // set when the record could not be read as a customer
}

// recordReader yields the records of an upload; io.EOF after the last one.
// Any other error ends the import.
type recordReader interface {
	next(rec *importRecord) error
}

func newRecordReader(format string, body io.Reader) (recordReader, error) {
	if format == "text/csv" {
		return newCSVReader(body)
	}
	return &ndjsonReader{r: bufio.NewReaderSize(body, importReadBuffer)}, nil
}

// ndjsonReader reads one JSON object per line.
type ndjsonReader struct {
	r    *bufio.Reader
	line int64
	buf  []byte
}

func (n *ndjsonReader) next(rec *importRecord) error {
	for {
		raw, tooLong, err := n.readLine()
		if err != nil {
			return err
		}
		n.line++
		*rec = importRecord{line: n.line}
		if tooLong {
			rec.problem = fmt.Sprintf("line is longer than %d bytes", maxImportRecord)
			return nil
		}
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		decodeLine(raw, rec)
		return nil
	}
}

// readLine returns the next line without its newline. The slice is valid
// until the next call. A line over maxImportRecord is skipped and reported
// as too long; the error is io.EOF only when no line is left.
func (n *ndjsonReader) readLine() ([]byte, bool, error) {
	n.buf = n.buf[:0]
	tooLong := false
	for {
		chunk, err := n.r.ReadSlice('\n')
		switch {
		case tooLong:
		case len(n.buf)+len(chunk) > maxImportRecord:
			tooLong, n.buf = true, n.buf[:0]
		case err == nil && len(n.buf) == 0:
			return chunk, false, nil // the common case: no copy
		default:
			n.buf = append(n.buf, chunk...)
		}
		switch {
		case err == nil:
			return n.buf, tooLong, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(n.buf) == 0 && !tooLong {
				return nil, false, io.EOF
			}
			return n.buf, tooLong, nil
		default:
			return nil, false, err
		}
	}
}

// decodeLine reads one NDJSON line into rec with the rules of decodeJSON:
// unknown and server-owned fields are refused.
func decodeLine(raw []byte, rec *importRecord) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	err := dec.Decode(&rec.input)
	if rec.input.Phone != nil {
		rec.phone = *rec.input.Phone
	}
	switch {
	case err != nil:
		rec.problem = lineProblem(err)
	case len(bytes.TrimSpace(raw[dec.InputOffset():])) > 0:
		rec.problem = "line must hold exactly one JSON object"
	}
}

func lineProblem(err error) string {
	if field, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		field = strings.Trim(field, `"`)
		if jsoninput.ServerOwned(field) {
			return field + " is set by the server and cannot be given"
		}
		return fmt.Sprintf("unknown field %q", field)
	}
	var de *domain.Error
	if !errors.As(jsoninput.Problem(err), &de) {
		return "invalid JSON"
	}
	if len(de.Fields) > 0 {
		return fieldsText(de.Fields)
	}
	return de.Message
}

// csvColumns are the positions of the known columns; -1 when absent.
type csvColumns struct {
	phone, phoneCode, timezone, tags int
}

// csvReader reads a CSV upload whose first record names the columns.
type csvReader struct {
	r     *csv.Reader
	limit *recordLimit
	cols  csvColumns
	width int
	// lastLine is where the last record started, for reports about the next.
	lastLine int64
}

func newCSVReader(body io.Reader) (*csvReader, error) {
	limit := &recordLimit{r: body, max: maxImportRecord + importReadBuffer}
	r := csv.NewReader(bufio.NewReaderSize(limit, importReadBuffer))
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, domain.Errorf(domain.CodeInvalid, "the upload is empty")
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return nil, domain.Errorf(domain.CodeInvalid, "line 1: the CSV header is malformed: %v", pe.Err)
	}
	if err != nil {
		return nil, err
	}
	cols, err := parseCSVHeader(header)
	if err != nil {
		return nil, err
	}
	return &csvReader{r: r, limit: limit, cols: cols, width: len(header), lastLine: 1}, nil
}

// parseCSVHeader maps column names (any order, case-insensitive) to positions.
func parseCSVHeader(header []string) (csvColumns, error) {
	cols := csvColumns{phone: -1, phoneCode: -1, timezone: -1, tags: -1}
	slots := map[string]*int{"phone": &cols.phone, "phone_code": &cols.phoneCode, "timezone": &cols.timezone, "tags": &cols.tags}
	const want = "the first line must name the columns: phone,phone_code,timezone,tags (phone required)"
	for i, name := range header {
		if i == 0 {
			name = strings.TrimPrefix(name, "\uFEFF") // spreadsheet byte order mark
		}
		slot, ok := slots[strings.ToLower(strings.TrimSpace(name))]
		switch {
		case !ok:
			return cols, domain.Errorf(domain.CodeInvalid, "CSV header: unknown column %q; %s", clip(name), want)
		case *slot >= 0:
			return cols, domain.Errorf(domain.CodeInvalid, "CSV header: column %q appears twice; %s", clip(name), want)
		}
		*slot = i
	}
	if cols.phone < 0 {
		return cols, domain.Errorf(domain.CodeInvalid, "CSV header: no phone column; %s", want)
	}
	return cols, nil
}

func (c *csvReader) next(rec *importRecord) error {
	c.limit.reset()
	fields, err := c.r.Read()
	var pe *csv.ParseError
	switch {
	case errors.As(err, &pe):
		*rec = importRecord{line: int64(pe.StartLine)}
		c.lastLine = rec.line
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			rec.problem = fmt.Sprintf("has %d columns, the header has %d", len(fields), c.width)
			if c.cols.phone < len(fields) {
				rec.phone = fields[c.cols.phone]
			}
		} else {
			rec.problem = "malformed CSV: " + pe.Err.Error()
		}
		return nil
	case errors.Is(err, errRecordTooLong):
		return domain.Errorf(domain.CodeInvalid, "the CSV record after line %d is longer than %d bytes", c.lastLine, maxImportRecord)
	case err != nil:
		return err
	}
	line, _ := c.r.FieldPos(0)
	c.lastLine = int64(line)
	*rec = importRecord{line: int64(line), phone: fields[c.cols.phone]}
	rec.input.Phone = &rec.phone
	if v := c.optional(fields, c.cols.phoneCode); v != "" {
		rec.input.PhoneCode = &v
	}
	if v := c.optional(fields, c.cols.timezone); v != "" {
		rec.input.Timezone = &v
	}
	tags := splitTags(c.optional(fields, c.cols.tags))
	rec.input.Tags = &tags
	return nil
}

func (c *csvReader) optional(fields []string, i int) string {
	if i < 0 {
		return ""
	}
	return fields[i]
}

// splitTags splits a ;-separated list, ignoring empty items such as a
// trailing separator.
func splitTags(s string) []string {
	if strings.TrimSpace(s) == "" {
		return []string{}
	}
	parts := strings.Split(s, ";")
	out := parts[:0]
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			out = append(out, p)
		}
	}
	return out
}

// errRecordTooLong stops a CSV import: a record cannot be skipped safely
// because quoted fields may span lines.
var errRecordTooLong = errors.New("CSV record too long")

// recordLimit fails the body once one record has pulled more than max bytes
// from it; read-ahead makes the bound loose by one buffer.
type recordLimit struct {
	r      io.Reader
	n, max int
}

func (l *recordLimit) reset() { l.n = 0 }

func (l *recordLimit) Read(p []byte) (int, error) {
	if l.n > l.max {
		return 0, errRecordTooLong
	}
	n, err := l.r.Read(p)
	l.n += n
	return n, err
}
