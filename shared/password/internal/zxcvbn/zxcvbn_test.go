package zxcvbn

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/atrium-cdn/atrium/shared/password/internal/zxcvbn/match"
	"github.com/atrium-cdn/atrium/shared/password/internal/zxcvbn/scoring"
)

// TestPasswordStrength is upstream's reference test (testdata/output.json is
// the output of the original JavaScript zxcvbn, as upstream ships it),
// without testify: this copy, with its lists embedded and built on first
// use, estimates exactly as upstream does.
func TestPasswordStrength(t *testing.T) {
	var testdata []struct {
		Password string         `json:"password"`
		Guesses  float64        `json:"guesses"`
		Score    int            `json:"score"`
		Sequence []*match.Match `json:"sequence"`
	}
	b, err := os.ReadFile(filepath.Join("testdata", "output.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &testdata); err != nil {
		t.Fatal(err)
	}
	// A date's guesses count the years from the reference year, the current
	// one: the reference output was made in 2019.
	defer func(y int) { scoring.ReferenceYear = y }(scoring.ReferenceYear)
	scoring.ReferenceYear = 2019
	if len(testdata) < 50 {
		t.Fatalf("only %d reference passwords", len(testdata))
	}
	for _, td := range testdata {
		// Upstream's positions count bytes, the reference's characters.
		runeAt := make(map[int]int, len(td.Password)+1)
		c := 0
		for i := range td.Password {
			runeAt[i] = c
			c++
		}
		runeAt[len(td.Password)] = c
		s := PasswordStrength(td.Password, nil)
		if len(s.Sequence) != len(td.Sequence) {
			t.Errorf("%+q: %d matches, want %d", td.Password, len(s.Sequence), len(td.Sequence))
			continue
		}
		for j, want := range td.Sequence {
			got := s.Sequence[j]
			if runeAt[got.I] != want.I || runeAt[got.J+1]-1 != want.J || got.Pattern != want.Pattern ||
				got.Token != want.Token || got.Guesses != want.Guesses {
				t.Errorf("%+q match %d: got %s %d-%d %q %v, want %s %d-%d %q %v", td.Password, j,
					got.Pattern, runeAt[got.I], runeAt[got.J+1]-1, got.Token, got.Guesses,
					want.Pattern, want.I, want.J, want.Token, want.Guesses)
			}
		}
		if s.Guesses != td.Guesses || s.Score != td.Score {
			t.Errorf("%+q: guesses %v score %d, want %v %d", td.Password, s.Guesses, s.Score, td.Guesses, td.Score)
		}
	}
}

func TestCornerCases(t *testing.T) {
	for _, pw := range []string{"", "wen\x8e\xc6"} {
		_ = PasswordStrength(pw, nil)
	}
}
