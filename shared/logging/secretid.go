package logging

import (
	"log/slog"
	"regexp"
	"strings"
)

// secretIDValue marks the name or ARN of a Secrets Manager secret (never its
// value), which an operator must be able to read in a log line such as
// "secret X is not configured yet": Scrub would take a long name for a
// token.
type secretIDValue string

// secretIDShape reports whether id has the shape of a secret's name or ARN,
// as Secrets Manager allows it: what the regular expression
//
//	^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$
//
// matches, checked by hand: compiling that expression (its bounded repeat
// of 512) took about a third of a millisecond of every cold start, in every
// function, for a log line most never write.
func secretIDShape(id string) bool {
	if !strings.Contains(id, ":") {
		return len(id) >= 1 && len(id) <= 512 && allBytes(id, secretNameByte)
	}
	// A name holds no colon: the ARN's prefix has exactly six.
	p := strings.Split(id, ":")
	if len(p) != 7 || p[0] != "arn" || p[2] != "secretsmanager" || p[5] != "secret" {
		return false
	}
	partition, ok := strings.CutPrefix(p[1], "aws")
	return ok && allBytes(partition, func(c byte) bool { return 'a' <= c && c <= 'z' || c == '-' }) &&
		p[3] != "" && allBytes(p[3], func(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' }) &&
		len(p[4]) == 12 && allBytes(p[4], func(c byte) bool { return '0' <= c && c <= '9' }) &&
		secretIDShape(p[6])
}

func secretNameByte(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("/_+=.@-", c) >= 0
}

// allBytes reports whether every byte of s satisfies ok.
func allBytes(s string, ok func(byte) bool) bool {
	for i := range len(s) {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// keyPattern is what a Stripe key or an AWS access key id looks like: a
// value logged as a secret's id by mistake is still scrubbed.
var keyPattern = regexp.MustCompile(`(?:^|[/:])(?:sk|rk|pk|whsec)_|(?:AKIA|ASIA)[A-Z0-9]{16}`)

// SecretID is a log attribute naming a secret by its name or ARN, shown as it
// is when it has that shape (and does not look like a key); anything else is
// scrubbed like every other value.
func SecretID(key, id string) slog.Attr {
	return slog.Any(key, secretIDValue(id))
}

func secretIDAttr(key string, id secretIDValue) slog.Attr {
	if secretIDShape(string(id)) && !keyPattern.MatchString(string(id)) {
		return slog.String(key, string(id))
	}
	return slog.String(key, Scrub(string(id)))
}
