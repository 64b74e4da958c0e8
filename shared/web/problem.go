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
// Build one from the registry (Code.New, Code.Errorf, Invalid, RateLimited),
// so that a code is always answered with its status.
type Error struct {
	Status     int
	Code       Code
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

// Errorf builds a client error with a status of the caller's choosing. It
// is the low-level constructor the registry's own are built like; code
// outside this package uses Code.New or Code.Errorf instead, whose status
// comes from the registry (TestNoProblemCodeOutsideRegistry holds the line).
func Errorf(status int, code Code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid is a 400 validation_failed error naming the invalid fields.
func Invalid(fields ...FieldError) *Error {
	e := CodeValidationFailed.New()
	e.Fields = fields
	return e
}

// WithCause returns a copy of e carrying cause, which is logged but never
// sent.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.Cause = cause
	return &c
}

// WithRetryAfter returns a copy of e that tells the client, in Retry-After,
// when to try again.
func (e *Error) WithRetryAfter(d time.Duration) *Error {
	c := *e
	c.RetryAfter = d
	return &c
}

// CodeOf returns the code of the *Error in err's chain, or "" when there is
// none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
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
		e = CodeInternalError.New().WithCause(err)
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
		rec.code = string(e.Code)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e.Problem(logging.RequestID(ctx)))
}

// Problem is the document e is answered with. Its title is the status's
// text, as it has always been; a code's registered title documents it.
func (e *Error) Problem(requestID string) Problem {
	return Problem{
		Type:      ProblemBase + string(e.Code),
		Title:     http.StatusText(e.Status),
		Status:    e.Status,
		Detail:    e.Message,
		Code:      string(e.Code),
		RequestID: requestID,
		Errors:    e.Fields,
	}
}

// WriteJSON answers with v as JSON.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
