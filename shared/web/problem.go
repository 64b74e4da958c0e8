// Package web is the request path every HTTP function shares: request ids,
// body limits, strict JSON decoding, RFC 9457 problem responses with a stable
// code, panic recovery and one structured access-log line per request.
package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/atrium-cdn/atrium/shared/logging"
)

// ProblemBase is the URI prefix of the problem types this API returns.
const ProblemBase = "https://atrium.dev/problems/"

// Error is an error meant for the client: an HTTP status, a stable snake_case
// code and a message that is safe to show. Cause is logged, never sent.
type Error struct {
	Status     int
	Code       string
	Message    string
	Fields     []FieldError
	RetryAfter time.Duration // sets Retry-After when > 0
	Cause      error
}

// FieldError names one invalid field of a request body.
type FieldError struct {
	Field  string `json:"field"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s (%d): %s: %v", e.Code, e.Status, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s (%d): %s", e.Code, e.Status, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// Errorf builds a client error.
func Errorf(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid is a 400 validation_failed error naming the invalid fields.
func Invalid(fields ...FieldError) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "validation_failed",
		Message: "The request has invalid fields.", Fields: fields}
}

// Problem is an RFC 9457 problem details document.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Code      string       `json:"code"`
	RequestID string       `json:"request_id,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"`
}

// WriteError answers with the problem document for err. An *Error anywhere in
// err's chain is shown as it is; any other error becomes a 500 with a generic
// message, and its cause is logged (redacted) but never sent.
func WriteError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	var e *Error
	if !errors.As(err, &e) || e.Status < 400 || e.Status > 599 {
		// Not a client error, or one built without an error status (a zero
		// Status would make WriteHeader panic): a 500 that shows nothing.
		e = &Error{Status: http.StatusInternalServerError, Code: "internal_error",
			Message: "Something went wrong on our side. Try again later.", Cause: err}
	}
	ctx := r.Context()
	if e.Status >= 500 {
		logger.ErrorContext(ctx, "request failed", "code", e.Code, "error", err)
	} else if e.Cause != nil {
		logger.WarnContext(ctx, "request refused", "code", e.Code, "error", e.Cause)
	}
	if e.RetryAfter > 0 {
		secs := int((e.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.Itoa(secs))
	}
	if rec, ok := w.(*recorder); ok {
		rec.code = e.Code
	}
	p := Problem{
		Type:      ProblemBase + e.Code,
		Title:     http.StatusText(e.Status),
		Status:    e.Status,
		Detail:    e.Message,
		Code:      e.Code,
		RequestID: logging.RequestID(ctx),
		Errors:    e.Fields,
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// WriteJSON answers with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
