package password

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"
)

// fuzzHasher hashes at Floor but accepts stored hashes only up to a tiny
// limit (256 KiB, 2 passes, 512 KiB-passes, 2 lanes, bcrypt cost 5), so no
// fuzz input can make one execution slow. Every refusal above that limit goes
// through the same code as a real one.
func fuzzHasher(f *testing.F) *Hasher {
	h, err := NewHasher(Floor)
	if err != nil {
		f.Fatal(err)
	}
	h.limit = Limit{Params: Params{MemoryKiB: 256, Time: 2, Threads: 2, SaltLen: 64, KeyLen: 64}, Work: 512, BcryptCost: 5}
	return h
}

func FuzzVerify(f *testing.F) {
	h := fuzzHasher(f)
	small := Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	f.Add(testPassword, craft(f, testPassword, small))
	f.Add("", craft(f, "", small))
	f.Add(testPassword, craft(f, testPassword, Params{MemoryKiB: 256, Time: 2, Threads: 2, SaltLen: 64, KeyLen: 64}))
	f.Add(testPassword, craft(f, testPassword, Params{MemoryKiB: 16, Time: 1, Threads: 2, SaltLen: 8, KeyLen: 16}))
	b, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(testPassword, string(b))
	f.Add("x", strings.Replace(string(b), "$2a$04$", "$2y$05$", 1))
	f.Add(testPassword, phc("m=19456,t=2,p=1", b64Salt16, b64Key32))
	for _, c := range malformedCases() {
		f.Add(testPassword, c.encoded)
	}

	f.Fuzz(func(t *testing.T, password, encoded string) {
		ok, rehash, err := h.Verify(password, encoded)
		if err != nil {
			if ok || rehash {
				t.Fatalf("Verify = %v, %v with error %v", ok, rehash, err)
			}
			if !errors.Is(err, ErrMalformedHash) && !errors.Is(err, ErrUnsupportedHash) && !errors.Is(err, ErrParamsTooHigh) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			// Errors are decided before the password is used, so they
			// cannot depend on it, let alone contain it.
			_, _, other := h.Verify(password+"\x01other", encoded)
			if other == nil || other.Error() != err.Error() {
				t.Fatalf("error depends on the password: %v vs %v", err, other)
			}
			for _, field := range strings.Split(encoded, "$") {
				if len(field) >= 16 && strings.Contains(err.Error(), field) {
					t.Fatalf("error %q contains part of the hash", err)
				}
			}
			return
		}
		if rehash && !ok {
			t.Fatal("needsRehash without a match")
		}
		if ok && strings.HasPrefix(encoded, "$argon2id$") {
			// A match at our own parameters is not a rehash; anything
			// accepted here is within the tiny ceiling, so below Floor.
			if !rehash {
				t.Fatal("a below-floor hash matched without needsRehash")
			}
		}
	})
}

func FuzzPolicyCheck(f *testing.F) {
	seeds := []struct{ password, email string }{
		{testPassword, "jane.doe@example.com"},
		{"jane.doe.example", "jane.doe@example.com"},
		{"passwordpassword", ""},
		{"123456789012345", ""},
		{"qwertyuiopasdfgh", ""},
		{"aaaaaaaaaaaaaaaa", ""},
		{"tRq8-vZp2!mKw9x", "a@b"},
		{"tRq8-vZp2!mKw9", ""},
		{"日本語日本語日本語日本語日本語", "日本@語.jp"},
		{"ÄÖÜäöüßéèêñçåøæ", "@"},
		{"violet tractor\x00humbly ocean", ""},
		{"violet tractor \xff humbly ocean", "\xff@\xfe"},
		{strings.Repeat("4@8({[<369!|1705$+%2", 13), ""},
		{strings.Repeat("🌀", 65), ""},
		{"Use at least 15 characters.", ""},
		{"atriumatriumatrium", "atrium@atrium.atrium"},
		{"İİİİİİİİİİİİİİİİ", "İ@İ"},
		// Normalisation: invisible characters, fullwidth forms, ligatures,
		// non-ASCII spaces, combining marks.
		{"p\u200ba\u200bs\u200bs\u200bw\u200bo\u200br\u200bd", ""},
		{"ｐａｓｓｗｏｒｄｐａｓｓｗｏｒｄ", ""},
		{"\ufb03\ufb03\ufb03\ufb03\ufb03\ufb03\ufb03\ufb03", ""},
		{"violet\u00a0tractor\u3000humbly\u2003ocean", "ｊａｎｅ@ｅｘａｍｐｌｅ．ｃｏｍ"},
		{"e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301e\u0301", ""},
		{"\ufeff\u202etRq8-vZp2!mKw9\u200d", ""},
	}
	for _, s := range seeds {
		f.Add(s.password, s.email)
	}
	p := DefaultPolicy()
	codes := p.messages()

	f.Fuzz(func(t *testing.T, password, email string) {
		err := p.Check(password, email)
		if err == nil {
			normal, nerr := Normalize(password)
			if len(password) > p.MaxBytes || nerr != nil || utf8.RuneCountInString(normal) < p.MinLength {
				t.Fatalf("accepted a password outside the length or encoding rules (%d bytes)", len(password))
			}
			return
		}
		var pe *PolicyError
		if !errors.As(err, &pe) {
			t.Fatalf("Check returned %T, not *PolicyError", err)
		}
		fixed, known := codes[pe.Code]
		if !known {
			t.Fatalf("unknown code %q", pe.Code)
		}
		if pe.Message != fixed {
			t.Fatalf("message %q is not the fixed message for %s", pe.Message, pe.Code)
		}
		if len(password) >= 4 && strings.Contains(pe.Error(), password) && !strings.Contains(pe.Code+": "+fixed, password) {
			t.Fatalf("error %q contains the password", pe.Error())
		}
	})
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"", testPassword, "p\u200ba\u200bs\u200bs\u200bw\u200bo\u200br\u200bd",
		"ｐａｓｓ", "\ufb01\u00b2\u212b", "cafe\u0301", "e\u200b\u0301", "violet\u00a0tractor\u3000\u1680",
		"\u2764\ufe0f", "flag\U000e0067\U000e007f", "pass\u3164word", "\u3131\u314f", "\uffa0\uffa1",
		"a\x00b", "\t", "\xff", "\ue000", "\u0378", "\u0600", "\ufdfa", "\u0f77", "\u1100\u1161\u11a8",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Normalize(in)
		if err != nil {
			if out != "" || !errors.Is(err, ErrInvalidPassword) {
				t.Fatalf("Normalize = %q, %v; want \"\" and ErrInvalidPassword", out, err)
			}
			if len(in) >= 4 && strings.Contains(err.Error(), in) {
				t.Fatalf("error %q contains the input", err)
			}
			return
		}
		again, err := Normalize(out)
		if err != nil || again != out {
			t.Fatalf("not idempotent: %q normalises to %q, then %q, %v", in, out, again, err)
		}
		if !utf8.ValidString(out) || !norm.NFKC.IsNormalString(out) {
			t.Fatalf("%q normalises to %q, which is not NFKC", in, out)
		}
		for _, r := range out {
			if invisible(r) || unicode.IsControl(r) || (r != ' ' && unicode.Is(unicode.Zs, r)) {
				t.Fatalf("%q normalises to %q, which keeps %U", in, out, r)
			}
		}
	})
}
