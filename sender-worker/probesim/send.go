package probesim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"mailing/shared/logging"
)

// sendBody is the request body of the contract.
type sendBody struct {
	ID    int64  `json:"id"`
	Phone int64  `json:"phone"`
	Text  string `json:"text"`
}

// Phones are 11 digits starting with 7.
const minPhone, maxPhone = 70_000_000_000, 79_999_999_999

func (b *sendBody) valid(pathID int64) bool {
	return pathID > 0 && b.ID == pathID && b.Phone >= minPhone && b.Phone <= maxPhone && b.Text != ""
}

// send serves POST /v1/send/{id}: down → drop; read the body; hang or
// sleep the latency; then token, body, injected fault, and finally the
// recorded delivery. The order keeps the healthy path to one atomic load,
// one cached token comparison, one JSON decode and one append.
func (s *Server) send(w http.ResponseWriter, r *http.Request) {
	arrived := s.now()
	s.requests.Add(1)
	id, idErr := strconv.ParseInt(r.PathValue("id"), 10, 64)
	st := s.state.Load()
	if st.faults.Down {
		s.drop(w, r, outDropped, id, arrived)
		return
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	defer s.putBuf(buf)
	// Reading the body to its end also makes net/http watch the
	// connection, so r.Context() ends when the client goes away during a
	// hang or the latency.
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, maxSendBody)); err != nil {
		if tooBig := new(http.MaxBytesError); errors.As(err, &tooBig) {
			s.reply(w, r, st, outBadRequest, id, arrived)
			return
		}
		s.drop(w, r, outAbandoned, id, arrived)
		return
	}
	if st.faults.Hang {
		s.hang(w, r, st, id, arrived)
		return
	}
	if st.latency > 0 || st.jitter > 0 {
		u := 0.5
		if st.jitter > 0 {
			u = s.float64()
		}
		if !s.sleep(r.Context(), st.delay(u)) {
			s.drop(w, r, outAbandoned, id, arrived)
			return
		}
	}
	if !s.auth.check(r.Header.Get("Authorization")) {
		s.reply(w, r, st, outUnauthorized, id, arrived)
		return
	}
	var body sendBody
	if idErr != nil || json.Unmarshal(buf.Bytes(), &body) != nil || !body.valid(id) {
		s.reply(w, r, st, outBadRequest, id, arrived)
		return
	}
	if st.anyRate {
		if o := st.pick(s.float64()); o != outAccepted {
			s.reply(w, r, st, o, id, arrived)
			return
		}
	}
	s.rec.add(record{id: id, phone: body.Phone, at: arrived.UnixNano(), text: body.Text})
	s.reply(w, r, st, outAccepted, id, arrived)
}

// putBuf returns a body buffer to the pool unless one huge request grew it.
func (s *Server) putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxSendBody {
		b.Reset()
		s.bufs.Put(b)
	}
}

// hang holds the request unanswered until the client leaves, the fault is
// lifted or the server closes, then drops the connection. It is counted
// when it starts so a test can see requests hanging.
func (s *Server) hang(w http.ResponseWriter, r *http.Request, st *faultState, id int64, arrived time.Time) {
	s.counts[outHung].Add(1)
	select {
	case <-r.Context().Done():
	case <-st.release:
	case <-s.closing:
	}
	s.logRequest(r, outHung, 0, id, arrived)
	abortConn(w)
}

// drop closes the connection without an answer.
func (s *Server) drop(w http.ResponseWriter, r *http.Request, o outcome, id int64, arrived time.Time) {
	s.finish(r, o, 0, id, arrived)
	abortConn(w)
}

// abortConn closes the client's connection without writing anything. The
// fallback, for writers that cannot be hijacked, is net/http's own way to
// abort a response.
func abortConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request, st *faultState, o outcome, id int64, arrived time.Time) {
	a := o.answer()
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	if a.retryAfter {
		h.Set("Retry-After", st.retryAfter)
	}
	if o == outUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="probe-sim"`)
	}
	w.WriteHeader(a.status)
	_, _ = io.WriteString(w, a.body)
	s.finish(r, o, a.status, id, arrived)
}

func (s *Server) finish(r *http.Request, o outcome, status int, id int64, arrived time.Time) {
	s.counts[o].Add(1)
	s.logRequest(r, o, status, id, arrived)
}

// logRequest writes the per-request debug line; the level check comes
// first so a benchmark at info level pays nothing for it.
func (s *Server) logRequest(r *http.Request, o outcome, status int, id int64, arrived time.Time) {
	if !s.log.Enabled(r.Context(), slog.LevelDebug) {
		return
	}
	s.log.LogAttrs(r.Context(), slog.LevelDebug, "request",
		slog.Int64(logging.MessageID, id),
		slog.String("outcome", o.String()),
		slog.Int("http_status", status),
		slog.Float64("latency_ms", float64(s.now().Sub(arrived))/float64(time.Millisecond)),
	)
}
