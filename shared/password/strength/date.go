package strength

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/match"
	"github.com/trustelem/zxcvbn/scoring"
)

// Date bounds: four-digit numbers outside them are not years.
const (
	minDateYear = 1000
	maxDateYear = 2050
)

// digitSplits lists, by the length in bytes of a run of digits, where it may
// be cut into three numbers: day, month and a two- or four-digit year in
// some order ("1191" is 1 1 91 or 91 1 1; "11111991" is 11 11 1991 or
// 1111 19 91).
var digitSplits = [9][][2]int{
	4: {{1, 2}, {2, 3}},
	5: {{1, 3}, {2, 3}},
	6: {{1, 2}, {2, 4}, {4, 5}},
	7: {{1, 3}, {2, 3}, {4, 5}, {4, 6}},
	8: {{2, 4}, {4, 6}},
}

// dates finds dates: 4 to 8 digits with no separator ("13111991",
// "1191"), or 6 to 10 characters with two identical separators
// ("13.11.1991", "91-1-13"), in any order of day, month and year. Of the
// readings of one run of digits, the one whose year is closest to the
// reference year wins. A date inside a longer date is dropped.
//
// Digits are Unicode decimal digits (as zxcvbn's expressions read \d) and
// separators are white space or one of / \ _ . -; a digit that is not ASCII
// reads as the number 0, as in zxcvbn. A final newline is ignored after the
// last digit, as the $ of zxcvbn's expressions does.
func dates(password string) []*match.Match {
	var found []*match.Match
	for i := 0; i+4 <= len(password); i++ {
		for j := i + 3; j <= i+7 && j < len(password); j++ {
			token := password[i : j+1]
			if n := digitRunes(dropFinalNewline(token)); n < 4 || n > 8 || n != utf8.RuneCountInString(dropFinalNewline(token)) {
				continue
			}
			if len(token) >= len(digitSplits) {
				continue
			}
			var best *dmy
			for _, cut := range digitSplits[len(token)] {
				d := readDate(token[:cut[0]], token[cut[0]:cut[1]], token[cut[1]:])
				if d != nil && (best == nil || yearDistance(d.year) < yearDistance(best.year)) {
					best = d
				}
			}
			if best != nil {
				found = append(found, best.match(i, j, token, ""))
			}
		}
	}
	for i := 0; i+6 <= len(password); i++ {
		for j := i + 5; j <= i+9 && j < len(password); j++ {
			token := password[i : j+1]
			a, sep, b, c, ok := splitSeparated(dropFinalNewline(token))
			if !ok {
				continue
			}
			if d := readDate(a, b, c); d != nil {
				found = append(found, d.match(i, j, token, sep))
			}
		}
	}
	var kept []*match.Match
	for x, m := range found {
		inside := false
		for y, o := range found {
			if x != y && o.I <= m.I && o.J >= m.J {
				inside = true
				break
			}
		}
		if !inside {
			kept = append(kept, m)
		}
	}
	match.Sort(kept)
	return kept
}

// dropFinalNewline removes one final "\n".
func dropFinalNewline(s string) string {
	return strings.TrimSuffix(s, "\n")
}

// digitRunes counts the leading decimal digits of s, in characters.
func digitRunes(s string) int {
	n := 0
	for _, r := range s {
		if !unicode.IsDigit(r) {
			break
		}
		n++
	}
	return n
}

// splitSeparated reads s as digits, separator, digits, the same separator,
// digits (1 to 4, 1 to 2 and 1 to 4 digits).
func splitSeparated(s string) (a, sep, b, c string, ok bool) {
	digits := func(s string, max int) (string, string, bool) {
		k, n := 0, 0
		for k < len(s) {
			r, size := utf8.DecodeRuneInString(s[k:])
			if !unicode.IsDigit(r) {
				break
			}
			k += size
			n++
		}
		return s[:k], s[k:], n >= 1 && n <= max
	}
	a, rest, ok := digits(s, 4)
	if !ok || rest == "" {
		return "", "", "", "", false
	}
	r, size := utf8.DecodeRuneInString(rest)
	if !(unicode.IsSpace(r) || strings.ContainsRune(`/\_.-`, r)) || r == utf8.RuneError {
		return "", "", "", "", false
	}
	sep, rest = rest[:size], rest[size:]
	b, rest, ok = digits(rest, 2)
	if !ok || !strings.HasPrefix(rest, sep) {
		return "", "", "", "", false
	}
	c, rest, ok = digits(rest[len(sep):], 4)
	if !ok || rest != "" {
		return "", "", "", "", false
	}
	return a, sep, b, c, true
}

type dmy struct{ day, month, year int }

func (d *dmy) match(i, j int, token, sep string) *match.Match {
	return &match.Match{Pattern: "date", Token: token, I: i, J: j, Separator: sep, Year: d.year, Month: d.month, Day: d.day}
}

func yearDistance(y int) int {
	if d := y - scoring.ReferenceYear; d > 0 {
		return d
	}
	return scoring.ReferenceYear - y
}

// number reads s as a decimal number, 0 when it is not one.
func number(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0
	}
	return n
}

// readDate reads three numbers as a day, a month and a year, the year first
// or last and never in the middle. It refuses: a middle number of 0 or over
// 31, a number over maxDateYear or between 100 and minDateYear, two numbers
// over 31, three over 12, two of 0. A four-digit year is taken as it is
// (and then the other two must be a day and a month); otherwise a last, then
// a first, two-digit year is tried, read as 19xx above 50 and 20xx up to 50.
func readDate(s1, s2, s3 string) *dmy {
	n := [3]int{number(s1), number(s2), number(s3)}
	if n[1] <= 0 || n[1] > 31 {
		return nil
	}
	over12, over31, zero := 0, 0, 0
	for _, v := range n {
		if (v > 99 && v < minDateYear) || v > maxDateYear {
			return nil
		}
		if v > 31 {
			over31++
		}
		if v > 12 {
			over12++
		}
		if v <= 0 {
			zero++
		}
	}
	if over31 >= 2 || over12 == 3 || zero >= 2 {
		return nil
	}
	orders := [2][3]int{{n[2], n[0], n[1]}, {n[0], n[1], n[2]}} // year last, year first
	for _, o := range orders {
		if minDateYear <= o[0] && o[0] <= maxDateYear {
			return dayMonth(o[1], o[2], o[0])
		}
	}
	for _, o := range orders {
		if d := dayMonth(o[1], o[2], o[0]); d != nil {
			switch {
			case d.year > 99:
			case d.year > 50:
				d.year += 1900
			default:
				d.year += 2000
			}
			return d
		}
	}
	return nil
}

// dayMonth reads a and b as day and month, or month and day.
func dayMonth(a, b, year int) *dmy {
	switch {
	case a <= 31 && b <= 12:
		return &dmy{day: a, month: b, year: year}
	case b <= 31 && a <= 12:
		return &dmy{day: b, month: a, year: year}
	}
	return nil
}
