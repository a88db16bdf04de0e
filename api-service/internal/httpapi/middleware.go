package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
	"mailing/shared/logging"
	"mailing/shared/metrics"
)

const (
	ctxLogger  = "logger"
	ctxLogIDs  = "log_ids"
	ctxSubject = "subject"
)

var requestIDRe = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// requestContext gives every request an id (the client's X-Request-ID when
// it is sane), a logger carrying it, and one summary log line at the end
// with the ids the handler touched.
func (s *Server) requestContext(c *gin.Context) {
	start := time.Now()
	s.metrics.http().Begin()
	rid := c.GetHeader("X-Request-ID")
	if !requestIDRe.MatchString(rid) {
		rid = newRequestID()
	}
	c.Header("X-Request-ID", rid)
	log := s.log.With(logging.RequestID, rid)
	c.Set(ctxLogger, log)
	// What the handlers call logs with the request's logger, and records
	// the request in the audit trail.
	ctx := logging.NewContext(c.Request.Context(), log)
	c.Request = c.Request.WithContext(domain.WithRequest(ctx, domain.RequestInfo{ID: rid, ClientIP: c.ClientIP()}))
	c.Next()

	latency, route, status := time.Since(start), routeOf(c), c.Writer.Status()
	s.metrics.http().Observe(c.Request.Method, route, status, latency)
	attrs := []slog.Attr{
		slog.String("method", c.Request.Method),
		slog.String("route", route),
		slog.String("path", c.Request.URL.Path),
		slog.Int(logging.HTTPStatus, status),
		slog.Float64(logging.LatencyMS, float64(latency.Microseconds())/1000),
		slog.String("client_ip", c.ClientIP()),
	}
	if sub := c.GetString(ctxSubject); sub != "" {
		attrs = append(attrs, slog.String("user", sub))
	}
	if ids, ok := c.Get(ctxLogIDs); ok {
		attrs = append(attrs, ids.([]slog.Attr)...)
	}
	log.LogAttrs(c.Request.Context(), requestLevel(route, status), "http request", attrs...)
}

// requestLevel is error for a 5xx; debug for successful scrapes and
// health checks, which come every few seconds and say nothing about any
// object; info otherwise.
func requestLevel(route string, status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status < 400 && (route == "/metrics" || route == "/healthz" || route == "/readyz"):
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// routeOf is the route template the request matched (never the raw path,
// which holds ids), as logged and as the metrics' route label.
func routeOf(c *gin.Context) string {
	if r := c.FullPath(); r != "" {
		return r
	}
	return metrics.Unmatched
}

func newRequestID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// logger returns the request's logger.
func logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get(ctxLogger); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
}

// logID attaches an id (customer_id, mailout_id, ...) to the request's
// summary line. The same key is recorded once.
func logID(c *gin.Context, key string, id int64) {
	var ids []slog.Attr
	if v, ok := c.Get(ctxLogIDs); ok {
		ids = v.([]slog.Attr)
	}
	for _, a := range ids {
		if a.Key == key {
			return
		}
	}
	c.Set(ctxLogIDs, append(ids, slog.Int64(key, id)))
}

// recoverer turns a panic into a logged 500 in the error shape.
func (s *Server) recoverer(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			writeError(c, fmt.Errorf("panic: %v", r))
		}
	}()
	c.Next()
}

// requireToken admits requests with a valid bearer token.
func (s *Server) requireToken(c *gin.Context) {
	h := c.GetHeader("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		c.Header("WWW-Authenticate", `Bearer realm="mailing"`)
		writeError(c, domain.Errorf(domain.CodeUnauthorized, "missing bearer token: send Authorization: Bearer <token> from POST /auth/token"))
		return
	}
	sub, err := s.tokens.Verify(strings.TrimSpace(token))
	if err != nil {
		c.Header("WWW-Authenticate", `Bearer realm="mailing", error="invalid_token"`)
		writeError(c, domain.Errorf(domain.CodeUnauthorized, "invalid or expired token"))
		return
	}
	c.Set(ctxSubject, sub)
	c.Next()
}
