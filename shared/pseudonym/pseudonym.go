// Package pseudonym turns personal identifiers (a client's IP address, an
// email address) into keyed hashes, so that counters and limits can be keyed
// by them without the identifiers themselves ever being stored. Without the
// key, which lives in Secrets Manager, a stored pseudonym cannot be linked
// back to an address, not even by trying every IPv4 address.
package pseudonym

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// MinKeyLength is the shortest key accepted, in bytes.
const MinKeyLength = 32

// Domains of the pseudonyms several packages make and must agree on: a
// counter written under one is found, exported and erased under the same.
const (
	EmailDomain  = "email" // a normalized email address
	ClientDomain = "ip"    // a client address (ClientIP)
)

// Keyer makes pseudonyms with one secret key.
type Keyer struct{ key []byte }

// New returns a Keyer; the key must hold at least MinKeyLength bytes.
func New(key []byte) (*Keyer, error) {
	if len(key) < MinKeyLength {
		return nil, errors.New("pseudonym: key shorter than 32 bytes")
	}
	return &Keyer{key: append([]byte(nil), key...)}, nil
}

// Of returns the pseudonym of value in a domain (e.g. ClientDomain,
// EmailDomain): 128 bits of HMAC-SHA256, hex. The domain keeps equal values
// of different kinds apart.
func (k *Keyer) Of(domain, value string) string {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(domain))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// ClientIP is the client a request came from, as the per-client limits
// count it: the TCP peer, which is the API Gateway's view of the client in
// Lambda (the proxy adapter copies requestContext.http.sourceIp there) and
// the real peer locally. An IPv6 client is its /64 network, the smallest
// block a subscriber is usually given: counted per address, one subscriber
// would be 2^64 clients. An IPv4 address in IPv6 form is its IPv4 address.
// X-Forwarded-For is never trusted: a client can write anything in it.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return "unknown"
	}
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

// FromSecret builds the Keyer from the Secrets Manager secret {"key": ...}
// (CLIENT_KEY_SECRET_ARN), read with readSecret once per cold start.
func FromSecret(ctx context.Context, readSecret func(context.Context, string, any) error, secretID string) (*Keyer, error) {
	var v struct {
		Key string `json:"key"`
	}
	if err := readSecret(ctx, secretID, &v); err != nil {
		return nil, fmt.Errorf("client key: %w", err)
	}
	k, err := New([]byte(v.Key))
	if err != nil {
		return nil, fmt.Errorf("client key: %w", err)
	}
	return k, nil
}
