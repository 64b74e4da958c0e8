package lifecycle

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// The README's table of what Atrium keeps names, at the end of each row,
// the kinds the row describes, in an HTML comment the rendered page hides:
//
//	| sessions: … | state table | until logout … | <!-- kind: session -->
//
// A row about something that is no item of any store (CloudWatch log
// lines) says so and why: <!-- no kind: log lines, not items -->.
//
// Compiled on first use: only the README check (a test) reads them, and
// every function links this package.
var (
	kindComment   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`<!--\s*kind:\s*([a-z0-9_,\s]+?)\s*-->`) })
	noKindComment = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`<!--\s*no kind:\s*\S[^>]*-->`) })
)

// CheckTable checks the first table under heading (a markdown heading line,
// e.g. "## What Atrium stores about a person, and for how long") against
// the registry: every row names registered kinds (or says why it is of no
// kind), and every registered kind is named by a row. It returns the
// problems, one line each.
func (r *Registry) CheckTable(markdown, heading string) []string {
	rows, err := tableUnder(markdown, heading)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	named := map[string]bool{}
	for i, row := range rows {
		m := kindComment().FindAllStringSubmatch(row, -1)
		none := noKindComment().MatchString(row)
		switch {
		case len(m) == 0 && !none:
			problems = append(problems, fmt.Sprintf("row %d names no lifecycle kind (end it with <!-- kind: name -->): %.60s", i+1, row))
			continue
		case len(m) > 1 || len(m) == 1 && none:
			problems = append(problems, fmt.Sprintf("row %d has more than one kind comment: %.60s", i+1, row))
			continue
		case none:
			continue
		}
		for _, name := range strings.Split(m[0][1], ",") {
			name = strings.TrimSpace(name)
			if _, ok := r.kinds[name]; !ok {
				problems = append(problems, fmt.Sprintf("row %d names %q, which is no registered lifecycle kind", i+1, name))
			}
			named[name] = true
		}
	}
	for _, k := range r.Kinds() {
		if !named[k.Name] {
			problems = append(problems, fmt.Sprintf("lifecycle kind %q (%s table, %s) is in no row of the README's table %q",
				k.Name, k.Table, k.Owner, strings.TrimLeft(heading, "# ")))
		}
	}
	return problems
}

// tableUnder returns the body rows (after the header and its separator) of
// the first markdown table below the heading line.
func tableUnder(markdown, heading string) ([]string, error) {
	lines := strings.Split(markdown, "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == heading {
			start = i + 1
			break
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("no heading %q", heading)
	}
	var rows []string
	for _, l := range lines[start:] {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") {
			break // the next section
		}
		if strings.HasPrefix(l, "|") {
			rows = append(rows, l)
		} else if len(rows) > 0 {
			break // the table ended
		}
	}
	if len(rows) < 3 {
		return nil, fmt.Errorf("no table with rows under %q", heading)
	}
	return rows[2:], nil
}
