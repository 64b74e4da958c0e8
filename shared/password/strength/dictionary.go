package strength

import (
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"
	"github.com/trustelem/zxcvbn/match"
)

// index holds one or more ranked dictionaries: each distinct lowercased
// word has a row of ranks, one per dictionary, and the words are also kept
// sorted so that one walk over a password can tell whether any word starts
// with what it has read so far. A word's rank in a dictionary is its
// 1-based position in that dictionary's list, lowercased, its last position
// when it occurs twice (zxcvbn's ranking).
type index struct {
	names  []string         // dictionary names, one rank column each
	sorted []string         // the distinct lowercased words, sorted
	ranks  []int32          // ranks[row*len(names)+col], 0 when absent
	row    map[string]int32 // word -> its row of ranks
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
	if total > math.MaxInt32 {
		// The word lists are fixed data of about 100,000 words.
		panic("strength: word lists too long for int32 rows")
	}
	cols := len(names)
	ix := &index{
		names:  names,
		sorted: make([]string, 0, total),
		ranks:  make([]int32, 0, total*cols),
		row:    make(map[string]int32, total),
	}
	zeros := make([]int32, cols)
	for c, list := range lists {
		for pos, w := range list {
			w = strings.ToLower(w)
			r, ok := ix.row[w]
			if !ok {
				r = int32(len(ix.sorted)) // #nosec G115 -- len(ix.sorted) ≤ total ≤ MaxInt32, checked above
				ix.row[w] = r
				ix.sorted = append(ix.sorted, w)
				ix.ranks = append(ix.ranks, zeros...)
			}
			ix.ranks[int(r)*cols+c] = int32(pos + 1)
		}
	}
	ix.sorted = sortWords(ix.sorted) // the rows stay in first-seen order
	return ix
}

// sortWords sorts words: a counting pass places them by their first two
// bytes, then each group is sorted on its own. On the frequency lists this
// takes half the time of one sort of them all, on the first password check
// of a process.
func sortWords(words []string) []string {
	group := func(w string) int {
		switch len(w) {
		case 0:
			return 0
		case 1:
			return int(w[0]) << 8
		}
		return int(w[0])<<8 | int(w[1])
	}
	start := make([]int32, 1<<16+1)
	for _, w := range words {
		start[group(w)+1]++
	}
	for g := 1; g < len(start); g++ {
		start[g] += start[g-1]
	}
	out := make([]string, len(words))
	next := slices.Clone(start[:1<<16])
	for _, w := range words {
		g := group(w)
		out[next[g]] = w
		next[g]++
	}
	for g := 0; g < 1<<16; g++ {
		if start[g+1]-start[g] > 1 {
			slices.Sort(out[start[g]:start[g+1]])
		}
	}
	return out
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
		w.walk(i, 0, len(ix.sorted), 0)
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

// walk extends the candidate at byte k; [lo, hi) are the sorted words that start
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
		if w.ix.sorted[nlo] == string(w.key) && (!w.leet || (read > 0 && k+1-w.start > 1)) {
			w.emit(w.ix.sorted[nlo], k, read)
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

// narrow returns the part of sorted[lo:hi] whose words start with w.key.
func (w *walker) narrow(lo, hi int) (int, int) {
	prefix := string(w.key)
	keys := w.ix.sorted
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
