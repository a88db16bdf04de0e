package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"mailing/api-service/internal/auth"
	"mailing/shared/config"
	"mailing/shared/domain"
	"mailing/shared/logging"
)

// devSecret is used only with APP_ENV=dev; it is public, so such tokens
// are worthless outside a developer's machine.
const devSecret = "dev-only-secret-do-not-use-in-production-0123456789"

type appConfig struct {
	Env             string
	HTTPAddr        string
	DatabaseURL     string
	JWTSecret       string
	JWTTTL          time.Duration
	AuthCacheTTL    time.Duration
	SessionIdle     time.Duration
	SessionMax      time.Duration
	ForwardedProto  bool
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
	if err := e.Err(); err != nil {
		return c, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

func newLogger(c appConfig, w io.Writer) (*slog.Logger, error) {
	return logging.New(w, c.LogLevel, c.LogFormat, "api", logging.PII(c.LogPII))
}
