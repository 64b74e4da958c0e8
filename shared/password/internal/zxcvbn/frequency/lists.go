// Package frequency holds zxcvbn's ranked word lists, most frequent first.
//
// Upstream (github.com/trustelem/zxcvbn) declares them as one map literal of
// string slices, which the program builds in a package initialiser on every
// cold start and which links a 16-byte string header per word (about 1.5 MB
// for 94,000 words). Here each list is an embedded text file, one word a
// line, generated from upstream's map (same words, same order), split only
// by whoever needs the words (see package matching, which does it once, on
// first use).
package frequency

import (
	_ "embed" // the lists
	"strings"
)

var (
	//go:embed lists/english_wikipedia.txt
	englishWikipedia string
	//go:embed lists/female_names.txt
	femaleNames string
	//go:embed lists/male_names.txt
	maleNames string
	//go:embed lists/passwords.txt
	passwords string
	//go:embed lists/surnames.txt
	surnames string
	//go:embed lists/us_tv_and_film.txt
	usTVAndFilm string
)

// Lists returns every list by its name, each a new slice of words, most
// frequent first.
func Lists() map[string][]string {
	return map[string][]string{
		"english_wikipedia": words(englishWikipedia),
		"female_names":      words(femaleNames),
		"male_names":        words(maleNames),
		"passwords":         words(passwords),
		"surnames":          words(surnames),
		"us_tv_and_film":    words(usTVAndFilm),
	}
}

func words(list string) []string {
	return strings.Split(strings.TrimSuffix(list, "\n"), "\n")
}
