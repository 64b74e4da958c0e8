package strength

import (
	"slices"

	"github.com/trustelem/zxcvbn/match"
	"github.com/trustelem/zxcvbn/scoring"
)

// repeats finds, left to right, stretches of password that repeat a unit
// two or more times ("abcabc", "aaaa"), compared character by character,
// case-sensitively, never across a newline. At the leftmost position where
// any unit repeats, the longest unit that repeats and the shortest one are
// both extended as far as they go; the longer stretch wins (on a tie, the
// shortest unit's), and the reported unit is the shortest one that the
// stretch is made of ("aab" for "aabaab", "a" for "aaaaa"). The unit is
// estimated on its own, without user inputs, and the stretch counts its
// characters divided by the unit's bytes, zxcvbn's count (which is lower
// than the number of copies outside ASCII, so the estimate is stricter).
//
// The search resumes at the byte after the start of the stretch's last
// character, as in zxcvbn: after a stretch ending with a multi-byte
// character, that is not a character boundary and the search stops.
func repeats(password string) []*match.Match {
	var found []*match.Match
	runes := make([]rune, 0, len(password))
	offsets := make([]int, 0, len(password)) // byte offset of each rune
	for at, r := range password {
		runes = append(runes, r)
		offsets = append(offsets, at)
	}
	for next := 0; next < len(password); {
		from, ok := slices.BinarySearch(offsets, next)
		if !ok {
			break // not a character boundary
		}
		s, longest, shortest := firstRepeat(runes, from)
		if s < 0 {
			break
		}
		longSpan := copiesAt(runes, s, longest, lineEnd(runes, s)) * longest
		shortSpan := copiesAt(runes, s, shortest, lineEnd(runes, s)) * shortest
		span, unit := shortSpan, shortest
		if longSpan > shortSpan {
			span, unit = longSpan, smallestPeriod(runes[s:s+longSpan])
		}
		base := string(runes[s : s+unit])
		res := scoring.MostGuessableMatchSequence(base, findAll(base, nil), false)
		i, j := offsets[s], offsets[s+span-1]
		end := len(password)
		if s+span < len(offsets) {
			end = offsets[s+span]
		}
		found = append(found, &match.Match{
			Pattern:     "repeat",
			I:           i,
			J:           j,
			Token:       password[i:end],
			BaseToken:   base,
			BaseGuesses: res.Guesses,
			BaseMatches: res.Sequence,
			RepeatCount: span / len(base),
		})
		next = j + 1
	}
	return found
}

// firstRepeat returns the first position s >= from where a unit repeats at
// least twice before the next newline, with the longest and the shortest
// such unit lengths; s is -1 when there is none.
func firstRepeat(runes []rune, from int) (s, longest, shortest int) {
	for s = from; s < len(runes); s++ {
		end := lineEnd(runes, s)
		shortest = 0
		for n := 1; 2*n <= end-s; n++ {
			if copiesAt(runes, s, n, end) >= 2 {
				shortest = n
				break
			}
		}
		if shortest == 0 {
			continue
		}
		for n := (end - s) / 2; n >= shortest; n-- {
			if copiesAt(runes, s, n, end) >= 2 {
				return s, n, shortest
			}
		}
	}
	return -1, 0, 0
}

// copiesAt counts the consecutive copies of runes[s:s+n] from s, within
// runes[:end].
func copiesAt(runes []rune, s, n, end int) int {
	c := 1
	for s+(c+1)*n <= end && slices.Equal(runes[s+c*n:s+(c+1)*n], runes[s:s+n]) {
		c++
	}
	return c
}

// lineEnd is the index of the first newline at or after s, or len(runes).
func lineEnd(runes []rune, s int) int {
	for k := s; k < len(runes); k++ {
		if runes[k] == '\n' {
			return k
		}
	}
	return len(runes)
}

// smallestPeriod returns the length of the shortest unit that t is made of,
// repeated a whole number of times.
func smallestPeriod(t []rune) int {
	for n := 1; 2*n <= len(t); n++ {
		if len(t)%n == 0 && copiesAt(t, 0, n, len(t))*n == len(t) {
			return n
		}
	}
	return len(t)
}
