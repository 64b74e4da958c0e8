package complianceapi

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/atrium-cdn/atrium/shared/web"
)

// Bounds of the text fields, in characters (URLs in bytes).
const (
	MaxNameLength      = 200  // names, titles, signatures
	MaxLongTextLength  = 2000 // a questionnaire's description, a pen test's scope
	MaxAddressLength   = 1000 // a postal address
	MaxTelephoneLength = 40
	MaxURLLength       = 2048
	// maxTimeLength bounds an RFC 3339 time before it is parsed.
	maxTimeLength = 40
)

// fields collects the invalid fields of one request body, at most one
// error per field (the first found).
type fields struct {
	errs  []web.FieldError
	named map[string]bool
}

func (f *fields) add(field, code, detail string) {
	if f.named == nil {
		f.named = map[string]bool{}
	}
	if f.named[field] {
		return
	}
	f.named[field] = true
	f.errs = append(f.errs, web.FieldError{Field: field, Code: code, Detail: detail})
}

func (f *fields) has(field string) bool { return f.named[field] }

// err is the 400 naming every invalid field, or nil.
func (f *fields) err() error {
	if len(f.errs) == 0 {
		return nil
	}
	return web.Invalid(f.errs...)
}

// decode reads a JSON object into dst strictly. A field of the wrong type
// or an unknown field is noted in f (encoding/json still fills the other
// fields, so they are checked too); any other fault (not JSON, not one
// object) is returned.
func decode(body []byte, dst any, f *fields) error {
	err := web.DecodeJSONBytes(body, dst)
	var e *web.Error
	if err != nil && errors.As(err, &e) && e.Code == web.CodeValidationFailed {
		for _, fe := range e.Fields {
			if fe.Field == "" { // a member named "" in the body
				fe.Field = "(empty name)"
			}
			f.add(fe.Field, fe.Code, fe.Detail)
		}
		return nil
	}
	return err
}

// text checks a required text field and returns it trimmed: at most max
// characters, with no control characters (a multi-line field may hold line
// breaks and tabs; its line breaks are returned as "\n").
func (f *fields) text(field, v string, max int, multiline bool) string {
	if f.has(field) {
		return ""
	}
	if multiline {
		v = strings.ReplaceAll(v, "\r\n", "\n")
		v = strings.ReplaceAll(v, "\r", "\n")
	}
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		f.add(field, "required", "is required")
	case utf8.RuneCountInString(v) > max:
		f.add(field, "too_long", fmt.Sprintf("must be at most %d characters", max))
	case !printable(v, multiline):
		if multiline {
			f.add(field, "invalid_text", "must be text without control characters other than line breaks and tabs")
		} else {
			f.add(field, "invalid_text", "must be one line of text without control characters")
		}
	default:
		return v
	}
	return ""
}

func printable(s string, multiline bool) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		switch {
		case multiline && (r == '\n' || r == '\t'):
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			return false
		}
	}
	return true
}

// mustBeTrue checks a statement or acceptance that must be given as true.
func (f *fields) mustBeTrue(field string, v *bool, detail string) {
	switch {
	case f.has(field):
	case v == nil:
		f.add(field, "required", "is required: "+detail)
	case !*v:
		f.add(field, "must_be_true", "must be true: "+detail)
	}
}

// url checks a required http(s) URL of at most MaxURLLength bytes.
func (f *fields) url(field, v string) string {
	if f.has(field) {
		return ""
	}
	v = strings.TrimSpace(v)
	const detail = "must be an absolute http or https URL"
	switch {
	case v == "":
		f.add(field, "required", "is required")
		return ""
	case len(v) > MaxURLLength:
		f.add(field, "too_long", fmt.Sprintf("must be at most %d bytes", MaxURLLength))
		return ""
	}
	for _, r := range v {
		if r <= ' ' || r == 0x7f || !unicode.IsPrint(r) {
			f.add(field, "invalid_url", detail+" without spaces or control characters")
			return ""
		}
	}
	u, err := url.Parse(v)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Opaque != "" || u.Hostname() == "":
		f.add(field, "invalid_url", detail)
	case u.User != nil:
		f.add(field, "invalid_url", detail+" without a user name or password")
	default:
		return v
	}
	return ""
}

// telephone checks a telephone number: digits (5 to 20 of them), spaces,
// "+", "(", ")", "-", ".", "/", and an optional extension ("x 12", "ext. 12").
func (f *fields) telephone(field, v string) string {
	v = f.text(field, v, MaxTelephoneLength, false)
	if v == "" {
		return ""
	}
	number := v
	// Index v itself: lower-casing may change its length in bytes.
	if i := strings.IndexAny(v, "xXeE"); i >= 0 {
		number = v[:i]
		ext := strings.TrimSpace(strings.ToLower(v[i:]))
		ext = strings.TrimPrefix(ext, "ext.")
		ext = strings.TrimPrefix(ext, "ext")
		ext = strings.TrimPrefix(ext, "x")
		ext = strings.TrimSpace(ext)
		if ext == "" || len(ext) > 6 || strings.Trim(ext, "0123456789") != "" {
			number = ""
		}
	}
	digits := 0
	for _, r := range number {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case strings.ContainsRune(" +()-./", r):
		default:
			digits = -1000
		}
	}
	if digits < 5 || digits > 20 || strings.LastIndexByte(number, '+') > 0 {
		f.add(field, "invalid_telephone", "must be a telephone number: 5 to 20 digits, with spaces, +, (, ), -, . or / and an optional extension")
		return ""
	}
	return v
}
