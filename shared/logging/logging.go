// Package logging builds the structured logger every function uses: log/slog
// JSON lines on stdout, the request id on every line, and redaction built in.
//
// Redaction works at two levels, so one careless call cannot leak:
//   - an attribute whose key names a secret or personal datum (password, token,
//     secret, authorization, cookie, email, ip, ...) is replaced by "[REDACTED]",
//     and so is every member of a group so named;
//   - every string value (the message, errors, keys, and the strings inside maps,
//     structs and slices, which are rendered as JSON and redacted key by key)
//     is scrubbed of anything shaped like an email address, an IP address, a
//     bearer token, a card number or a long secret.
package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
)

// Redacted replaces any value that must not be logged.
const Redacted = "[REDACTED]"

type requestIDKey struct{}

// requestIDValue marks the request id added by the handler, so that
// redaction can tell it from any other value logged under that key.
type requestIDValue string

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
	return slog.New(requestIDHandler{Handler: h, root: h})
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

// requestIDHandler adds the context's request id to every record, always at
// the top level of the line (not inside a group opened by WithGroup), so one
// query on request_id finds every line of a request.
type requestIDHandler struct {
	slog.Handler // every WithAttrs and WithGroup applied
	// root is the handler as it was before the first WithGroup, and ops the
	// calls made since; they are replayed on root after request_id is added.
	root slog.Handler
	ops  []func(slog.Handler) slog.Handler
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	id := RequestID(ctx)
	if id == "" {
		return h.Handler.Handle(ctx, r)
	}
	idAttr := slog.Any("request_id", requestIDValue(id))
	if len(h.ops) == 0 {
		r.AddAttrs(idAttr)
		return h.Handler.Handle(ctx, r)
	}
	out := h.root.WithAttrs([]slog.Attr{idAttr})
	for _, op := range h.ops {
		out = op(out)
	}
	return out.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	if len(as) == 0 {
		return h
	}
	next := h.Handler.WithAttrs(as)
	if len(h.ops) == 0 {
		return requestIDHandler{Handler: next, root: next}
	}
	return requestIDHandler{Handler: next, root: h.root,
		ops: append(slices.Clip(h.ops), func(x slog.Handler) slog.Handler { return x.WithAttrs(as) })}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return requestIDHandler{Handler: h.Handler.WithGroup(name), root: h.root,
		ops: append(slices.Clip(h.ops), func(x slog.Handler) slog.Handler { return x.WithGroup(name) })}
}

// sensitiveKeyParts are substrings of attribute keys whose values are never logged.
var sensitiveKeyParts = []string{
	"password", "passwd", "secret", "token", "authorization", "cookie", "credential",
	"email", "mail_to", "address", "ip", "user_agent", "useragent", "card", "cvc", "pan",
	"api_key", "apikey", "access_key", "session", "signature", "body", "query",
	"phone", "signatory", "complainant", "contact", "pwd", "passphrase",
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
	// The local part may hold an apostrophe (o'connor@…), as emailaddr allows.
	emailPattern = regexp.MustCompile(`[^\s@"<>(),;:]+@[^\s@"'<>(),;:]+`)
	ipv4Pattern  = regexp.MustCompile(`\b(?:\d{1,3}\.){3}\d{1,3}\b`)
	// Full and compressed IPv6 ("2001:db8::1", "fe80::1ff:fe23:4567:890a", "::1").
	ipv6Pattern   = regexp.MustCompile(`(?i)\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}|::(?:[0-9a-f]{1,4}:){0,6}[0-9a-f]{1,4}\b`)
	bearerPattern = regexp.MustCompile(`(?i)bearer\s+\S+`)
	cardPattern   = regexp.MustCompile(`\b(?:\d[ -]?){12,18}\d\b`)
	// Long random-looking runs (session tokens, API keys, secret keys) and AWS access key ids.
	tokenPattern = regexp.MustCompile(`\b(?:sk|rk|pk|whsec)_[A-Za-z0-9_]{8,}|\b(?:AKIA|ASIA)[A-Z0-9]{16}\b|[A-Za-z0-9+/_\-]{32,}={0,2}`)
)

// requestIDShape reports whether id has the shape of a request id, Lambda's
// (a UUID) or one of ours ("req_..."): 1 to 64 of [A-Za-z0-9_-], checked by
// hand rather than by a regular expression compiled at every cold start.
func requestIDShape(id string) bool {
	return len(id) >= 1 && len(id) <= 64 && allBytes(id, func(c byte) bool {
		return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-'
	})
}

// Scrub removes from s anything shaped like an email address, IP address,
// bearer token, card number or long secret-looking string.
//
// The order matters: long secrets go before IP addresses and card numbers, so
// that a digit run inside a secret cannot split it into short, unredacted
// pieces; IP addresses go before card numbers, so that a card-like run of
// digits next to an address cannot leave most of the address behind.
func Scrub(s string) string {
	if s == "" {
		return s
	}
	s = emailPattern.ReplaceAllString(s, Redacted)
	s = bearerPattern.ReplaceAllString(s, Redacted)
	s = tokenPattern.ReplaceAllString(s, Redacted)
	s = ipv4Pattern.ReplaceAllString(s, Redacted)
	s = ipv6Pattern.ReplaceAllString(s, Redacted)
	s = cardPattern.ReplaceAllString(s, Redacted)
	return s
}

func redactAttr(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
		return a
	}
	key := Scrub(a.Key) // a careless call may use personal data as a key
	if sensitiveKey(a.Key) || slices.ContainsFunc(groups, sensitiveKey) {
		// slog.Group("password", "value", x): the group's name covers its members.
		return slog.String(key, Redacted)
	}
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(key, Scrub(v.String()))
	case slog.KindAny:
		if id, ok := v.Any().(requestIDValue); ok && requestIDShape(string(id)) {
			// The id the handler adds from the context is shown as it is: a
			// Lambda request id is a UUID, which Scrub takes for a secret.
			return slog.String(key, string(id))
		}
		if id, ok := v.Any().(secretIDValue); ok {
			return secretIDAttr(key, id)
		}
		return slog.Attr{Key: key, Value: redactAny(v.Any())}
	}
	return slog.Attr{Key: key, Value: v}
}

// redactAny renders an arbitrary value as the JSON handler would, then
// redacts it like a group of attributes: sensitive object keys are replaced
// and every string is scrubbed. (Printing it with %v instead would drop the
// field names, so map[string]string{"password": x} would show x.) A value that
// cannot be rendered as JSON is not shown at all.
func redactAny(x any) slog.Value {
	if err, ok := x.(error); ok {
		return slog.StringValue(Scrub(errorText(err)))
	}
	raw, ok := marshal(x)
	if !ok {
		return slog.StringValue(Redacted)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return slog.StringValue(Redacted)
	}
	return slog.AnyValue(redactJSON(tree))
}

func redactJSON(v any) any {
	switch t := v.(type) {
	case string:
		return Scrub(t)
	case []any:
		for i := range t {
			t[i] = redactJSON(t[i])
		}
		return t
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			if sensitiveKey(k) {
				out[Scrub(k)] = Redacted
			} else {
				out[Scrub(k)] = redactJSON(x)
			}
		}
		return out
	}
	return v // json.Number, bool, nil
}

func marshal(x any) (raw []byte, ok bool) {
	defer func() {
		if recover() != nil {
			raw, ok = nil, false
		}
	}()
	raw, err := json.Marshal(x)
	return raw, err == nil
}

func errorText(err error) (s string) {
	defer func() {
		if recover() != nil {
			s = "[error text unavailable]"
		}
	}()
	return err.Error()
}
