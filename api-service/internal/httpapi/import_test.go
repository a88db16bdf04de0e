package httpapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"mailing/api-service/internal/httpapi"
)

// importAnswer mirrors importer.Result with exact JSON names.
type importAnswer struct {
	Inserted        int  `json:"inserted"`
	Updated         int  `json:"updated"`
	Skipped         int  `json:"skipped"`
	Rejected        int  `json:"rejected"`
	ErrorsTruncated bool `json:"errors_truncated"`
	Errors          []struct {
		Line  int64  `json:"line"`
		Phone string `json:"phone"`
		Error string `json:"error"`
	} `json:"errors"`
}

// importBody posts an upload and decodes a 200 answer.
func (b *bundle) importBody(query, contentType string, body any) importAnswer {
	b.t.Helper()
	resp, raw := b.raw("POST", "/api/customers/import"+query, body, contentType, b.token)
	if resp.StatusCode != http.StatusOK {
		b.t.Fatalf("import: status %d: %s", resp.StatusCode, raw)
	}
	var out importAnswer
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		b.t.Fatalf("import answer %s: %v", raw, err)
	}
	return out
}

// importFailure posts an upload that must fail with status and returns the
// error message.
func (b *bundle) importFailure(status int, query, contentType string, body any, code string) string {
	b.t.Helper()
	resp, raw := b.raw("POST", "/api/customers/import"+query, body, contentType, b.token)
	if resp.StatusCode != status {
		b.t.Fatalf("import: status %d, want %d: %s", resp.StatusCode, status, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		b.t.Fatalf("answer is not JSON: %s", raw)
	}
	wantError(b.t, out, code)
	return out["error"].(map[string]any)["message"].(string)
}

// wantRejected checks the listed errors: line → a substring of the reason.
func wantRejected(t *testing.T, got importAnswer, want map[int64]string) {
	t.Helper()
	if got.Rejected != len(want) || len(got.Errors) != len(want) {
		t.Fatalf("rejected %d, listed %d, want %d: %+v", got.Rejected, len(got.Errors), len(want), got.Errors)
	}
	for i, e := range got.Errors {
		if i > 0 && got.Errors[i-1].Line >= e.Line {
			t.Fatalf("errors not in line order: %+v", got.Errors)
		}
		reason, ok := want[e.Line]
		if !ok || !strings.Contains(e.Error, reason) {
			t.Errorf("line %d: error %q, want one containing %q", e.Line, e.Error, reason)
		}
	}
}

// stored returns every customer as "phone code zone tag;tag", sorted.
func (b *bundle) stored() []string {
	b.t.Helper()
	rows, err := b.db.SQL().Query(`SELECT c.phone || ' ' || c.phone_code || ' ' || c.timezone || ' ' ||
		COALESCE((SELECT string_agg(t.name, ';' ORDER BY t.name) FROM customer_tags ct JOIN tags t ON t.id = ct.tag_id
		          WHERE ct.customer_id = c.id), '')
		FROM customers c ORDER BY c.phone`)
	if err != nil {
		b.t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			b.t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		b.t.Fatal(err)
	}
	return out
}

func wantStored(t *testing.T, got []string, want ...string) {
	t.Helper()
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("stored customers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestImportNDJSON(t *testing.T) {
	b := setup(t)
	body := strings.Join([]string{
		`{"phone":"79160000001","tags":["vip"," new "]}`,
		`{"phone":"7916"}`,
		``,
		`{"phone":"79160000002","phone_code":"91"}`,
		`{"phone":"79160000003","timezone":"Mars/Olympus"}`,
		`{"phone":"79160000004","nick":"x"}`,
		`{"phone":"79160000005","id":5}`,
		`{"phone":"79160000006",`,
		`{"phone":"79030000007","phone_code":"903","timezone":"Asia/Tokyo","tags":["new"]}`,
		`{"phone":"79160000001","timezone":"UTC"}`,
		`{"phone":"79160000008"} {"phone":"79160000009"}`,
		`{"timezone":"UTC"}`,
		`{"phone":79160000010}`,
		"\t",
		`{"phone":"79250000011","timezone":"Asia/Yekaterinburg"}`, // no final newline
	}, "\n")
	got := b.importBody("", "application/x-ndjson", body)
	if got.Inserted != 3 || got.Updated != 0 || got.Skipped != 0 || got.ErrorsTruncated {
		t.Fatalf("counts: %+v", got)
	}
	wantRejected(t, got, map[int64]string{
		2:  "phone must match",
		4:  "phone_code must be exactly 3 digits",
		5:  "timezone must be an IANA time zone",
		6:  `unknown field "nick"`,
		7:  "id is set by the server",
		8:  "invalid JSON",
		10: "duplicate phone in upload",
		11: "exactly one JSON object",
		12: "phone is required",
		13: "phone must be a string",
	})
	if got.Errors[0].Phone != "7916" || got.Errors[6].Phone != "79160000001" {
		t.Fatalf("rejected rows must echo their phone: %+v", got.Errors)
	}
	wantStored(t, b.stored(),
		"79160000001 916 Europe/Moscow new;vip",
		"79030000007 903 Asia/Tokyo new",
		"79250000011 925 Asia/Yekaterinburg ",
	)

	// The same upload again, under the other NDJSON name: every valid row
	// is now an existing phone.
	again := b.importBody("?on_conflict=skip", "application/jsonl; charset=utf-8", body)
	if again.Inserted != 0 || again.Skipped != 3 || again.Rejected != 10 {
		t.Fatalf("second import: %+v", again)
	}
}

func TestImportCSV(t *testing.T) {
	b := setup(t)
	body := "phone,phone_code,timezone,tags\r\n" +
		"79160000001,,,vip;new\r\n" + // 2
		"7916,,,\r\n" + // 3
		"79160000002,91,,\r\n" + // 4
		"79160000003,,Mars/Olympus,\r\n" + // 5
		"79160000004,916,UTC\r\n" + // 6: three columns
		"7916\"0000005,,,\r\n" + // 7: bare quote
		"79030000006,903,Asia/Tokyo,new;\r\n" + // 8
		"\"79250000007\",,Asia/Yekaterinburg,\"a;b\"\r\n" + // 9
		"79160000001,,,x\r\n" + // 10: repeated phone
		",,,\r\n" + // 11
		"\"7925000000\n8\",,,\r\n" + // 12-13: one record over two lines
		"\r\n" + // 14: blank
		"79250000009,,,vip;;\r\n" // 15
	got := b.importBody("", "text/csv", body)
	if got.Inserted != 4 || got.Skipped != 0 {
		t.Fatalf("counts: %+v", got)
	}
	wantRejected(t, got, map[int64]string{
		3:  "phone must match",
		4:  "phone_code must be exactly 3 digits",
		5:  "timezone must be an IANA time zone",
		6:  "has 3 columns, the header has 4",
		7:  "malformed CSV",
		10: "duplicate phone in upload",
		11: "phone must match",
		12: "phone must match",
	})
	wantStored(t, b.stored(),
		"79160000001 916 Europe/Moscow new;vip",
		"79030000006 903 Asia/Tokyo new",
		"79250000007 925 Asia/Yekaterinburg a;b",
		"79250000009 925 Europe/Moscow vip",
	)
	var tags string
	if err := b.db.SQL().QueryRow(`SELECT string_agg(name, ',' ORDER BY name) FROM tags`).Scan(&tags); err != nil {
		t.Fatal(err)
	}
	if tags != "a,b,new,vip" {
		t.Fatalf("registered tags %q: only the stored rows' tags belong there", tags)
	}
}

func TestImportCSVHeader(t *testing.T) {
	b := setup(t)
	// Columns in any order, optional ones omitted, a byte order mark.
	got := b.importBody("", "text/csv", "\uFEFFTags, Phone\nvip,79160000001\n")
	if got.Inserted != 1 {
		t.Fatalf("reordered header: %+v", got)
	}
	wantStored(t, b.stored(), "79160000001 916 Europe/Moscow vip")
	for _, body := range []string{
		"79160000002,916,UTC,\n",            // no header
		"phone,phone,tags\n79160000002,,\n", // repeated column
		"phone_code,tags\n916,\n",           // no phone column
		"phone,\"nick\n",                    // broken quoting
	} {
		msg := b.importFailure(http.StatusBadRequest, "", "text/csv", body, "invalid")
		if !strings.Contains(msg, "header") {
			t.Errorf("%q: message %q does not blame the header", body, msg)
		}
	}
	wantStored(t, b.stored(), "79160000001 916 Europe/Moscow vip")
}

func TestImportEmptyAndUnsupported(t *testing.T) {
	b := setup(t)
	for _, c := range []struct{ contentType, body string }{
		{"text/csv", ""},
		{"text/csv", "phone,phone_code,timezone,tags\n"},
		{"application/x-ndjson", ""},
		{"application/x-ndjson", "\n \n"},
	} {
		b.importFailure(http.StatusBadRequest, "", c.contentType, c.body, "invalid")
	}
	msg := b.importFailure(http.StatusUnsupportedMediaType, "", "application/json", `{"phone":"79160000001"}`, "unsupported_media_type")
	if !strings.Contains(msg, "text/csv") {
		t.Fatalf("415 message should name the accepted types: %q", msg)
	}
	resp, raw := b.raw("POST", "/api/customers/import?on_conflict=merge", "phone\n79160000001\n", "text/csv", b.token)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(raw), "on_conflict") {
		t.Fatalf("bad on_conflict: %d %s", resp.StatusCode, raw)
	}
	resp, raw = b.raw("POST", "/api/customers/import", "phone\n79160000001\n", "text/csv", "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("without token: %d %s", resp.StatusCode, raw)
	}
	wantStored(t, b.stored())
}

func TestImportOnConflict(t *testing.T) {
	b := setup(t)
	b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79160000001", "tags": []string{"old", "keep"}})
	b.must(http.StatusCreated, "POST", "/api/customers", map[string]any{"phone": "79160000002", "tags": []string{"old"}})
	body := "phone,phone_code,timezone,tags\n" +
		"79160000001,903,Asia/Tokyo,keep;new\n" +
		"79160000002,,,\n" +
		"79160000003,,,new\n"

	skip := b.importBody("", "text/csv", body)
	if skip.Inserted != 1 || skip.Skipped != 2 || skip.Updated != 0 || skip.Rejected != 0 {
		t.Fatalf("skip: %+v", skip)
	}
	wantStored(t, b.stored(),
		"79160000001 916 Europe/Moscow keep;old",
		"79160000002 916 Europe/Moscow old",
		"79160000003 916 Europe/Moscow new",
	)

	update := b.importBody("?on_conflict=update", "text/csv", body)
	if update.Inserted != 0 || update.Updated != 3 || update.Skipped != 0 {
		t.Fatalf("update: %+v", update)
	}
	wantStored(t, b.stored(),
		"79160000001 903 Asia/Tokyo keep;new",
		"79160000002 916 Europe/Moscow ",
		"79160000003 916 Europe/Moscow new",
	)
	// The API shows the same.
	list := items(t, b.must(http.StatusOK, "GET", "/api/customers?phone_prefix=79160000001", nil))
	if len(list) != 1 || list[0]["phone_code"] != "903" || fmt.Sprint(list[0]["tags"]) != "[keep new]" {
		t.Fatalf("API view after update: %v", list)
	}
}

// csvRows streams a generated CSV of n customers without building it.
func csvRows(n int, row func(i int) string) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		var buf bytes.Buffer
		buf.WriteString("phone,phone_code,timezone,tags\n")
		for i := 0; i < n; i++ {
			buf.WriteString(row(i))
			if buf.Len() > 32<<10 {
				if _, err := pw.Write(buf.Bytes()); err != nil {
					return
				}
				buf.Reset()
			}
		}
		_, _ = pw.Write(buf.Bytes())
		_ = pw.Close()
	}()
	return pr
}

func TestImportAcrossBatches(t *testing.T) {
	b := setup(t)
	const n = 25000
	// Row i is on line i+2. Line 3 (row 1) repeats in row 15000, which
	// lands in the second batch; row 22000 is invalid.
	got := b.importBody("", "text/csv", csvRows(n, func(i int) string {
		switch i {
		case 15000:
			return "79000000001,,,late\n"
		case 22000:
			return "79000022000,12,,\n"
		}
		return fmt.Sprintf("790%08d,%03d,,t%d\n", i, 900+i%20, i%10)
	}))
	if got.Inserted != n-2 || got.Rejected != 2 || got.Skipped != 0 {
		t.Fatalf("counts: %+v", got)
	}
	wantRejected(t, got, map[int64]string{15002: "duplicate phone in upload", 22002: "phone_code"})
	var customers, links, lateTags int
	var minCode, maxCode string
	err := b.db.SQL().QueryRow(`SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM customer_tags),
		(SELECT count(*) FROM tags WHERE name = 'late'), (SELECT min(code) FROM phone_codes), (SELECT max(code) FROM phone_codes)`).
		Scan(&customers, &links, &lateTags, &minCode, &maxCode)
	if err != nil {
		t.Fatal(err)
	}
	if customers != n-2 || links != n-2 || lateTags != 0 || minCode != "900" || maxCode != "919" {
		t.Fatalf("stored %d customers, %d tag links, late tag %d, codes %s..%s", customers, links, lateTags, minCode, maxCode)
	}
}

func TestImportLongRecords(t *testing.T) {
	b := setup(t)
	long := `{"phone":"79160000001","tags":["` + strings.Repeat("x", 1<<20) + `"]}`
	got := b.importBody("", "application/x-ndjson", long+"\n"+`{"phone":"79160000002"}`+"\n")
	if got.Inserted != 1 || got.Rejected != 1 || got.Errors[0].Line != 1 || !strings.Contains(got.Errors[0].Error, "longer than") {
		t.Fatalf("an overlong NDJSON line must be rejected alone: %+v", got)
	}
	// A CSV record cannot be skipped (quotes may span lines): the import stops.
	msg := b.importFailure(http.StatusBadRequest, "", "text/csv",
		"phone,tags\n79160000003,a\n79160000004,\""+strings.Repeat("y", 2<<20)+"\"\n", "invalid")
	if !strings.Contains(msg, "after line 2 is longer than") || !strings.Contains(msg, "nothing was stored") {
		t.Fatalf("overlong CSV record: %q", msg)
	}
	wantStored(t, b.stored(), "79160000002 916 Europe/Moscow ")
}

func TestImportErrorListIsCapped(t *testing.T) {
	b := setup(t)
	got := b.importBody("", "text/csv", csvRows(1500, func(i int) string { return "7,,,\n" }))
	if got.Rejected != 1500 || len(got.Errors) != 1000 || !got.ErrorsTruncated || got.Errors[999].Line != 1001 {
		t.Fatalf("rejected %d, listed %d, truncated %v", got.Rejected, len(got.Errors), got.ErrorsTruncated)
	}
}

func TestImportBodyLimit(t *testing.T) {
	b := setup(t)
	small := b.withImportLimit(200 << 10)
	// 15 bytes a row: the first batch fits, the limit falls in the second.
	msg := small.importFailure(http.StatusRequestEntityTooLarge, "", "text/csv",
		csvRows(30000, func(i int) string { return fmt.Sprintf("790%08d,,,\n", i) }), "too_large")
	if !strings.Contains(msg, "lines 1-10001 were processed and stored (inserted 10000, updated 0, skipped 0, rejected 0); nothing after line 10001 was stored") {
		t.Fatalf("413 must say what was stored: %q", msg)
	}
	var n int
	if err := b.db.SQL().QueryRow(`SELECT count(*) FROM customers`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 10000 {
		t.Fatalf("%d customers stored, want the first batch", n)
	}
}

func TestImportDebugLogs(t *testing.T) {
	b := setup(t)
	b.importBody("", "application/x-ndjson", `{"phone":"79160000001"}`+"\n"+`{"phone":"7"}`+"\n")
	var debug, summary int
	for _, l := range b.logs.Lines(t) {
		switch l["msg"] {
		case "customer imported":
			if l["customer_id"] == nil || l["line"] != float64(1) || l["action"] != "inserted" {
				t.Fatalf("debug line: %v", l)
			}
			debug++
		case "customers imported":
			if l["inserted"] != float64(1) || l["rejected"] != float64(1) || l["duration_ms"] == nil {
				t.Fatalf("summary line: %v", l)
			}
			summary++
		}
	}
	if debug != 1 || summary != 1 {
		t.Fatalf("%d debug lines, %d summaries", debug, summary)
	}
}

// withImportLimit is the same API and database with another import limit.
func (b *bundle) withImportLimit(limit int64) *bundle {
	h := httpapi.New(httpapi.Config{
		Stores: httpapi.PostgresStores(b.db), Log: slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Tokens: b.tokens, DefaultTimezone: "Europe/Moscow", Version: "test", ImportMaxBytes: limit,
	})
	srv := httptest.NewServer(h)
	b.t.Cleanup(srv.Close)
	other := *b
	other.srv = srv
	return &other
}
