package probesim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unsafe"

	"mailing/shared/testkit"

	"github.com/golang-jwt/jwt/v5"
)

func TestAcceptedDeliveryIsRecorded(t *testing.T) {
	b := setup(t, Options{})
	before := time.Now()
	status, h, raw := b.send(42)
	after := time.Now()
	if status != http.StatusOK || raw != `{"code":0,"message":"OK"}` || h.Get("Content-Type") != "application/json" {
		t.Fatalf("answer %d %q %q", status, h.Get("Content-Type"), raw)
	}
	ds := b.srv.Deliveries()
	if len(ds) != 1 {
		t.Fatalf("deliveries: %+v", ds)
	}
	d := ds[0]
	if d.ID != 42 || d.Phone != 79161234567 || d.Text != "hello" || d.Nth != 1 || d.Count != 1 {
		t.Fatalf("delivery: %+v", d)
	}
	if d.At.Location() != time.UTC || d.At.Before(before.Truncate(0)) || d.At.After(after) {
		t.Fatalf("arrival %v not in [%v, %v] UTC", d.At, before, after)
	}
	st := b.srv.Stats()
	if st.Requests != 1 || st.Accepted != 1 || st.outcomeTotal() != 1 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestTokenProblemsAre401(t *testing.T) {
	b := setup(t, Options{})
	other, _ := MintToken("another-secret-0123456789-abcdefghijkl", time.Time{})
	expired, _ := MintToken(testSecret, time.Now().Add(-time.Minute))
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, jwt.RegisteredClaims{Subject: "x"}).
		SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	hs512, err := jwt.NewWithClaims(jwt.SigningMethodHS512, jwt.RegisteredClaims{Subject: "x"}).SignedString([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"no header":      "",
		"other scheme":   "Basic " + b.token,
		"empty bearer":   "Bearer ",
		"not a jwt":      "Bearer not.a.token",
		"bad signature":  "Bearer " + other,
		"alg none":       "Bearer " + none,
		"alg pinned":     "Bearer " + hs512,
		"expired":        "Bearer " + expired,
		"tampered token": "Bearer " + b.token[:len(b.token)-2] + "xx",
	}
	for name, auth := range cases {
		status, h, raw, err := b.post(context.Background(), "/v1/send/1", auth, body(1))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if status != http.StatusUnauthorized || !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("%s: status %d, WWW-Authenticate %q: %s", name, status, h.Get("WWW-Authenticate"), raw)
		}
	}
	// A lower-case scheme is still a bearer token (RFC 7235).
	if status, _, _, err := b.post(context.Background(), "/v1/send/1", "bearer "+b.token, body(1)); err != nil || status != http.StatusOK {
		t.Fatalf("lower-case scheme: %d %v", status, err)
	}
	st := b.srv.Stats()
	if st.Unauthorized != int64(len(cases)) || st.Accepted != 1 || len(b.srv.Deliveries()) != 1 {
		t.Fatalf("stats %+v, deliveries %d", st, len(b.srv.Deliveries()))
	}
}

// The cached token must still expire, and a new token must be checked in
// full rather than compared with the cached one.
func TestCachedTokenStillExpires(t *testing.T) {
	c := &clock{t: time.Now()}
	b := setup(t, Options{Now: c.now})
	short, err := MintToken(testSecret, c.now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if status, _, raw, _ := b.post(context.Background(), "/v1/send/1", "Bearer "+short, body(1)); status != http.StatusOK {
			t.Fatalf("fresh token: %d %s", status, raw)
		}
	}
	if cached := b.srv.auth.last.Load(); cached == nil || cached.raw != short {
		t.Fatal("the valid token was not cached")
	}
	c.set(c.now().Add(2 * time.Minute))
	if status, _, _, _ := b.post(context.Background(), "/v1/send/1", "Bearer "+short, body(1)); status != http.StatusUnauthorized {
		t.Fatalf("expired cached token: status %d", status)
	}
	forged := "Bearer " + short[:len(short)-3] + "abc"
	if status, _, _, _ := b.post(context.Background(), "/v1/send/1", forged, body(1)); status != http.StatusUnauthorized {
		t.Fatalf("forged token after a cached one: status %d", status)
	}
	if got := b.srv.Delivered(1); got != 2 {
		t.Fatalf("delivered %d, want 2", got)
	}
}

func TestInvalidRequestsAre400(t *testing.T) {
	b := setup(t, Options{})
	cases := []struct{ name, path, body string }{
		{"id differs from path", "/v1/send/7", body(8)},
		{"path id not a number", "/v1/send/seven", body(7)},
		{"zero id", "/v1/send/0", body(0)},
		{"negative id", "/v1/send/-3", body(-3)},
		{"phone 10 digits", "/v1/send/7", `{"id":7,"phone":7916123456,"text":"hi"}`},
		{"phone 12 digits", "/v1/send/7", `{"id":7,"phone":791612345678,"text":"hi"}`},
		{"phone starts with 8", "/v1/send/7", `{"id":7,"phone":89161234567,"text":"hi"}`},
		{"phone as string", "/v1/send/7", `{"id":7,"phone":"79161234567","text":"hi"}`},
		{"phone missing", "/v1/send/7", `{"id":7,"text":"hi"}`},
		{"empty text", "/v1/send/7", `{"id":7,"phone":79161234567,"text":""}`},
		{"text missing", "/v1/send/7", `{"id":7,"phone":79161234567}`},
		{"malformed JSON", "/v1/send/7", `{"id":7,`},
		{"empty body", "/v1/send/7", ``},
		{"body too large", "/v1/send/7", `{"id":7,"phone":79161234567,"text":"` + strings.Repeat("x", maxSendBody) + `"}`},
	}
	for _, c := range cases {
		status, _, raw, err := b.post(context.Background(), c.path, "Bearer "+b.token, c.body)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if status != http.StatusBadRequest {
			t.Errorf("%s: status %d: %s", c.name, status, raw)
		}
	}
	st := b.srv.Stats()
	if st.BadRequest != int64(len(cases)) || st.Accepted != 0 || len(b.srv.Deliveries()) != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestEachFaultAtRateOneAnswersAndRecordsNothing(t *testing.T) {
	cases := []struct {
		name   string
		f      Faults
		status int
		check  func(h http.Header, raw string) error
		count  func(Stats) int64
	}{
		{"500", Faults{Rate500: 1}, 500, nil, func(s Stats) int64 { return s.Status500 }},
		{"400", Faults{Rate400: 1}, 400, nil, func(s Stats) int64 { return s.Status400 }},
		{"429", Faults{Rate429: 1, RetryAfterS: 7}, 429, retryAfter7, func(s Stats) int64 { return s.Status429 }},
		{"503", Faults{Rate503: 1, RetryAfterS: 7}, 503, retryAfter7, func(s Stats) int64 { return s.Status503 }},
		{"garbage", Faults{RateGarbage: 1}, 200, func(_ http.Header, raw string) error {
			if json.Valid([]byte(raw)) {
				return fmt.Errorf("garbage body is valid JSON: %s", raw)
			}
			return nil
		}, func(s Stats) int64 { return s.Garbage }},
		{"code nonzero", Faults{RateCodeNonzero: 1}, 200, func(_ http.Header, raw string) error {
			var a struct {
				Code    *int   `json:"code"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal([]byte(raw), &a); err != nil || a.Code == nil || *a.Code != 1 || a.Message != "rejected" {
				return fmt.Errorf("code_nonzero body %s (%v)", raw, err)
			}
			return nil
		}, func(s Stats) int64 { return s.CodeNonzero }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := setup(t, Options{Faults: c.f})
			for i := int64(1); i <= 3; i++ {
				status, h, raw := b.send(i)
				if status != c.status {
					t.Fatalf("status %d, want %d: %s", status, c.status, raw)
				}
				if c.check != nil {
					if err := c.check(h, raw); err != nil {
						t.Fatal(err)
					}
				}
			}
			st := b.srv.Stats()
			if c.count(st) != 3 || st.Accepted != 0 || st.outcomeTotal() != 3 || len(b.srv.Deliveries()) != 0 {
				t.Fatalf("stats %+v, deliveries %d", st, len(b.srv.Deliveries()))
			}
		})
	}
}

func retryAfter7(h http.Header, _ string) error {
	if got := h.Get("Retry-After"); got != "7" {
		return fmt.Errorf("Retry-After %q, want 7", got)
	}
	return nil
}

// tally runs n valid requests in process against a fresh server.
func tally(t *testing.T, seed uint64, f Faults, n int) Stats {
	t.Helper()
	s, err := New(Options{Secret: testSecret, Seed: seed, Faults: f})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	return drive(t, s, n)
}

// drive sends n valid requests through ServeHTTP, one after the other, and
// returns the stats.
func drive(t *testing.T, s *Server, n int) Stats {
	t.Helper()
	tok, err := MintToken(testSecret, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		req := httptest.NewRequest(http.MethodPost, fmt.Sprintf("/v1/send/%d", i), strings.NewReader(body(int64(i))))
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
	}
	return s.Stats()
}

func TestRatesAreHonouredAndReproducible(t *testing.T) {
	f := Faults{Rate500: 0.1, Rate400: 0.1, Rate429: 0.1, Rate503: 0.1, RateGarbage: 0.1, RateCodeNonzero: 0.1}
	const n = 2000
	a := tally(t, 42, f, n)
	b := tally(t, 42, f, n)
	if a != b {
		t.Fatalf("same seed, different counts:\n%+v\n%+v", a, b)
	}
	// Expected 200 each (σ ≈ 13) and 800 accepted (σ ≈ 22): the bounds
	// are wide, and with a fixed seed the counts never change anyway.
	for name, got := range map[string]int64{
		"500": a.Status500, "400": a.Status400, "429": a.Status429,
		"503": a.Status503, "garbage": a.Garbage, "code_nonzero": a.CodeNonzero,
	} {
		if got < 140 || got > 260 {
			t.Errorf("%s: %d of %d, want about 200", name, got, n)
		}
	}
	if a.Accepted < 700 || a.Accepted > 900 || a.Requests != n || a.outcomeTotal() != n {
		t.Errorf("stats %+v", a)
	}
	c := tally(t, 43, f, n)
	if c == a {
		t.Errorf("another seed gave exactly the same counts: %+v", c)
	}
}

func TestResetRestartsTheRandomSequence(t *testing.T) {
	f := Faults{Rate500: 0.3, RateGarbage: 0.2}
	s, err := New(Options{Secret: testSecret, Seed: 7, Faults: f})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first := drive(t, s, 500)
	s.Reset()
	if err := s.SetFaults(f); err != nil {
		t.Fatal(err)
	}
	if second := drive(t, s, 500); second != first {
		t.Fatalf("after reset:\n%+v\nbefore:\n%+v", second, first)
	}
}

func TestLatencyIsALowerBound(t *testing.T) {
	b := setup(t, Options{Faults: Faults{LatencyMS: 60, JitterMS: 20}})
	for i := int64(1); i <= 5; i++ {
		start := time.Now()
		if status, _, raw := b.send(i); status != http.StatusOK {
			t.Fatalf("status %d: %s", status, raw)
		}
		if took := time.Since(start); took < 40*time.Millisecond {
			t.Fatalf("answered after %v, want at least 40ms (60 ± 20)", took)
		}
	}
	if len(b.srv.Deliveries()) != 5 {
		t.Fatalf("deliveries: %d", len(b.srv.Deliveries()))
	}
}

func TestLatencyEndsWhenTheClientLeaves(t *testing.T) {
	b := setup(t, Options{Faults: Faults{LatencyMS: 600_000}})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, _, _, err := b.post(ctx, "/v1/send/1", "Bearer "+b.token, body(1))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the client's deadline, got %v", err)
	}
	// The handler must notice long before its 10-minute sleep ends.
	testkit.Eventually(t, "the sleeping request to be abandoned", 20*time.Second, func() bool { return b.srv.Stats().Abandoned == 1 })
	if len(b.srv.Deliveries()) != 0 {
		t.Fatal("an abandoned request was recorded")
	}
}

func TestHangBlocksUntilTheClientGivesUp(t *testing.T) {
	b := setup(t, Options{Faults: Faults{Hang: true}})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	status, _, _, err := b.post(ctx, "/v1/send/1", "Bearer "+b.token, body(1))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want the client's deadline, got status %d, err %v", status, err)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Fatalf("gave up after %v, before the client's timeout", took)
	}
	st := b.srv.Stats()
	if st.Hung != 1 || st.Accepted != 0 || len(b.srv.Deliveries()) != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// hangOne starts a request that hangs and waits until the server holds it;
// the returned channel yields the client's error.
func (b *bundle) hangOne(id int64) <-chan error {
	b.t.Helper()
	errc := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	b.t.Cleanup(cancel)
	go func() {
		status, _, raw, err := b.post(ctx, fmt.Sprintf("/v1/send/%d", id), "Bearer "+b.token, body(id))
		if err == nil {
			err = fmt.Errorf("unexpected answer %d: %s", status, raw)
		} else if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("the request was never released: %w", err)
		} else {
			err = nil // closed without an answer, as it should be
		}
		errc <- err
	}()
	before := b.srv.Stats().Hung
	testkit.Eventually(b.t, "the request to hang", 20*time.Second, func() bool { return b.srv.Stats().Hung > before })
	return errc
}

func waitErr(t *testing.T, errc <-chan error) {
	t.Helper()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the hanging request did not end")
	}
}

func TestLiftingHangReleasesHungRequests(t *testing.T) {
	b := setup(t, Options{Faults: Faults{Hang: true}})
	first := b.hangOne(1)
	b.setFaults(Faults{Hang: true, LatencyMS: 1}) // still hanging: nobody is released
	second := b.hangOne(2)
	select {
	case err := <-first:
		t.Fatalf("released while the server still hangs: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	b.setFaults(Faults{})
	waitErr(t, first)
	waitErr(t, second)
	if status, _, raw := b.send(3); status != http.StatusOK {
		t.Fatalf("after the hang: %d %s", status, raw)
	}
	if ids := b.srv.Deliveries(); len(ids) != 1 || ids[0].ID != 3 {
		t.Fatalf("deliveries: %+v", ids)
	}
}

func TestCloseReleasesHungRequests(t *testing.T) {
	b := setup(t, Options{Faults: Faults{Hang: true}})
	errc := b.hangOne(1)
	b.srv.Close()
	waitErr(t, errc)
}

func TestDownDropsTheConnectionButControlWorks(t *testing.T) {
	b := setup(t, Options{})
	b.control(http.MethodPut, "/control/faults", `{"down": true}`, http.StatusOK, nil)
	status, _, raw, err := b.post(context.Background(), "/v1/send/1", "Bearer "+b.token, body(1))
	if err == nil {
		t.Fatalf("down answered %d: %s", status, raw)
	}
	var st map[string]int64
	b.control(http.MethodGet, "/control/stats", "", http.StatusOK, &st)
	if st["dropped"] != 1 || st["requests"] != 1 || st["accepted"] != 0 {
		t.Fatalf("stats while down: %v", st)
	}
	b.control(http.MethodPut, "/control/faults", `{}`, http.StatusOK, nil)
	if status, _, raw := b.send(1); status != http.StatusOK {
		t.Fatalf("back up: %d %s", status, raw)
	}
}

func TestDuplicatesAreRecordedAndCounted(t *testing.T) {
	b := setup(t, Options{})
	for _, id := range []int64{5, 5, 6, 5} {
		if status, _, raw := b.send(id); status != http.StatusOK {
			t.Fatalf("send %d: %d %s", id, status, raw)
		}
	}
	var ds []Delivery
	b.control(http.MethodGet, "/control/deliveries", "", http.StatusOK, &ds)
	type nc struct{ id, nth, count int64 }
	want := []nc{{5, 1, 3}, {5, 2, 3}, {6, 1, 1}, {5, 3, 3}}
	if len(ds) != len(want) {
		t.Fatalf("deliveries: %+v", ds)
	}
	for i, d := range ds {
		if (nc{d.ID, int64(d.Nth), int64(d.Count)}) != want[i] {
			t.Fatalf("delivery %d: %+v, want id/nth/count %v", i, d, want[i])
		}
	}
	if b.srv.Delivered(5) != 3 || b.srv.Delivered(6) != 1 || b.srv.Delivered(7) != 0 {
		t.Fatalf("Delivered: %d %d %d", b.srv.Delivered(5), b.srv.Delivered(6), b.srv.Delivered(7))
	}
}

func TestConsecutiveTextsShareStorage(t *testing.T) {
	b := setup(t, Options{})
	b.send(1)
	b.send(2)
	recs := b.srv.rec.snapshot()
	if len(recs) != 2 || recs[0].text != "hello" || recs[1].text != "hello" {
		t.Fatalf("records: %+v", recs)
	}
	if unsafe.StringData(recs[0].text) != unsafe.StringData(recs[1].text) {
		t.Fatal("the same text is stored twice")
	}
}

func TestDeliveriesSince(t *testing.T) {
	c := &clock{}
	b := setup(t, Options{Now: c.now})
	t0 := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	for i := int64(0); i < 3; i++ {
		c.set(t0.Add(time.Duration(i) * time.Millisecond))
		b.send(i + 1)
	}
	since := t0.Add(time.Millisecond).Format(time.RFC3339Nano)
	var ds []Delivery
	b.control(http.MethodGet, "/control/deliveries?since="+since, "", http.StatusOK, &ds)
	if len(ds) != 2 || ds[0].ID != 2 || ds[1].ID != 3 || !ds[0].At.Equal(t0.Add(time.Millisecond)) {
		t.Fatalf("since %s: %+v", since, ds)
	}
	if got := b.srv.DeliveriesSince(t0.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("future since: %+v", got)
	}
	if got := b.srv.DeliveriesSince(time.Time{}); len(got) != 3 {
		t.Fatalf("zero since: %+v", got)
	}
	var e struct {
		Error struct {
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	b.control(http.MethodGet, "/control/deliveries?since=yesterday", "", http.StatusBadRequest, &e)
	if e.Error.Fields["since"] == "" {
		t.Fatalf("error: %+v", e)
	}
}

// Many concurrent senders: every accepted request is recorded exactly once
// and the counters add up (run with -race to check the hot path).
func TestConcurrentSendsAreAllRecorded(t *testing.T) {
	b := setup(t, Options{Faults: Faults{Rate500: 0.2}, Seed: 1})
	const workers, each = 8, 50
	errc := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			for i := 0; i < each; i++ {
				id := int64(w*each + i + 1)
				status, _, raw, err := b.post(context.Background(), fmt.Sprintf("/v1/send/%d", id), "Bearer "+b.token, body(id))
				if err != nil || (status != 200 && status != 500) {
					errc <- fmt.Errorf("send %d: %d %s %v", id, status, raw, err)
					return
				}
			}
			errc <- nil
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
	}
	st := b.srv.Stats()
	ds := b.srv.Deliveries()
	if st.Requests != workers*each || st.outcomeTotal() != st.Requests || st.Accepted != int64(len(ds)) || st.Status500 == 0 {
		t.Fatalf("stats %+v, deliveries %d", st, len(ds))
	}
	for _, d := range ds {
		if d.Count != 1 {
			t.Fatalf("id %d recorded %d times", d.ID, d.Count)
		}
	}
}

func BenchmarkSendHealthy(b *testing.B) {
	s, err := New(Options{Secret: testSecret})
	if err != nil {
		b.Fatal(err)
	}
	tok, _ := MintToken(testSecret, time.Time{})
	payload := body(1)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/v1/send/1", strings.NewReader(payload))
			req.Header.Set("Authorization", "Bearer "+tok)
			s.ServeHTTP(httptest.NewRecorder(), req)
		}
	})
}
