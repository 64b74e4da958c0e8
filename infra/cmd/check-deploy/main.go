// Command check-deploy is what an operator runs before deploying (make
// check-deploy): it checks template.yaml with the project's own checks
// (infra/cfn), lists the template's parameters with their meaning, and
// confirms that the AWS SAM CLI is installed at the version README.md names.
// With -sam-only it checks the SAM CLI alone (make deploy runs that first).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/atrium-cdn/atrium/infra/cfn"
)

// SAMVersion is the oldest AWS SAM CLI the deployment is known to work with
// (BuildMethod: makefile for provided.al2023 on arm64); README.md names it.
const SAMVersion = "1.130.0"

// samInstall says how to install the SAM CLI.
const samInstall = `install the AWS SAM CLI ` + SAMVersion + ` or later: ` +
	`https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html ` +
	`(Linux: the x86_64 or arm64 zip and sudo ./sam-installation/install; macOS: brew install aws-sam-cli), then sam --version`

func main() {
	samOnly := flag.Bool("sam-only", false, "check the SAM CLI only")
	flag.Parse()
	if err := run(os.Stdout, ".", *samOnly, samVersion); err != nil {
		fmt.Fprintln(os.Stderr, "check-deploy:", err)
		os.Exit(1)
	}
}

// samVersion runs sam --version; found is false when sam is not on PATH.
func samVersion() (out string, found bool, err error) {
	path, err := exec.LookPath("sam")
	if err != nil {
		return "", false, nil
	}
	b, err := exec.Command(path, "--version").Output() // #nosec G204 -- the sam found on PATH, fixed arguments
	return string(b), true, err
}

func run(w io.Writer, root string, samOnly bool, sam func() (string, bool, error)) error {
	var failed []string
	if !samOnly {
		tpl, err := cfn.Load(filepath.Join(root, "template.yaml"))
		if err != nil {
			return err
		}
		if errs := cfn.CheckTemplate(tpl, root); len(errs) > 0 {
			for _, e := range errs {
				fmt.Fprintln(w, "template.yaml:", e)
			}
			failed = append(failed, fmt.Sprintf("template.yaml fails %d check(s)", len(errs)))
		} else {
			fmt.Fprintf(w, "template.yaml: %d resources, every check of infra/cfn passes\n\n", len(tpl.Resources))
		}
		ListParameters(w, tpl)
		fmt.Fprintln(w)
	}
	if err := CheckSAM(sam); err != nil {
		failed = append(failed, err.Error())
	} else {
		fmt.Fprintf(w, "sam: the AWS SAM CLI is installed, %s or later\n", SAMVersion)
	}
	if len(failed) > 0 {
		return errors.New(strings.Join(failed, "; "))
	}
	return nil
}

// ListParameters prints each parameter of the template, required ones
// first, with its default and its Description.
func ListParameters(w io.Writer, tpl *cfn.Template) {
	names := make([]string, 0, len(tpl.Parameters))
	for n := range tpl.Parameters {
		names = append(names, n)
	}
	required := func(n string) bool {
		p, _ := tpl.Parameters[n].(map[string]any)
		_, has := p["Default"]
		return !has
	}
	sort.Slice(names, func(i, j int) bool {
		if required(names[i]) != required(names[j]) {
			return required(names[i])
		}
		return names[i] < names[j]
	})
	fmt.Fprintln(w, "Parameters (sam deploy --guided asks for each; required ones first):")
	for _, n := range names {
		p, _ := tpl.Parameters[n].(map[string]any)
		d, _ := p["Description"].(string)
		state := "required"
		if !required(n) {
			state = fmt.Sprintf("default %q", fmt.Sprint(p["Default"]))
		}
		fmt.Fprintf(w, "  %s (%s)\n      %s\n", n, state, strings.Join(strings.Fields(d), " "))
	}
}

var samVersionPattern = regexp.MustCompile(`(\d+)\.(\d+)\.(\d+)`)

// CheckSAM confirms that sam is installed at SAMVersion or later.
func CheckSAM(sam func() (string, bool, error)) error {
	out, found, err := sam()
	switch {
	case !found:
		return errors.New("sam: command not found; " + samInstall)
	case err != nil:
		return fmt.Errorf("sam --version failed (%v); %s", err, samInstall)
	}
	m := samVersionPattern.FindStringSubmatch(out)
	if m == nil {
		return fmt.Errorf("sam --version said %q, not a version; %s", strings.TrimSpace(out), samInstall)
	}
	if older(m[1:], samVersionPattern.FindStringSubmatch(SAMVersion)[1:]) {
		return fmt.Errorf("sam is %s.%s.%s, older than %s; %s", m[1], m[2], m[3], SAMVersion, samInstall)
	}
	return nil
}

func older(have, want []string) bool {
	for i := range have {
		h, _ := strconv.Atoi(have[i])
		w, _ := strconv.Atoi(want[i])
		if h != w {
			return h < w
		}
	}
	return false
}
