// Package config reads a function's configuration from environment variables
// once, at cold start, and reports every problem at once with a clear message.
package config

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Reader reads variables through a getenv function (os.Getenv in production,
// a map in tests and in the local stack) and collects every error it meets.
type Reader struct {
	getenv func(string) string
	errs   []error
}

// New returns a Reader over getenv.
func New(getenv func(string) string) *Reader { return &Reader{getenv: getenv} }

func (r *Reader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

// Err reports every problem met so far, or nil.
func (r *Reader) Err() error {
	if len(r.errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid configuration: %w", errors.Join(r.errs...))
}

// String returns the variable, or def when it is unset or empty.
func (r *Reader) String(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

// Required returns the variable and records an error when it is unset.
func (r *Reader) Required(name string) string {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		r.fail(name, "is required")
	}
	return v
}

// Int returns the variable as an integer within [lo, hi], or def when unset.
func (r *Reader) Int(name string, def, lo, hi int) int {
	s := strings.TrimSpace(r.getenv(name))
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		r.fail(name, "must be a whole number from %d to %d", lo, hi)
		return def
	}
	return n
}

// Duration returns the variable (Go syntax, e.g. "30m") within [lo, hi], or def when unset.
func (r *Reader) Duration(name string, def, lo, hi time.Duration) time.Duration {
	s := strings.TrimSpace(r.getenv(name))
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < lo || d > hi {
		r.fail(name, "must be a duration such as 30m from %s to %s", lo, hi)
		return def
	}
	return d
}

// Bool returns the variable as a boolean ("true"/"false"/"1"/"0"), or def when unset.
func (r *Reader) Bool(name string, def bool) bool {
	s := strings.TrimSpace(r.getenv(name))
	if s == "" {
		return def
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		r.fail(name, "must be true or false")
		return def
	}
	return b
}

// List returns the comma-separated variable's non-empty items.
func (r *Reader) List(name string) []string {
	var out []string
	for _, item := range strings.Split(r.getenv(name), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// URL returns the variable as an absolute http(s) URL, recording an error otherwise.
// An unset variable yields def (which may be "", meaning required-if-empty is the caller's call).
func (r *Reader) URL(name, def string) string {
	s := r.String(name, def)
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		r.fail(name, "must be an absolute http(s) URL")
		return def
	}
	return strings.TrimRight(s, "/")
}
