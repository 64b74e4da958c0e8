package mfa

import (
	"crypto/hmac"
	"crypto/sha1" // #nosec G505 -- RFC 6238's default HMAC, as every authenticator app computes it
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"time"
)

// TOTP parameters (RFC 6238): HMAC-SHA-1, 6 digits, 30-second steps, and
// one step of skew either way. Authenticator apps assume these.
const (
	Digits     = 6
	StepPeriod = 30 * time.Second
	Skew       = 1
	// SecretBytes is the size of a new TOTP secret: 160 bits, RFC 4226's
	// recommendation and the output size of SHA-1.
	SecretBytes = 20
)

// b32 is the encoding of secrets shown to people and put in otpauth URIs.
var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// HOTP is RFC 4226's one-time password of the counter, Digits long.
func HOTP(secret []byte, counter uint64) string {
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	m := hmac.New(sha1.New, secret)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%0*d", Digits, bin%1_000_000)
}

// Step is the time step t falls in (RFC 6238's T, with T0 = 0).
func Step(t time.Time) int64 { return t.Unix() / int64(StepPeriod/time.Second) }

// TOTP is the code of the time step.
func TOTP(secret []byte, step int64) string {
	if step < 0 {
		return ""
	}
	return HOTP(secret, uint64(step))
}

// matchStep returns the step within Skew of now whose code is code and
// which is later than after (a step at or before it was used already),
// comparing every candidate in constant time.
func matchStep(secret []byte, code string, now time.Time, after int64) (int64, bool) {
	cur := Step(now)
	found, ok := int64(0), false
	for s := cur - Skew; s <= cur+Skew; s++ {
		if hmac.Equal([]byte(TOTP(secret, s)), []byte(code)) && s > after && !ok {
			found, ok = s, true
		}
	}
	return found, ok
}

// EncodeSecret is the base32 form of a secret a person types in.
func EncodeSecret(secret []byte) string { return b32.EncodeToString(secret) }

// URI is the otpauth:// URI of a TOTP secret (Google Authenticator's Key
// URI format), to show as a QR code: the issuer and the account's label.
func URI(issuer, account string, secret []byte) string {
	v := url.Values{}
	v.Set("secret", EncodeSecret(secret))
	v.Set("issuer", issuer)
	v.Set("algorithm", "SHA1")
	v.Set("digits", fmt.Sprint(Digits))
	v.Set("period", fmt.Sprint(int(StepPeriod/time.Second)))
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + issuer + ":" + account, RawQuery: v.Encode()}
	return u.String()
}
