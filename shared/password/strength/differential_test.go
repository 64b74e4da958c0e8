package strength

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"github.com/trustelem/zxcvbn/frequency"
	"github.com/trustelem/zxcvbn/match"
	"github.com/trustelem/zxcvbn/matching"
)

// The differential tests hold Strength to upstream zxcvbn's estimate. The
// full upstream package is imported here only, in tests, so it never reaches
// a binary.

// testInputs are the user inputs given to both sides, as the policy gives
// them (whole email address, local part, pieces, the service name).
var testInputs = []string{"jane.doe@example.com", "jane.doe", "jane", "doe", "example.com", "example", "atrium"}

// upstreamMu serialises calls into upstream zxcvbn, whose l33t matcher
// shares no state but whose tests never ran it concurrently.
var upstreamMu sync.Mutex

// compare checks one password, with and without user inputs:
//
//   - every match upstream's matching finds, Strength's matchers find too,
//     and the only extra ones are l33t readings of dictionary words (see
//     the package comment);
//   - Strength's estimate and score are never above upstream's, except where
//     upstream estimates 0 guesses (its sequence search loses its result; 0
//     is never above anything we could return, and both refuse).
//
// It returns a description when the estimates differ at all.
func compare(t testing.TB, password string) (differs string) {
	t.Helper()
	for _, inputs := range [][]string{nil, testInputs} {
		ours, _ := Strength(password, inputs)
		upstreamMu.Lock()
		ref := zxcvbn.PasswordStrength(password, inputs)
		var refMatches []*match.Match
		if utf8.ValidString(password) {
			refMatches = matching.Omnimatch(password, inputs)
		}
		upstreamMu.Unlock()
		if utf8.ValidString(password) {
			var user *index
			if len(inputs) > 0 {
				user = newIndex([]string{UserInputsDictionary}, [][]string{inputs})
			}
			if extra := checkSuperset(t, password, inputs != nil, findAll(password, user), refMatches); extra == 0 {
				// The same matches: the same estimate, to the last bit.
				if ours != ref.Guesses {
					t.Errorf("Strength(%q, inputs=%v) = %g guesses from upstream's matches, upstream %g", password, inputs != nil, ours, ref.Guesses)
				}
				continue
			}
		}
		if ref.Guesses == 0 && ours > 0 {
			if differs == "" {
				differs = fmt.Sprintf("%q (inputs=%v): %g, upstream 0 (its sequence search lost the estimate)", password, inputs != nil, ours)
			}
			continue
		}
		if ours > ref.Guesses {
			t.Errorf("Strength(%q, inputs=%v) = %g guesses, above upstream's %g", password, inputs != nil, ours, ref.Guesses)
			continue
		}
		if score(ours) > ref.Score {
			t.Errorf("Strength(%q, inputs=%v): score %d above upstream's %d", password, inputs != nil, score(ours), ref.Score)
		}
		if ours != ref.Guesses && differs == "" {
			differs = fmt.Sprintf("%q (inputs=%v): %g < upstream %g", password, inputs != nil, ours, ref.Guesses)
		}
	}
	return differs
}

// checkSuperset fails t unless ours holds every match of ref and its other
// matches are all l33t dictionary matches. It returns how many matches are
// in ours only.
func checkSuperset(t testing.TB, password string, inputs bool, ours, ref []*match.Match) (extra int) {
	t.Helper()
	have := map[string]bool{}
	for _, m := range ours {
		have[matchKey(m)] = true
	}
	want := map[string]bool{}
	for _, m := range ref {
		k := matchKey(m)
		want[k] = true
		if !have[k] {
			t.Errorf("%q (inputs=%v): upstream finds %s, Strength does not", password, inputs, k)
		}
	}
	for _, m := range ours {
		if k := matchKey(m); !want[k] {
			extra++
			if !(m.Pattern == "dictionary" && m.L33t) {
				t.Errorf("%q (inputs=%v): Strength finds %s, upstream does not", password, inputs, k)
			}
		}
	}
	return extra
}

// matchKey describes a match by everything its estimate depends on.
func matchKey(m *match.Match) string {
	c := *m
	c.BaseMatches, c.Guesses = nil, 0
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// score is zxcvbn's 0-4 score of a guess count.
func score(guesses float64) int {
	for s, limit := range []float64{1e3 + 5, 1e6 + 5, 1e8 + 5, 1e10 + 5} {
		if guesses < limit {
			return s
		}
	}
	return 4
}

// runCorpus compares every password (see compare) and logs the ones whose
// estimate differs from upstream's, all of them below it.
func runCorpus(t *testing.T, name string, corpus []string) {
	t.Helper()
	var differ []string
	for _, p := range corpus {
		if d := compare(t, p); d != "" {
			differ = append(differ, d)
		}
	}
	t.Logf("%s: %d passwords, %d estimated exactly as upstream, %d differ", name, len(corpus), len(corpus)-len(differ), len(differ))
	for _, d := range differ {
		t.Logf("  differs: %s", d)
	}
}

// TestMatchesUpstreamOnPolicyTests compares every string literal of
// shared/password's tests and its fuzz seeds.
func TestMatchesUpstreamOnPolicyTests(t *testing.T) {
	corpus := literalsOf(t, "..")
	runCorpus(t, "shared/password test literals", corpus)
}

// TestMatchesUpstreamOnItsTestdata compares the passwords of upstream's
// own test data (testdata/output.json in its module).
func TestMatchesUpstreamOnItsTestdata(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/trustelem/zxcvbn").Output() // #nosec G204 -- fixed arguments
	if err != nil {
		t.Fatalf("go list -m github.com/trustelem/zxcvbn: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "testdata", "output.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Password string `json:"password"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	var corpus []string
	for _, c := range cases {
		corpus = append(corpus, c.Password)
	}
	if len(corpus) < 50 {
		t.Fatalf("only %d passwords in upstream's test data", len(corpus))
	}
	runCorpus(t, "upstream testdata", corpus)
}

// TestMatchesUpstreamOnGenerated compares generated passwords built from
// the patterns zxcvbn looks for.
func TestMatchesUpstreamOnGenerated(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 300
	}
	runCorpus(t, "generated", generate(n))
}

// literalsOf returns the string literals of the Go test files in dir and
// the fuzz seed values under dir/testdata/fuzz.
func literalsOf(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files in %s: %v", dir, err)
	}
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if s != "" && utf8.ValidString(s) && len(s) <= 256 && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	fset := token.NewFileSet()
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if lit, ok := n.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				if s, err := strconv.Unquote(lit.Value); err == nil {
					add(s)
				}
			}
			return true
		})
	}
	seeds, _ := filepath.Glob(filepath.Join(dir, "testdata", "fuzz", "*", "*"))
	for _, f := range seeds {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "string("); ok {
				if s, err := strconv.Unquote(strings.TrimSuffix(rest, ")")); err == nil {
					add(s)
				}
			}
		}
	}
	if len(out) < 20 {
		t.Fatalf("only %d literals found", len(out))
	}
	return out
}

// generate returns n passwords mixing words, digits, l33t, keyboard walks,
// dates, repeats, sequences, random ASCII and some non-ASCII, from a fixed
// seed.
func generate(n int) []string {
	rng := rand.New(rand.NewPCG(17, 2026))
	lists := []string{"passwords", "english_wikipedia", "female_names", "male_names", "surnames", "us_tv_and_film"}
	word := func() string {
		l := frequency.FrequencyLists[lists[rng.IntN(len(lists))]]
		return l[rng.IntN(min(len(l), 3000))]
	}
	leet := func(s string) string {
		swap := map[byte]string{'a': "4@", 'e': "3", 'i': "1!|", 'l': "1|7", 'o': "0", 's': "$5", 't': "7+", 'b': "8", 'g': "69", 'z': "2", 'c': "({[<", 'x': "%"}
		b := []byte(s)
		for i, c := range b {
			if alt, ok := swap[c]; ok && rng.IntN(2) == 0 {
				b[i] = alt[rng.IntN(len(alt))]
			}
		}
		return string(b)
	}
	walks := []string{"qwerty", "asdfgh", "zxcvbn", "1qaz2wsx", "qazwsx", "!QAZ@WSX", "poiuyt", "7894561230", "741852963", "aoeuidhtns", ",.pyfgcrl", "QWERTY", "mnbvcxz", "147258369", "yxcvbnm", "1234qwer"}
	dateOf := func() string {
		y, m, d := 1900+rng.IntN(151), 1+rng.IntN(12), 1+rng.IntN(31)
		seps := []string{"", "/", "-", ".", "_", " ", "\\"}
		sep := seps[rng.IntN(len(seps))]
		ys := strconv.Itoa(y)
		if rng.IntN(2) == 0 {
			ys = ys[2:]
		}
		parts := []string{strconv.Itoa(d), strconv.Itoa(m), ys}
		if rng.IntN(2) == 0 {
			parts[0] = fmt.Sprintf("%02d", d)
			parts[1] = fmt.Sprintf("%02d", m)
		}
		switch rng.IntN(3) {
		case 0:
			parts[0], parts[1] = parts[1], parts[0]
		case 1:
			parts = []string{parts[2], parts[1], parts[0]}
		}
		return strings.Join(parts, sep)
	}
	sequence := func() string {
		alpha := []string{"abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "0123456789", "acegikmoqsuwy", "αβγδεζηθ"}
		a := []rune(alpha[rng.IntN(len(alpha))])
		i := rng.IntN(len(a) - 3)
		s := a[i : i+3+rng.IntN(len(a)-i-3+1)]
		if rng.IntN(3) == 0 {
			s = slices.Clone(s)
			slices.Reverse(s)
		}
		return string(s)
	}
	nonASCII := []string{"é", "ü", "ß", "ñ", "ø", "€", "日本", "пароль", "密码", "😀", "ı", "İ", "Σ", "١٢٣", "\u00a0", "ǅ"}
	randomASCII := func(k int) string {
		b := make([]byte, k)
		for i := range b {
			b[i] = byte(' ' + rng.IntN(95))
		}
		return string(b)
	}
	piece := func() string {
		switch rng.IntN(11) {
		case 0, 1:
			w := word()
			if rng.IntN(3) == 0 {
				w = strings.ToUpper(w[:1]) + w[1:]
			}
			if rng.IntN(5) == 0 {
				w = reverseRunes(w)
			}
			return w
		case 2:
			return leet(word())
		case 3:
			return strconv.Itoa(rng.IntN(10000))
		case 4:
			return walks[rng.IntN(len(walks))]
		case 5:
			return dateOf()
		case 6:
			unit := []string{"a", "ab", "abc", word(), strconv.Itoa(rng.IntN(100)), "é", "日本"}[rng.IntN(7)]
			return strings.Repeat(unit, 2+rng.IntN(4))
		case 7:
			return sequence()
		case 8:
			return randomASCII(1 + rng.IntN(6))
		case 9:
			return nonASCII[rng.IntN(len(nonASCII))]
		default:
			return []string{" ", "!", ".", "-", "_", "@", "#", "1", "$"}[rng.IntN(9)]
		}
	}
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		var b strings.Builder
		for k := 1 + rng.IntN(4); k > 0; k-- {
			b.WriteString(piece())
		}
		s := b.String()
		if len(s) > 64 {
			s = s[:64]
			for !utf8.ValidString(s) {
				s = s[:len(s)-1]
			}
		}
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// FuzzStrengthMatchesUpstream: Strength is never above upstream zxcvbn's
// estimate, on any input of up to 64 bytes.
func FuzzStrengthMatchesUpstream(f *testing.F) {
	for _, s := range []string{
		"", "a", "password", "P@ssw0rd1", "correcthorsebatterystaple", "coRrecth0rseba++ery9.23.2007staple$",
		"qwER43@!", "Tr0ub4dour&3", "11/11/1991", "1991", "19911991", "abcabcabc", "aaaaaaaaa", "zyxwvu",
		"4@8({[<36910$5+%2!|7", "ééééé", "日本日本", "pass\u00e9word", "1\u00a01\u00a091", "١٢٣٤", "jane.doe2026",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 64 {
			return
		}
		compare(t, s)
	})
}
