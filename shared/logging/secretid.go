package logging

import (
	"log/slog"
	"regexp"
)

// secretIDValue marks the name or ARN of a Secrets Manager secret (never its
// value), which an operator must be able to read in a log line such as
// "secret X is not configured yet": Scrub would take a long name for a
// token.
type secretIDValue string

// secretIDPattern is the shape of a secret's name or ARN, as Secrets Manager
// allows it.
var secretIDPattern = regexp.MustCompile(`^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:)?[A-Za-z0-9/_+=.@-]{1,512}$`)

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
	if secretIDPattern.MatchString(string(id)) && !keyPattern.MatchString(string(id)) {
		return slog.String(key, string(id))
	}
	return slog.String(key, Scrub(string(id)))
}
