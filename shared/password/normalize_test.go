package password

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// zwsp puts a zero-width space between the characters of s.
func zwsp(s string) string {
	return strings.Join(strings.Split(s, ""), "\u200b")
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
		invalid        bool
	}{
		{"printable ASCII unchanged", testPassword, testPassword, false},
		{"case kept", "PassWord Tractor", "PassWord Tractor", false},
		{"spaces kept, not trimmed", "  two  spaces  ", "  two  spaces  ", false},
		{"empty", "", "", false},

		// Invisible characters are removed.
		{"zero-width spaces", zwsp("password"), "password", false},
		{"ZWNJ and ZWJ", "pass\u200cwo\u200drd", "password", false},
		{"byte order mark", "\ufeffpassword", "password", false},
		{"soft hyphen", "pass\u00adword", "password", false},
		{"word joiner", "pass\u2060word", "password", false},
		{"bidi marks", "\u200epass\u200fword", "password", false},
		{"bidi embedding and override", "\u202apass\u202eword\u202c", "password", false},
		{"bidi isolates", "\u2066pass\u2069word\u2068", "password", false},
		{"Arabic letter mark", "pass\u061cword", "password", false},
		{"Mongolian vowel separator", "pass\u180eword", "password", false},
		{"variation selector", "\u2764\ufe0f heart", "\u2764 heart", false},
		{"tag characters", "flag\U000e0067\U000e0062\U000e007f", "flag", false},
		{"combining grapheme joiner", "pass\u034fword", "password", false},
		{"Hangul filler", "pass\u3164word", "password", false},
		{"only invisible characters", "\u200b\u200c\ufeff\u00ad", "", false},

		// Non-ASCII spaces become U+0020.
		{"no-break space", "violet\u00a0tractor", "violet tractor", false},
		{"ideographic space", "violet\u3000tractor", "violet tractor", false},
		{"em space", "violet\u2003tractor", "violet tractor", false},
		{"narrow no-break space", "violet\u202ftractor", "violet tractor", false},
		{"Ogham space mark", "violet\u1680tractor", "violet tractor", false},

		// NFKC.
		{"fullwidth letters", "ｐａｓｓｗｏｒｄ", "password", false},
		{"fullwidth digits and symbols", "１２３！", "123!", false},
		{"ligature", "\ufb01ne", "fine", false},
		{"superscript", "x\u00b2", "x2", false},
		{"combining acute composed", "cafe\u0301", "caf\u00e9", false},
		{"combining ring composed", "A\u030angstrom", "\u00c5ngstrom", false},
		{"Angstrom sign", "\u212b", "\u00c5", false},
		{"precomposed kept", "caf\u00e9", "caf\u00e9", false},
		{"CJK kept", "東京都港区六本木", "東京都港区六本木", false},
		{"emoji kept", "🌀🌀", "🌀🌀", false},
		{"invisible between base and combining mark", "e\u200b\u0301", "\u00e9", false},

		// Refused.
		{"NUL", "pass\x00word", "", true},
		{"tab", "violet\ttractor", "", true},
		{"newline", "violet tractor\n", "", true},
		{"DEL", "violet tractor\x7f", "", true},
		{"C1 control", "violet tractor\u0085", "", true},
		{"invalid UTF-8", "violet \xff tractor", "", true},
		{"truncated UTF-8", "violet \xe6\x97", "", true},
		{"private use", "pass\ue000word", "", true},
		{"unassigned", "pass\u0378word", "", true},
		{"noncharacter", "pass\uffffword", "", true},
		{"visible format character (Arabic number sign)", "\u0600123", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if tt.invalid {
				if !errors.Is(err, ErrInvalidPassword) || got != "" {
					t.Fatalf("Normalize = %q, %v; want a refusal wrapping ErrInvalidPassword", got, err)
				}
				if len(tt.in) >= 4 && strings.Contains(err.Error(), tt.in) {
					t.Fatalf("error %q contains the password", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Normalize = %q, %v; want %q", got, err, tt.want)
			}
			if again, err := Normalize(got); err != nil || again != got {
				t.Fatalf("Normalize is not idempotent: %q then %q, %v", got, again, err)
			}
		})
	}
}

// TestPolicyJudgesTheNormalisedForm: invisible characters do not count
// towards the length, and what normalises to a weak password is weak.
func TestPolicyJudgesTheNormalisedForm(t *testing.T) {
	const email = "jane.doe@example.com"
	tests := []struct {
		name     string
		password string
		want     string
	}{
		{"'password' with zero-width spaces (15 code points typed)", zwsp("password"), CodeTooShort},
		{"'passwordpassword' with zero-width spaces", zwsp("passwordpassword"), CodeTooCommon},
		{"14 characters and a zero-width space", "tRq8-vZp2!mKw9\u200b", CodeTooShort},
		{"14 characters and a soft hyphen", "tRq8-vZp\u00ad2!mKw9", CodeTooShort},
		{"14 characters and a BOM", "\ufefftRq8-vZp2!mKw9", CodeTooShort},
		{"padded with bidi controls", "password\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068", CodeTooShort},
		{"fullwidth 'passwordpassword'", "ｐａｓｓｗｏｒｄｐａｓｓｗｏｒｄ", CodeTooCommon},
		{"fullwidth email parts", "ｊａｎｅ．ｄｏｅ．ｅｘａｍｐｌｅ", CodePersonalInfo},
		{"no-break spaces in a passphrase", "violet\u00a0tractor\u00a0humbly\u00a0ocean", ""},
		{"ideographic spaces only", strings.Repeat("\u3000", 20), CodeTooCommon},
		{"decomposed accents count once", "e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301", CodeTooShort},
		{"private-use character", "violet tractor humbly ocean\ue000", CodeInvalid},
	}
	p := DefaultPolicy()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Check(tt.password, email)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check refused an acceptable password: %v", err)
				}
				return
			}
			var pe *PolicyError
			if !errors.As(err, &pe) || pe.Code != tt.want {
				t.Fatalf("Check = %v; want %s", err, tt.want)
			}
			assertPolicyErrorSafe(t, p, pe, tt.password)
		})
	}
}

// countingHasher returns a Floor hasher whose argon2id calls are counted.
func countingHasher(t *testing.T) (*Hasher, *int) {
	t.Helper()
	h, err := NewHasher(Floor)
	if err != nil {
		t.Fatal(err)
	}
	calls := new(int)
	idKey := h.idKey
	h.idKey = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		*calls++
		return idKey(password, salt, time, memory, threads, keyLen)
	}
	return h, calls
}

func TestHashAndVerifyNormalise(t *testing.T) {
	h, _ := floorHasher(t)
	const typed = "violet\u00a0tractor ｈｕｍｂｌｙ oce\u200ban"
	const normal = "violet tractor humbly ocean"
	// A hash stored before normalisation: of the password exactly as typed.
	legacy := craft(t, typed, Floor)
	legacyBcrypt, err := bcrypt.GenerateFromPassword([]byte(typed), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	const control = "violet\ttractor humbly ocean"
	legacyControl := craft(t, control, Floor)
	fresh, err := h.Hash(typed)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name       string
		password   string
		encoded    string
		wantOK     bool
		wantRehash bool
	}{
		{"new hash, typed the same way", typed, fresh, true, false},
		{"new hash, the normalised form typed", normal, fresh, true, false},
		{"new hash, typed another way", "violet\u3000tractor humbly\u2060 ocean", fresh, true, false},
		{"new hash, wrong password", typed + "!", fresh, false, false},
		{"new hash, the case differs", strings.ToUpper(normal), fresh, false, false},
		{"pre-normalisation hash, typed the same way: asks for a rehash", typed, legacy, true, true},
		{"pre-normalisation hash, the normalised form does not match it", normal, legacy, false, false},
		{"pre-normalisation hash, wrong password", typed + "!", legacy, false, false},
		{"pre-normalisation bcrypt hash, typed the same way", typed, string(legacyBcrypt), true, true},
		{"pre-normalisation hash of a password Normalize refuses: still verifies, no rehash", control, legacyControl, true, false},
		{"pre-normalisation hash of a password Normalize refuses, wrong password", control + "\n", legacyControl, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(tt.password, tt.encoded)
			if err != nil || ok != tt.wantOK || rehash != tt.wantRehash {
				t.Fatalf("Verify = %v, %v, %v; want %v, %v, nil", ok, rehash, err, tt.wantOK, tt.wantRehash)
			}
		})
	}

	t.Run("the rehash stores the normalised form", func(t *testing.T) {
		rehashed, err := h.Hash(typed)
		if err != nil {
			t.Fatal(err)
		}
		want := craftWithSaltOf(t, rehashed, normal)
		if rehashed != want {
			t.Fatal("Hash(typed) is not the hash of the normalised form")
		}
		for _, pw := range []string{typed, normal} {
			if ok, rehash, err := h.Verify(pw, rehashed); !ok || rehash || err != nil {
				t.Fatalf("Verify(%q) against the rehash = %v, %v, %v; want true, false, nil", pw, ok, rehash, err)
			}
		}
	})
	t.Run("Hash refuses what Normalize refuses", func(t *testing.T) {
		encoded, err := h.Hash(control)
		if encoded != "" || !errors.Is(err, ErrInvalidPassword) {
			t.Fatalf("Hash = %q, %v; want a refusal wrapping ErrInvalidPassword", encoded, err)
		}
		assertErrorSafe(t, err, control, "")
	})
}

// craftWithSaltOf hashes password at encoded's parameters with its salt.
func craftWithSaltOf(t *testing.T, encoded, password string) string {
	t.Helper()
	p, salt, _, err := parseArgon2id(encoded, LimitFor(TemplateAuthFunction))
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHasher(Floor)
	if err != nil {
		t.Fatal(err)
	}
	return encodeArgon2id(p, salt, h.idKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen))
}

// TestVerifyWorkDependsOnlyOnThePassword: how many argon2id computations
// Verify makes depends on the typed password alone — never on the stored
// hash, on whether it is a decoy, or on whether the password matches — so
// the time of a login does not tell whether an address has an account.
func TestVerifyWorkDependsOnlyOnThePassword(t *testing.T) {
	h, calls := countingHasher(t)
	decoy, err := h.DecoyHash()
	if err != nil {
		t.Fatal(err)
	}
	passwords := []struct {
		kind     string
		password string
		want     int
	}{
		{"already normalised: checked once", testPassword, 1},
		{"normalised form differs: checked normalised and as typed", "violet\u00a0tractor humbly ocean drift", 2},
		{"Normalize refuses it: checked as typed only", "violet\ttractor humbly ocean drift", 1},
	}
	for _, pw := range passwords {
		t.Run(pw.kind, func(t *testing.T) {
			normalHash, err := h.Hash(testPassword) // what Hash stores for the typed forms above but the last
			if err != nil {
				t.Fatal(err)
			}
			hashes := map[string]string{
				"decoy (unknown address)":        decoy,
				"real hash, right password":      normalHash,
				"real hash, wrong password":      craft(t, "another password entirely", Floor),
				"pre-normalisation hash (typed)": craft(t, pw.password, Floor),
			}
			for name, encoded := range hashes {
				*calls = 0
				if _, _, err := h.Verify(pw.password, encoded); err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if *calls != pw.want {
					t.Errorf("%s: %d argon2id computations; want %d", name, *calls, pw.want)
				}
			}
		})
	}
}
