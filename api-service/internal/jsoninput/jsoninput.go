// Package jsoninput holds the rules for JSON sent by clients that the HTTP
// handlers and the customer import engine share: which fields the server
// owns, and how encoding/json's errors read as domain errors.
package jsoninput

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"mailing/shared/domain"
)

// serverOwned fields are set by the service; a client that sends them is
// told so instead of being silently ignored.
var serverOwned = map[string]bool{
	"id": true, "status": true, "version": true, "created_at": true,
	"updated_at": true, "audience": true,
}

// ServerOwned reports whether field is set by the service and cannot be
// given by a client.
func ServerOwned(field string) bool { return serverOwned[field] }

// Problem turns an encoding/json decoding error into a domain error with
// field-level messages where a field is known.
func Problem(err error) error {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return domain.Invalid(map[string]string{typeErr.Field: "must be " + kind(typeErr.Type.String())})
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "json: unknown field ") {
		field := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return &domain.Error{Code: domain.CodeInvalid, Message: fmt.Sprintf("unknown field %q", field), Fields: map[string]string{field: "unknown field"}}
	}
	var parseErr interface{ Error() string }
	if errors.As(err, &parseErr) && strings.Contains(msg, "parsing time") {
		return domain.Errorf(domain.CodeInvalid, "times must be RFC 3339, e.g. 2026-12-01T09:00:00Z")
	}
	return domain.Errorf(domain.CodeInvalid, "invalid JSON: %s", Detail(err))
}

// Detail describes a JSON error briefly, e.g. "syntax error at byte 12".
func Detail(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	}
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return "expected an object"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

func kind(goType string) string {
	switch {
	case strings.Contains(goType, "[]"):
		return "an array"
	case strings.Contains(goType, "string"), strings.Contains(goType, "Time"):
		return "a string"
	case strings.Contains(goType, "int"), strings.Contains(goType, "float"):
		return "a number"
	case strings.Contains(goType, "bool"):
		return "a boolean"
	}
	return "an object"
}
