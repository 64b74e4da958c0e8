package password

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
)

// ErrInvalidPassword reports a password that [Normalize] refuses: invalid
// UTF-8, or a character that RFC 8265's OpaqueString profile disallows
// (controls such as NUL, tab or newline, unassigned and private-use code
// points). It never says which character.
var ErrInvalidPassword = errors.New("password: invalid characters")

// maxNormalizeRounds bounds how often Normalize reapplies its mapping until
// the result is stable, as RFC 8266 §2.1 advises for PRECIS profiles with
// NFKC: one round normally suffices and the next one confirms it.
const maxNormalizeRounds = 4

// Normalize returns the form of a password that [Policy.Check] judges and
// [Hasher.Hash] and [Hasher.Verify] hash, so that what a person types on one
// keyboard matches what they type on another, and invisible characters do
// not count as length. It follows RFC 8265's OpaqueString profile (the PRECIS
// profile for passwords) and NIST SP 800-63B, which asks for NFKC or NFKD:
//
//  1. Invisible characters are removed: every Unicode Default_Ignorable_Code_Point,
//     among them the zero-width space U+200B, the zero-width non-joiner and
//     joiner U+200C and U+200D, the word joiner U+2060, U+FEFF, the soft
//     hyphen U+00AD, the bidirectional marks and controls (U+200E, U+200F,
//     U+202A to U+202E, U+2066 to U+2069), variation selectors and tags.
//     They are removed rather than refused because that is what a person
//     expects of characters they cannot see: a password manager or a
//     keyboard may insert them, or not, and "p\u200Bassword" is "password".
//     OpaqueString itself would refuse them, which a person could neither
//     see nor fix.
//  2. Every non-ASCII space (Unicode Zs: no-break, ideographic, en and em
//     spaces, ...) becomes U+0020, OpaqueString's additional mapping rule.
//  3. NFKC, the normalisation NIST asks for: compatibility characters become
//     their ordinary form (fullwidth "ｐａｓｓ" is "pass", "ﬁ" is "fi"),
//     and combining sequences are composed ("e" + U+0301 is "é"). It
//     includes OpaqueString's NFC.
//  4. Steps 1 to 3 are repeated until the result no longer changes (at most
//     4 rounds, else the password is refused), so Normalize(Normalize(x)) ==
//     Normalize(x).
//  5. The result must be a valid OpaqueString: a character of its
//     FreeformClass only, so controls (NUL, tab, newline, DEL, C1 controls),
//     unassigned and private-use code points are refused with an error
//     wrapping [ErrInvalidPassword], as is invalid UTF-8.
//
// Case is kept, and nothing is trimmed or truncated. The empty string, or a
// password of invisible characters only, normalises to "" without error: a
// length rule refuses it, not this one. The error never contains the
// password or any character of it.
func Normalize(password string) (string, error) {
	if printableASCII(password) {
		return password, nil // the common case: nothing to map or refuse
	}
	if !utf8.ValidString(password) {
		return "", fmt.Errorf("%w: not valid UTF-8", ErrInvalidPassword)
	}
	s := password
	for range maxNormalizeRounds {
		next := norm.NFKC.String(strings.Map(mapInvisibleAndSpaces, s))
		if next == s {
			return opaqueString(s)
		}
		s = next
	}
	return "", fmt.Errorf("%w: normalisation does not settle", ErrInvalidPassword)
}

// opaqueString checks that s, already stable under Normalize's mapping, is a
// valid OpaqueString. The profile's own mapping (spaces, NFC) leaves such a
// string unchanged, so only its character class decides.
func opaqueString(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	out, err := precis.OpaqueString.String(s)
	if err != nil {
		// precis's error names no character; keep even that out.
		return "", fmt.Errorf("%w: a control, unassigned or private-use character", ErrInvalidPassword)
	}
	if out != s {
		return "", fmt.Errorf("%w: OpaqueString changed the normalised form", ErrInvalidPassword)
	}
	return s, nil
}

// printableASCII reports whether s holds only U+0020 to U+007E, which every
// step of Normalize leaves as they are.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// mapInvisibleAndSpaces is steps 1 and 2 of Normalize for one character.
func mapInvisibleAndSpaces(r rune) rune {
	switch {
	case invisible(r):
		return -1
	case r != ' ' && unicode.Is(unicode.Zs, r):
		return ' '
	}
	return r
}

// invisible reports whether r is a Default_Ignorable_Code_Point, derived as
// Unicode's DerivedCoreProperties.txt does: Other_Default_Ignorable_Code_Point,
// plus format characters (Cf) and variation selectors, minus white space,
// the interlinear annotation characters U+FFF9 to U+FFFB, the Egyptian
// hieroglyph format controls U+13430 to U+1343F and the prepended
// concatenation marks (U+0600 and the like), which are visible.
func invisible(r rune) bool {
	switch {
	case r < 0xAD:
		return false // fast path: nothing below the soft hyphen
	case unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r), unicode.Is(unicode.Variation_Selector, r):
		return true
	case !unicode.Is(unicode.Cf, r):
		return false
	}
	return !unicode.Is(unicode.White_Space, r) &&
		!unicode.Is(unicode.Prepended_Concatenation_Mark, r) &&
		(r < 0xFFF9 || r > 0xFFFB) &&
		(r < 0x13430 || r > 0x1343F)
}
