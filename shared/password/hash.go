package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Params are argon2id parameters.
type Params struct {
	MemoryKiB uint32 // m: memory in KiB
	Time      uint32 // t: number of passes over the memory (iterations)
	Threads   uint8  // p: degree of parallelism (lanes)
	SaltLen   uint32 // salt length in bytes, default 16
	KeyLen    uint32 // derived key length in bytes, default 32
}

// Floor is the weakest configuration a [Hasher] may hash with: OWASP's
// minimum argon2id configuration (m=19456 KiB, t=2, p=1) with a 16-byte salt
// and a 32-byte key. Each axis is checked on its own: OWASP's equivalent
// trade-offs with fewer passes and more memory are refused too, to keep the
// rule simple.
var Floor = Params{MemoryKiB: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Default is the configuration services use unless they have measured a
// stronger one that still fits their latency budget. It equals [Floor]:
// about 30 ms and 19 MiB per hash on one x86-64 core (BenchmarkHash).
var Default = Floor

// Ceiling is the strongest configuration this package will ever compute, on
// each axis: at most 256 MiB, 16 passes, 16 lanes, and 64-byte salts and
// keys. It bounds configuration ([Params.Validate]); what one [Hasher] computes
// is bounded more tightly by its [Limit], derived from the memory and timeout
// of the function it runs in ([LimitFor]): a hash at Ceiling took about 9.5 s
// and 255 MiB on the development machine, beyond a 256 MB, 10 s function.
// [Hasher.Verify] refuses a stored hash above its Limit before doing any work,
// so a hash planted by an attacker (m=4 GiB, t=2^32-1) cannot exhaust the
// function's memory or time.
var Ceiling = Params{MemoryKiB: 256 * 1024, Time: 16, Threads: 16, SaltLen: 64, KeyLen: 64}

// MaxBcryptCost is the highest bcrypt cost [Hasher.Verify] ever accepts in a
// stored legacy hash (cost 14 is about a second of CPU); a [Limit] may lower
// it. Higher costs are refused with [ErrParamsTooHigh] without computing.
const MaxBcryptCost = 14

// MaxEncodedLen bounds the length in bytes of an encoded hash given to
// [Hasher.Verify]. A hash at [Ceiling] is well under 256 bytes.
const MaxEncodedLen = 512

// Minimums a stored argon2id hash must meet to be verified at all: RFC 9106's
// own limits (at least one pass and one lane, 8 KiB per lane, an 8-byte salt)
// and a key of at least 16 bytes, so that a wrong password cannot match by
// chance. Stored hashes between these and Floor are verified and then reported
// as needing a rehash.
const (
	minStoredSaltLen = 8
	minStoredKeyLen  = 16
)

// Sentinel errors. Every error from this package wraps one of them (or comes
// from the system random source) and carries context, never the password or
// the hash.
var (
	// ErrMalformedHash reports an encoded hash that is not a well-formed,
	// canonical argon2id PHC string or bcrypt hash.
	ErrMalformedHash = errors.New("password: malformed hash")
	// ErrUnsupportedHash reports a well-shaped hash of an algorithm or version
	// this package does not verify (argon2i, argon2d, argon2 v=16, scrypt, ...).
	ErrUnsupportedHash = errors.New("password: unsupported hash algorithm")
	// ErrParamsTooHigh reports parameters above [Ceiling] or above a
	// Hasher's [Limit] (memory, passes, lanes, work, lengths, or a bcrypt
	// cost); no hashing work was done. For a stored hash it is a server-side
	// integrity problem, not a wrong password.
	ErrParamsTooHigh = errors.New("password: hash parameters above ceiling")
	// ErrParamsTooLow reports parameters below [Floor] given to
	// [Params.Validate] or [NewHasher].
	ErrParamsTooLow = errors.New("password: hash parameters below floor")
)

var errNoHasher = errors.New("password: Hasher not created by NewHasher")

// Validate reports whether p may be used to create new hashes: an error
// wrapping [ErrParamsTooLow] if any axis is below [Floor], or
// [ErrParamsTooHigh] if any axis is above [Ceiling].
func (p Params) Validate() error {
	return p.validate(Floor, Ceiling)
}

func (p Params) validate(floor, ceiling Params) error {
	axes := []struct {
		name        string
		v, min, max uint64
		unit        string
	}{
		{"memory", uint64(p.MemoryKiB), uint64(floor.MemoryKiB), uint64(ceiling.MemoryKiB), " KiB"},
		{"time", uint64(p.Time), uint64(floor.Time), uint64(ceiling.Time), ""},
		{"threads", uint64(p.Threads), uint64(floor.Threads), uint64(ceiling.Threads), ""},
		{"salt length", uint64(p.SaltLen), uint64(floor.SaltLen), uint64(ceiling.SaltLen), " bytes"},
		{"key length", uint64(p.KeyLen), uint64(floor.KeyLen), uint64(ceiling.KeyLen), " bytes"},
	}
	for _, a := range axes {
		if a.v < a.min {
			return fmt.Errorf("%w: %s %d%s is below %d%s", ErrParamsTooLow, a.name, a.v, a.unit, a.min, a.unit)
		}
		if a.v > a.max {
			return fmt.Errorf("%w: %s %d%s is above %d%s", ErrParamsTooHigh, a.name, a.v, a.unit, a.max, a.unit)
		}
	}
	return nil
}

// Hasher hashes and verifies passwords with one argon2id configuration. It is
// safe for concurrent use. Build one per process with [NewHasher]; the zero
// value refuses every call.
type Hasher struct {
	params Params
	limit  Limit // bound on every computation, stored hashes included

	// The hashing primitives, replaceable by tests that must prove no work
	// was done.
	idKey         func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte
	bcryptCompare func(hashed, password []byte) error
}

// NewHasher returns a Hasher that hashes with p and verifies stored hashes
// within the limit of the template's auth function,
// LimitFor([TemplateAuthFunction]). A function configured otherwise uses
// [NewHasherWithLimit] with [LimitFor] its own memory and timeout.
func NewHasher(p Params) (*Hasher, error) {
	return NewHasherWithLimit(p, LimitFor(TemplateAuthFunction))
}

// NewHasherWithLimit returns a Hasher that hashes with p and refuses to
// compute anything above l, stored hashes included. A zero SaltLen or KeyLen
// in p is replaced by the default (16 and 32 bytes); then p must be at or
// above [Floor] and within l on every axis and in work (ErrParamsTooLow,
// ErrParamsTooHigh). l is used as given, so it should come from [LimitFor];
// each axis is still capped at [Ceiling].
func NewHasherWithLimit(p Params, l Limit) (*Hasher, error) {
	if p.SaltLen == 0 {
		p.SaltLen = Default.SaltLen
	}
	if p.KeyLen == 0 {
		p.KeyLen = Default.KeyLen
	}
	l.MemoryKiB = min(l.MemoryKiB, Ceiling.MemoryKiB)
	l.Time = min(l.Time, Ceiling.Time)
	l.Threads = min(l.Threads, Ceiling.Threads)
	l.SaltLen = min(l.SaltLen, Ceiling.SaltLen)
	l.KeyLen = min(l.KeyLen, Ceiling.KeyLen)
	l.BcryptCost = min(l.BcryptCost, MaxBcryptCost)
	if err := l.check(p); err != nil {
		return nil, err
	}
	return &Hasher{
		params:        p,
		limit:         l,
		idKey:         argon2.IDKey,
		bcryptCompare: bcrypt.CompareHashAndPassword,
	}, nil
}

// Params returns the parameters h hashes with.
func (h *Hasher) Params() Params {
	if h == nil {
		return Params{}
	}
	return h.params
}

// Limit returns the most h computes for one hash or verification.
func (h *Hasher) Limit() Limit {
	if h == nil {
		return Limit{}
	}
	return h.limit
}

func (h *Hasher) ready() error {
	if h == nil || h.params.Time == 0 || h.idKey == nil || h.bcryptCompare == nil {
		return errNoHasher
	}
	return nil
}

// Hash returns an argon2id PHC string for the normalised form of password
// ([Normalize]) with a fresh random salt:
// $argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<key>, salt and key in standard
// base64 without padding. The password is never trimmed or truncated. A
// password that Normalize refuses is refused (wrapping [ErrInvalidPassword]);
// [Policy.Check] refuses it first.
func (h *Hasher) Hash(password string) (string, error) {
	if err := h.ready(); err != nil {
		return "", err
	}
	password, err := Normalize(password)
	if err != nil {
		return "", fmt.Errorf("password: hashing: %w", err)
	}
	p := h.params
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading random salt: %w", err)
	}
	key := h.idKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, p.KeyLen)
	return encodeArgon2id(p, salt, key), nil
}

// Verify checks password against an encoded hash, either an argon2id PHC
// string or a legacy bcrypt hash ($2a$, $2b$, $2y$).
//
// ok reports a match (compared in constant time). needsRehash is true only
// when ok and the stored hash is bcrypt, or its parameters (salt and key
// lengths included) differ from h.Params(), or it matched only the password
// as typed (see below); the caller should then store h.Hash(password).
//
// The password is checked in its normalised form ([Normalize]), the form
// [Hasher.Hash] stores. So that hashes made before normalisation keep
// verifying, a password whose normalised form differs from what was typed is
// checked as typed as well — always, whether or not the first check matched,
// so that the work Verify does depends only on the typed password, never on
// the stored hash or on the answer (an unknown address verified against
// [Hasher.DecoyHash] costs what a real one does). A match as typed only
// reports needsRehash, so the login stores the normalised form. A password
// Normalize refuses (one with a control character, say) can only match a
// hash made before normalisation: it is checked as typed, once, and never
// reported as needing a rehash, since Hash would refuse it.
//
// err is non-nil only when encoded is malformed ([ErrMalformedHash]), of an
// unsupported algorithm ([ErrUnsupportedHash]), or asks for more than h's
// [Limit] ([ErrParamsTooHigh]); such hashes are refused before any hashing
// work, and the error does not depend on the password. A wrong password is
// ok == false with a nil error.
func (h *Hasher) Verify(password, encoded string) (ok, needsRehash bool, err error) {
	if err := h.ready(); err != nil {
		return false, false, err
	}
	match, current, err := h.parse(encoded)
	if err != nil {
		return false, false, err
	}
	normal, normErr := Normalize(password)
	if normErr != nil {
		ok, err := match(password)
		return ok, false, err
	}
	okNormal, err := match(normal)
	if err != nil {
		return false, false, err
	}
	if normal == password {
		return okNormal, okNormal && !current, nil
	}
	okTyped, err := match(password)
	if err != nil {
		return false, false, err
	}
	ok = okNormal || okTyped
	return ok, ok && (!okNormal || !current), nil
}

// parse checks encoded against every bound without hashing, and returns
// the function that hashes a candidate and compares it with the stored key,
// and whether the stored hash is at h's own parameters.
func (h *Hasher) parse(encoded string) (match func(string) (bool, error), current bool, err error) {
	if len(encoded) > MaxEncodedLen {
		return nil, false, fmt.Errorf("%w: longer than %d bytes", ErrMalformedHash, MaxEncodedLen)
	}
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return h.parseArgon2id(encoded)
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		return h.parseBcrypt(encoded)
	case hasPHCIdentifier(encoded):
		return nil, false, fmt.Errorf("%w: only argon2id and bcrypt ($2a$, $2b$, $2y$) are accepted", ErrUnsupportedHash)
	default:
		return nil, false, fmt.Errorf("%w: unknown format", ErrMalformedHash)
	}
}

// DecoyHash returns a well-formed argon2id hash at h's parameters with a
// random salt and a random key: no password matches it (but with probability
// 2^-8·KeyLen), and verifying a password against it costs exactly what
// verifying against a real stored hash costs. Verify against it when no
// account matches a login, so that response time does not reveal whether an
// address is registered. Making it hashes nothing, so it costs no cold-start time.
func (h *Hasher) DecoyHash() (string, error) {
	if err := h.ready(); err != nil {
		return "", err
	}
	p := h.params
	b := make([]byte, p.SaltLen+p.KeyLen)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("password: reading random bytes: %w", err)
	}
	return encodeArgon2id(p, b[:p.SaltLen], b[p.SaltLen:]), nil
}

func (h *Hasher) parseArgon2id(encoded string) (match func(string) (bool, error), current bool, err error) {
	stored, salt, key, err := parseArgon2id(encoded, h.limit)
	if err != nil {
		return nil, false, err
	}
	match = func(password string) (bool, error) {
		// Every bound has been checked: this is the only hashing work Verify
		// does, once or twice per call.
		got := h.idKey([]byte(password), salt, stored.Time, stored.MemoryKiB, stored.Threads, stored.KeyLen)
		return subtle.ConstantTimeCompare(got, key) == 1, nil
	}
	return match, stored == h.params, nil
}

// bcrypt hashes are exactly "$2x$NN$" followed by 53 characters of bcrypt's
// base64 alphabet (22 of salt, 31 of hash).
const (
	bcryptLen      = 60
	bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	bcryptMaxBytes = 72 // bcrypt ignores input beyond this
)

func (h *Hasher) parseBcrypt(encoded string) (match func(string) (bool, error), current bool, err error) {
	if len(encoded) != bcryptLen || encoded[6] != '$' {
		return nil, false, fmt.Errorf("%w: bcrypt hash has the wrong shape", ErrMalformedHash)
	}
	c0, c1 := encoded[4], encoded[5]
	if c0 < '0' || c0 > '9' || c1 < '0' || c1 > '9' {
		return nil, false, fmt.Errorf("%w: bcrypt cost is not two digits", ErrMalformedHash)
	}
	cost := int(c0-'0')*10 + int(c1-'0')
	if cost < bcrypt.MinCost {
		return nil, false, fmt.Errorf("%w: bcrypt cost %d is below %d", ErrMalformedHash, cost, bcrypt.MinCost)
	}
	if cost > h.limit.BcryptCost {
		return nil, false, fmt.Errorf("%w: bcrypt cost %d is above %d", ErrParamsTooHigh, cost, h.limit.BcryptCost)
	}
	for i := 7; i < len(encoded); i++ {
		if strings.IndexByte(bcryptAlphabet, encoded[i]) < 0 {
			return nil, false, fmt.Errorf("%w: bcrypt hash has a character outside its alphabet", ErrMalformedHash)
		}
	}
	match = func(password string) (bool, error) {
		cmpErr := h.bcryptCompare([]byte(encoded), []byte(password))
		switch {
		case cmpErr == nil:
			// bcrypt only saw the first 72 bytes; a longer password is not
			// the one that was hashed, and we never truncate.
			return len(password) <= bcryptMaxBytes, nil
		case errors.Is(cmpErr, bcrypt.ErrMismatchedHashAndPassword):
			return false, nil
		default:
			return false, fmt.Errorf("%w: bcrypt hash rejected by decoder", ErrMalformedHash)
		}
	}
	// A bcrypt hash is never current: a match always asks for a rehash.
	return match, false, nil
}

// hasPHCIdentifier reports whether s starts like a PHC or modular crypt
// string: "$", an identifier of [a-z0-9-], "$".
func hasPHCIdentifier(s string) bool {
	if len(s) < 3 || s[0] != '$' {
		return false
	}
	for i := 1; i < len(s) && i <= 33; i++ {
		c := s[i]
		switch {
		case c == '$':
			return i > 1
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
		default:
			return false
		}
	}
	return false
}

func encodeArgon2id(p Params, salt, key []byte) string {
	var b strings.Builder
	b.Grow(64 + base64.RawStdEncoding.EncodedLen(len(salt)) + base64.RawStdEncoding.EncodedLen(len(key)))
	b.WriteString("$argon2id$v=")
	b.WriteString(strconv.Itoa(argon2.Version))
	b.WriteString("$m=")
	b.WriteString(strconv.FormatUint(uint64(p.MemoryKiB), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(p.Time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(p.Threads), 10))
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(salt))
	b.WriteByte('$')
	b.WriteString(base64.RawStdEncoding.EncodeToString(key))
	return b.String()
}

// parseArgon2id parses a PHC argon2id string strictly: exactly
// $argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<key>, canonical decimal numbers,
// canonical unpadded standard base64. Parameters are checked against the
// limit as soon as they are read, and against the RFC 9106 minimums.
func parseArgon2id(encoded string, limit Limit) (p Params, salt, key []byte, err error) {
	fields := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(fields) != 6 || fields[0] != "" || fields[1] != "argon2id" {
		return p, nil, nil, fmt.Errorf("%w: argon2id hash needs exactly 5 $-separated fields", ErrMalformedHash)
	}
	version, ok := strings.CutPrefix(fields[2], "v=")
	if !ok {
		return p, nil, nil, fmt.Errorf("%w: argon2id version field missing", ErrMalformedHash)
	}
	v, err := parseDecimal(version)
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: argon2id version: %w", ErrMalformedHash, err)
	}
	if v != argon2.Version {
		return p, nil, nil, fmt.Errorf("%w: argon2id version %d (only %d)", ErrUnsupportedHash, v, argon2.Version)
	}

	parts := strings.Split(fields[3], ",")
	if len(parts) != 3 {
		return p, nil, nil, fmt.Errorf("%w: argon2id needs exactly the parameters m, t, p", ErrMalformedHash)
	}
	var nums [3]uint32
	for i, name := range [3]string{"m=", "t=", "p="} {
		digits, ok := strings.CutPrefix(parts[i], name)
		if !ok {
			return p, nil, nil, fmt.Errorf("%w: argon2id parameter %d must be %s", ErrMalformedHash, i+1, name[:1])
		}
		n, err := parseDecimal(digits)
		if err != nil {
			return p, nil, nil, fmt.Errorf("%w: argon2id parameter %s: %w", ErrMalformedHash, name[:1], err)
		}
		nums[i] = n
	}
	m, t, threads := nums[0], nums[1], nums[2]
	// The limit comes first: nothing below allocates in proportion to the
	// parameters, and nothing hashes until parseArgon2id has returned.
	if m > limit.MemoryKiB {
		return p, nil, nil, fmt.Errorf("%w: memory %d KiB is above %d KiB", ErrParamsTooHigh, m, limit.MemoryKiB)
	}
	if t > limit.Time {
		return p, nil, nil, fmt.Errorf("%w: time %d is above %d", ErrParamsTooHigh, t, limit.Time)
	}
	if w := uint64(m) * uint64(t); w > limit.Work {
		return p, nil, nil, fmt.Errorf("%w: work (memory × time) %d KiB-passes is above %d", ErrParamsTooHigh, w, limit.Work)
	}
	if threads > uint32(limit.Threads) {
		return p, nil, nil, fmt.Errorf("%w: threads %d is above %d", ErrParamsTooHigh, threads, limit.Threads)
	}
	if t < 1 || threads < 1 || m < 8*threads {
		return p, nil, nil, fmt.Errorf("%w: argon2id parameters below RFC 9106 minimums", ErrMalformedHash)
	}

	salt, err = decodeB64(fields[4])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: argon2id salt: %w", ErrMalformedHash, err)
	}
	key, err = decodeB64(fields[5])
	if err != nil {
		return p, nil, nil, fmt.Errorf("%w: argon2id key: %w", ErrMalformedHash, err)
	}
	if len(salt) > int(limit.SaltLen) {
		return p, nil, nil, fmt.Errorf("%w: salt length %d is above %d", ErrParamsTooHigh, len(salt), limit.SaltLen)
	}
	if len(key) > int(limit.KeyLen) {
		return p, nil, nil, fmt.Errorf("%w: key length %d is above %d", ErrParamsTooHigh, len(key), limit.KeyLen)
	}
	if len(salt) < minStoredSaltLen {
		return p, nil, nil, fmt.Errorf("%w: salt shorter than %d bytes", ErrMalformedHash, minStoredSaltLen)
	}
	if len(key) < minStoredKeyLen {
		return p, nil, nil, fmt.Errorf("%w: key shorter than %d bytes", ErrMalformedHash, minStoredKeyLen)
	}
	p = Params{
		MemoryKiB: m,
		Time:      t,
		Threads:   uint8(threads),    // #nosec G115 -- checked <= limit.Threads (a uint8) above
		SaltLen:   uint32(len(salt)), // #nosec G115 -- checked <= limit.SaltLen above
		KeyLen:    uint32(len(key)),  // #nosec G115 -- checked <= limit.KeyLen above
	}
	return p, salt, key, nil
}

var (
	errNotDecimal   = errors.New("not a canonical decimal number")
	errNotBase64    = errors.New("not canonical unpadded standard base64")
	errEmptyBase64  = errors.New("empty")
	strictRawStdB64 = base64.RawStdEncoding.Strict()
)

// parseDecimal accepts only canonical decimal numbers that fit in 32 bits:
// digits only (no sign, space or underscore), no leading zero except "0".
func parseDecimal(s string) (uint32, error) {
	if s == "" || len(s) > 10 || (len(s) > 1 && s[0] == '0') {
		return 0, errNotDecimal
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errNotDecimal
		}
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, errNotDecimal
	}
	return uint32(n), nil
}

// decodeB64 decodes canonical unpadded standard base64. The alphabet is
// checked first because encoding/base64 silently skips '\r' and '\n'; Strict
// rejects non-zero trailing bits, so every byte string has one encoding.
func decodeB64(s string) ([]byte, error) {
	if s == "" {
		return nil, errEmptyBase64
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/') {
			return nil, errNotBase64
		}
	}
	b, err := strictRawStdB64.DecodeString(s)
	if err != nil {
		return nil, errNotBase64
	}
	return b, nil
}
