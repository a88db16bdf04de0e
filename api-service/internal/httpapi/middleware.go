package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"mailing/api-service/internal/auth"
	"mailing/shared/domain"
	"mailing/shared/logging"
	"mailing/shared/metrics"
)

const (
	ctxLogger = "logger"
	ctxLogIDs = "log_ids"
)

var requestIDRe = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// requestContext gives every request an id (the client's X-Request-ID when
// it is sane), a logger carrying it, and one summary log line at the end
// with who acted and the ids the handler touched.
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
	if p, ok := domain.PrincipalFrom(c.Request.Context()); ok {
		attrs = append(attrs, slog.String(logging.Actor, p.Actor()))
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

// authorize admits a request to an /api route when its credential proves
// a principal whose role includes the least role the route declares in
// apiRoutes: 401 without good credentials, 403 without the role, and 403
// for everyone on a route missing from the table. See authenticate for
// the credentials.
func (s *Server) authorize(c *gin.Context) {
	p, ok := s.authenticate(c)
	if !ok {
		return
	}
	route := c.FullPath()
	need, listed := s.roles[roleKey(c.Request.Method, route)]
	if !listed {
		logger(c).Error("route missing from the role table: refused", "route", route)
		writeError(c, domain.Errorf(domain.CodeForbidden, "%s %s is open to no role", c.Request.Method, route))
		return
	}
	if !p.Role.Includes(need) {
		writeError(c, domain.Errorf(domain.CodeForbidden, "%s %s needs the %s role; %s has the %s role", c.Request.Method, route, need, p.Actor(), p.Role))
		return
	}
	c.Next()
}

// authenticate returns the principal the request's credential proves: a
// bearer credential (a JWT or an API key) when there is an Authorization
// header, else the browser's session cookie. A state-changing request
// made with the session cookie must also carry the session's CSRF token
// in X-CSRF-Token (403 without it); a bearer request needs none, since
// browsers never add a bearer credential on their own. The principal goes
// into the request's context, and its actor id into every line the
// request logs. When it returns false the answer is written.
func (s *Server) authenticate(c *gin.Context) (domain.Principal, bool) {
	var (
		p   domain.Principal
		err error
	)
	h := c.GetHeader("Authorization")
	token := sessionToken(c)
	if h == "" && token != "" {
		var sess domain.Session
		p, sess, err = s.auth.Session(c.Request.Context(), token)
		if errors.Is(err, auth.ErrUnauthenticated) {
			logger(c).Debug("session refused", "reason", err.Error())
			writeError(c, domain.Errorf(domain.CodeUnauthorized, "session expired or signed out: sign in again"))
			return p, false
		}
		if err == nil && stateChanging(c.Request.Method) && !auth.CheckCSRF(sess, c.GetHeader(csrfHeader)) {
			writeError(c, domain.Errorf(domain.CodeForbidden, "missing or wrong %s header: send the session's CSRF token", csrfHeader))
			return p, false
		}
	} else {
		scheme, credential, ok := strings.Cut(h, " ")
		credential = strings.TrimSpace(credential)
		if !ok || !strings.EqualFold(scheme, "Bearer") || credential == "" {
			c.Header("WWW-Authenticate", `Bearer realm="mailing"`)
			writeError(c, domain.Errorf(domain.CodeUnauthorized, "missing bearer token: send Authorization: Bearer <token from POST /auth/token, or an API key>, or sign in with POST /auth/login"))
			return p, false
		}
		p, err = s.auth.Authenticate(c.Request.Context(), credential)
		if errors.Is(err, auth.ErrUnauthenticated) {
			logger(c).Debug("credentials refused", "reason", err.Error())
			c.Header("WWW-Authenticate", `Bearer realm="mailing", error="invalid_token"`)
			writeError(c, domain.Errorf(domain.CodeUnauthorized, "invalid or expired token"))
			return p, false
		}
	}
	if err != nil {
		writeError(c, err)
		return p, false
	}
	log := logger(c).With(logging.Actor, p.Actor())
	c.Set(ctxLogger, log)
	c.Request = c.Request.WithContext(logging.NewContext(domain.WithPrincipal(c.Request.Context(), p), log))
	return p, true
}
