// Package logging builds the structured logger every function uses: log/slog
// JSON lines on stdout, the request id on every line, and redaction built in.
//
// Redaction works at two levels, so one careless call cannot leak:
//   - an attribute whose key names a secret or personal datum (password, token,
//     secret, authorization, cookie, email, ip, ...) is replaced by "[REDACTED]";
//   - every string value is scrubbed of anything shaped like an email address,
//     an IP address, a bearer token or a card number.
package logging

import (
	"context"
	"io"
	"log/slog"
	"regexp"
	"strings"
)

// Redacted replaces any value that must not be logged.
const Redacted = "[REDACTED]"

type requestIDKey struct{}

// WithRequestID returns a context whose log lines carry the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id stored by WithRequestID, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// New returns a JSON logger writing to w at the given level, with redaction and
// the request id (taken from the context passed to the *Context methods).
func New(w io.Writer, level slog.Leveler) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr})
	return slog.New(requestIDHandler{h})
}

// ParseLevel maps "debug", "info", "warn" and "error" to a level (info otherwise).
func ParseLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn", "warning":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	}
	return slog.LevelInfo
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// sensitiveKeyParts are substrings of attribute keys whose values are never logged.
var sensitiveKeyParts = []string{
	"password", "passwd", "secret", "token", "authorization", "cookie", "credential",
	"email", "mail_to", "address", "ip", "user_agent", "useragent", "card", "cvc", "pan",
	"api_key", "apikey", "access_key", "session", "signature", "body", "query",
}

// safeKeys are keys that contain a sensitive part but hold none of it.
var safeKeys = map[string]bool{
	"request_id": true, "session_id": true, "status": true, "description": true,
}

func sensitiveKey(key string) bool {
	k := strings.ToLower(key)
	if safeKeys[k] {
		return false
	}
	if k == "ip" || strings.HasSuffix(k, "_ip") || strings.HasPrefix(k, "ip_") {
		return true
	}
	for _, p := range sensitiveKeyParts {
		if p == "ip" || p == "pan" {
			continue // matched exactly above, or below, to spare words like "zip" and "span"
		}
		if strings.Contains(k, p) {
			return true
		}
	}
	return k == "pan" || strings.HasSuffix(k, "_pan")
}

var (
	emailPattern  = regexp.MustCompile(`[^\s@"'<>(),;:]+@[^\s@"'<>(),;:]+`)
	ipv4Pattern   = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`)
	ipv6Pattern   = regexp.MustCompile(`(?i)\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{0,4}\b`)
	bearerPattern = regexp.MustCompile(`(?i)bearer\s+\S+`)
	cardPattern   = regexp.MustCompile(`\b(?:\d[ -]?){12,18}\d\b`)
	// Long random-looking runs (session tokens, API keys, secret keys).
	tokenPattern = regexp.MustCompile(`\b(?:sk|rk|pk|whsec)_[A-Za-z0-9_]{8,}|[A-Za-z0-9+/_\-]{32,}={0,2}`)
)

// Scrub removes from s anything shaped like an email address, IP address,
// bearer token, card number or long secret-looking string.
func Scrub(s string) string {
	if s == "" {
		return s
	}
	s = emailPattern.ReplaceAllString(s, Redacted)
	s = bearerPattern.ReplaceAllString(s, Redacted)
	s = cardPattern.ReplaceAllString(s, Redacted)
	s = ipv4Pattern.ReplaceAllString(s, Redacted)
	s = ipv6Pattern.ReplaceAllString(s, Redacted)
	s = tokenPattern.ReplaceAllString(s, Redacted)
	return s
}

func redactAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
		return a
	}
	if sensitiveKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, Scrub(v.String()))
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return slog.String(a.Key, Scrub(err.Error()))
		}
		// Arbitrary values are rendered and scrubbed rather than trusted.
		return slog.String(a.Key, Scrub(v.String()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}
