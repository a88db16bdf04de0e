package main

import (
	"time"

	"mailing/shared/config"
)

// workerConfig is everything the worker reads from its environment.
type workerConfig struct {
	HTTPAddr          string
	DatabaseURL       string
	AMQPURL           string
	ProbeURL          string
	ProbeToken        string
	ProbeTimeout      time.Duration
	Concurrency       int
	Prefetch          int
	MaxAttempts       int
	Rate              int // messages per second per worker; 0 = no cap
	BackoffBase       time.Duration
	BackoffMax        time.Duration
	BreakerFailures   int
	BreakerOpen       time.Duration
	ReconcileInterval time.Duration
	LostJobAfter      time.Duration
	// StaleClaimAfter is how long a message may stay claimed before its
	// worker is presumed dead and the claim is taken back.
	StaleClaimAfter time.Duration
	BrokerPrefix    string
	LogLevel        string
	LogFormat       string
	LogPII          bool
}

func loadConfig(getenv func(string) string) (workerConfig, error) {
	e := config.New(getenv)
	c := workerConfig{
		HTTPAddr:          e.String("WORKER_HTTP_ADDR", ":9090"),
		DatabaseURL:       e.String("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mailing?sslmode=disable"),
		AMQPURL:           e.String("AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
		ProbeURL:          e.String("PROBE_URL", "http://127.0.0.1:8090/v1"),
		ProbeToken:        getenv("PROBE_TOKEN"),
		ProbeTimeout:      e.Duration("PROBE_TIMEOUT", 10*time.Second),
		Concurrency:       e.Int("SENDER_CONCURRENCY", 64),
		Prefetch:          e.Int("SENDER_PREFETCH", 256),
		MaxAttempts:       e.Int("SENDER_MAX_ATTEMPTS", 10),
		BackoffBase:       e.Duration("SENDER_BACKOFF_BASE", 2*time.Second),
		BackoffMax:        e.Duration("SENDER_BACKOFF_MAX", 5*time.Minute),
		BreakerFailures:   e.Int("BREAKER_FAILURES", 5),
		BreakerOpen:       e.Duration("BREAKER_OPEN_TIMEOUT", 10*time.Second),
		ReconcileInterval: e.Duration("RECONCILE_INTERVAL", 5*time.Second),
		LostJobAfter:      e.Duration("RECONCILE_LOST_JOB_AFTER", 10*time.Minute),
		BrokerPrefix:      getenv("AMQP_PREFIX"),
		LogLevel:          e.String("LOG_LEVEL", "info"),
		LogFormat:         e.String("LOG_FORMAT", "json"),
		LogPII:            e.Bool("LOG_PII", false),
	}
	if v := getenv("SENDER_RATE"); v != "" && v != "0" {
		c.Rate = e.Int("SENDER_RATE", 0)
	}
	// A live claim lasts one attempt (PROBE_TIMEOUT) plus, under a rate cap,
	// the wait for a token, for which every sending slot may be queued. A
	// claim taken back while still live could be sent twice; the default
	// leaves room for a slow database and a loaded worker on top.
	longest := c.ProbeTimeout
	if c.Rate > 0 {
		longest += time.Duration(float64(c.Concurrency) / float64(c.Rate) * float64(time.Second))
	}
	c.StaleClaimAfter = e.Duration("RECONCILE_STALE_CLAIM_AFTER", 2*longest+30*time.Second)
	if c.StaleClaimAfter <= longest {
		e.Fail("RECONCILE_STALE_CLAIM_AFTER (%s) must exceed the longest claim, %s (PROBE_TIMEOUT plus SENDER_CONCURRENCY/SENDER_RATE seconds): a claim still being sent would be taken back",
			c.StaleClaimAfter, longest)
	}
	if c.ProbeToken == "" {
		e.Fail("PROBE_TOKEN is required: the bearer token of the external sending API")
	}
	if c.Prefetch < c.Concurrency {
		e.Fail("SENDER_PREFETCH (%d) must be at least SENDER_CONCURRENCY (%d)", c.Prefetch, c.Concurrency)
	}
	return c, e.Err()
}
