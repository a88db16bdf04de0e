// Command dev-oidc is an OpenID Provider for development and tests, where
// the production one (Auth0, Keycloak) cannot be reached: discovery, JWKS,
// the authorization code flow with PKCE, refresh tokens, userinfo and
// end-session, with a plain login form. Users and clients come from a JSON
// file; everything issued is kept in memory. docs/dev-oidc.md describes
// its settings and the default users.
package main

import (
	"context"
	"crypto/rsa"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"mailing/api-service/internal/devoidc"
	"mailing/shared/config"
	"mailing/shared/httpserve"
	"mailing/shared/logging"
)

// version is stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "dev-oidc:", err)
		os.Exit(1)
	}
}

type appConfig struct {
	Addr      string
	Issuer    string // "" derives it from the port listened on
	UsersPath string
	KeyPath   string
	Insecure  bool
	LogLevel  string
	LogFormat string
}

func loadConfig(getenv func(string) string) (appConfig, error) {
	e := config.New(getenv)
	c := appConfig{
		Addr:   e.String("DEV_OIDC_ADDR", ":8091"),
		Issuer: getenv("DEV_OIDC_ISSUER"),
		// Relative to the working directory: right for go run from the
		// repository's root.
		UsersPath: e.String("DEV_OIDC_USERS", "deploy/dev-oidc/users.json"),
		KeyPath:   getenv("DEV_OIDC_KEY"),
		Insecure:  e.Bool("DEV_OIDC_INSECURE", false),
		LogLevel:  e.String("LOG_LEVEL", "info"),
		LogFormat: e.String("LOG_FORMAT", "json"),
	}
	if err := e.Err(); err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

// run is the whole program; tests call it with their own environment and
// output.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log, err := logging.New(stdout, cfg.LogLevel, cfg.LogFormat, "dev-oidc")
	if err != nil {
		return err
	}
	// op logs the protocol requests it refuses (a wrong verifier, an
	// unregistered redirect URI) only through slog's default logger; its
	// WithLogger option does nothing. Those lines belong in our output.
	defer slog.SetDefault(slog.Default())
	slog.SetDefault(log)

	dir, err := devoidc.LoadDirectory(cfg.UsersPath)
	if err != nil {
		return fmt.Errorf("DEV_OIDC_USERS: %w", err)
	}
	var key *rsa.PrivateKey
	if cfg.KeyPath != "" {
		if key, err = devoidc.LoadKey(cfg.KeyPath); err != nil {
			return fmt.Errorf("DEV_OIDC_KEY: %w", err)
		}
	} else {
		log.Info("signing with a key generated at start: relying parties must fetch the JWKS again after a restart; set DEV_OIDC_KEY to keep one")
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	defer ln.Close()
	issuer := cfg.Issuer
	if issuer == "" {
		issuer = "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "/"
	}
	provider, err := devoidc.New(devoidc.Config{Issuer: issuer, Directory: dir, Key: key, Insecure: cfg.Insecure, Log: log})
	if err != nil {
		return err
	}
	srv := httpserve.NewServer(provider, log)
	srv.ReadHeaderTimeout = 10 * time.Second
	log.Info("listening", "addr", ln.Addr().String(), "issuer", issuer,
		"users", len(dir.Users), "clients", len(dir.Clients), "version", version)

	return httpserve.Serve(ctx, srv, ln, log, httpserve.Options{Grace: 10 * time.Second})
}
