package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"mailing/api-service/internal/accounts"
	"mailing/api-service/internal/auth"
	"mailing/api-service/internal/httpapi"
	"mailing/api-service/internal/oidclogin"
	"mailing/api-service/internal/relay"
	"mailing/api-service/internal/webui"
	"mailing/api-service/web"
	"mailing/shared/broker"
	"mailing/shared/httpserve"
	"mailing/shared/metrics"
	"mailing/shared/postgres"
)

func serve(ctx context.Context, cfg appConfig, log *slog.Logger) error {
	if cfg.devSecretUsed {
		log.Warn("APP_ENV=dev: using the fixed development JWT secret; never do this in production")
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return err
	}
	defer db.Close()
	users, keys := postgres.NewUsers(db), postgres.NewKeys(db)
	if cfg.AdminUsername != "" {
		did, err := accounts.New(accounts.Config{Users: users, Keys: keys, Log: log}).EnsureAdmin(ctx, cfg.AdminUsername, cfg.AdminPassword)
		if err != nil {
			return fmt.Errorf("ensure the admin user %s: %w", cfg.AdminUsername, err)
		}
		log.Info("admin user ensured", "username", cfg.AdminUsername, "result", did)
	}
	// One registry per process, passed down: no global state.
	reg := metrics.NewRegistry()
	reg.MustRegister(collectors.NewDBStatsCollector(db.SQL(), "mailing"))
	tokens, err := auth.NewTokens(cfg.JWTSecret, cfg.JWTTTL)
	if err != nil {
		return err
	}
	// The authenticator caches users and keys while its own connection
	// listens for their changes; it outlives the HTTP server's shutdown,
	// which still answers requests, and writes the keys' last uses when it
	// stops.
	changes := db.Listener(postgres.AccessChannel)
	authn := auth.NewAuthenticator(auth.AuthenticatorConfig{
		Tokens: tokens, Users: users, Keys: keys, Sessions: postgres.NewSessions(db), TTL: cfg.AuthCacheTTL, Log: log,
		SessionIdle: cfg.SessionIdle, SessionMax: cfg.SessionMax,
		Feed: auth.Feed{Listen: func(ctx context.Context, sub auth.Subscriber) { changes.Listen(ctx, sub) }, Sync: changes.Sync},
	})
	authCtx, stopAuth := context.WithCancel(context.WithoutCancel(ctx))
	authDone := make(chan struct{})
	go func() {
		defer close(authDone)
		authn.Run(authCtx)
	}()
	defer func() { stopAuth(); <-authDone }()
	// The relay publishes what the API commits to the outbox. The publisher
	// connects lazily, so the API serves (and accepts mailouts) while the
	// broker is down; the events wait in the outbox until it returns.
	pub, err := broker.NewPublisher(broker.Config{URL: cfg.AMQPURL, Prefix: cfg.AMQPPrefix, Name: "api-relay", Logger: log})
	if err != nil {
		return err
	}
	defer pub.Close()
	outbox := postgres.NewOutbox(db)
	rel := &relay.Relay{Store: outbox, Publisher: pub, Log: log, Metrics: relay.NewMetrics(reg, outbox)}
	relayCtx, stopRelay := context.WithCancel(ctx)
	relayDone := make(chan struct{})
	go func() {
		defer close(relayDone)
		rel.Run(relayCtx)
	}()
	defer func() { stopRelay(); <-relayDone }()
	sweepDone := make(chan struct{})
	go func() {
		defer close(sweepDone)
		sweepSessions(relayCtx, postgres.NewSessions(db), log)
	}()
	defer func() { stopRelay(); <-sweepDone }()

	var rp *oidclogin.RelyingParty
	if cfg.OIDC.Issuer != "" {
		// The sign-in's state cookie is signed with a key every replica
		// derives from the JWT secret.
		key := sha256.Sum256([]byte("mailing oidc state\x00" + cfg.JWTSecret))
		cfg.OIDC.StateKey = key[:]
		if rp, err = oidclogin.New(ctx, cfg.OIDC); err != nil {
			return err
		}
	}
	ui, err := webui.New(web.Dist(), "/admin/")
	if err != nil {
		return err
	}
	if !ui.Built() {
		log.Warn("the admin UI is not built into this binary: /admin/ says how to build it (make build)")
	}
	gin.SetMode(gin.ReleaseMode)
	handler := httpapi.New(httpapi.Config{
		Stores: httpapi.PostgresStores(db), Log: log, Tokens: tokens, Authenticator: authn, DefaultTimezone: cfg.DefaultTimezone,
		Version: version, LoginLimiter: auth.NewLimiter(2*time.Second, 5),
		Metrics: httpapi.NewMetrics(reg), MetricsHandler: metrics.Handler(reg, log), TrustForwardedProto: cfg.ForwardedProto, OIDC: rp,
		WebUI: ui,
	})
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	srv := httpserve.NewServer(handler, log)
	srv.ReadHeaderTimeout = 10 * time.Second
	log.Info("listening", "addr", ln.Addr().String(), "version", version)

	return httpserve.Serve(ctx, srv, ln, log, httpserve.Options{Grace: 15 * time.Second})
}

func migrate(ctx context.Context, cfg appConfig, log *slog.Logger) error {
	if err := postgres.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	db, err := postgres.Open(ctx, cfg.DatabaseURL, log)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return err
	}
	log.Info("migrations up to date")
	return nil
}
