package strength

import (
	"github.com/trustelem/zxcvbn/match"
)

// sequences finds runs of bytes with a constant step between neighbours of
// 1 to 5 either way ("abcd", "9753", "ZYX"): runs of three or more, or of
// two with a step of exactly 1. Consecutive runs share their boundary byte.
func sequences(password string) []*match.Match {
	var found []*match.Match
	if len(password) < 2 {
		return found
	}
	add := func(i, j, step int) {
		size := step
		if size < 0 {
			size = -size
		}
		if size == 0 || size > 5 || (j-i < 2 && size != 1) {
			return
		}
		token := password[i : j+1]
		name, space := "unicode", 26
		switch {
		case allBytes(token, 'a', 'z'):
			name = "lower"
		case allBytes(token, 'A', 'Z'):
			name = "upper"
		case allBytes(token, '0', '9'):
			name, space = "digits", 10
		}
		found = append(found, &match.Match{
			Pattern:       "sequence",
			I:             i,
			J:             j,
			Token:         token,
			SequenceName:  name,
			SequenceSpace: space,
			Ascending:     step > 0,
		})
	}
	start := 0
	step := int(password[1]) - int(password[0])
	for k := 2; k < len(password); k++ {
		d := int(password[k]) - int(password[k-1])
		if d != step {
			add(start, k-1, step)
			start, step = k-1, d
		}
	}
	add(start, len(password)-1, step)
	return found
}

func allBytes(s string, lo, hi byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < lo || s[i] > hi {
			return false
		}
	}
	return s != ""
}

// recentYears finds, left to right without overlap, four-digit years from
// 1900 to 2019.
func recentYears(password string) []*match.Match {
	var found []*match.Match
	for i := 0; i+4 <= len(password); {
		t := password[i : i+4]
		if isDigit(t[2]) && isDigit(t[3]) && (t[:2] == "19" || (t[:2] == "20" && (t[2] == '0' || t[2] == '1'))) {
			found = append(found, &match.Match{Pattern: "regex", Token: t, I: i, J: i + 3, RegexName: "recent_year"})
			i += 4
			continue
		}
		i++
	}
	return found
}

func isDigit(b byte) bool { return '0' <= b && b <= '9' }
