// Package config reads typed settings from environment variables through an
// injected getenv, so tests and binaries share one code path.
package config

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Env reads variables from getenv and collects every problem, so a
// misconfigured process reports all its mistakes at once.
type Env struct {
	getenv func(string) string
	errs   []error
}

// New wraps getenv (os.Getenv in binaries).
func New(getenv func(string) string) *Env { return &Env{getenv: getenv} }

// String returns the variable or def when unset or empty.
func (e *Env) String(key, def string) string {
	if v := e.getenv(key); v != "" {
		return v
	}
	return def
}

// Duration parses a Go duration such as "1h" or "90s".
func (e *Env) Duration(key string, def time.Duration) time.Duration {
	v := e.getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want a positive duration such as 30s or 1h", key, v))
		return def
	}
	return d
}

// Int parses a positive integer.
func (e *Env) Int(key string, def int) int {
	v := e.getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want a positive integer", key, v))
		return def
	}
	return n
}

// Bool parses true/false/1/0.
func (e *Env) Bool(key string, def bool) bool {
	v := e.getenv(key)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: want true or false", key, v))
		return def
	}
	return b
}

// Fail records a problem found by the caller's own checks.
func (e *Env) Fail(format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf(format, args...))
}

// Err returns every problem seen so far, or nil.
func (e *Env) Err() error { return errors.Join(e.errs...) }
