package httpapi

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"mailing/shared/domain"
)

// ErrorBody is the one error shape every endpoint answers with.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong; Fields names offending input fields.
type ErrorDetail struct {
	Code    string            `json:"code" example:"invalid"`
	Message string            `json:"message" example:"validation failed"`
	Fields  map[string]string `json:"fields,omitempty"`
}

var statusOf = map[domain.Code]int{
	domain.CodeInvalid:         http.StatusBadRequest,
	domain.CodeNotFound:        http.StatusNotFound,
	domain.CodeConflict:        http.StatusConflict,
	domain.CodeUnauthorized:    http.StatusUnauthorized,
	domain.CodeForbidden:       http.StatusForbidden,
	domain.CodeTooLarge:        http.StatusRequestEntityTooLarge,
	domain.CodeUnprocessable:   http.StatusUnprocessableEntity,
	domain.CodeTooManyRequests: http.StatusTooManyRequests,
	domain.CodeInternal:        http.StatusInternalServerError,
}

// writeError answers err in the one error shape. Domain errors keep their
// message, which is safe to show by the type's promise; internal ones are
// logged with their cause, and anything else is logged and answered as
// "internal error".
func writeError(c *gin.Context, err error) {
	var de *domain.Error
	if !errors.As(err, &de) {
		if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
			// The client went away; nobody reads the answer.
			c.AbortWithStatus(499)
			return
		}
		logger(c).LogAttrs(c.Request.Context(), slog.LevelError, "internal error", slog.String("error", err.Error()))
		de = &domain.Error{Code: domain.CodeInternal, Message: "internal error"}
	} else if de.Code == domain.CodeInternal {
		// Only the message goes out: an interrupted import's says which
		// lines were stored.
		logger(c).LogAttrs(c.Request.Context(), slog.LevelError, "internal error", slog.String("error", de.Error()))
		msg := de.Message
		if msg == "" {
			msg = "internal error"
		}
		de = &domain.Error{Code: domain.CodeInternal, Message: msg}
	}
	status, ok := statusOf[de.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	c.AbortWithStatusJSON(status, ErrorBody{Error: ErrorDetail{Code: string(de.Code), Message: de.Message, Fields: de.Fields}})
}
