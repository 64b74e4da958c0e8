package config

import (
	"encoding/json"
	"errors"
	"fmt"
)

// PlaceholderKey marks a secret value as a placeholder: template.yaml creates
// the Stripe and SMTP secrets with a JSON value holding this key (and no real
// setting) when the operator names none, so that a first deployment needs no
// secret yet. A function whose secret still holds it answers 503
// not_configured until the secret is set and the function starts again.
const PlaceholderKey = "atrium_placeholder"

// NotConfiguredError says that a secret the function needs does not hold a
// usable setting yet. It names the secret (its id or ARN) and what to put
// there, never the secret's value.
type NotConfiguredError struct {
	Secret string // the secret's id or ARN
	Need   string // what the secret must hold, and how to set it
}

func (e *NotConfiguredError) Error() string {
	return fmt.Sprintf("secret %s is not configured yet: %s", e.Secret, e.Need)
}

// AsNotConfigured reports whether err is (or wraps) a NotConfiguredError.
func AsNotConfigured(err error) (*NotConfiguredError, bool) {
	var nc *NotConfiguredError
	ok := errors.As(err, &nc)
	return nc, ok
}

// IsPlaceholder reports whether a secret's JSON value is a placeholder
// (an object with a non-empty PlaceholderKey). A value that is not a JSON
// object is not a placeholder; its own decoding reports it.
func IsPlaceholder(value []byte) bool {
	var v map[string]json.RawMessage
	if json.Unmarshal(value, &v) != nil {
		return false
	}
	raw, ok := v[PlaceholderKey]
	if !ok {
		return false
	}
	var s string
	return json.Unmarshal(raw, &s) != nil || s != ""
}
