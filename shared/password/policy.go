package password

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/match"

	"github.com/atrium-cdn/atrium/shared/password/strength"
)

// Policy codes, the stable machine values of [PolicyError.Code].
const (
	CodeTooShort     = "password_too_short"
	CodeTooLong      = "password_too_long"
	CodeTooCommon    = "password_too_common"
	CodePersonalInfo = "password_has_personal_info"
	CodeInvalid      = "password_invalid"
)

// Policy bounds, in the units of the [Policy] fields.
const (
	// DefaultMinLength is the default minimum length in characters: NIST SP
	// 800-63B rev. 4 requires 15 for a password used as the only factor.
	DefaultMinLength = 15
	// DefaultMaxBytes is the default maximum length in bytes.
	DefaultMaxBytes = 256
	// MinMinLength is the lowest MinLength a Policy may use (NIST's absolute
	// floor, for passwords used with a second factor).
	MinMinLength = 8
	// AlwaysAcceptedChars is how many characters of any kind a Policy always
	// accepts. Since a UTF-8 character takes at most 4 bytes, MaxBytes is never
	// below 4*AlwaysAcceptedChars, and MinLength never above it.
	AlwaysAcceptedChars = 64
	// MaxMaxBytes is the highest MaxBytes a Policy may use; it keeps every
	// check cheap.
	MaxMaxBytes = 1024
)

// ServiceName is always treated as a context-specific word by [Policy.Check].
const ServiceName = "atrium"

// zxcvbn tuning, see [Policy.Check].
const (
	// minGuesses is zxcvbn's boundary for its top score, 4 ("very
	// unguessable: strong protection from an offline slow-hash attack").
	// Estimates below it are refused. With 15 characters required, real
	// passphrases clear it easily (three random words estimate at 10^12 and
	// more); what scores only 3 at that length is two common words or a
	// padded pattern ("sunshine rainbow", "onetwothreefourfive",
	// "happybirthday2you"), which an offline attacker with a GPU running
	// argon2id at Floor (10^3 to 10^4 guesses a second) reaches in days.
	minGuesses = 1e10 + 5
	// strengthPrefixBytes bounds the input given to the strength estimate,
	// whose cost grows with the square of the length (every substring is a
	// candidate date, repeat or word). Measured side by side on one x86-64
	// core (BenchmarkStrength in package strength), with upstream zxcvbn in
	// brackets: a passphrase takes 0.6 ms (1.1), a random 32-character
	// password 0.4 ms (3.6), 64 bytes dense with l33t symbols 2 ms (380).
	// 64 bytes also covers every password of the default minimum length,
	// whatever its script.
	strengthPrefixBytes = 64
	// Context words are bounded too: at most this many items of at most this
	// many bytes each are used, the rest are ignored.
	maxContextItems = 16
	maxContextBytes = 256
	// A password with fewer different characters than this (ignoring case)
	// is refused as repetitive: zxcvbn rates some such strings, like
	// "0A0000A0020A000", as strong. No natural passphrase comes near it.
	minDistinct = 5
	// Context pieces shorter than this are too unspecific to refuse on.
	minTokenRunes = 3
	// A password containing a whole context item (an email address, its local
	// part) of at least this many characters is refused.
	minWholeRunes = 4
)

// Policy decides whether a new password is acceptable. It follows NIST SP
// 800-63B rev. 4 and OWASP ASVS 5: length only, no composition rules, and
// refusal of common and context-specific passwords. The zero value behaves
// as [DefaultPolicy].
type Policy struct {
	// MinLength is the minimum length in characters (Unicode code points).
	// Zero means DefaultMinLength (15); values are used within
	// [MinMinLength, AlwaysAcceptedChars].
	MinLength int
	// MaxBytes is the maximum length in bytes of the UTF-8 password. Zero
	// means DefaultMaxBytes (256); values are used within
	// [4*AlwaysAcceptedChars, MaxMaxBytes], so 64 characters of any kind are
	// always accepted. Longer passwords are refused, never truncated.
	MaxBytes int
}

// DefaultPolicy returns the policy for account passwords: at least 15
// characters, at most 256 bytes.
func DefaultPolicy() Policy {
	return Policy{MinLength: DefaultMinLength, MaxBytes: DefaultMaxBytes}
}

// Validate reports whether p's fields are within their bounds; use it when
// reading configuration. [Policy.Check] never fails on a bad Policy: it moves
// each field to the nearest bound (and zero to its default).
func (p Policy) Validate() error {
	if p.MinLength != 0 && (p.MinLength < MinMinLength || p.MinLength > AlwaysAcceptedChars) {
		return fmt.Errorf("password: policy MinLength %d is outside [%d, %d]", p.MinLength, MinMinLength, AlwaysAcceptedChars)
	}
	if p.MaxBytes != 0 && (p.MaxBytes < 4*AlwaysAcceptedChars || p.MaxBytes > MaxMaxBytes) {
		return fmt.Errorf("password: policy MaxBytes %d is outside [%d, %d]", p.MaxBytes, 4*AlwaysAcceptedChars, MaxMaxBytes)
	}
	return nil
}

func (p Policy) effective() Policy {
	if p.MinLength == 0 {
		p.MinLength = DefaultMinLength
	}
	p.MinLength = min(max(p.MinLength, MinMinLength), AlwaysAcceptedChars)
	if p.MaxBytes == 0 {
		p.MaxBytes = DefaultMaxBytes
	}
	p.MaxBytes = min(max(p.MaxBytes, 4*AlwaysAcceptedChars), MaxMaxBytes)
	return p
}

// PolicyError is a refusal of a password by [Policy.Check]. Code is one of
// the Code constants; Message is a sentence safe to show the user. Neither
// ever contains the password.
type PolicyError struct {
	Code    string
	Message string
}

// Error returns the code and the message.
func (e *PolicyError) Error() string {
	return e.Code + ": " + e.Message
}

// messages returns the user-facing message for each code under p. The
// messages depend only on the policy, never on the password.
func (p Policy) messages() map[string]string {
	p = p.effective()
	return map[string]string{
		CodeTooShort:     fmt.Sprintf("Use at least %d characters.", p.MinLength),
		CodeTooLong:      fmt.Sprintf("Use at most %d bytes; %d characters of any kind always fit.", p.MaxBytes, p.MaxBytes/4),
		CodeTooCommon:    "This is a common or easily guessed password. Try a longer phrase of several unrelated words.",
		CodePersonalInfo: "Do not base your password on your email address or on the name of this service.",
		CodeInvalid:      "Use only printable characters: control characters and invalid text are not allowed.",
	}
}

func (p Policy) refuse(code string) *PolicyError {
	return &PolicyError{Code: code, Message: p.messages()[code]}
}

// Check returns nil if password is acceptable under p, or a *PolicyError
// saying why not. The checks, in order:
//
//  1. At most MaxBytes bytes as typed (CodeTooLong); checked first so that
//     every later step works on bounded input.
//  2. Normalised by [Normalize] (CodeInvalid if it refuses: invalid UTF-8, a
//     control character such as NUL, tab or newline, an unassigned or
//     private-use code point). Every later step judges the normalised form,
//     the one [Hasher.Hash] stores: invisible characters such as zero-width
//     spaces are gone, so "p\u200Ba\u200Bs..." is judged as "pass...",
//     fullwidth letters are ordinary letters, non-ASCII spaces are spaces.
//     Spaces, symbols and all printable Unicode are allowed; the password is
//     not trimmed or truncated.
//  3. At least MinLength characters of the normalised form, counted as
//     Unicode code points (CodeTooShort).
//  4. Not based on context (CodePersonalInfo). context holds context-specific
//     words such as the account's email address; [ServiceName] is always
//     added. Check splits an email address into its local part, the pieces of
//     the local part split on . _ - +, the domain and its labels, and splits
//     other items (a name) into words. The password is refused when,
//     ignoring case, it equals a context item or contains one of at least 4
//     characters (the whole email address, its local part), or when more than
//     half of its letters and digits are covered by pieces of 3 or more
//     characters.
//  5. Not repetitive: at least 5 different characters, ignoring case
//     (CodeTooCommon). This is not a composition rule (any characters will
//     do); it refuses strings such as "0A0000A0020A000" that zxcvbn
//     overrates.
//  6. Hard to guess (CodeTooCommon, or CodePersonalInfo when the weak parts
//     are context words): zxcvbn, with the context pieces as user inputs,
//     must estimate at least 10^10 guesses (score 4, its top score). A
//     password that repeats a shorter unit is estimated as the unit's guesses
//     times the repeat count, which zxcvbn itself gets wrong outside ASCII.
//
// zxcvbn only sees the first 64 bytes (cut at a character boundary), because
// its cost grows steeply with length. This stays sound: the prefix is a
// function of the password, so guessing the password is at least as hard as
// guessing the prefix, and a strong prefix makes a strong password. The only
// cost is refusing a long password whose first 64 bytes are weak on their
// own, which is what padding a weak password looks like. Steps 1 to 5 always
// cover the whole password.
func (p Policy) Check(password string, context ...string) error {
	p = p.effective()
	if len(password) > p.MaxBytes {
		return p.refuse(CodeTooLong)
	}
	password, err := Normalize(password)
	if err != nil {
		return p.refuse(CodeInvalid)
	}
	if utf8.RuneCountInString(password) < p.MinLength {
		return p.refuse(CodeTooShort)
	}
	words := contextWords(context)
	if words.based(password) {
		return p.refuse(CodePersonalInfo)
	}
	if fewDistinct(password) {
		return p.refuse(CodeTooCommon)
	}
	guesses, personal := estimateGuesses(password, words.inputs())
	if guesses < minGuesses {
		if personal {
			return p.refuse(CodePersonalInfo)
		}
		return p.refuse(CodeTooCommon)
	}
	return nil
}

// personalWords are the lowercased context-specific words of one Check.
type personalWords struct {
	whole  []string // items refused when equal to the password, or contained in it
	pieces []string // parts (>= minTokenRunes) that may not make up most of it
}

func contextWords(context []string) personalWords {
	var w personalWords
	addPiece := func(s string) {
		if utf8.RuneCountInString(s) >= minTokenRunes && !slices.Contains(w.pieces, s) {
			w.pieces = append(w.pieces, s)
		}
	}
	addWhole := func(s string) {
		if s != "" && !slices.Contains(w.whole, s) {
			w.whole = append(w.whole, s)
		}
	}
	for i, item := range context {
		if i == maxContextItems {
			break
		}
		if len(item) > maxContextBytes {
			continue
		}
		// Normalised like the password, so that both compare alike.
		item, err := Normalize(item)
		if err != nil {
			continue
		}
		item = strings.ToLower(strings.TrimSpace(item))
		if item == "" {
			continue
		}
		addWhole(item)
		if at := strings.LastIndexByte(item, '@'); at >= 0 {
			local, domain := item[:at], item[at+1:]
			if utf8.RuneCountInString(local) >= minWholeRunes {
				addWhole(local)
			}
			addPiece(local)
			for _, part := range strings.FieldsFunc(local, func(r rune) bool {
				return r == '.' || r == '_' || r == '-' || r == '+'
			}) {
				addPiece(part)
			}
			addPiece(domain)
			for _, label := range strings.Split(domain, ".") {
				addPiece(label)
			}
			continue
		}
		addPiece(item)
		for _, word := range strings.FieldsFunc(item, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		}) {
			addPiece(word)
		}
	}
	addPiece(ServiceName)
	return w
}

// inputs returns the words handed to zxcvbn as user inputs.
func (w personalWords) inputs() []string {
	return append(slices.Clip(w.whole), w.pieces...)
}

// based reports whether password is built on the context words.
func (w personalWords) based(password string) bool {
	lower := strings.ToLower(password)
	for _, item := range w.whole {
		if lower == item || (utf8.RuneCountInString(item) >= minWholeRunes && strings.Contains(lower, item)) {
			return true
		}
	}
	// Mark the bytes of lower covered by any piece, then compare covered
	// letters and digits with all of them.
	covered := make([]bool, len(lower))
	for _, piece := range w.pieces {
		for from := 0; from < len(lower); {
			i := strings.Index(lower[from:], piece)
			if i < 0 {
				break
			}
			start := from + i
			for k := start; k < start+len(piece); k++ {
				covered[k] = true
			}
			_, size := utf8.DecodeRuneInString(lower[start:])
			from = start + size
		}
	}
	total, hit := 0, 0
	for i, r := range lower {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			total++
			if covered[i] {
				hit++
			}
		}
	}
	return total > 0 && 2*hit > total
}

// fewDistinct reports whether password uses fewer than minDistinct
// different characters, ignoring case.
func fewDistinct(password string) bool {
	seen := make([]rune, 0, minDistinct)
	for _, r := range password {
		r = unicode.ToLower(r)
		if !slices.Contains(seen, r) {
			if seen = append(seen, r); len(seen) == minDistinct {
				return false
			}
		}
	}
	return true
}

// estimateGuesses returns a zxcvbn estimate ([strength.Strength]) of the
// guesses needed for password and whether context words (user inputs) are
// among the matches it was built from.
func estimateGuesses(password string, inputs []string) (guesses float64, personal bool) {
	guesses, seq := strength.Strength(boundedPrefix(password, strengthPrefixBytes), inputs)
	personal = usesInputs(seq)
	if unit, count := repeatUnit(password); count > 1 {
		ug, useq := strength.Strength(boundedPrefix(unit, strengthPrefixBytes), inputs)
		if g := ug * count; g < guesses {
			guesses, personal = g, usesInputs(useq)
		}
	}
	return guesses, personal
}

func usesInputs(seq []*match.Match) bool {
	for _, m := range seq {
		if m.DictionaryName == strength.UserInputsDictionary || usesInputs(m.BaseMatches) {
			return true
		}
	}
	return false
}

// boundedPrefix returns the longest prefix of s of at most n bytes that ends
// on a character boundary.
func boundedPrefix(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// repeatUnit finds the shortest unit that s (compared case-insensitively, by
// code point) repeats at least twice, possibly ending with a partial copy,
// and returns it with the number of repetitions. It returns count 1 when s is
// not such a repetition. It runs in linear time (KMP failure function).
func repeatUnit(s string) (unit string, count float64) {
	runes := []rune(strings.ToLower(s))
	n := len(runes)
	if n < 2 || len(runes) != utf8.RuneCountInString(s) {
		return s, 1
	}
	border := make([]int, n)
	for i, k := 1, 0; i < n; i++ {
		for k > 0 && runes[i] != runes[k] {
			k = border[k-1]
		}
		if runes[i] == runes[k] {
			k++
		}
		border[i] = k
	}
	period := n - border[n-1]
	if 2*period > n {
		return s, 1
	}
	orig := []rune(s)
	return string(orig[:period]), float64(n) / float64(period)
}
