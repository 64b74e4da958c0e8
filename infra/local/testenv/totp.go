package testenv

import (
	"crypto/hmac"
	"crypto/sha1" // #nosec G505 -- RFC 6238's HMAC, as authenticator apps compute it
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TOTP is a test's own RFC 6238 computation (HMAC-SHA-1, 30-second steps
// from the epoch), written apart from shared/mfa so that tests check the
// code under test against an independent one: the code of the given
// number of digits for the secret at t.
func TOTP(secret []byte, at time.Time, digits int) string {
	counter := uint64(at.Unix() / 30)                  // #nosec G115 -- tests use times after 1970
	msg := binary.BigEndian.AppendUint64(nil, counter) // the 8-byte big-endian counter of RFC 4226
	m := hmac.New(sha1.New, secret)
	m.Write(msg)
	h := m.Sum(nil)
	o := int(h[19] & 0xf)
	bin := (int(h[o])&0x7f)<<24 | int(h[o+1])<<16 | int(h[o+2])<<8 | int(h[o+3])
	mod := 1
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, bin%mod)
}

// TOTPFromBase32 is TOTP with 6 digits for a secret as an enrolment shows
// it (base32, unpadded).
func TOTPFromBase32(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret))
	if err != nil {
		t.Fatalf("secret %q is not base32: %v", secret, err)
	}
	return TOTP(raw, at, 6)
}
