// Package httpapi is the mailing service's HTTP API: routes, handlers,
// authentication and the one error shape.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"mailing/api-service/internal/accounts"
	"mailing/api-service/internal/auth"
	"mailing/api-service/internal/importer"
	"mailing/api-service/internal/oidclogin"
	"mailing/shared/customers"
	"mailing/shared/domain"
	"mailing/shared/mailouts"
	"mailing/shared/metrics"
)

// Config holds the server's dependencies, built once by the binary.
type Config struct {
	Stores Stores
	Log    *slog.Logger
	Tokens *auth.Tokens
	// Authenticator proves who calls /api; nil builds one over Stores
	// without a feed of changes, which caches nothing.
	Authenticator *auth.Authenticator
	LoginLimiter  *auth.Limiter
	// OIDCLimiter limits sign-ins through the OpenID Provider (the
	// redirect and the callback) per client address; nil means a burst
	// of 30, then one a second.
	OIDCLimiter *auth.Limiter
	// TestSendWait is how long POST /api/mailouts/{id}/test waits for the
	// outcome before answering 202; zero means 10 s.
	TestSendWait    time.Duration
	DefaultTimezone string
	Version         string
	// ImportMaxBytes bounds a bulk import body; zero means 512 MiB.
	ImportMaxBytes int64
	// Now is the clock; tests may pin it.
	Now func() time.Time
	// Metrics counts requests and changes; nil counts nothing.
	Metrics *Metrics
	// MetricsHandler serves GET /metrics; nil leaves the route out.
	MetricsHandler http.Handler
	// TrustForwardedProto marks session cookies Secure when a proxy says
	// X-Forwarded-Proto: https (they are whenever the request came over
	// TLS).
	TrustForwardedProto bool
	// OIDC signs people in through an OpenID Provider; nil leaves
	// /auth/oidc out.
	OIDC *oidclogin.RelyingParty
	// WebUI serves the admin UI at /admin/ (GET and HEAD of every path
	// below it); nil leaves /admin/ out.
	WebUI http.Handler
}

// Server answers the API.
type Server struct {
	customers *customers.Service
	refs      RefStore
	stats     StatsStore
	accounts  *accounts.Service
	auth      *auth.Authenticator
	health    Pinger
	audit     AuditStore
	mailouts  *mailouts.Service
	tests     *mailouts.Tests
	testWait  time.Duration
	log       *slog.Logger
	tokens    *auth.Tokens
	limiter   *auth.Limiter
	oidcLimit *auth.Limiter
	version   string
	now       func() time.Time
	engine    *gin.Engine
	metrics   *Metrics
	scrape    http.Handler
	imports   *importer.Importer
	// forwardedProto: trust X-Forwarded-Proto for the cookies' Secure flag.
	forwardedProto bool
	oidc           *oidclogin.RelyingParty
	webUI          http.Handler
	external       ExternalUserStore
	idem           *idempotency
	// roles is the least role of each /api route ("GET /api/users/:id"),
	// from apiRoutes.
	roles map[string]domain.Role

	importMaxBytes int64
}

// New builds the server and its routes.
func New(cfg Config) *Server {
	s := &Server{
		refs: cfg.Stores.Refs, stats: cfg.Stores.Stats,
		health: cfg.Stores.Health, auth: cfg.Authenticator, audit: cfg.Stores.Audit,
		log: cfg.Log, tokens: cfg.Tokens, limiter: cfg.LoginLimiter, oidcLimit: cfg.OIDCLimiter,
		version: cfg.Version, now: cfg.Now,
		metrics: cfg.Metrics, scrape: cfg.MetricsHandler, forwardedProto: cfg.TrustForwardedProto,
		oidc: cfg.OIDC, webUI: cfg.WebUI, external: cfg.Stores.External, idem: &idempotency{store: cfg.Stores.Idempotency},
	}
	if s.now == nil {
		s.now = time.Now
	}
	var mailoutMetrics *metrics.Mailouts
	var customerMetrics *metrics.Customers
	if cfg.Metrics != nil {
		mailoutMetrics, customerMetrics = cfg.Metrics.Mailouts, cfg.Metrics.Customers
	}
	s.mailouts = mailouts.New(cfg.Stores.Mailouts, mailouts.Config{Now: s.now, Metrics: mailoutMetrics, Log: cfg.Log})
	s.tests = mailouts.NewTests(s.mailouts, cfg.Stores.Tests)
	s.testWait = cfg.TestSendWait
	if s.testWait <= 0 {
		s.testWait = 10 * time.Second
	}
	s.customers = customers.New(cfg.Stores.Customers, customers.Config{DefaultTimezone: cfg.DefaultTimezone, Metrics: customerMetrics, Log: cfg.Log})
	s.importMaxBytes = cfg.ImportMaxBytes
	if s.importMaxBytes <= 0 {
		s.importMaxBytes = defaultImportMaxBytes
	}
	s.imports = importer.New(importer.Config{Store: importStore{cfg.Stores.Customers}, DefaultTimezone: cfg.DefaultTimezone, Log: cfg.Log})
	if s.auth == nil {
		s.auth = auth.NewAuthenticator(auth.AuthenticatorConfig{Tokens: cfg.Tokens, Users: cfg.Stores.Users, Keys: cfg.Stores.Keys, Sessions: cfg.Stores.Sessions, Log: cfg.Log})
	}
	// Credentials live on the wall clock, whatever clock mailouts keep.
	ac := accounts.Config{Users: cfg.Stores.Users, Keys: cfg.Stores.Keys, Audit: cfg.Stores.Audit, Sync: s.auth, Log: cfg.Log,
		Settings: cfg.Stores.Settings, Admins: cfg.Stores.Users}
	if cfg.OIDC != nil {
		ac.OIDCIssuer = cfg.OIDC.Issuer()
	}
	s.accounts = accounts.New(ac)
	if s.oidcLimit == nil {
		s.oidcLimit = auth.NewLimiter(time.Second, 30)
	}
	if s.limiter == nil {
		s.limiter = auth.NewLimiter(time.Second, 10)
	}
	s.engine = gin.New()
	s.engine.HandleMethodNotAllowed = true
	s.engine.ContextWithFallback = true
	s.routes()
	return s
}

// ServeHTTP makes the server an http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.engine.ServeHTTP(w, r) }

// importStore gives the import engine the directory's batch writers.
type importStore struct{ CustomerStore }

func (s importStore) StartImport(ctx context.Context, onConflict domain.ImportConflict) (importer.BatchWriter, error) {
	w, err := s.CustomerStore.StartImport(ctx, onConflict)
	if err != nil {
		return nil, err // not a typed nil
	}
	return w, nil
}
