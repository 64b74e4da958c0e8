package strength

import (
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/adjacency"
	"github.com/trustelem/zxcvbn/match"
)

// keyboard is one adjacency graph with the characters typed with shift on
// it (the second character of its two-character keys).
type keyboard struct {
	graph   *adjacency.Graph
	shifted [utf8.RuneSelf]bool
}

// keyboards are the layouts searched for walks, in zxcvbn's order.
var keyboards = sync.OnceValue(func() []keyboard {
	var out []keyboard
	for _, name := range []string{"qwerty", "dvorak", "keypad", "mac_keypad"} {
		g := adjacency.Graphs[name]
		if g == nil || g.Graph == nil {
			continue
		}
		kb := keyboard{graph: g}
		for _, neighbours := range g.Graph {
			for _, key := range neighbours {
				if len(key) == 2 && key[1] < utf8.RuneSelf {
					kb.shifted[key[1]] = true
				}
			}
		}
		out = append(out, kb)
	}
	return out
})

// keyboardWalks finds runs of three or more characters where each is next
// to the previous one on a keyboard. A run is cut at the first character
// that is not a neighbour, and the search goes on from that character. Each
// run counts its turns (changes of direction, the first step included) and
// its shifted characters.
func keyboardWalks(password string) []*match.Match {
	var found []*match.Match
	for _, kb := range keyboards() {
		for i := 0; i+1 < len(password); {
			turns, shifted := 0, 0
			if c := password[i]; c < utf8.RuneSelf && kb.shifted[c] {
				shifted++
			}
			direction := -1
			j := i + 1
			for ; j < len(password); j++ {
				d, shift := kb.step(password[j-1], password[j])
				if d < 0 {
					break
				}
				if shift {
					shifted++
				}
				if d != direction {
					turns++
					direction = d
				}
			}
			if j-i > 2 {
				found = append(found, &match.Match{
					Pattern:      "spatial",
					I:            i,
					J:            j - 1,
					Token:        password[i:j],
					Graph:        kb.graph.Name,
					Turns:        turns,
					ShiftedCount: shifted,
				})
			}
			i = j
		}
	}
	return found
}

// step returns the direction (the position in from's neighbour list) in
// which to lies from from, or -1, and whether to is typed with shift there.
func (kb *keyboard) step(from, to byte) (direction int, shift bool) {
	if from >= utf8.RuneSelf || to >= utf8.RuneSelf {
		return -1, false
	}
	for d, key := range kb.graph.Graph[string(rune(from))] {
		if at := strings.IndexByte(key, to); at >= 0 {
			return d, at == 1
		}
	}
	return -1, false
}
