package strength

import (
	"sync"
	"testing"
)

// TestConcurrentFirstUse: many goroutines using Strength at once in a fresh
// process (the dictionaries not yet built) all get the estimate a later,
// single call gets. Run with -race.
func TestConcurrentFirstUse(t *testing.T) {
	passwords := []string{"correct horse battery staple", "P@ssw0rd1991", "qwertyuiop", "jane.doe2026", "abcabcabc"}
	inputs := []string{"jane.doe@example.com", "jane", "doe"}
	got := make([][]float64, 8)
	var wg sync.WaitGroup
	for g := range got {
		wg.Go(func() {
			for _, p := range passwords {
				guesses, _ := Strength(p, inputs)
				got[g] = append(got[g], guesses)
			}
		})
	}
	wg.Wait()
	for i, p := range passwords {
		want, _ := Strength(p, inputs)
		for g := range got {
			if got[g][i] != want {
				t.Errorf("goroutine %d: Strength(%q) = %g, later %g", g, p, got[g][i], want)
			}
		}
	}
}

// TestInvalidUTF8: invalid UTF-8 estimates at zero guesses, as upstream.
func TestInvalidUTF8(t *testing.T) {
	if g, seq := Strength("abc\xffdef", nil); g != 0 || seq != nil {
		t.Errorf("Strength(invalid) = %g, %v; want 0, nil", g, seq)
	}
}
