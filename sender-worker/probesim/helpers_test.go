package probesim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"mailing/shared/testkit"

	"go.uber.org/goleak"
)

// TestMain fails the package when any test leaves a goroutine behind:
// hung requests, sleeping requests and servers must all be cleaned up.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const testSecret = "test-secret-0123456789-abcdefghijklmnop"

// bundle is a Server behind a real HTTP listener.
type bundle struct {
	t     *testing.T
	srv   *Server
	base  string
	hc    *http.Client
	token string
}

func setup(t *testing.T, opts Options) *bundle {
	t.Helper()
	if opts.Secret == "" {
		opts.Secret = testSecret
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	// Cleanups run last-registered first: release hung requests, then
	// close the listener and wait for the handlers.
	t.Cleanup(ts.Close)
	t.Cleanup(srv.Close)
	tok, err := MintToken(testSecret, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return &bundle{t: t, srv: srv, base: ts.URL, hc: ts.Client(), token: tok}
}

func body(id int64) string {
	return fmt.Sprintf(`{"id":%d,"phone":79161234567,"text":"hello"}`, id)
}

// post sends a request to path with the bundle's token (or header auth
// when not nil) and returns the answer or the transport error.
func (b *bundle) post(ctx context.Context, path, auth, payload string) (int, http.Header, string, error) {
	header := []string{"Content-Type", "application/json"}
	if auth != "" {
		header = append(header, "Authorization", auth)
	}
	resp, raw, err := testkit.Do(ctx, b.hc, http.MethodPost, b.base+path, payload, header...)
	if resp == nil {
		return 0, nil, "", err
	}
	return resp.StatusCode, resp.Header, string(raw), err
}

// send delivers message id with a valid token and body.
func (b *bundle) send(id int64) (int, http.Header, string) {
	b.t.Helper()
	status, h, raw, err := b.post(context.Background(), fmt.Sprintf("/v1/send/%d", id), "Bearer "+b.token, body(id))
	if err != nil {
		b.t.Fatalf("send %d: %v", id, err)
	}
	return status, h, raw
}

// control calls the control API and decodes the answer into out (unless nil).
func (b *bundle) control(method, path, payload string, want int, out any) {
	b.t.Helper()
	resp, raw, err := testkit.Do(context.Background(), b.hc, method, b.base+path, payload)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.StatusCode != want {
		b.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			b.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

func (b *bundle) setFaults(f Faults) {
	b.t.Helper()
	if err := b.srv.SetFaults(f); err != nil {
		b.t.Fatal(err)
	}
}

// clock is a settable clock for arrival times and token expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// outcomeTotal sums every outcome counter.
func (s Stats) outcomeTotal() int64 {
	return s.Accepted + s.Status500 + s.Status400 + s.Status429 + s.Status503 + s.Garbage +
		s.CodeNonzero + s.Unauthorized + s.BadRequest + s.Dropped + s.Hung + s.Abandoned
}
