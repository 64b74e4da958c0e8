// Package ids makes the random identifiers and secrets the API hands out.
package ids

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
)

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// New returns prefix + "_" + 128 random bits in lower-case base32 (26 characters),
// e.g. "acct_7x3q...". IDs are unguessable, so they can stand in a URL.
func New(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return prefix + "_" + lowerBase32.EncodeToString(b[:])
}

// Secret returns 256 random bits, URL-safe base64 without padding (43 characters).
func Secret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Hash returns the hex SHA-256 of a high-entropy secret, the form in which
// tokens are stored. (A fast hash suffices: the input has 256 random bits.)
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// Valid reports whether s looks like an ID made by New with this prefix.
func Valid(prefix, s string) bool {
	if len(s) != len(prefix)+1+26 || s[:len(prefix)+1] != prefix+"_" {
		return false
	}
	for _, c := range s[len(prefix)+1:] {
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}
