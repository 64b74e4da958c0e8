// Package emailaddr validates and normalises the email addresses people sign
// up with. It accepts the plain addr-spec that real mailboxes use (no display
// names, comments, quoted local parts or IP-literal domains), bounded as RFC
// 5321 bounds them, and compares addresses case-insensitively by lower-casing
// the whole address.
package emailaddr

import (
	"errors"
	"strings"
)

// Limits from RFC 5321 §4.5.3.1 (and the 254-octet path limit of RFC 3696 errata).
const (
	MaxLength      = 254
	MaxLocalLength = 64
	maxLabelLength = 63
)

// ErrInvalid is returned for any address this package refuses. Its message
// never contains the address.
var ErrInvalid = errors.New("not a valid email address")

// Normalize validates s and returns its canonical form: surrounding white
// space removed, lower-cased.
func Normalize(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) == 0 || len(s) > MaxLength {
		return "", ErrInvalid
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", ErrInvalid
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > MaxLocalLength || !validLocal(local) || !validDomain(domain) {
		return "", ErrInvalid
	}
	return strings.ToLower(s), nil
}

// Parts returns the words of an address that a password must not be built
// from: the local part, its pieces split on . _ - +, and the domain's labels
// other than the top-level one.
func Parts(addr string) []string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return nil
	}
	local, domain := strings.ToLower(addr[:at]), strings.ToLower(addr[at+1:])
	parts := []string{local}
	parts = append(parts, strings.FieldsFunc(local, func(r rune) bool {
		return r == '.' || r == '_' || r == '-' || r == '+'
	})...)
	labels := strings.Split(domain, ".")
	if len(labels) > 1 {
		parts = append(parts, labels[:len(labels)-1]...)
	}
	return parts
}

// atext characters of RFC 5322 §3.2.3 allowed in a dot-atom local part.
func isAtext(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

func validLocal(local string) bool {
	if local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return false
	}
	for i := 0; i < len(local); i++ {
		if c := local[i]; c != '.' && !isAtext(c) {
			return false
		}
	}
	return true
}

func validDomain(domain string) bool {
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > maxLabelLength || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	if len(tld) < 2 {
		return false
	}
	// A top-level domain is letters, or an IDNA A-label ("xn--...").
	if strings.HasPrefix(strings.ToLower(tld), "xn--") {
		return true
	}
	for i := 0; i < len(tld); i++ {
		if c := tld[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}
