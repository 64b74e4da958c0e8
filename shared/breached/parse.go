package breached

import (
	"bytes"
	"errors"
	"fmt"
)

const (
	// prefixLen is the number of hex characters of the SHA-1 that are sent.
	prefixLen = 5
	// suffixLen is the number of hex characters of each suffix in an answer.
	suffixLen = 40 - prefixLen
	// maxCountDigits bounds a count so that it always fits an int64. The
	// most common password is listed a few tens of millions of times.
	maxCountDigits = 18
)

// suffix is the uppercase hex suffix of a SHA-1, as listed in an answer.
type suffix [suffixLen]byte

// Reasons a range answer is malformed. They name a line number, never its
// content: a line may be the checked password's own suffix.
var (
	errEmpty       = errors.New("empty response")
	errEmptyLine   = errors.New("empty line")
	errLineLength  = errors.New("line has the wrong length")
	errSuffixHex   = errors.New("suffix is not hexadecimal")
	errNoColon     = errors.New("no colon after the suffix")
	errCountDigits = errors.New("count is not a decimal number")
	errCountZeros  = errors.New("count has leading zeros")
)

// parseRange checks a whole range answer and calls each for every entry, in
// order. It returns an error, and may already have called each for earlier
// lines, when any line is malformed; callers use the entries only when the
// error is nil.
//
// Lines end with LF or CRLF; the last line may omit its terminator. A CR
// anywhere else is malformed, as is an empty line or an empty answer (the
// real service lists hundreds of suffixes under every prefix).
func parseRange(body []byte, each func(s suffix, count int64)) error {
	if len(body) == 0 {
		return errEmpty
	}
	for n := 1; len(body) > 0; n++ {
		var line []byte
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
			line = bytes.TrimSuffix(line, []byte{'\r'})
		} else {
			line, body = body, nil
		}
		s, count, err := parseLine(line)
		if err != nil {
			return fmt.Errorf("line %d: %w", n, err)
		}
		each(s, count)
	}
	return nil
}

// parseLine parses "SUFFIX:COUNT" without its line terminator.
func parseLine(line []byte) (suffix, int64, error) {
	var s suffix
	switch {
	case len(line) == 0:
		return s, 0, errEmptyLine
	case len(line) < suffixLen+2 || len(line) > suffixLen+1+maxCountDigits:
		return s, 0, errLineLength
	}
	for i := range suffixLen {
		c, ok := upperHex(line[i])
		if !ok {
			return s, 0, errSuffixHex
		}
		s[i] = c
	}
	if line[suffixLen] != ':' {
		return s, 0, errNoColon
	}
	digits := line[suffixLen+1:]
	if len(digits) > 1 && digits[0] == '0' {
		return s, 0, errCountZeros
	}
	var count int64
	for _, c := range digits {
		if c < '0' || c > '9' {
			return s, 0, errCountDigits
		}
		count = count*10 + int64(c-'0') // at most 18 digits: no overflow
	}
	return s, count, nil
}

// upperHex reports whether c is a hex digit and returns it in upper case.
func upperHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9', 'A' <= c && c <= 'F':
		return c, true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 'A', true
	}
	return 0, false
}

// lookupRange parses a whole answer strictly and returns the count listed
// for want, or 0 when it is not listed. Padding entries have count 0 and so
// never raise the result.
func lookupRange(body []byte, want suffix) (int64, error) {
	var found int64
	err := parseRange(body, func(s suffix, count int64) {
		if s == want && count > found {
			found = count
		}
	})
	if err != nil {
		return 0, err
	}
	return found, nil
}
