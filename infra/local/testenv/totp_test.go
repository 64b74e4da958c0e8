package testenv

import (
	"testing"
	"time"
)

// TestTOTPAppendixB: the tests' own TOTP gives RFC 6238's Appendix B
// values (SHA-1, secret "12345678901234567890", 8 digits).
func TestTOTPAppendixB(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, v := range []struct {
		unix int64
		want string
	}{{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"}} {
		if got := TOTP(secret, time.Unix(v.unix, 0), 8); got != v.want {
			t.Errorf("T=%d: %s, want %s", v.unix, got, v.want)
		}
	}
}
