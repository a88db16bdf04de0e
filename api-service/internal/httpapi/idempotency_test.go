package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailing/api-service/internal/httpapi"
	"mailing/shared/domain"
	"mailing/shared/mailouts"
	"mailing/shared/testkit"
)

// keyed sends a request with credential and an Idempotency-Key (none
// when key is nil) to the bundle's server and returns the answer.
func (b *bundle) keyed(credential string, key *string, method, path, contentType string, body io.Reader) (*http.Response, []byte) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, b.srv.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+credential)
	req.Header.Set("Content-Type", contentType)
	if key != nil {
		req.Header.Set("Idempotency-Key", *key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return resp, raw
}

// postJSON posts v as JSON with an Idempotency-Key.
func (b *bundle) postJSON(credential, key, path string, v any) (*http.Response, []byte) {
	b.t.Helper()
	buf, err := json.Marshal(v)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.keyed(credential, &key, "POST", path, "application/json", bytes.NewReader(buf))
}

// rows counts the rows of table.
func (b *bundle) rows(table string) int {
	b.t.Helper()
	var n int
	if err := b.db.SQL().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		b.t.Fatal(err)
	}
	return n
}

// keyState is the stored state of an idempotency key ("" when absent).
func (b *bundle) keyState(key string) string {
	b.t.Helper()
	var st []string
	rows, err := b.db.SQL().Query(`SELECT state FROM idempotency_keys WHERE key = $1`, key)
	if err != nil {
		b.t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			b.t.Fatal(err)
		}
		st = append(st, s)
	}
	return strings.Join(st, ",")
}

func errorCode(t *testing.T, raw []byte) string {
	t.Helper()
	var out errorJSON
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("not the error shape: %s", raw)
	}
	if out.Error.Message == "" {
		t.Fatalf("error without message: %s", raw)
	}
	return out.Error.Code
}

// errorJSON mirrors the error shape.
type errorJSON struct {
	Error struct {
		Code    string            `json:"code"`
		Message string            `json:"message"`
		Fields  map[string]string `json:"fields"`
	} `json:"error"`
}

func wantReplay(t *testing.T, what string, first *http.Response, firstBody []byte, again *http.Response, againBody []byte) {
	t.Helper()
	if again.StatusCode != first.StatusCode || !bytes.Equal(againBody, firstBody) {
		t.Fatalf("%s: replayed %d %s, first %d %s", what, again.StatusCode, againBody, first.StatusCode, firstBody)
	}
	if again.Header.Get("Content-Type") != first.Header.Get("Content-Type") {
		t.Fatalf("%s: replayed Content-Type %q, first %q", what, again.Header.Get("Content-Type"), first.Header.Get("Content-Type"))
	}
	if again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("%s: replay without Idempotent-Replayed: %v", what, again.Header)
	}
	if first.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("%s: the first answer says it was replayed", what)
	}
}

// A retry with the same key and body gets the first answer and changes
// nothing; without a key every request runs.
func TestIdempotencyKeyReplaysTheFirstAnswer(t *testing.T) {
	b := setup(t)
	body := validMailout(nil)
	first, firstBody := b.postJSON(b.token, "mailout-1", "/api/mailouts", body)
	if first.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", first.StatusCode, firstBody)
	}
	events := b.rows("outbox")
	for range 2 {
		again, againBody := b.postJSON(b.token, "mailout-1", "/api/mailouts", body)
		wantReplay(t, "mailout", first, firstBody, again, againBody)
	}
	if n := b.rows("mailouts"); n != 1 {
		t.Fatalf("%d mailouts, want 1", n)
	}
	if n := b.rows("outbox"); n != events {
		t.Fatalf("%d outbox events after the retries, %d before", n, events)
	}

	cust := map[string]any{"phone": "79161234567", "tags": []string{"vip"}}
	first, firstBody = b.postJSON(b.token, "customer-1", "/api/customers", cust)
	if first.StatusCode != http.StatusCreated {
		t.Fatalf("create customer: %d %s", first.StatusCode, firstBody)
	}
	again, againBody := b.postJSON(b.token, "customer-1", "/api/customers", cust)
	wantReplay(t, "customer", first, firstBody, again, againBody)
	if n := b.rows("customers"); n != 1 {
		t.Fatalf("%d customers, want 1", n)
	}
	// Without the key the same body is another request: a 409 for the
	// phone now taken.
	b.must(http.StatusConflict, "POST", "/api/customers", cust)

	// A refusal is an answer too: the same request gets it again.
	bad := map[string]any{"phone": "7916"}
	first, firstBody = b.postJSON(b.token, "customer-2", "/api/customers", bad)
	if first.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad customer: %d %s", first.StatusCode, firstBody)
	}
	again, againBody = b.postJSON(b.token, "customer-2", "/api/customers", bad)
	wantReplay(t, "refused customer", first, firstBody, again, againBody)

	// No key: behaviour as without the feature.
	b.newMailout(nil)
	b.newMailout(nil)
	if n := b.rows("mailouts"); n != 3 {
		t.Fatalf("%d mailouts, want 3", n)
	}
	if n := b.rows("idempotency_keys"); n != 3 {
		t.Fatalf("%d idempotency keys stored, want 3", n)
	}
}

// The same key with another body, path or query is a 422 and runs
// nothing.
func TestIdempotencyKeyReusedForAnotherRequest(t *testing.T) {
	b := setup(t)
	if resp, raw := b.postJSON(b.token, "k", "/api/mailouts", validMailout(nil)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, raw)
	}
	other := validMailout(map[string]any{"text": "Another text"})
	resp, raw := b.postJSON(b.token, "k", "/api/mailouts", other)
	if resp.StatusCode != http.StatusUnprocessableEntity || errorCode(t, raw) != "unprocessable" {
		t.Fatalf("another body: %d %s", resp.StatusCode, raw)
	}
	resp, raw = b.postJSON(b.token, "k", "/api/customers", map[string]any{"phone": "79161234567"})
	if resp.StatusCode != http.StatusUnprocessableEntity || errorCode(t, raw) != "unprocessable" {
		t.Fatalf("another path: %d %s", resp.StatusCode, raw)
	}
	if n := b.rows("mailouts") + b.rows("customers"); n != 1 {
		t.Fatalf("%d mailouts and customers, want the first mailout only", n)
	}

	csv := "phone\n79161234567\n"
	key := "import"
	first, firstBody := b.keyed(b.token, &key, "POST", "/api/customers/import", "text/csv", strings.NewReader(csv))
	if first.StatusCode != http.StatusOK {
		t.Fatalf("import: %d %s", first.StatusCode, firstBody)
	}
	again, againBody := b.keyed(b.token, &key, "POST", "/api/customers/import", "text/csv", strings.NewReader(csv))
	wantReplay(t, "import", first, firstBody, again, againBody)
	resp, raw = b.keyed(b.token, &key, "POST", "/api/customers/import?on_conflict=update", "text/csv", strings.NewReader(csv))
	if resp.StatusCode != http.StatusUnprocessableEntity || errorCode(t, raw) != "unprocessable" {
		t.Fatalf("another query: %d %s", resp.StatusCode, raw)
	}
	resp, raw = b.keyed(b.token, &key, "POST", "/api/customers/import", "text/csv", strings.NewReader(csv+"79161234568\n"))
	if resp.StatusCode != http.StatusUnprocessableEntity || errorCode(t, raw) != "unprocessable" {
		t.Fatalf("another upload: %d %s", resp.StatusCode, raw)
	}
	if n := b.rows("customers"); n != 1 {
		t.Fatalf("%d customers, want 1", n)
	}
}

// A key must be one value of 1–255 printable ASCII characters.
func TestIdempotencyKeyMustBeValid(t *testing.T) {
	b := setup(t)
	body, _ := json.Marshal(validMailout(nil))
	for name, key := range map[string]string{
		"empty":     "",
		"too long":  strings.Repeat("k", 256),
		"not ASCII": "ключ",
	} {
		resp, raw := b.keyed(b.token, &key, "POST", "/api/mailouts", "application/json", bytes.NewReader(body))
		if resp.StatusCode != http.StatusBadRequest || errorCode(t, raw) != "invalid" {
			t.Errorf("%s key: %d %s", name, resp.StatusCode, raw)
		}
	}
	req, _ := http.NewRequest("POST", b.srv.URL+"/api/mailouts", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Add("Idempotency-Key", "one")
	req.Header.Add("Idempotency-Key", "two")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || errorCode(t, raw) != "invalid" {
		t.Errorf("two keys: %d %s", resp.StatusCode, raw)
	}
	longest := "a ~" + strings.Repeat("k", 252)
	if resp, raw := b.keyed(b.token, &longest, "POST", "/api/mailouts", "application/json", bytes.NewReader(body)); resp.StatusCode != http.StatusCreated {
		t.Errorf("a 255-character key: %d %s", resp.StatusCode, raw)
	}
	if st := b.keyState(longest); st != "completed" {
		t.Errorf("the 255-character key is %q", st)
	}
	if n := b.rows("mailouts"); n != 1 {
		t.Fatalf("%d mailouts, want 1", n)
	}
}

// Keys are the caller's: another user, or a key, with the same key
// string makes its own request.
func TestIdempotencyKeysAreEachCallers(t *testing.T) {
	b := setup(t)
	_, operator := b.userWithRole("maria", domain.RoleOperator)
	apiKey := b.newKey("integration", domain.RoleOperator, nil)["secret"].(string)
	body := validMailout(nil)
	ids := map[string]bool{}
	for _, credential := range []string{b.token, operator, apiKey, operator} {
		resp, raw := b.postJSON(credential, "shared-key", "/api/mailouts", body)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("create: %d %s", resp.StatusCode, raw)
		}
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		ids[fmt.Sprint(m["id"])] = true
	}
	if len(ids) != 3 || b.rows("mailouts") != 3 {
		t.Fatalf("mailouts %v (%d rows), want three: one per caller", ids, b.rows("mailouts"))
	}
}

// Twenty concurrent requests with one key and body make one mailout; each
// is answered with its answer or a 409 while it runs.
func TestIdempotencyKeyConcurrentRetries(t *testing.T) {
	b := setup(t)
	body, _ := json.Marshal(validMailout(nil))
	type answer struct {
		status   int
		body     []byte
		replayed string
		retry    string
	}
	answers := make([]answer, 20)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range answers {
		wg.Go(func() {
			<-start
			key := "race"
			resp, raw := b.keyed(b.token, &key, "POST", "/api/mailouts", "application/json", bytes.NewReader(body))
			answers[i] = answer{resp.StatusCode, raw, resp.Header.Get("Idempotent-Replayed"), resp.Header.Get("Retry-After")}
		})
	}
	close(start)
	wg.Wait()
	var created []answer
	for _, a := range answers {
		switch a.status {
		case http.StatusCreated:
			created = append(created, a)
		case http.StatusConflict:
			if errorCode(t, a.body) != "conflict" || a.retry == "" {
				t.Fatalf("409 without the error shape or Retry-After: %s %q", a.body, a.retry)
			}
		default:
			t.Fatalf("answer %d %s", a.status, a.body)
		}
	}
	if len(created) == 0 {
		t.Fatal("no request created the mailout")
	}
	var fresh int
	for _, a := range created {
		if !bytes.Equal(a.body, created[0].body) {
			t.Fatalf("answers differ: %s and %s", a.body, created[0].body)
		}
		if a.replayed == "" {
			fresh++
		}
	}
	if fresh > 1 {
		t.Fatalf("%d answers were not replays", fresh)
	}
	if n := b.rows("mailouts"); n != 1 {
		t.Fatalf("%d mailouts, want 1", n)
	}
}

// csvUpload writes a CSV header and n rows from phone 79000000000+from.
func csvUpload(w io.Writer, from, n int) error {
	var buf bytes.Buffer
	if from == 0 {
		buf.WriteString("phone,tags\n")
	}
	for i := from; i < from+n; i++ {
		fmt.Fprintf(&buf, "7%010d,batch\n", 9000000000+i)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// upload is a streamed import request running in the background.
type upload struct {
	pw   *io.PipeWriter
	done chan struct{}
	resp *http.Response
	body []byte
	err  error
}

func (b *bundle) startUpload(key string) *upload {
	b.t.Helper()
	pr, pw := io.Pipe()
	u := &upload{pw: pw, done: make(chan struct{})}
	req, err := http.NewRequest("POST", b.srv.URL+"/api/customers/import", pr)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Idempotency-Key", key)
	go func() {
		defer close(u.done)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			u.err = err
			return
		}
		defer resp.Body.Close()
		u.resp = resp
		u.body, u.err = io.ReadAll(resp.Body)
	}()
	return u
}

// While an import with a key runs, a retry with that key is a 409 with
// Retry-After; once it ended, the same upload is replayed and another is
// a 422.
func TestIdempotencyKeyInProgress(t *testing.T) {
	b := setup(t)
	u := b.startUpload("big-import")
	if err := csvUpload(u.pw, 0, 3000); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the import to claim its key", 5*time.Second, func() bool { return b.keyState("big-import") == "in_progress" })

	var full bytes.Buffer
	_ = csvUpload(&full, 0, 3000)
	_ = csvUpload(&full, 3000, 3000)
	key := "big-import"
	resp, raw := b.keyed(b.token, &key, "POST", "/api/customers/import", "text/csv", bytes.NewReader(full.Bytes()))
	if resp.StatusCode != http.StatusConflict || errorCode(t, raw) != "conflict" || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("retry while in progress: %d %s (Retry-After %q)", resp.StatusCode, raw, resp.Header.Get("Retry-After"))
	}

	if err := csvUpload(u.pw, 3000, 3000); err != nil {
		t.Fatal(err)
	}
	u.pw.Close()
	<-u.done
	if u.err != nil || u.resp.StatusCode != http.StatusOK {
		t.Fatalf("import: %v %v %s", u.err, u.resp, u.body)
	}
	var res importAnswer
	if err := json.Unmarshal(u.body, &res); err != nil || res.Inserted != 6000 {
		t.Fatalf("import answer %s (%v)", u.body, err)
	}
	if st := b.keyState(key); st != "completed" {
		t.Fatalf("key %q after the import", st)
	}

	again, againBody := b.keyed(b.token, &key, "POST", "/api/customers/import", "text/csv", bytes.NewReader(full.Bytes()))
	wantReplay(t, "import", u.resp, u.body, again, againBody)
	changed := bytes.Replace(full.Bytes(), []byte("batch"), []byte("other"), 1)
	resp, raw = b.keyed(b.token, &key, "POST", "/api/customers/import", "text/csv", bytes.NewReader(changed))
	if resp.StatusCode != http.StatusUnprocessableEntity || errorCode(t, raw) != "unprocessable" {
		t.Fatalf("another upload with the key: %d %s", resp.StatusCode, raw)
	}
	if n := b.rows("customers"); n != 6000 {
		t.Fatalf("%d customers, want 6000", n)
	}
}

// A client that goes away mid-upload leaves no answer behind: the key is
// released, and its retry runs the import.
func TestIdempotencyKeyReleasedWhenTheClientGoesAway(t *testing.T) {
	b := setup(t)
	u := b.startUpload("cut")
	if err := csvUpload(u.pw, 0, 2000); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, "the import to claim its key", 5*time.Second, func() bool { return b.keyState("cut") == "in_progress" })
	u.pw.CloseWithError(errors.New("the client went away"))
	<-u.done
	if u.err == nil {
		t.Fatalf("the cut upload was answered: %d %s", u.resp.StatusCode, u.body)
	}
	testkit.Eventually(t, "the key to be released", 5*time.Second, func() bool { return b.keyState("cut") == "" })

	var full bytes.Buffer
	_ = csvUpload(&full, 0, 2500)
	key := "cut"
	resp, raw := b.keyed(b.token, &key, "POST", "/api/customers/import", "text/csv", bytes.NewReader(full.Bytes()))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry: %d %s (%v)", resp.StatusCode, raw, resp.Header)
	}
	var res importAnswer
	if err := json.Unmarshal(raw, &res); err != nil || res.Inserted+res.Skipped != 2500 {
		t.Fatalf("retry answer %s (%v)", raw, err)
	}
	if n := b.rows("customers"); n != 2500 {
		t.Fatalf("%d customers, want 2500", n)
	}
}

// failingMailouts fails creating mailouts while fail is set.
type failingMailouts struct {
	mailouts.Store
	fail *atomic.Bool
}

func (f failingMailouts) Create(ctx context.Context, m domain.Mailout) (domain.Mailout, error) {
	if f.fail.Load() {
		return domain.Mailout{}, errors.New("the database went away")
	}
	return f.Store.Create(ctx, m)
}

// A 5xx is not kept: the retry runs the request again.
func TestIdempotencyKeyNotKeptForServerErrors(t *testing.T) {
	b := setup(t)
	fail := new(atomic.Bool)
	fail.Store(true)
	stores := httpapi.PostgresStores(b.db)
	stores.Mailouts = failingMailouts{Store: stores.Mailouts, fail: fail}
	srv := httptest.NewServer(httpapi.New(httpapi.Config{
		Stores: stores, Log: slog.New(slog.NewJSONHandler(b.logs, nil)), Tokens: b.tokens, DefaultTimezone: "Europe/Moscow", Version: "test",
	}))
	t.Cleanup(srv.Close)
	other := *b
	other.srv = srv

	body := validMailout(nil)
	resp, raw := other.postJSON(b.token, "flaky", "/api/mailouts", body)
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("failing create: %d %s", resp.StatusCode, raw)
	}
	if st := b.keyState("flaky"); st != "" {
		t.Fatalf("a 5xx left the key %s", st)
	}
	fail.Store(false)
	resp, raw = other.postJSON(b.token, "flaky", "/api/mailouts", body)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry: %d %s", resp.StatusCode, raw)
	}
	again, againBody := other.postJSON(b.token, "flaky", "/api/mailouts", body)
	wantReplay(t, "after the failure", resp, raw, again, againBody)
	if n := b.rows("mailouts"); n != 1 {
		t.Fatalf("%d mailouts, want 1", n)
	}
}

// Expired keys are swept by the next request with a key, and an expired
// key is the caller's to use again.
func TestIdempotencyKeysExpire(t *testing.T) {
	b := setup(t)
	for i := range 3 {
		b.exec(`INSERT INTO idempotency_keys (actor, key, claim, state, method, path, created_at, locked_until, expires_at)
			VALUES ('user:999', $1, 'c', 'in_progress', 'POST', '/api/mailouts', now() - interval '25 hours', now(), now() - interval '1 hour')`,
			fmt.Sprint("gone-", i))
	}
	body := validMailout(nil)
	if resp, raw := b.postJSON(b.token, "old", "/api/mailouts", body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %s", resp.StatusCode, raw)
	}
	if n := b.rows("idempotency_keys"); n != 1 {
		t.Fatalf("%d idempotency keys, want the expired ones swept", n)
	}
	b.exec(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second'`)
	resp, raw := b.postJSON(b.token, "old", "/api/mailouts", body)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("the expired key was replayed: %d %s", resp.StatusCode, raw)
	}
	if n := b.rows("mailouts"); n != 2 {
		t.Fatalf("%d mailouts, want 2", n)
	}
	if st := b.keyState("old"); st != "completed" {
		t.Fatalf("the key used again is %q", st)
	}
}
