package sources

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxPrefixLen bounds a source's prefix, in bytes: an S3 object key is at
// most 1024 bytes, so a longer prefix could never match an object.
const MaxPrefixLen = 1024

// PrefixProblem checks a source's prefix, the one rule for every way a
// prefix is set (registration and PATCH): it returns what is wrong, fit to
// show the customer, or "" when the prefix is valid.
//
// A prefix is "" (the whole bucket) or folder names joined by "/", with an
// optional trailing "/": valid UTF-8 of at most MaxPrefixLen bytes; no
// leading "/", no empty folder name ("//"), no "." or ".." folder name, not
// even percent-encoded ("%2e%2e"), no "/" percent-encoded in a folder name,
// no backslash, and no control or invisible formatting character. The CDN
// joins the prefix and an image's path into an object key: none of these has
// a use in a key prefix, and each could make a path that leaves the prefix
// or shows something other than what is stored.
func PrefixProblem(p string) string {
	switch {
	case p == "":
		return ""
	case len(p) > MaxPrefixLen:
		return "must be at most 1024 bytes"
	case !utf8.ValidString(p):
		return "must be valid UTF-8 text"
	case strings.IndexFunc(p, invisible) >= 0:
		return "must not contain control or invisible formatting characters"
	case strings.Contains(p, `\`):
		return `must separate folders with "/", not with a backslash`
	case p[0] == '/':
		return `must not start with "/": give it as folder/subfolder/`
	}
	segments := strings.Split(strings.TrimSuffix(p, "/"), "/")
	for _, seg := range segments {
		if seg == "" {
			return `must not contain an empty folder name ("//")`
		}
		decoded, err := url.PathUnescape(seg)
		if err != nil {
			decoded = seg
		}
		if seg == "." || seg == ".." || decoded == "." || decoded == ".." {
			return `must not contain "." or ".." as a folder name`
		}
		if strings.ContainsAny(decoded, `/\`) {
			return `must not contain a percent-encoded "/" or backslash`
		}
	}
	return ""
}

// invisible reports a control character (C0, DEL, C1) or an invisible
// formatting one (zero-width characters, bidirectional overrides, BOM).
func invisible(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r)
}
