package web

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/atrium-cdn/atrium/shared/logging"
)

// DefaultMaxBody is the request-body limit when Options.MaxBody is zero.
const DefaultMaxBody = 16 << 10

// Options tune the shared request path.
type Options struct {
	Logger  *slog.Logger
	MaxBody int64 // bytes; DefaultMaxBody when zero
	// Function names the Lambda function serving the request, for the access log.
	Function string
	// OnComplete, when set, is told about every finished request (the
	// request-log recorder hooks in here). It must not block for long.
	OnComplete func(r *http.Request, c Completed)
}

// Completed describes a finished request, without any personal data.
type Completed struct {
	AccountID string // when the request was authenticated (SetAccountID)
	RequestID string
	Function  string
	Method    string
	Route     string // the matched pattern, e.g. "POST /v1/login"; never the raw path or query
	Status    int
	Code      string // the problem code, for error responses
	Latency   time.Duration
}

// Wrap puts next behind the shared request path: request id (the Lambda
// request id when running in Lambda, a random one otherwise) on the context,
// every log line and the X-Request-Id response header; a body-size limit;
// security headers; panic recovery into a 500 that reveals nothing; and one
// access-log line per request naming the route pattern, never the raw path.
func Wrap(next http.Handler, opts Options) http.Handler {
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r)
		ctx := logging.WithRequestID(r.Context(), id)
		account := new(string)
		ctx = context.WithValue(ctx, accountKey{}, account)
		r = r.WithContext(ctx)
		h := w.Header()
		h.Set("X-Request-Id", id)
		h.Set("Cache-Control", "no-store")
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Body == nil { // http.NewRequest leaves it nil; a server never does
			r.Body = http.NoBody
		}
		r.Body = http.MaxBytesReader(w, r.Body, opts.MaxBody)
		rec := &recorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
					panic(v)
				}
				// The panic value may hold request data: log its type and the stack only.
				logger.ErrorContext(ctx, "panic serving request", "panic_type", typeName(v), "stack", string(debug.Stack()))
				if !rec.wrote {
					WriteError(rec, r, logger, CodeInternalError.New())
				}
			}
			c := Completed{
				AccountID: *account, RequestID: id, Function: opts.Function, Method: r.Method, Route: r.Pattern,
				Status: rec.status(), Code: rec.code, Latency: time.Since(start),
			}
			if c.Route == "" {
				c.Route = "unmatched"
			}
			logger.InfoContext(ctx, "request", "function", c.Function, "method", c.Method, "route", c.Route,
				"status", c.Status, "code", c.Code, "latency_ms", c.Latency.Milliseconds())
			if opts.OnComplete != nil {
				opts.OnComplete(r, c)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

func typeName(v any) string {
	switch v.(type) {
	case error:
		return "error"
	case string:
		return "string"
	}
	return "other"
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func requestID(r *http.Request) string {
	if lc, ok := lambdacontext.FromContext(r.Context()); ok && ValidRequestID(lc.AwsRequestID) {
		return lc.AwsRequestID
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return "req_" + strings.ToLower(idEncoding.EncodeToString(b[:]))
}

// ValidRequestID reports whether s may serve as a request id taken from a
// caller (Lambda's, or an invoker's): at most 64 letters, digits, - and _,
// so that it is safe in a log line and a request-log item.
func ValidRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// recorder notes the status and problem code a handler wrote.
type recorder struct {
	http.ResponseWriter
	statusCode int
	wrote      bool
	code       string
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.statusCode, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.statusCode, r.wrote = http.StatusOK, true
	}
	return r.ResponseWriter.Write(b)
}

func (r *recorder) status() int {
	if !r.wrote {
		return http.StatusOK
	}
	return r.statusCode
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// HandlerFunc is an HTTP handler that returns its error instead of writing it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle turns h into an http.Handler that answers h's error with WriteError.
func Handle(logger *slog.Logger, h HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, logger, err)
		}
	})
}

type accountKey struct{}

// SetAccountID tells the request path which account a request was
// authenticated as, for its request-log item. The authenticator calls it.
func SetAccountID(ctx context.Context, id string) {
	if p, ok := ctx.Value(accountKey{}).(*string); ok {
		*p = id
	}
}
