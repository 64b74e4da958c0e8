// Package strength estimates how many guesses a password takes, the way
// zxcvbn does, with matchers of its own.
//
// It uses github.com/trustelem/zxcvbn for data and scoring only: the word
// lists (frequency), the keyboard graphs (adjacency), the Match type (match)
// and the search for the cheapest sequence of matches with its guess
// estimators (scoring). Those packages are cheap to start. zxcvbn's own
// matching package is not used: it builds its ranked dictionaries in package
// variables, about 10 MB and 20 ms of every cold start of a binary that
// links it. Here the dictionaries are built on first use, once per process.
//
// [Strength] finds the same patterns as zxcvbn's matching (dictionary words,
// reversed words, l33t spellings, keyboard walks, repeats, sequences, recent
// years and dates), so that its estimate equals zxcvbn's; the differential
// tests of this package hold it to that. The one deliberate difference is in
// l33t spellings: every consistent reading of the substitution characters is
// tried (each such character either kept or read as one of its letters), a
// superset of the readings zxcvbn tries, so the estimate is never above
// zxcvbn's and sometimes below it.
package strength

import (
	"slices"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/match"
	"github.com/trustelem/zxcvbn/scoring"
)

// UserInputsDictionary is the DictionaryName of matches of the words given
// to [Strength] as inputs.
const UserInputsDictionary = "user_inputs"

// Strength returns the estimated number of guesses needed to find password
// and the sequence of matches the estimate is built from. inputs are
// context-specific words (names, the email address) treated as a dictionary
// of their own, ranked in the order given. Invalid UTF-8 estimates at zero
// guesses, as in zxcvbn. Strength is safe for concurrent use.
func Strength(password string, inputs []string) (guesses float64, sequence []*match.Match) {
	if !utf8.ValidString(password) {
		return 0, nil
	}
	res := scoring.MostGuessableMatchSequence(password, findAll(password, newIndex([]string{UserInputsDictionary}, [][]string{inputs})), false)
	return res.Guesses, res.Sequence
}

// findAll returns every match in password, ordered by position. user is the
// per-call dictionary of user inputs (nil for none).
func findAll(password string, user *index) []*match.Match {
	dicts := []*index{words()}
	if user != nil {
		dicts = append(dicts, user)
	}
	var all []*match.Match
	for _, d := range dicts {
		all = append(all, d.find(password, false)...)
	}
	for _, d := range dicts {
		all = append(all, reversedMatches(password, d)...)
	}
	for _, d := range dicts {
		all = append(all, d.find(password, true)...)
	}
	all = append(all, keyboardWalks(password)...)
	all = append(all, repeats(password)...)
	all = append(all, sequences(password)...)
	all = append(all, recentYears(password)...)
	all = append(all, dates(password)...)
	match.Sort(all)
	return all
}

// reversedMatches finds the words of d spelled backwards in password.
func reversedMatches(password string, d *index) []*match.Match {
	backwards := reverseRunes(password)
	found := d.find(backwards, false)
	last := len(password) - 1
	for _, m := range found {
		m.Token = reverseRunes(m.Token)
		m.Reversed = true
		m.I, m.J = last-m.J, last-m.I
	}
	return found
}

// reverseRunes reverses s code point by code point (an invalid byte becomes
// U+FFFD).
func reverseRunes(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}
