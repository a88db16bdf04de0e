package probe

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

const testToken = "test-token"

// testServer is an httptest server standing in for the external API that
// counts requests and new connections.
type testServer struct {
	*httptest.Server
	hits  atomic.Int64
	conns atomic.Int64
}

func newServer(t *testing.T, h http.HandlerFunc) *testServer {
	t.Helper()
	s := &testServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		h(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *testServer) base() string { return s.URL + "/v1" }

// answerWith replies with status, body and optional header pairs.
func answerWith(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

const okBody = `{"code": 0, "message": "OK"}`

// newClient builds a client against base; edit adjusts the config.
func newClient(t *testing.T, base string, log *slog.Logger, edit func(*Config)) *Client {
	t.Helper()
	cfg := Config{URL: base, Token: testToken, Timeout: 5 * time.Second, MaxConns: 8}
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func msg(id int64) Message {
	return Message{ID: id, Phone: "79161234567", Text: "hello", Attempt: 1, MailoutID: 7, CustomerID: 42}
}
