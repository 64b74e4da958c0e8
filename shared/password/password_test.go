package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Hashing at Floor costs tens of milliseconds (more under -race), so the
// tests share one hasher and a handful of hashes.

const testPassword = "violet tractor humbly ocean drift"

var (
	sharedOnce   sync.Once
	sharedHasher *Hasher
	sharedHash   string
	sharedErr    error
)

func floorHasher(t testing.TB) (*Hasher, string) {
	t.Helper()
	sharedOnce.Do(func() {
		sharedHasher, sharedErr = NewHasher(Floor)
		if sharedErr == nil {
			sharedHash, sharedErr = sharedHasher.Hash(testPassword)
		}
	})
	if sharedErr != nil {
		t.Fatalf("setting up hasher: %v", sharedErr)
	}
	return sharedHasher, sharedHash
}

// craft builds an argon2id PHC string for password with arbitrary (possibly
// below-floor) parameters, bypassing NewHasher.
func craft(t testing.TB, password string, p Params) string {
	t.Helper()
	salt := make([]byte, p.SaltLen)
	for i := range salt {
		salt[i] = byte(i*7 + 1)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	return encodeArgon2id(p, salt, key)
}

// phc assembles a PHC string from raw fields, for malformed cases.
func phc(params, salt, key string) string {
	return "$argon2id$v=19$" + params + "$" + salt + "$" + key
}

var (
	b64Salt16 = base64.RawStdEncoding.EncodeToString(make([]byte, 16))
	b64Key32  = base64.RawStdEncoding.EncodeToString(make([]byte, 32))
)

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestHashRoundTripAndFormat(t *testing.T) {
	h, encoded := floorHasher(t)
	if !phcPattern.MatchString(encoded) {
		t.Fatalf("hash does not have the PHC shape: %q", encoded)
	}
	p, salt, key, err := parseArgon2id(encoded, h.Limit())
	if err != nil {
		t.Fatalf("parsing own hash: %v", err)
	}
	if p != Floor || len(salt) != 16 || len(key) != 32 {
		t.Fatalf("parsed params %+v, salt %d, key %d; want Floor, 16, 32", p, len(salt), len(key))
	}
	if got := encodeArgon2id(p, salt, key); got != encoded {
		t.Fatalf("re-encoding differs: %q vs %q", got, encoded)
	}
	ok, rehash, err := h.Verify(testPassword, encoded)
	if !ok || rehash || err != nil {
		t.Fatalf("Verify(right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	second, err := h.Hash(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	if second == encoded {
		t.Fatal("two hashes of one password are equal: salt is not random")
	}
}

func TestVerify(t *testing.T) {
	_, encoded := floorHasher(t)
	below := Params{MemoryKiB: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	long72 := strings.Repeat("x", 72)
	bcryptLong, err := bcrypt.GenerateFromPassword([]byte(long72), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	withMinor := func(minor byte) string {
		b := []byte(string(bcryptHash))
		b[2] = minor
		return string(b)
	}

	tests := []struct {
		name       string
		password   string
		encoded    string
		wantOK     bool
		wantRehash bool
	}{
		{"own params, right password", testPassword, encoded, true, false},
		{"own params, wrong password", testPassword + "!", encoded, false, false},
		{"own params, empty password", "", encoded, false, false},
		{"own params, case differs", strings.ToUpper(testPassword), encoded, false, false},
		{"below floor, right password", testPassword, craft(t, testPassword, below), true, true},
		{"below floor, wrong password", "nope", craft(t, testPassword, below), false, false},
		{"more passes", testPassword, craft(t, testPassword, Params{MemoryKiB: 19456, Time: 3, Threads: 1, SaltLen: 16, KeyLen: 32}), true, true},
		{"more lanes, where the function has the vCPUs", testPassword, craft(t, testPassword, Params{MemoryKiB: 19456, Time: 2, Threads: 2, SaltLen: 16, KeyLen: 32}), true, true},
		{"longer salt", testPassword, craft(t, testPassword, Params{MemoryKiB: 19456, Time: 2, Threads: 1, SaltLen: 32, KeyLen: 32}), true, true},
		{"longer key", testPassword, craft(t, testPassword, Params{MemoryKiB: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 64}), true, true},
		{"shorter key", testPassword, craft(t, testPassword, Params{MemoryKiB: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 16}), true, true},
		{"bcrypt $2a$, right password", testPassword, string(bcryptHash), true, true},
		{"bcrypt $2b$, right password", testPassword, withMinor('b'), true, true},
		{"bcrypt $2y$, right password", testPassword, withMinor('y'), true, true},
		{"bcrypt, wrong password", "not the password", string(bcryptHash), false, false},
		{"bcrypt, empty password", "", string(bcryptHash), false, false},
		{"bcrypt, 72 bytes", long72, string(bcryptLong), true, true},
		{"bcrypt, 73 bytes sharing the first 72", long72 + "y", string(bcryptLong), false, false},
	}
	// A function of 2048 MB has two vCPUs, so its limit allows two lanes;
	// the template's auth function (256 MB) allows one.
	twoVCPUs, err := NewHasherWithLimit(Floor, LimitFor(Function{MemoryMB: 2048, Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := twoVCPUs.Verify(tt.password, tt.encoded)
			if err != nil {
				t.Fatalf("Verify error: %v", err)
			}
			if ok != tt.wantOK || rehash != tt.wantRehash {
				t.Fatalf("Verify = %v, %v; want %v, %v", ok, rehash, tt.wantOK, tt.wantRehash)
			}
		})
	}
}

// malformedCases are encodings Verify must refuse, with the sentinel each
// must wrap. They double as fuzz seeds.
func malformedCases() []struct {
	name    string
	encoded string
	want    error
} {
	good := phc("m=19456,t=2,p=1", b64Salt16, b64Key32)
	bcryptBody := strings.Repeat("a", 53)
	return []struct {
		name    string
		encoded string
		want    error
	}{
		{"empty", "", ErrMalformedHash},
		{"dollar", "$", ErrMalformedHash},
		{"double dollar", "$$", ErrMalformedHash},
		{"no leading dollar", strings.TrimPrefix(good, "$"), ErrMalformedHash},
		{"leading space", " " + good, ErrMalformedHash},
		{"trailing space", good + " ", ErrMalformedHash},
		{"trailing newline", good + "\n", ErrMalformedHash},
		{"trailing dollar", good + "$", ErrMalformedHash},
		{"extra field", good + "$AAAA", ErrMalformedHash},
		{"only identifier", "$argon2id$", ErrMalformedHash},
		{"uppercase identifier", strings.Replace(good, "argon2id", "ARGON2ID", 1), ErrMalformedHash},
		{"missing version", "$argon2id$m=19456,t=2,p=1$" + b64Salt16 + "$" + b64Key32, ErrMalformedHash},
		{"empty version", strings.Replace(good, "v=19", "v=", 1), ErrMalformedHash},
		{"version leading zero", strings.Replace(good, "v=19", "v=019", 1), ErrMalformedHash},
		{"version plus", strings.Replace(good, "v=19", "v=+19", 1), ErrMalformedHash},
		{"version hex", strings.Replace(good, "v=19", "v=0x13", 1), ErrMalformedHash},
		{"version 16", strings.Replace(good, "v=19", "v=16", 1), ErrUnsupportedHash},
		{"version 20", strings.Replace(good, "v=19", "v=20", 1), ErrUnsupportedHash},
		{"params missing", "$argon2id$v=19$" + b64Salt16 + "$" + b64Key32, ErrMalformedHash},
		{"params reordered", phc("t=2,m=19456,p=1", b64Salt16, b64Key32), ErrMalformedHash},
		{"param missing", phc("m=19456,t=2", b64Salt16, b64Key32), ErrMalformedHash},
		{"param extra", phc("m=19456,t=2,p=1,k=1", b64Salt16, b64Key32), ErrMalformedHash},
		{"param keyid", phc("m=19456,t=2,p=1,keyid=AAAA", b64Salt16, b64Key32), ErrMalformedHash},
		{"param data", phc("m=19456,t=2,p=1,data=AAAA", b64Salt16, b64Key32), ErrMalformedHash},
		{"param uppercase", phc("M=19456,t=2,p=1", b64Salt16, b64Key32), ErrMalformedHash},
		{"param space", phc("m=19456, t=2,p=1", b64Salt16, b64Key32), ErrMalformedHash},
		{"param empty value", phc("m=,t=2,p=1", b64Salt16, b64Key32), ErrMalformedHash},
		{"param plus", phc("m=+19456,t=2,p=1", b64Salt16, b64Key32), ErrMalformedHash},
		{"param minus", phc("m=19456,t=-2,p=1", b64Salt16, b64Key32), ErrMalformedHash},
		{"param leading zero", phc("m=019456,t=2,p=1", b64Salt16, b64Key32), ErrMalformedHash},
		{"param underscore", phc("m=19_456,t=2,p=1", b64Salt16, b64Key32), ErrMalformedHash},
		{"param decimal point", phc("m=19456.0,t=2,p=1", b64Salt16, b64Key32), ErrMalformedHash},
		{"param overflows 32 bits", phc("m=4294967296,t=2,p=1", b64Salt16, b64Key32), ErrMalformedHash},
		{"param 11 digits", phc("m=10000000000,t=2,p=1", b64Salt16, b64Key32), ErrMalformedHash},
		{"param non-ascii digit", phc("m=１9456,t=2,p=1", b64Salt16, b64Key32), ErrMalformedHash},
		{"time zero", phc("m=19456,t=0,p=1", b64Salt16, b64Key32), ErrMalformedHash},
		{"threads zero", phc("m=19456,t=2,p=0", b64Salt16, b64Key32), ErrMalformedHash},
		{"memory below 8 per lane", phc("m=7,t=2,p=1", b64Salt16, b64Key32), ErrMalformedHash},
		{"memory zero", phc("m=0,t=2,p=1", b64Salt16, b64Key32), ErrMalformedHash},
		{"salt empty", phc("m=19456,t=2,p=1", "", b64Key32), ErrMalformedHash},
		{"key empty", phc("m=19456,t=2,p=1", b64Salt16, ""), ErrMalformedHash},
		{"salt padded", phc("m=19456,t=2,p=1", b64Salt16+"==", b64Key32), ErrMalformedHash},
		{"key padded", phc("m=19456,t=2,p=1", b64Salt16, b64Key32+"="), ErrMalformedHash},
		{"salt url alphabet", phc("m=19456,t=2,p=1", "-_"+b64Salt16[2:], b64Key32), ErrMalformedHash},
		{"salt with newline", phc("m=19456,t=2,p=1", b64Salt16[:10]+"\n"+b64Salt16[10:], b64Key32), ErrMalformedHash},
		{"salt with CR", phc("m=19456,t=2,p=1", b64Salt16[:10]+"\r"+b64Salt16[10:], b64Key32), ErrMalformedHash},
		{"salt impossible length", phc("m=19456,t=2,p=1", b64Salt16+"AAA", b64Key32), ErrMalformedHash},
		{"salt non-canonical bits", phc("m=19456,t=2,p=1", b64Salt16[:21]+"B", b64Key32), ErrMalformedHash},
		{"salt 4 bytes", phc("m=19456,t=2,p=1", "AAAAAA", b64Key32), ErrMalformedHash},
		{"key 8 bytes", phc("m=19456,t=2,p=1", b64Salt16, "AAAAAAAAAAA"), ErrMalformedHash},
		{"NUL in hash", phc("m=19456,t=2,p=1", b64Salt16, b64Key32[:20]+"\x00"+b64Key32[21:]), ErrMalformedHash},
		{"too long", phc("m=19456,t=2,p=1", b64Salt16, b64Key32) + strings.Repeat("A", MaxEncodedLen), ErrMalformedHash},
		{"plain text", "hunter2", ErrMalformedHash},
		{"unsupported argon2i", strings.Replace(good, "argon2id", "argon2i", 1), ErrUnsupportedHash},
		{"unsupported argon2d", strings.Replace(good, "argon2id", "argon2d", 1), ErrUnsupportedHash},
		{"unsupported scrypt", "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E", ErrUnsupportedHash},
		{"unsupported pbkdf2", "$pbkdf2-sha256$29000$N2GMsZbSmrMWgrD2vh5jDA$LeBiVO8RFdI3nUQBsCvDi3RlTsNTG2ngC1fNrKgr9lY", ErrUnsupportedHash},
		{"unsupported bcrypt $2x$", "$2x$10$" + bcryptBody, ErrUnsupportedHash},
		{"unsupported bcrypt $2$", "$2$10$" + bcryptBody, ErrUnsupportedHash},
		{"bcrypt too short", "$2a$10$" + bcryptBody[:52], ErrMalformedHash},
		{"bcrypt too long", "$2a$10$" + bcryptBody + "a", ErrMalformedHash},
		{"bcrypt no cost separator", "$2a$10x" + bcryptBody, ErrMalformedHash},
		{"bcrypt cost letters", "$2a$1a$" + bcryptBody, ErrMalformedHash},
		{"bcrypt cost sign", "$2a$+9$" + bcryptBody, ErrMalformedHash},
		{"bcrypt cost 3", "$2a$03$" + bcryptBody, ErrMalformedHash},
		{"bcrypt cost 0", "$2b$00$" + bcryptBody, ErrMalformedHash},
		{"bcrypt bad alphabet", "$2a$04$" + bcryptBody[:30] + "+" + bcryptBody[31:], ErrMalformedHash},
		{"bcrypt dollar in body", "$2y$04$" + bcryptBody[:30] + "$" + bcryptBody[31:], ErrMalformedHash},
	}
}

func TestVerifyMalformed(t *testing.T) {
	h, _ := floorHasher(t)
	for _, tt := range malformedCases() {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(testPassword, tt.encoded)
			if ok || rehash {
				t.Fatalf("Verify = %v, %v on a malformed hash", ok, rehash)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v; want %v", err, tt.want)
			}
			assertErrorSafe(t, err, testPassword, tt.encoded)
		})
	}
}

// assertErrorSafe fails if err's text contains the password or the
// distinctive parts of the encoded hash.
func assertErrorSafe(t *testing.T, err error, password, encoded string) {
	t.Helper()
	msg := err.Error()
	if len(password) >= 4 && strings.Contains(msg, password) {
		t.Fatalf("error %q contains the password", msg)
	}
	if len(encoded) >= 16 && strings.Contains(msg, encoded) {
		t.Fatalf("error %q contains the hash", msg)
	}
	for _, field := range strings.Split(encoded, "$") {
		if len(field) >= 16 && strings.Contains(msg, field) {
			t.Fatalf("error %q contains part of the hash", msg)
		}
	}
}

// noWorkHasher returns a Floor hasher whose primitives fail the test if
// called, so a test can prove that Verify refused before any hashing.
func noWorkHasher(t *testing.T) *Hasher {
	h, err := NewHasher(Floor)
	if err != nil {
		t.Fatal(err)
	}
	h.idKey = func([]byte, []byte, uint32, uint32, uint8, uint32) []byte {
		t.Error("argon2id computed for a hash that should have been refused")
		return nil
	}
	h.bcryptCompare = func([]byte, []byte) error {
		t.Error("bcrypt computed for a hash that should have been refused")
		return nil
	}
	return h
}

func TestVerifyAboveLimitRefusedWithoutWork(t *testing.T) {
	h := noWorkHasher(t)
	l := h.Limit()
	if l != LimitFor(TemplateAuthFunction) {
		t.Fatalf("NewHasher's limit = %+v; want the template auth function's %+v", l, LimitFor(TemplateAuthFunction))
	}
	salt65 := base64.RawStdEncoding.EncodeToString(make([]byte, 65))
	key65 := base64.RawStdEncoding.EncodeToString(make([]byte, 65))
	bcryptBody := strings.Repeat("a", 53)
	// The most passes that fit the work limit at the memory limit, and at
	// Floor's memory (where, with a large function, the per-axis limit on
	// passes may come first).
	tAtMax := uint32(l.Work / uint64(l.MemoryKiB))
	tAtFloor := min(uint32(l.Work/uint64(Floor.MemoryKiB)), l.Time)
	tests := []struct {
		name    string
		encoded string
	}{
		{"the old ceiling (256 MiB, t=16, p=16)", phc("m=262144,t=16,p=16", b64Salt16, b64Key32)},
		{"memory 4 GiB", phc("m=4194304,t=2,p=1", b64Salt16, b64Key32)},
		{"memory max uint32", phc("m=4294967295,t=2,p=1", b64Salt16, b64Key32)},
		{"memory just above the limit", phc(fmt.Sprintf("m=%d,t=1,p=1", l.MemoryKiB+1), b64Salt16, b64Key32)},
		{"work just above the limit at the memory limit", phc(fmt.Sprintf("m=%d,t=%d,p=1", l.MemoryKiB, tAtMax+1), b64Salt16, b64Key32)},
		{"work just above the limit at Floor's memory", phc(fmt.Sprintf("m=%d,t=%d,p=1", Floor.MemoryKiB, tAtFloor+1), b64Salt16, b64Key32)},
		{"time just above the per-axis limit", phc(fmt.Sprintf("m=8,t=%d,p=1", l.Time+1), b64Salt16, b64Key32)},
		{"time max uint32", phc("m=19456,t=4294967295,p=1", b64Salt16, b64Key32)},
		{"threads just above the limit", phc(fmt.Sprintf("m=19456,t=2,p=%d", l.Threads+1), b64Salt16, b64Key32)},
		{"threads above uint8", phc("m=19456,t=2,p=256", b64Salt16, b64Key32)},
		{"everything huge", phc("m=4294967295,t=4294967295,p=4294967295", b64Salt16, b64Key32)},
		{"salt 65 bytes", phc("m=19456,t=2,p=1", salt65, b64Key32)},
		{"key 65 bytes", phc("m=19456,t=2,p=1", b64Salt16, key65)},
		{"bcrypt cost just above the limit", fmt.Sprintf("$2a$%02d$", l.BcryptCost+1) + bcryptBody},
		{"bcrypt cost 15", "$2a$15$" + bcryptBody},
		{"bcrypt cost 31", "$2b$31$" + bcryptBody},
		{"bcrypt cost 99", "$2y$99$" + bcryptBody},
	}
	// Every password shape: ASCII (checked once), one whose normalised form
	// differs (checked twice), one Normalize refuses (checked as typed).
	passwords := []struct{ kind, password string }{
		{"ascii", testPassword},
		{"normalised form differs", "violet\u00a0tractor humbly ocean"},
		{"not normalisable", "violet\ttractor humbly ocean"},
	}
	for _, pw := range passwords {
		for _, tt := range tests {
			t.Run(pw.kind+"/"+tt.name, func(t *testing.T) {
				ok, rehash, err := h.Verify(pw.password, tt.encoded)
				if ok || rehash || !errors.Is(err, ErrParamsTooHigh) {
					t.Fatalf("Verify = %v, %v, %v; want false, false, ErrParamsTooHigh", ok, rehash, err)
				}
				assertErrorSafe(t, err, pw.password, tt.encoded)
			})
		}
	}
	// At the limit itself the hash is accepted for computation (the
	// replaced primitive reports the call; here that is expected).
	called := 0
	h.idKey = func(_, _ []byte, _, _ uint32, _ uint8, keyLen uint32) []byte {
		called++
		return make([]byte, keyLen)
	}
	for _, encoded := range []string{
		phc(fmt.Sprintf("m=%d,t=%d,p=%d", l.MemoryKiB, tAtMax, l.Threads), b64Salt16, b64Key32),
		phc(fmt.Sprintf("m=%d,t=%d,p=%d", Floor.MemoryKiB, tAtFloor, l.Threads), b64Salt16, b64Key32),
	} {
		called = 0
		if ok, _, err := h.Verify(testPassword, encoded); err != nil || !ok || called != 1 {
			t.Fatalf("hash at the limit: ok=%v err=%v computed %d times; want it computed once", ok, err, called)
		}
	}
}

func TestNewHasherAndValidate(t *testing.T) {
	with := func(f func(*Params)) Params {
		p := Floor
		f(&p)
		return p
	}
	tests := []struct {
		name string
		p    Params
		want error
		// wantNew is NewHasher's answer when it differs from Validate's:
		// NewHasher also applies the template auth function's Limit.
		wantNew error
	}{
		{"floor", Floor, nil, nil},
		{"default", Default, nil, nil},
		{"ceiling: valid, above the auth function's limit", Ceiling, nil, ErrParamsTooHigh},
		{"stronger: too much work and too many lanes for the auth function", Params{MemoryKiB: 64 * 1024, Time: 3, Threads: 4, SaltLen: 32, KeyLen: 32}, nil, ErrParamsTooHigh},
		{"stronger within the auth function's limit", Params{MemoryKiB: 64 * 1024, Time: 2, Threads: 1, SaltLen: 32, KeyLen: 32}, nil, nil},
		{"memory below floor", with(func(p *Params) { p.MemoryKiB = Floor.MemoryKiB - 1 }), ErrParamsTooLow, nil},
		{"OWASP t=1 variant is refused", Params{MemoryKiB: 46 * 1024, Time: 1, Threads: 1}, ErrParamsTooLow, nil},
		{"time below floor", with(func(p *Params) { p.Time = 1 }), ErrParamsTooLow, nil},
		{"threads zero", with(func(p *Params) { p.Threads = 0 }), ErrParamsTooLow, nil},
		{"salt below floor", with(func(p *Params) { p.SaltLen = 8 }), ErrParamsTooLow, nil},
		{"key below floor", with(func(p *Params) { p.KeyLen = 16 }), ErrParamsTooLow, nil},
		{"zero", Params{}, ErrParamsTooLow, nil},
		{"memory above ceiling", with(func(p *Params) { p.MemoryKiB = Ceiling.MemoryKiB + 1 }), ErrParamsTooHigh, nil},
		{"time above ceiling", with(func(p *Params) { p.Time = Ceiling.Time + 1 }), ErrParamsTooHigh, nil},
		{"threads above ceiling", with(func(p *Params) { p.Threads = Ceiling.Threads + 1 }), ErrParamsTooHigh, nil},
		{"salt above ceiling", with(func(p *Params) { p.SaltLen = 65 }), ErrParamsTooHigh, nil},
		{"key above ceiling", with(func(p *Params) { p.KeyLen = 65 }), ErrParamsTooHigh, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.Validate(); !errors.Is(err, tt.want) {
				t.Fatalf("Validate = %v; want %v", err, tt.want)
			}
			wantNew := tt.want
			if tt.want == nil {
				wantNew = tt.wantNew
			}
			h, err := NewHasher(tt.p)
			if wantNew == nil {
				if err != nil || h == nil || h.Params() != tt.p {
					t.Fatalf("NewHasher = %v, %v; want a hasher with %+v", h, err, tt.p)
				}
				return
			}
			if h != nil || !errors.Is(err, wantNew) {
				t.Fatalf("NewHasher = %v, %v; want nil, %v", h, err, wantNew)
			}
		})
	}

	t.Run("zero lengths take defaults", func(t *testing.T) {
		h, err := NewHasher(Params{MemoryKiB: 19456, Time: 2, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		if h.Params() != Floor {
			t.Fatalf("Params = %+v; want %+v", h.Params(), Floor)
		}
	})
}

func TestZeroHasherRefuses(t *testing.T) {
	_, encoded := floorHasher(t)
	for name, h := range map[string]*Hasher{"nil": nil, "zero": {}} {
		t.Run(name, func(t *testing.T) {
			if _, err := h.Hash(testPassword); err == nil {
				t.Fatal("Hash succeeded on an unusable Hasher")
			}
			if ok, _, err := h.Verify(testPassword, encoded); ok || err == nil {
				t.Fatal("Verify succeeded on an unusable Hasher")
			}
			if _, err := h.DecoyHash(); err == nil {
				t.Fatal("DecoyHash succeeded on an unusable Hasher")
			}
			if h.Params() != (Params{}) {
				t.Fatal("unusable Hasher reports parameters")
			}
		})
	}
}

func TestDecoyHashCostsWhatARealHashCosts(t *testing.T) {
	h, err := NewHasher(Floor)
	if err != nil {
		t.Fatal(err)
	}
	var calls []Params
	h.idKey = func(_, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		calls = append(calls, Params{MemoryKiB: memory, Time: time, Threads: threads, SaltLen: uint32(len(salt)), KeyLen: keyLen})
		return make([]byte, keyLen)
	}
	decoy, err := h.DecoyHash()
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 0 {
		t.Fatal("making a decoy hashed something")
	}
	ok, rehash, err := h.Verify(testPassword, decoy)
	if ok || rehash || err != nil {
		t.Fatalf("Verify against the decoy = %v, %v, %v; want no match, no rehash, no error", ok, rehash, err)
	}
	if len(calls) != 1 || calls[0] != Floor {
		t.Fatalf("verifying against the decoy hashed %+v; want one hash at %+v", calls, Floor)
	}
	again, _ := h.DecoyHash()
	if again == decoy {
		t.Fatal("two decoys are equal")
	}
}

func TestPolicyCheck(t *testing.T) {
	const email = "jane.doe@example.com"
	ascii64 := "Qm7vT2xLp9Rk4Wz8Nc3Hb6Yf1Gd5Js0Ae7Uq2Ko9Xt4Vi8Mw3Ly6Pn1Bh5Cr0Sg7"
	ascii256 := ""
	for x := uint32(2463534242); len(ascii256) < 256; {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		ascii256 += string(rune('!' + x%94))
	}
	emoji64 := ""
	for i := range 64 {
		emoji64 += string(rune(0x1F300 + (i*53)%700))
	}
	tests := []struct {
		name     string
		password string
		context  []string
		want     string // "" for accepted
	}{
		{"good passphrase", testPassword, nil, ""},
		{"good passphrase with email", testPassword, []string{email}, ""},
		{"14 characters", "tRq8-vZp2!mKw9", nil, CodeTooShort},
		{"15 strong characters", "tRq8-vZp2!mKw9x", nil, ""},
		{"empty", "", nil, CodeTooShort},
		{"64 ASCII characters", ascii64, nil, ""},
		{"256 ASCII bytes", ascii256, nil, ""},
		{"64 four-byte characters (256 bytes)", emoji64, nil, ""},
		{"257 bytes", ascii256 + "x", nil, CodeTooLong},
		{"65 four-byte characters", emoji64 + "🌀", nil, CodeTooLong},
		{"non-ASCII counted as characters: 15 accepted", "ÄÖÜäöüßéèêñçåøæ", nil, ""},
		{"non-ASCII counted as characters: 14 refused", "ÄÖÜäöüßéèêñçåø", nil, CodeTooShort},
		{"CJK 15 characters", "東京都港区六本木一丁目二番地三", nil, ""},
		{"spaces allowed", "  violet  tractor  humbly  ", nil, ""},
		{"passwordpassword", "passwordpassword", nil, CodeTooCommon},
		{"123456789012345", "123456789012345", nil, CodeTooCommon},
		{"qwertyuiopasdfgh", "qwertyuiopasdfgh", nil, CodeTooCommon},
		{"aaaaaaaaaaaaaaaa", "aaaaaaaaaaaaaaaa", nil, CodeTooCommon},
		{"l33t common", "P@ssw0rd12345678", nil, CodeTooCommon},
		{"repeated word", "iloveyouiloveyou", nil, CodeTooCommon},
		{"keyboard walk", "qazwsxedcrfvtgbyhn", nil, CodeTooCommon},
		{"two common words (zxcvbn score 3)", "sunshine rainbow", nil, CodeTooCommon},
		{"counting words (zxcvbn score 3)", "onetwothreefourfive", nil, CodeTooCommon},
		{"padded digits (fuzz find)", "00000000000000000000000000100278", nil, CodeTooCommon},
		{"three words", "purple monkey dishwasher", nil, ""},
		{"only spaces", strings.Repeat(" ", 20), nil, CodeTooCommon},
		{"few distinct characters (fuzz find)", "000000c0 001000", nil, CodeTooCommon},
		{"two letters in mixed case", "AaaAAbAaaaAAaaA", nil, CodeTooCommon},
		{"repeated non-ASCII unit", "日本語日本語日本語日本語日本語", nil, CodeTooCommon},
		{"repeated long unit is fine", "tRq8-vZp2!mKw9xtRq8-vZp2!mKw9x", nil, ""},
		{"email parts", "jane.doe.example", []string{email}, CodePersonalInfo},
		{"email parts, other case and email", "Jane.Doe.Example", []string{"JANE.DOE@EXAMPLE.COM"}, CodePersonalInfo},
		{"whole email", email, []string{email}, CodePersonalInfo},
		{"contains local part", "my jane.doe secret 93", []string{email}, CodePersonalInfo},
		{"mostly email pieces", "DoeJane-Example-77", []string{email}, CodePersonalInfo},
		{"plus-addressed local part pieces", "newsletter.jane.doe", []string{"jane+newsletter@doe.io"}, CodePersonalInfo},
		{"service name repeated", "atriumatriumatrium", nil, CodePersonalInfo},
		{"name context", "Jane Doe Jane Doe", []string{"Jane Doe"}, CodePersonalInfo},
		{"short local part is not refused on its own", "jovial tractor humbly ocean", []string{"jo@x.io"}, ""},
		{"NUL", "violet tractor\x00humbly ocean", nil, CodeInvalid},
		{"tab", "violet\ttractor humbly ocean", nil, CodeInvalid},
		{"newline", "violet tractor humbly ocean\n", nil, CodeInvalid},
		{"DEL", "violet tractor humbly ocean\x7f", nil, CodeInvalid},
		{"C1 control", "violet tractor humbly ocean\u0085", nil, CodeInvalid},
		{"invalid UTF-8", "violet tractor \xff humbly ocean", nil, CodeInvalid},
		{"truncated UTF-8", "violet tractor humbly ocean \xe6\x97", nil, CodeInvalid},
	}
	p := DefaultPolicy()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Check(tt.password, tt.context...)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Check refused an acceptable password: %v", err)
				}
				return
			}
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("Check = %v; want *PolicyError %s", err, tt.want)
			}
			if pe.Code != tt.want {
				t.Fatalf("Check code = %s; want %s", pe.Code, tt.want)
			}
			assertPolicyErrorSafe(t, p, pe, tt.password)
		})
	}
}

func assertPolicyErrorSafe(t *testing.T, p Policy, pe *PolicyError, password string) {
	t.Helper()
	fixed, known := p.messages()[pe.Code]
	if !known || pe.Message != fixed {
		t.Fatalf("message %q is not the fixed message for %s", pe.Message, pe.Code)
	}
	// A fixed message cannot echo its input; this guards the day someone
	// makes messages dynamic.
	if utf8.RuneCountInString(password) >= 4 && strings.Contains(pe.Error(), password) &&
		!strings.Contains(pe.Code+": "+fixed, password) {
		t.Fatalf("error %q contains the password", pe.Error())
	}
}

func TestPolicyBounds(t *testing.T) {
	tests := []struct {
		name    string
		p       Policy
		wantErr bool
		eff     Policy
	}{
		{"zero is default", Policy{}, false, DefaultPolicy()},
		{"default", DefaultPolicy(), false, DefaultPolicy()},
		{"min length 8", Policy{MinLength: 8}, false, Policy{MinLength: 8, MaxBytes: 256}},
		{"min length 7 is raised", Policy{MinLength: 7}, true, Policy{MinLength: 8, MaxBytes: 256}},
		{"negative min length is raised", Policy{MinLength: -1}, true, Policy{MinLength: 8, MaxBytes: 256}},
		{"min length 65 is lowered", Policy{MinLength: 65}, true, Policy{MinLength: 64, MaxBytes: 256}},
		{"max bytes 100 is raised", Policy{MaxBytes: 100}, true, Policy{MinLength: 15, MaxBytes: 256}},
		{"max bytes 1024", Policy{MaxBytes: 1024}, false, Policy{MinLength: 15, MaxBytes: 1024}},
		{"max bytes 5000 is lowered", Policy{MaxBytes: 5000}, true, Policy{MinLength: 15, MaxBytes: 1024}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.p.Validate(); (err != nil) != tt.wantErr {
				t.Fatalf("Validate = %v; want error %v", err, tt.wantErr)
			}
			if got := tt.p.effective(); got != tt.eff {
				t.Fatalf("effective = %+v; want %+v", got, tt.eff)
			}
		})
	}

	t.Run("a raised MinLength still refuses shorter", func(t *testing.T) {
		err := Policy{MinLength: 3}.Check("tRq8-vZ")
		var pe *PolicyError
		if !errors.As(err, &pe) || pe.Code != CodeTooShort {
			t.Fatalf("Check = %v; want %s", err, CodeTooShort)
		}
	})
	t.Run("nil error is untyped nil", func(t *testing.T) {
		if err := DefaultPolicy().Check(testPassword); err != nil {
			t.Fatalf("Check = %#v", err)
		}
	})
}

func TestRepeatUnit(t *testing.T) {
	tests := []struct {
		in    string
		unit  string
		count float64
	}{
		{"", "", 1},
		{"a", "a", 1},
		{"aa", "a", 2},
		{"abab", "ab", 2},
		{"ababa", "ab", 2.5},
		{"abcab", "abcab", 1},
		{"AbCabc", "AbC", 2},
		{"日本語日本語日本", "日本語", 8.0 / 3},
		{"abcdef", "abcdef", 1},
	}
	for _, tt := range tests {
		unit, count := repeatUnit(tt.in)
		if unit != tt.unit || count != tt.count {
			t.Errorf("repeatUnit(%q) = %q, %v; want %q, %v", tt.in, unit, count, tt.unit, tt.count)
		}
	}
}

func TestBoundedPrefix(t *testing.T) {
	s := strings.Repeat("é", 40) // 80 bytes
	got := boundedPrefix(s, 63)
	if len(got) != 62 || !utf8.ValidString(got) {
		t.Fatalf("boundedPrefix cut inside a character: %d bytes", len(got))
	}
	if boundedPrefix("short", 64) != "short" {
		t.Fatal("boundedPrefix changed a short string")
	}
}
