package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/infra/cfn"
)

func root(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod")
		}
		dir = filepath.Dir(dir)
	}
}

func TestCheckSAM(t *testing.T) {
	for _, tc := range []struct {
		out   string
		found bool
		err   error
		want  string // "" for no error
	}{
		{"", false, nil, "sam: command not found; install the AWS SAM CLI " + SAMVersion},
		{"SAM CLI, version 1.129.9\n", true, nil, "older than " + SAMVersion},
		{"SAM CLI, version 0.53.0\n", true, nil, "older than"},
		{"SAM CLI, version " + SAMVersion + "\n", true, nil, ""},
		{"SAM CLI, version 1.150.1\n", true, nil, ""},
		{"SAM CLI, version 2.0.0\n", true, nil, ""},
		{"", true, errors.New("exit status 1"), "sam --version failed"},
		{"nonsense", true, nil, "not a version"},
	} {
		err := CheckSAM(func() (string, bool, error) { return tc.out, tc.found, tc.err })
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.out, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "install-sam-cli")):
			t.Errorf("%q: %v, want an error saying %q and how to install", tc.out, err, tc.want)
		}
	}
}

// The README's prerequisites name the same SAM CLI version the check wants.
func TestREADMENamesTheSAMVersion(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "AWS SAM CLI "+SAMVersion) {
		t.Errorf("README.md does not name AWS SAM CLI %s", SAMVersion)
	}
}

// The whole check on the repository: the template passes, every parameter
// is listed with its Description, and a missing sam fails the check with
// the install hint.
func TestRunOnTheRepository(t *testing.T) {
	r := root(t)
	tpl, err := cfn.Load(filepath.Join(r, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err = run(&out, r, false, func() (string, bool, error) { return "", false, nil })
	if err == nil || !strings.Contains(err.Error(), "sam: command not found") || strings.Contains(err.Error(), "template.yaml fails") {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	for name, p := range tpl.Parameters {
		d, _ := p.(map[string]any)["Description"].(string)
		if d == "" {
			t.Errorf("parameter %s has no Description to list", name)
			continue
		}
		if !strings.Contains(out.String(), "  "+name+" (") || !strings.Contains(out.String(), strings.Join(strings.Fields(d), " ")) {
			t.Errorf("parameter %s is not listed with its Description", name)
		}
	}
	out.Reset()
	if err := run(&out, r, false, func() (string, bool, error) { return "SAM CLI, version 1.140.0", true, nil }); err != nil {
		t.Errorf("with sam installed: %v\n%s", err, out.String())
	}
}

// make help lists every target the Makefile declares .PHONY.
func TestMakeHelpListsEveryTarget(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	mk := string(b)
	var phony []string
	for line := range strings.SplitSeq(mk, "\n") {
		if rest, ok := strings.CutPrefix(line, ".PHONY:"); ok {
			phony = append(phony, strings.Fields(rest)...)
		}
	}
	help, _, _ := strings.Cut(mk[strings.Index(mk, "\nhelp:"):], "\n\n")
	if len(phony) < 10 {
		t.Fatalf(".PHONY lists %v", phony)
	}
	for _, target := range phony {
		if target != "help" && !strings.Contains(help, `"make `+target+` `) {
			t.Errorf("make help does not list %s", target)
		}
	}
}
