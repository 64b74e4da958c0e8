package lifecycle_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

// widget and gadget are kinds of a made-up owner.
func widget() lifecycle.Kind {
	return lifecycle.Kind{
		Name: "widget", Owner: "github.com/atrium-cdn/atrium/shared/widgets", Table: lifecycle.StateTable,
		Purpose:   "a widget of an account",
		Retention: lifecycle.Retention{Text: "while the account exists", Until: "account deletion"},
		Erasure:   "account", Export: "widgets",
		Match: lifecycle.Under("ACCOUNT#", "WIDGET#"),
	}
}

func gadget() lifecycle.Kind {
	return lifecycle.Kind{
		Name: "gadget", Owner: "github.com/atrium-cdn/atrium/shared/widgets", Table: lifecycle.StateTable,
		Purpose:   "a gadget, of no account",
		Retention: lifecycle.Retention{Text: "1 day (TTL)", TTL: true},
		Erasure:   lifecycle.ErasedByTTL, Export: lifecycle.NotExported + "it belongs to no account",
		Match: lifecycle.Fixed("GADGET#", "GADGET"),
	}
}

func registry(t *testing.T, kinds ...lifecycle.Kind) *lifecycle.Registry {
	t.Helper()
	r, err := lifecycle.New(kinds)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCensusFlagsUnregisteredAndAmbiguousItems: a throwaway item of no
// kind, and one two kinds claim, are named; the rest are counted.
func TestCensusFlagsUnregisteredAndAmbiguousItems(t *testing.T) {
	r := registry(t, widget(), gadget())
	keys := []lifecycle.Key{
		{PK: "ACCOUNT#acct_1", SK: "WIDGET#w1"}, {PK: "ACCOUNT#acct_1", SK: "WIDGET#w2"}, {PK: "GADGET#g1", SK: "GADGET"},
		{PK: "ZZTHROWAWAY#someone@example.com", SK: "ZZTHROWAWAY"},
		{PK: "ACCOUNT#", SK: "WIDGET#w3"}, // no account id: not a widget
	}
	c := r.Count(lifecycle.StateTable, keys)
	if c.Counts["widget"] != 2 || c.Counts["gadget"] != 1 || len(c.Unknown) != 2 || len(c.Ambiguous) != 0 {
		t.Fatalf("census %+v", c)
	}
	problems := strings.Join(c.Problems(r), "\n")
	if !strings.Contains(problems, `pk "ZZTHROWAWAY#some…"`) || strings.Contains(problems, "example.com") {
		t.Errorf("the throwaway item is not named by its shape alone:\n%s", problems)
	}
	if got := c.String(); got != "gadget=1 widget=2" {
		t.Errorf("counts %q", got)
	}
	// The same keys in the other table are of no kind there.
	if other := r.Count(lifecycle.RequestLogTable, keys[:1]); len(other.Unknown) != 1 {
		t.Errorf("a state-table kind matched in the request-log table: %+v", other)
	}

	greedy := gadget()
	greedy.Name, greedy.Match = "greedy", lifecycle.Under("ACCOUNT#", "")
	r = registry(t, widget(), greedy)
	c = r.Count(lifecycle.StateTable, keys[:1])
	if len(c.Ambiguous) != 1 || !strings.Contains(strings.Join(c.Problems(r), ""), "greedy, widget") {
		t.Errorf("an item two kinds claim was not flagged: %+v %q", c, c.Problems(r))
	}
	if _, ok := r.Of(lifecycle.StateTable, "ACCOUNT#acct_1", "WIDGET#w1"); ok {
		t.Error("Of answered for an item of two kinds")
	}
}

// TestRegisterRefusesIncompleteOrRepeatedKinds: every field is required.
func TestRegisterRefusesIncompleteOrRepeatedKinds(t *testing.T) {
	breaks := map[string]func(*lifecycle.Kind){
		"name":               func(k *lifecycle.Kind) { k.Name = "Widget" },
		"owner":              func(k *lifecycle.Kind) { k.Owner = "" },
		"table":              func(k *lifecycle.Kind) { k.Table = "s3" },
		"purpose":            func(k *lifecycle.Kind) { k.Purpose = " " },
		"retention":          func(k *lifecycle.Kind) { k.Retention = lifecycle.Retention{Text: "forever"} },
		"erasure":            func(k *lifecycle.Kind) { k.Erasure = "" },
		"ttl erasure no ttl": func(k *lifecycle.Kind) { k.Erasure = lifecycle.ErasedByTTL },
		"export":             func(k *lifecycle.Kind) { k.Export = "" },
		"export reason":      func(k *lifecycle.Kind) { k.Export = lifecycle.Withheld + "no" },
		"match":              func(k *lifecycle.Kind) { k.Match = nil },
	}
	for name, breakIt := range breaks {
		k := widget()
		breakIt(&k)
		if err := new(lifecycle.Registry).Register(k); err == nil {
			t.Errorf("%s: registered", name)
		}
	}
	r := registry(t, widget())
	if err := r.Register(widget()); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a kind registered twice: %v", err)
	}
	if _, err := lifecycle.New([]lifecycle.Kind{widget()}, []lifecycle.Kind{widget()}); err == nil {
		t.Error("New accepted a kind from two owners")
	}
	names := []string{}
	for _, k := range registry(t, widget(), gadget()).Kinds() {
		names = append(names, k.Name)
	}
	if !slices.Equal(names, []string{"gadget", "widget"}) {
		t.Errorf("kinds %v", names)
	}
}

const readme = `# Something

## What we keep

| what | where | kept |
|---|---|---|
| widgets | state table | while the account exists | <!-- kind: widget -->
| gadgets and widgets | state table | a day | <!-- kind: gadget, widget -->
| log lines | CloudWatch | 90 days | <!-- no kind: log lines are no item -->

## Next
| a | b |
|---|---|
| other | <!-- kind: nothing -->
`

// TestCheckTable: the README's table and the registry agree; removing a
// kind from the table, naming an unknown one or leaving a row without a
// kind each fails.
func TestCheckTable(t *testing.T) {
	r := registry(t, widget(), gadget())
	const heading = "## What we keep"
	if p := r.CheckTable(readme, heading); len(p) != 0 {
		t.Fatalf("problems in a table that agrees: %q", p)
	}
	cases := map[string]struct{ from, to, want string }{
		"kind removed":    {"<!-- kind: gadget, widget -->", "<!-- kind: widget -->", `"gadget"`},
		"unknown kind":    {"<!-- kind: widget -->", "<!-- kind: widgit -->", `"widgit"`},
		"row of no kind":  {"| a day | <!-- kind: gadget, widget -->", "| a day |", "row 2 names no lifecycle kind"},
		"two comments":    {"90 days |", "90 days | <!-- kind: widget -->", "row 3 has more than one"},
		"table gone":      {"| widgets", "widgets", "no table"},
		"heading renamed": {heading, "## What we hold", "no heading"},
	}
	for name, c := range cases {
		p := r.CheckTable(strings.Replace(readme, c.from, c.to, 1), heading)
		if !strings.Contains(strings.Join(p, "\n"), c.want) {
			t.Errorf("%s: problems %q, want one with %s", name, p, c.want)
		}
	}
}
