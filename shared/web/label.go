package web

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Label checks a name a customer gives something (a storage source, a
// second factor, a passkey): it is s without leading and trailing white
// space, and ok when that is valid UTF-8 of 1 to max characters, each of
// them printable (letters, marks, numbers, punctuation, symbols and the
// ASCII space: no control or format character, no other kind of space, no
// line break). The one rule every such name follows; what a caller does
// with an empty or untrimmed one is its own.
func Label(s string, max int) (trimmed string, ok bool) {
	t := strings.TrimSpace(s)
	if t == "" || !utf8.ValidString(t) || utf8.RuneCountInString(t) > max {
		return t, false
	}
	for _, r := range t {
		if !unicode.IsPrint(r) {
			return t, false
		}
	}
	return t, true
}
