package httpserve

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// A request in flight when the context ends is answered before Serve
// returns; BeforeShutdown runs first.
func TestServeShutsDownGracefully(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inFlight, release := make(chan struct{}), make(chan struct{})
	log := slog.New(slog.DiscardHandler)
	srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(inFlight)
		<-release
		_, _ = io.WriteString(w, "done")
	}), log)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	released := false
	go func() {
		served <- Serve(ctx, srv, ln, log, Options{Grace: 10 * time.Second, BeforeShutdown: func() { released = true; close(release) }})
	}()
	answer := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String())
		if err != nil {
			answer <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answer <- string(b)
	}()
	<-inFlight
	cancel()
	if got := <-answer; got != "done" {
		t.Fatalf("the request in flight got %q, want done", got)
	}
	if err := <-served; err != nil || !released {
		t.Fatalf("Serve: %v (BeforeShutdown ran: %v)", err, released)
	}
}
