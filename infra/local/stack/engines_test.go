package stack

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// readmeNode reads the Node.js version README.md's Prerequisites name ("Node.js 20.19 or later").
var readmeNode = regexp.MustCompile(`\*\*Node\.js (\d+)\.(\d+) or later`)

// TestNodeEngines: npm ci installs infra/local's pinned packages (DynamoDB Local, Redocly CLI)
// without an EBADENGINE warning on the Node.js README.md names as the least, and on this
// machine's: every package of the lockfile accepts both in its engines.node.
func TestNodeEngines(t *testing.T) {
	root := repoRootOf(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := readmeNode.FindSubmatch(readme)
	if m == nil {
		t.Fatal(`README.md names no "**Node.js X.Y or later"`)
	}
	versions := map[string][3]int{"README.md's least": {atoi(string(m[1])), atoi(string(m[2])), 0}}
	out, err := exec.Command("node", "--version").Output()
	if err != nil {
		t.Fatalf("node --version: %v (Node.js is a prerequisite of make run and make test)", err)
	}
	v, ok := parseVersion(strings.TrimSpace(string(out)))
	if !ok {
		t.Fatalf("node --version said %q", out)
	}
	versions["this machine's"] = v

	data, err := os.ReadFile(filepath.Join(root, "infra", "local", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		Packages map[string]struct {
			Version string            `json:"version"`
			Engines map[string]string `json:"engines"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for name, p := range lock.Packages {
		rng, ok := p.Engines["node"]
		if !ok {
			continue
		}
		checked++
		for which, v := range versions {
			ok, err := satisfies(v, rng)
			if err != nil {
				t.Errorf("%s@%s engines.node %q: %v", name, p.Version, rng, err)
			} else if !ok {
				t.Errorf("%s@%s wants Node.js %s; %s is %d.%d.%d: npm ci warns EBADENGINE", strings.TrimPrefix(name, "node_modules/"), p.Version, rng, which, v[0], v[1], v[2])
			}
		}
	}
	if checked == 0 {
		t.Fatal("no package of infra/local/package-lock.json declares engines.node: the test would prove nothing")
	}
}

// repoRootOf walks up from the working directory to the folder holding go.mod.
func repoRootOf(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// parseVersion reads "v20.19.2", "20.19.2", "20.19" or "20".
func parseVersion(s string) ([3]int, bool) {
	var v [3]int
	parts := strings.Split(strings.TrimPrefix(s, "v"), ".")
	if len(parts) == 0 || len(parts) > 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

func compare(a, b [3]int) int {
	for i := range a {
		if a[i] != b[i] {
			if a[i] < b[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// satisfies evaluates the npm ranges engines use: alternatives joined by "||", each a list of
// comparators (>=, >, <=, <, =, or a bare version) that must all hold.
func satisfies(v [3]int, rng string) (bool, error) {
	for _, alt := range strings.Split(rng, "||") {
		all := true
		for _, c := range strings.Fields(alt) {
			op := strings.TrimRight(c, "0123456789.vx*")
			want, ok := parseVersion(strings.TrimPrefix(c, op))
			if !ok {
				return false, &strconv.NumError{Func: "satisfies", Num: c, Err: strconv.ErrSyntax}
			}
			d := compare(v, want)
			switch op {
			case ">=":
				all = all && d >= 0
			case ">":
				all = all && d > 0
			case "<=":
				all = all && d <= 0
			case "<":
				all = all && d < 0
			case "=", "":
				all = all && d == 0
			default:
				return false, &strconv.NumError{Func: "satisfies", Num: c, Err: strconv.ErrSyntax}
			}
		}
		if all {
			return true, nil
		}
	}
	return false, nil
}

func TestSatisfies(t *testing.T) {
	for _, tt := range []struct {
		v    [3]int
		rng  string
		want bool
	}{
		{[3]int{20, 20, 2}, ">=22.22.2", false},
		{[3]int{20, 20, 2}, ">=18.2.0", true},
		{[3]int{20, 19, 0}, ">=22.12.0 || >=20.19.0 <21.0.0", true},
		{[3]int{20, 18, 9}, ">=22.12.0 || >=20.19.0 <21.0.0", false},
		{[3]int{21, 0, 0}, ">=22.12.0 || >=20.19.0 <21.0.0", false},
		{[3]int{22, 12, 0}, ">=22.12.0 || >=20.19.0 <21.0.0", true},
	} {
		if got, err := satisfies(tt.v, tt.rng); err != nil || got != tt.want {
			t.Errorf("satisfies(%v, %q) = %v, %v; want %v", tt.v, tt.rng, got, err, tt.want)
		}
	}
}
