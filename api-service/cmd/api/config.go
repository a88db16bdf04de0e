package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"mailing/api-service/internal/auth"
	"mailing/api-service/internal/oidclogin"
	"mailing/shared/config"
	"mailing/shared/domain"
	"mailing/shared/logging"
)

// devSecret is used only with APP_ENV=dev; it is public, so such tokens
// are worthless outside a developer's machine.
const devSecret = "dev-only-secret-do-not-use-in-production-0123456789"

type appConfig struct {
	Env            string
	HTTPAddr       string
	DatabaseURL    string
	JWTSecret      string
	JWTTTL         time.Duration
	AuthCacheTTL   time.Duration
	SessionIdle    time.Duration
	SessionMax     time.Duration
	ForwardedProto bool
	// OIDC is the OpenID sign-in; its Issuer is empty when it is off.
	OIDC            oidclogin.Config
	AdminUsername   string
	AdminPassword   string
	DefaultTimezone string
	LogLevel        string
	LogFormat       string
	LogPII          bool
	AMQPURL         string
	AMQPPrefix      string
	devSecretUsed   bool
}

// loadConfig reads the environment; the JWT secret is only checked when
// serving, so "api migrate" runs without one.
func loadConfig(getenv func(string) string, serving bool) (appConfig, error) {
	e := config.New(getenv)
	c := appConfig{
		Env:             e.String("APP_ENV", "production"),
		HTTPAddr:        e.String("HTTP_ADDR", ":8080"),
		DatabaseURL:     e.String("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mailing?sslmode=disable"),
		JWTSecret:       getenv("JWT_SECRET"),
		JWTTTL:          e.Duration("JWT_TTL", time.Hour),
		AuthCacheTTL:    e.Duration("AUTH_CACHE_TTL", 30*time.Second),
		SessionIdle:     e.Duration("SESSION_IDLE", auth.DefaultSessionIdle),
		SessionMax:      e.Duration("SESSION_MAX", auth.DefaultSessionMax),
		ForwardedProto:  e.Bool("TRUST_FORWARDED_PROTO", false),
		AdminUsername:   getenv("ADMIN_USERNAME"),
		AdminPassword:   getenv("ADMIN_PASSWORD"),
		DefaultTimezone: e.String("DEFAULT_TIMEZONE", "Europe/Moscow"),
		LogLevel:        e.String("LOG_LEVEL", "info"),
		LogFormat:       e.String("LOG_FORMAT", "json"),
		LogPII:          e.Bool("LOG_PII", false),
		AMQPURL:         e.String("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
		AMQPPrefix:      getenv("AMQP_PREFIX"),
	}
	if c.JWTSecret == "" && c.Env == "dev" {
		c.JWTSecret, c.devSecretUsed = devSecret, true
	}
	switch {
	case !serving:
	case c.JWTSecret == "":
		e.Fail("JWT_SECRET is required (at least %d bytes); set APP_ENV=dev to use a fixed development secret", auth.MinSecretLen)
	case len(c.JWTSecret) < auth.MinSecretLen:
		e.Fail("JWT_SECRET must be at least %d bytes", auth.MinSecretLen)
	}
	if p := domain.ValidateTimezone(c.DefaultTimezone); p != "" {
		e.Fail("DEFAULT_TIMEZONE=%q %s", c.DefaultTimezone, p)
	}
	if (c.AdminUsername == "") != (c.AdminPassword == "") {
		e.Fail("ADMIN_USERNAME and ADMIN_PASSWORD must be set together")
	}
	if c.AdminPassword != "" {
		if p := domain.ValidatePassword(c.AdminPassword); p != "" {
			e.Fail("ADMIN_PASSWORD %s", p)
		}
	}
	c.OIDC = oidclogin.Config{
		Issuer: getenv("OIDC_ISSUER"), ClientID: getenv("OIDC_CLIENT_ID"), ClientSecret: getenv("OIDC_CLIENT_SECRET"),
		RedirectURL: getenv("OIDC_REDIRECT_URL"), Audience: getenv("OIDC_AUDIENCE"), RoleClaim: e.String("OIDC_ROLE_CLAIM", "groups"),
		ProviderURL: getenv("OIDC_PROVIDER_URL"), PostLogoutRedirectURL: getenv("OIDC_POST_LOGOUT_REDIRECT_URL"),
		Scopes:      strings.Fields(strings.ReplaceAll(e.String("OIDC_SCOPES", "openid email profile"), ",", " ")),
		AdminEmails: list(getenv("OIDC_ADMIN_EMAILS")), AllowedDomains: list(getenv("OIDC_ALLOWED_DOMAINS")),
	}
	if c.OIDC.Issuer != "" {
		if c.OIDC.ClientID == "" || c.OIDC.ClientSecret == "" || c.OIDC.RedirectURL == "" {
			e.Fail("OIDC_ISSUER needs OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and OIDC_REDIRECT_URL")
		}
		m, err := oidclogin.ParseRoleMap(getenv("OIDC_ROLE_MAP"))
		if err != nil {
			e.Fail("OIDC_ROLE_MAP: %v", err)
		}
		c.OIDC.RoleMap = m
	}
	if err := e.Err(); err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

func newLogger(c appConfig, w io.Writer) (*slog.Logger, error) {
	return logging.New(w, c.LogLevel, c.LogFormat, "api", logging.PII(c.LogPII))
}

// list reads a comma-separated setting.
func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
