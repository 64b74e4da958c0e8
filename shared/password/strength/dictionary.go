package strength

import (
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"
	"github.com/trustelem/zxcvbn/match"
)

// index holds one or more ranked dictionaries as a single sorted word list,
// so that one walk over a password finds the words of all of them. A word's
// rank in a dictionary is its 1-based position in that dictionary's list,
// lowercased, its last position when it occurs twice (zxcvbn's ranking).
type index struct {
	names []string         // dictionary names, one rank column each
	keys  []string         // distinct lowercased words, sorted
	ranks []int32          // ranks[row*len(names)+col], 0 when absent
	row   map[string]int32 // word -> its row in keys
}

// words is the index of zxcvbn's frequency lists, built on first use.
var words = sync.OnceValue(func() *index {
	names := make([]string, 0, len(frequency.FrequencyLists))
	for name := range frequency.FrequencyLists {
		names = append(names, name)
	}
	slices.Sort(names)
	lists := make([][]string, len(names))
	for i, name := range names {
		lists[i] = frequency.FrequencyLists[name]
	}
	return newIndex(names, lists)
})

// newIndex ranks lists[c] as dictionary names[c]. It returns nil when the
// lists hold no word at all.
func newIndex(names []string, lists [][]string) *index {
	total := 0
	for _, l := range lists {
		total += len(l)
	}
	if total == 0 {
		return nil
	}
	cols := len(names)
	seen := make(map[string]int32, total)
	var keys []string
	var ranks []int32
	for c, list := range lists {
		for pos, w := range list {
			w = strings.ToLower(w)
			r, ok := seen[w]
			if !ok {
				r = int32(len(keys))
				seen[w] = r
				keys = append(keys, w)
				ranks = append(ranks, make([]int32, cols)...)
			}
			ranks[int(r)*cols+c] = int32(pos + 1)
		}
	}
	// Sort the rows by word, carrying their ranks along.
	order := make([]int32, len(keys))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(keys[a], keys[b]) })
	ix := &index{
		names: names,
		keys:  make([]string, len(keys)),
		ranks: make([]int32, len(ranks)),
		row:   seen,
	}
	for to, from := range order {
		ix.keys[to] = keys[from]
		copy(ix.ranks[to*cols:(to+1)*cols], ranks[int(from)*cols:(int(from)+1)*cols])
		seen[keys[from]] = int32(to)
	}
	return ix
}

// leetLetters maps each l33t character to the letters it may stand for.
var leetLetters = [utf8.RuneSelf]string{
	'4': "a", '@': "a",
	'8': "b",
	'(': "c", '{': "c", '[': "c", '<': "c",
	'3': "e",
	'6': "g", '9': "g",
	'1': "il", '!': "i", '|': "il",
	'7': "lt",
	'0': "o",
	'$': "s", '5': "s",
	'+': "t",
	'%': "x",
	'2': "z",
}

// find returns the matches of the index's words in password.
//
// A candidate starts at a character and ends at the first byte of a
// character (zxcvbn's convention: for a multi-byte last character the
// candidate is cut after its first byte, which lowercases to U+FFFD). The
// candidate is lowercased character by character and looked up.
//
// With leet, a l33t character may also be read as one of its letters,
// consistently within the candidate (every occurrence of it read the same
// way); only candidates of two bytes or more with at least one character
// read as a letter are l33t matches. Without leet, characters are read as
// themselves.
//
// The walk extends a candidate only while some word starts with its
// lowercased form, so its cost follows the words present, not the length.
func (ix *index) find(password string, leet bool) []*match.Match {
	if ix == nil {
		return nil
	}
	w := walker{ix: ix, password: password, leet: leet}
	for i := range password {
		w.start = i
		w.walk(i, 0, len(ix.keys), 0)
	}
	return w.found
}

type walker struct {
	ix       *index
	password string
	leet     bool
	start    int
	key      []byte              // lowercased reading of password[start:k]
	reading  [utf8.RuneSelf]byte // l33t character -> how it is read (0: not yet decided)
	found    []*match.Match
}

// walk extends the candidate at byte k; [lo, hi) are the keys that start
// with w.key; read is how many l33t characters are read as letters.
func (w *walker) walk(k, lo, hi, read int) {
	if k >= len(w.password) {
		return
	}
	b := w.password[k]
	if b >= utf8.RuneSelf {
		if !w.leet || (read > 0 && k+1-w.start > 1) {
			w.emit(string(w.key)+string(utf8.RuneError), k, read)
		}
		r, size := utf8.DecodeRuneInString(w.password[k:])
		w.step(utf8.AppendRune(nil, unicode.ToLower(r)), k+size, lo, hi, read)
		return
	}
	if !w.leet || leetLetters[b] == "" {
		w.stepEmit(lowerASCII(b), k, lo, hi, read)
		return
	}
	if r := w.reading[b]; r != 0 {
		if r != b {
			w.stepEmit(r, k, lo, hi, read)
		} else {
			w.stepEmit(b, k, lo, hi, read)
		}
		return
	}
	w.reading[b] = b
	w.stepEmit(b, k, lo, hi, read)
	for _, letter := range []byte(leetLetters[b]) {
		w.reading[b] = letter
		w.stepEmit(letter, k, lo, hi, read+1)
	}
	w.reading[b] = 0
}

// stepEmit reads the ASCII byte at k as c: it reports the candidate ending
// there and walks on.
func (w *walker) stepEmit(c byte, k, lo, hi, read int) {
	w.key = append(w.key, c)
	nlo, nhi := w.narrow(lo, hi)
	if nlo < nhi {
		if w.ix.keys[nlo] == string(w.key) && (!w.leet || (read > 0 && k+1-w.start > 1)) {
			w.emit(w.ix.keys[nlo], k, read)
		}
		w.walk(k+1, nlo, nhi, read)
	}
	w.key = w.key[:len(w.key)-1]
}

// step appends piece (a whole lowercased character ending before next) to
// the key and walks on.
func (w *walker) step(piece []byte, next, lo, hi, read int) {
	n := len(w.key)
	w.key = append(w.key, piece...)
	if nlo, nhi := w.narrow(lo, hi); nlo < nhi {
		w.walk(next, nlo, nhi, read)
	}
	w.key = w.key[:n]
}

// narrow returns the part of [lo, hi) whose keys start with w.key.
func (w *walker) narrow(lo, hi int) (int, int) {
	prefix := string(w.key)
	keys := w.ix.keys
	nlo := lo + sort.Search(hi-lo, func(x int) bool { return keys[lo+x] >= prefix })
	nhi := nlo + sort.Search(hi-nlo, func(x int) bool { return !strings.HasPrefix(keys[nlo+x], prefix) })
	return nlo, nhi
}

// emit reports the candidate password[w.start:k+1] read as key, once per
// dictionary holding key.
func (w *walker) emit(key string, k, read int) {
	row, ok := w.ix.row[key]
	if !ok {
		return
	}
	token := w.password[w.start : k+1]
	cols := len(w.ix.names)
	for c, name := range w.ix.names {
		rank := w.ix.ranks[int(row)*cols+c]
		if rank == 0 {
			continue
		}
		m := &match.Match{
			Pattern:        "dictionary",
			I:              w.start,
			J:              k,
			Token:          token,
			MatchedWord:    key,
			Rank:           int(rank),
			DictionaryName: name,
		}
		if w.leet && read > 0 {
			m.L33t = true
			m.Sub = make(map[string]string)
			for x := 0; x < len(token); x++ {
				c := token[x]
				if c < utf8.RuneSelf && w.reading[c] != 0 && w.reading[c] != c {
					m.Sub[string(rune(c))] = string(rune(w.reading[c]))
				}
			}
		}
		w.found = append(w.found, m)
	}
}

func lowerASCII(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}
