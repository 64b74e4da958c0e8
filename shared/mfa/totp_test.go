package mfa

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
)

// rfcSecret is RFC 6238 Appendix B's SHA-1 secret.
var rfcSecret = []byte("12345678901234567890")

// TestTOTPAppendixB: the package's TOTP gives the last six digits of RFC
// 6238's Appendix B values (its codes are 8 digits; ours 6, the same
// truncation mod 10^6), and agrees with the tests' own computation.
func TestTOTPAppendixB(t *testing.T) {
	for _, v := range []struct {
		unix int64
		rfc  string
	}{{59, "94287082"}, {1111111109, "07081804"}, {1111111111, "14050471"},
		{1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"}} {
		at := time.Unix(v.unix, 0)
		got := TOTP(rfcSecret, Step(at))
		if got != v.rfc[2:] {
			t.Errorf("T=%d: %s, want %s", v.unix, got, v.rfc[2:])
		}
		if indep := testenv.TOTP(rfcSecret, at, 6); got != indep {
			t.Errorf("T=%d: %s, the independent computation %s", v.unix, got, indep)
		}
	}
}

// TestMatchStep: a code matches within one step either way, never beyond,
// and never at or before the last step used.
func TestMatchStep(t *testing.T) {
	now := time.Unix(1111111111, 0)
	cur := Step(now)
	for _, c := range []struct {
		name  string
		step  int64
		after int64
		ok    bool
	}{
		{"current", cur, -1, true},
		{"previous", cur - 1, -1, true},
		{"next", cur + 1, -1, true},
		{"two back", cur - 2, -1, false},
		{"two ahead", cur + 2, -1, false},
		{"replayed", cur, cur, false},
		{"older than the last used", cur - 1, cur, false},
		{"after the previous was used", cur, cur - 1, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, ok := matchStep(rfcSecret, TOTP(rfcSecret, c.step), now, c.after)
			if ok != c.ok || ok && s != c.step {
				t.Errorf("step %d after %d: %d %v, want %v", c.step, c.after, s, ok, c.ok)
			}
		})
	}
}

// TestURI: the otpauth URI carries the secret in base32 and the standard
// parameters.
func TestURI(t *testing.T) {
	u, err := url.Parse(URI("Atrium", "a@example.com", rfcSecret))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Scheme != "otpauth" || u.Host != "totp" || u.Path != "/Atrium:a@example.com" ||
		q.Get("secret") != "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" || q.Get("issuer") != "Atrium" ||
		q.Get("digits") != "6" || q.Get("period") != "30" || q.Get("algorithm") != "SHA1" {
		t.Errorf("URI %s", u)
	}
}

// TestSealBindsAccountAndFactor: a sealed secret opens only for its
// account and factor and under its key; it never holds the plaintext.
func TestSealBindsAccountAndFactor(t *testing.T) {
	s, err := NewSealer([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewSealer([]byte("fedcba9876543210fedcba9876543210"))
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.Seal("acct_a", "mfa_a", rfcSecret)
	if got, err := s.Open("acct_a", "mfa_a", sealed); err != nil || string(got) != string(rfcSecret) {
		t.Fatalf("open: %q %v", got, err)
	}
	for _, c := range []struct {
		name            string
		sealer          *Sealer
		account, factor string
		sealed          []byte
	}{
		{"another account", s, "acct_b", "mfa_a", sealed},
		{"another factor", s, "acct_a", "mfa_b", sealed},
		{"another key", other, "acct_a", "mfa_a", sealed},
		{"truncated", s, "acct_a", "mfa_a", sealed[:10]},
		{"flipped", s, "acct_a", "mfa_a", append(append([]byte{}, sealed[:len(sealed)-1]...), sealed[len(sealed)-1]^1)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := c.sealer.Open(c.account, c.factor, c.sealed); err != ErrUnsealable {
				t.Errorf("opened: %v", err)
			}
		})
	}
	if _, err := NewSealer([]byte("short")); err == nil {
		t.Error("a short key was accepted")
	}
}

// TestRecoveryCodes: codes have 120 bits and their shape; typing them in
// any case or without dashes finds the same hash; accounts hash apart.
func TestRecoveryCodes(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		c := newRecoveryCode()
		if len(c) != 29 || c[4] != '-' || len(NormalizeCode(c)) != RecoveryCodeBits/5 || seen[c] {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
		if recoveryHash("acct_a", c) != recoveryHash("acct_a", " "+strings.ToUpper(strings.ReplaceAll(c, "-", ""))) ||
			recoveryHash("acct_a", c) != recoveryHash("acct_a", NormalizeCode(c)) {
			t.Fatalf("normalisation of %q", c)
		}
	}
	c := newRecoveryCode()
	if recoveryHash("acct_a", c) == recoveryHash("acct_b", c) {
		t.Error("two accounts' equal codes hash alike")
	}
}
