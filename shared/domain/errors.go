// Package domain holds the mailing service's core types and rules: customers,
// mailouts, messages, their statuses and validation; principals, roles,
// users and API keys (identity.go); and the one error type every layer
// speaks.
package domain

import (
	"errors"
	"fmt"
)

// Code classifies an Error; the HTTP layer maps each code to one status.
type Code string

const (
	CodeInvalid         Code = "invalid"           // the request is malformed or breaks a rule
	CodeNotFound        Code = "not_found"         // the addressed object does not exist
	CodeConflict        Code = "conflict"          // the request collides with current state
	CodeUnauthorized    Code = "unauthorized"      // missing or bad credentials
	CodeForbidden       Code = "forbidden"         // credentials valid but not enough
	CodeTooLarge        Code = "too_large"         // the body exceeds its limit
	CodeUnprocessable   Code = "unprocessable"     // well-formed but semantically impossible
	CodeTooManyRequests Code = "too_many_requests" // rate limited
	CodeInternal        Code = "internal"          // our fault; details only in logs
)

// Error is the one error type that crosses layer boundaries. Message is safe
// to show to a client; Fields names offending input fields.
type Error struct {
	Code    Code
	Message string
	Fields  map[string]string
	Err     error // wrapped cause, never shown to clients
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with a formatted client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound reports a missing object of the given kind.
func NotFound(kind string, id any) *Error {
	return Errorf(CodeNotFound, "%s %v not found", kind, id)
}

// Invalid reports field-level validation failures.
func Invalid(fields map[string]string) *Error {
	return &Error{Code: CodeInvalid, Message: "validation failed", Fields: fields}
}

// ErrorCode returns the code of err, or CodeInternal when err is not an *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// FieldErrors collects validation messages by field name.
type FieldErrors map[string]string

// Add records msg for field unless the field already has one.
func (f FieldErrors) Add(field, msg string) {
	if _, ok := f[field]; !ok {
		f[field] = msg
	}
}

// Err returns nil when no field failed, an Invalid error otherwise.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return Invalid(f)
}
