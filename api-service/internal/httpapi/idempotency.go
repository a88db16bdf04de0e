package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
	"mailing/shared/postgres"
)

// Idempotency keys: a request sent with an Idempotency-Key header claims
// that key for its caller (the principal's actor id), and its answer —
// status, body, Content-Type and Location — is stored and replayed, with
// Idempotent-Replayed: true, to every later request of that caller with
// that key and the same method, path, query and body, for
// idempotencyKeep. The same key with another request is a 422; while the
// first request runs, a 409 with Retry-After.
//
// What is stored: every answer below 500 — a 4xx included, since the same
// request would be refused the same way. Not stored (the claim is
// released, and a retry runs the request again): a 5xx, a request whose
// client went away or whose body could not be read to its end (a failed
// or over-limit upload: its hash is unknown), and an answer over
// maxStoredAnswer bytes, which no route here comes near (an import's
// summary lists at most 1000 rejected lines).
//
// Bodies: a JSON body (1 MiB at most) is read and hashed before the key
// is claimed. An import is streamed: its body is hashed as the import
// reads it (what the import left unread, when it refused the upload
// early, is read after it), the claim holds no hash until the import ends,
// and a second request while it runs is a 409 whatever its body; a retry
// after it ended is read to its end and hashed before it is answered with
// the replay or a 422. The answer is stored before it is sent, so a client that got it
// and retries is replayed.
//
// A claim is race-safe: one INSERT ... ON CONFLICT on the (actor, key)
// primary key, never a read before the write. It is renewed while its
// request runs; a claim left behind by a process that died is taken over
// after idempotencyLease, and that request may then run twice — the one
// window, as with any crash between doing and recording.
const (
	idempotencyHeader = "Idempotency-Key"
	replayedHeader    = "Idempotent-Replayed"
	idempotencyKeep   = 24 * time.Hour
	idempotencyLease  = time.Minute
	maxStoredAnswer   = 1 << 20
	// idempotencySweepEvery spaces the sweeps of expired keys: a claim
	// sweeps when the last sweep on this process is older.
	idempotencySweepEvery = time.Minute
	// A sweep deletes at most idempotencySweepBatches batches, so that
	// the request it runs in is not held up; the next one goes on.
	idempotencySweepBatch   = 1000
	idempotencySweepBatches = 10
)

// replayedHeaders are the headers of an answer worth replaying.
var replayedHeaders = []string{"Content-Type", "Location"}

// IdempotencyStore keeps the claims of idempotency keys and their answers.
type IdempotencyStore interface {
	Claim(ctx context.Context, in postgres.IdempotencyClaim) (postgres.IdempotencyKey, bool, error)
	Extend(ctx context.Context, k postgres.IdempotencyKey, lockedUntil time.Time) (bool, error)
	Complete(ctx context.Context, k postgres.IdempotencyKey, hash string, resp postgres.IdempotentResponse) (bool, error)
	Release(ctx context.Context, k postgres.IdempotencyKey) error
	DeleteExpired(ctx context.Context, now time.Time, limit int) (int64, error)
}

// idempotency is the server's state of idempotency keys.
type idempotency struct {
	store IdempotencyStore
	// lastSweep is when this process last swept expired keys (Unix ns).
	lastSweep atomic.Int64
}

// bodyRead says how an idempotent route's body is hashed.
type bodyRead int

const (
	// readFirst reads a JSON body (maxJSONBody at most) before the claim.
	readFirst bodyRead = iota
	// hashStreamed hashes a streamed upload as the handler reads it.
	hashStreamed
)

// idempotent wraps handler h of a creating route so that an
// Idempotency-Key header makes it safe to retry; without the header h runs
// as is. It runs after authorize, which puts the principal in the context.
func (s *Server) idempotent(how bodyRead, h gin.HandlerFunc) gin.HandlerFunc {
	limit := int64(maxJSONBody)
	if how == hashStreamed {
		limit = s.importMaxBytes
	}
	return func(c *gin.Context) {
		values := c.Request.Header.Values(idempotencyHeader)
		if len(values) == 0 {
			h(c)
			return
		}
		key, err := idempotencyKey(values)
		if err != nil {
			writeError(c, err)
			return
		}
		if s.idem == nil || s.idem.store == nil {
			writeError(c, domain.Errorf(domain.CodeInternal, "idempotency keys are not available"))
			return
		}
		p, ok := domain.PrincipalFrom(c.Request.Context())
		if !ok {
			writeError(c, domain.Errorf(domain.CodeUnauthorized, "an Idempotency-Key needs an authenticated caller"))
			return
		}
		body := newHashedBody(c.Request)
		c.Request.Body = body
		var hash string
		if how == readFirst {
			if err := body.readAhead(limit); err != nil {
				writeError(c, domain.Errorf(domain.CodeInvalid, "could not read request body"))
				return
			}
			hash, _ = body.sum(limit) // unknown for a body over the limit, which h refuses
		}
		ctx := c.Request.Context()
		now := time.Now()
		s.idem.sweep(c, now)
		k, claimed, err := s.idem.store.Claim(ctx, postgres.IdempotencyClaim{
			Actor: p.Actor(), Key: key, Method: c.Request.Method, Path: c.Request.URL.Path, Hash: hash,
			Now: now, LockedUntil: now.Add(idempotencyLease), ExpiresAt: now.Add(idempotencyKeep),
		})
		if err != nil {
			writeError(c, err)
			return
		}
		if !claimed {
			s.idem.answerTaken(c, k, body, hash, limit)
			return
		}
		s.idem.run(c, h, k, body, limit)
	}
}

// idempotencyKey checks the header's one value: 1–255 printable ASCII
// characters.
func idempotencyKey(values []string) (string, error) {
	bad := &domain.Error{Code: domain.CodeInvalid, Message: "invalid " + idempotencyHeader + " header",
		Fields: map[string]string{idempotencyHeader: "must be one value of 1–255 printable ASCII characters"}}
	if len(values) != 1 || len(values[0]) < 1 || len(values[0]) > 255 {
		return "", bad
	}
	for i := 0; i < len(values[0]); i++ {
		if ch := values[0][i]; ch < 0x20 || ch > 0x7e {
			return "", bad
		}
	}
	return values[0], nil
}

// answerTaken answers a request whose key another request holds or held:
// 422 for another request, 409 while the first runs, else its answer.
func (m *idempotency) answerTaken(c *gin.Context, k postgres.IdempotencyKey, body *hashedBody, hash string, limit int64) {
	if hash != "" && k.Hash != "" && hash != k.Hash {
		writeError(c, keyReused())
		return
	}
	if k.State != postgres.IdempotencyCompleted || k.Response == nil {
		c.Header("Retry-After", "1")
		writeError(c, domain.Errorf(domain.CodeConflict, "a request with this %s is still in progress: retry later", idempotencyHeader))
		return
	}
	if hash == "" {
		var ok bool
		if hash, ok = body.sum(limit); !ok {
			// Read the retry's streamed body to its end to compare it.
			body.drain(limit)
			hash, _ = body.sum(limit)
		}
	}
	if hash != k.Hash {
		// A body over the limit is never the stored request's either.
		writeError(c, keyReused())
		return
	}
	for _, name := range replayedHeaders {
		if v, ok := k.Response.Header[name]; ok {
			c.Header(name, v)
		}
	}
	c.Header(replayedHeader, "true")
	c.Status(k.Response.Status)
	if len(k.Response.Body) == 0 {
		c.Writer.WriteHeaderNow()
	} else {
		_, _ = c.Writer.Write(k.Response.Body)
	}
	c.Abort()
}

func keyReused() error {
	return domain.Errorf(domain.CodeUnprocessable, "this %s was used for another request: the method, path, query and body must be the same", idempotencyHeader)
}

// run runs h for the claim k, keeps the claim while h runs, then stores h's
// answer (or releases the claim) before sending the answer.
func (m *idempotency) run(c *gin.Context, h gin.HandlerFunc, k postgres.IdempotencyKey, body *hashedBody, limit int64) {
	ctx := c.Request.Context()
	// After h, the store is written even when the client went away.
	after := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	}
	stopRenewing := m.renew(ctx, k)
	out := c.Writer
	rec := &answerRecorder{ResponseWriter: out, status: http.StatusOK}
	c.Writer = rec
	defer func() {
		if r := recover(); r != nil {
			stopRenewing()
			c.Writer = out
			rctx, cancel := after()
			defer cancel()
			m.release(c, rctx, k)
			panic(r) // the recoverer answers it
		}
	}()
	h(c)
	stopRenewing()
	c.Writer = out

	rctx, cancel := after()
	defer cancel()
	status := rec.status
	switch {
	case status >= 500 || status == 499 || ctx.Err() != nil || body.err != nil:
		m.release(c, rctx, k)
	default:
		hash, ok := k.Hash, k.Hash != ""
		if !ok {
			body.drain(limit) // what the handler left unread
			hash, ok = body.sum(limit)
		}
		switch {
		case !ok:
			m.release(c, rctx, k)
		case rec.body.Len() > maxStoredAnswer:
			logger(c).Warn("answer too large to store for its Idempotency-Key: a retry runs the request again", "bytes", rec.body.Len())
			m.release(c, rctx, k)
		default:
			header := map[string]string{}
			for _, name := range replayedHeaders {
				if v := out.Header().Get(name); v != "" {
					header[name] = v
				}
			}
			stored, err := m.store.Complete(rctx, k, hash, postgres.IdempotentResponse{Status: status, Header: header, Body: rec.body.Bytes()})
			if err != nil || !stored {
				logger(c).Warn("answer not stored for its Idempotency-Key: a retry runs the request again", "error", errString(err), "claim_lost", !stored)
				m.release(c, rctx, k)
			}
		}
	}
	rec.send(out)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (m *idempotency) release(c *gin.Context, ctx context.Context, k postgres.IdempotencyKey) {
	if err := m.store.Release(ctx, k); err != nil {
		logger(c).Warn("Idempotency-Key not released: retries are refused until its lease passes", "error", err.Error())
	}
}

// renew extends claim k every third of its lease until the returned stop
// is called (which waits for a renewal in flight).
func (m *idempotency) renew(ctx context.Context, k postgres.IdempotencyKey) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(idempotencyLease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			// A failure is tried again at the next tick: the lease
			// outlasts two misses.
			_, _ = m.store.Extend(ctx, k, time.Now().Add(idempotencyLease))
		}
	})
	return func() { cancel(); wg.Wait() }
}

// sweep deletes expired keys when this process has not for
// idempotencySweepEvery; one request at a time does it, the others go on.
// Expired keys are claimed anew whether swept or not: the sweep only
// keeps the table small.
func (m *idempotency) sweep(c *gin.Context, now time.Time) {
	last := m.lastSweep.Load()
	if now.UnixNano()-last < int64(idempotencySweepEvery) || !m.lastSweep.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	var total int64
	for range idempotencySweepBatches {
		n, err := m.store.DeleteExpired(c.Request.Context(), now, idempotencySweepBatch)
		total += n
		if err != nil {
			logger(c).Warn("expired idempotency keys not swept", "error", err.Error())
			break
		}
		if n < idempotencySweepBatch {
			break
		}
	}
	if total > 0 {
		logger(c).Info("expired idempotency keys swept", "deleted", total)
	}
}

// hashedBody is a request body that hashes what is read of it, after the
// method, path and query, so that a request is known by one SHA-256.
type hashedBody struct {
	r     io.ReadCloser
	h     hash.Hash
	n     int64  // bytes read from r
	ahead []byte // read ahead, served first
	eof   bool
	err   error // a read failure other than the end
}

func newHashedBody(r *http.Request) *hashedBody {
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	h := sha256.New()
	for _, part := range []string{r.Method, r.URL.Path, r.URL.RawQuery} {
		io.WriteString(h, strconv.Itoa(len(part))+":"+part+"\x00")
	}
	return &hashedBody{r: body, h: h}
}

func (b *hashedBody) Read(p []byte) (int, error) {
	if len(b.ahead) > 0 {
		n := copy(p, b.ahead)
		b.ahead = b.ahead[n:]
		return n, nil
	}
	return b.read(p)
}

func (b *hashedBody) read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.h.Write(p[:n])
	b.n += int64(n)
	switch {
	case err == io.EOF:
		b.eof = true
	case err != nil && b.err == nil:
		b.err = err
	}
	return n, err
}

func (b *hashedBody) Close() error { return b.r.Close() }

// readAhead reads up to limit+1 bytes, which Read then serves again.
func (b *hashedBody) readAhead(limit int64) error {
	buf, err := io.ReadAll(io.LimitReader(readerFunc(b.read), limit+1))
	b.ahead = buf
	return err
}

// drain reads the rest of the body, up to limit bytes in all.
func (b *hashedBody) drain(limit int64) {
	if b.eof || b.err != nil || b.n > limit {
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(readerFunc(b.read), limit-b.n+1))
}

// sum is the request's hash once its body was read to its end within
// limit bytes.
func (b *hashedBody) sum(limit int64) (string, bool) {
	if !b.eof || b.err != nil || b.n > limit {
		return "", false
	}
	return hex.EncodeToString(b.h.Sum(nil)), true
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// answerRecorder holds a handler's answer (its headers go to the real
// writer's, unsent) until send.
type answerRecorder struct {
	gin.ResponseWriter
	status  int
	written bool
	body    bytes.Buffer
}

func (r *answerRecorder) WriteHeader(code int) {
	if code > 0 && !r.written {
		r.status = code
	}
}

func (r *answerRecorder) WriteHeaderNow() { r.written = true }

func (r *answerRecorder) Write(p []byte) (int, error) {
	r.written = true
	return r.body.Write(p)
}

func (r *answerRecorder) WriteString(s string) (int, error) {
	r.written = true
	return r.body.WriteString(s)
}

func (r *answerRecorder) Status() int   { return r.status }
func (r *answerRecorder) Written() bool { return r.written }
func (r *answerRecorder) Flush()        {}

func (r *answerRecorder) Size() int {
	if !r.written {
		return -1
	}
	return r.body.Len()
}

// send writes the held answer to w.
func (r *answerRecorder) send(w gin.ResponseWriter) {
	w.WriteHeader(r.status)
	if r.body.Len() == 0 {
		w.WriteHeaderNow()
		return
	}
	_, _ = w.Write(r.body.Bytes())
}
