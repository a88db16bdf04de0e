package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"mailing/api-service/internal/jsoninput"
	"mailing/shared/domain"
)

// record is one parsed record of an upload, before validation.
type record struct {
	line    int64
	input   domain.CustomerInput
	phone   string // as sent, for error reports
	problem string // set when the record could not be read as a customer
}

// recordReader yields the records of an upload; io.EOF after the last one.
// Any other error ends the import.
type recordReader interface {
	next(rec *record) error
}

func newRecordReader(format Format, body io.Reader) (recordReader, error) {
	if format == CSV {
		return newCSVReader(body)
	}
	return &ndjsonReader{r: bufio.NewReaderSize(body, readBuffer)}, nil
}

// ndjsonReader reads one JSON object per line.
type ndjsonReader struct {
	r    *bufio.Reader
	line int64
	buf  []byte
}

func (n *ndjsonReader) next(rec *record) error {
	for {
		raw, tooLong, err := n.readLine()
		if err != nil {
			return err
		}
		n.line++
		*rec = record{line: n.line}
		if tooLong {
			rec.problem = fmt.Sprintf("line is longer than %d bytes", maxRecord)
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
// until the next call. A line over maxRecord is skipped and reported
// as too long; the error is io.EOF only when no line is left.
func (n *ndjsonReader) readLine() ([]byte, bool, error) {
	n.buf = n.buf[:0]
	tooLong := false
	for {
		chunk, err := n.r.ReadSlice('\n')
		switch {
		case tooLong:
		case len(n.buf)+len(chunk) > maxRecord:
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

// decodeLine reads one NDJSON line into rec with the rules of a single
// customer's JSON: unknown and server-owned fields are refused.
func decodeLine(raw []byte, rec *record) {
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

// csvColumns are the positions of the known columns, -1 when absent, and
// the attribute columns: every other one.
type csvColumns struct {
	phone, phoneCode, timezone, tags int
	attributes                       []csvAttribute
}

// csvAttribute is a column whose cells are values of one attribute.
type csvAttribute struct {
	index int
	key   string
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
	limit := &recordLimit{r: body, max: maxRecord + readBuffer}
	r := csv.NewReader(bufio.NewReaderSize(limit, readBuffer))
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

// parseCSVHeader maps column names to positions: the known ones in any
// order and case, every other one an attribute of that name (trimmed,
// case kept).
func parseCSVHeader(header []string) (csvColumns, error) {
	cols := csvColumns{phone: -1, phoneCode: -1, timezone: -1, tags: -1}
	slots := map[string]*int{"phone": &cols.phone, "phone_code": &cols.phoneCode, "timezone": &cols.timezone, "tags": &cols.tags}
	const want = "the first line must name the columns: phone (required), phone_code, timezone, tags, and any attributes"
	attributes := map[string]bool{}
	for i, name := range header {
		if i == 0 {
			name = strings.TrimPrefix(name, "\uFEFF") // spreadsheet byte order mark
		}
		name = strings.TrimSpace(name)
		slot, known := slots[strings.ToLower(name)]
		switch {
		case known && *slot >= 0, !known && attributes[name]:
			return cols, domain.Errorf(domain.CodeInvalid, "CSV header: column %q appears twice; %s", clip(name), want)
		case known:
			*slot = i
		default:
			if p := domain.ValidateAttributeKey(name); p != "" {
				return cols, domain.Errorf(domain.CodeInvalid, "CSV header: column %q is neither a known column nor an attribute name, which %s; %s", clip(name), p, want)
			}
			attributes[name] = true
			cols.attributes = append(cols.attributes, csvAttribute{index: i, key: name})
		}
	}
	if cols.phone < 0 {
		return cols, domain.Errorf(domain.CodeInvalid, "CSV header: no phone column; %s", want)
	}
	return cols, nil
}

func (c *csvReader) next(rec *record) error {
	c.limit.reset()
	fields, err := c.r.Read()
	var pe *csv.ParseError
	switch {
	case errors.As(err, &pe):
		*rec = record{line: int64(pe.StartLine)}
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
		return domain.Errorf(domain.CodeInvalid, "the CSV record after line %d is longer than %d bytes", c.lastLine, maxRecord)
	case err != nil:
		return err
	}
	line, _ := c.r.FieldPos(0)
	c.lastLine = int64(line)
	*rec = record{line: int64(line), phone: fields[c.cols.phone]}
	rec.input.Phone = &rec.phone
	if v := c.optional(fields, c.cols.phoneCode); v != "" {
		rec.input.PhoneCode = &v
	}
	if v := c.optional(fields, c.cols.timezone); v != "" {
		rec.input.Timezone = &v
	}
	tags := splitTags(c.optional(fields, c.cols.tags))
	rec.input.Tags = &tags
	if len(c.cols.attributes) > 0 {
		rec.input.Attributes = domain.SetAttributes(c.attributes(fields))
	}
	return nil
}

// attributes reads a record's attribute cells: strings as written (a CSV
// cell has no type, and "007" or "1e3" must stay as they are), empty
// cells left out.
func (c *csvReader) attributes(fields []string) domain.Attributes {
	var out domain.Attributes
	for _, a := range c.cols.attributes {
		if v := fields[a.index]; v != "" {
			if out == nil {
				out = make(domain.Attributes, len(c.cols.attributes))
			}
			out[a.key] = v
		}
	}
	return out
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
