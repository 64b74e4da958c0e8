package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestConsole(t *testing.T) {
	lines := []struct {
		line  string
		quiet bool // shown without ATRIUM_VERBOSE
	}{
		{`{"level":"INFO","msg":"request","function":"auth","status":400}`, true},
		{`{"level":"INFO","msg":"housekeeping","pass":"request_log_sweep","examined":0,"deleted":0,"left_overdue":0,"oldest_overdue_age_s":0,"finished":true,"ok":true}`, false},
		{`{"Function":"housekeeping","OldestOverdueRequestLogAge":0,"_aws":{"Timestamp":1}}`, false},
		{`{"level":"INFO","msg":"housekeeping","pass":"account_deletions","resumed":1,"finished":1,"failed":0,"ok":true}`, true},
		{`{"level":"INFO","msg":"housekeeping","pass":"source_secrets","examined":0,"ok":false}`, true},
		{`{"level":"WARN","msg":"housekeeping","pass":"source_secrets","examined":0,"ok":true}`, true},
		{`{"level":"ERROR","msg":"housekeeping failed"}`, true},
		{`not JSON at all`, true},
	}
	var all, quiet strings.Builder
	for _, l := range lines {
		all.WriteString(l.line + "\n")
		if l.quiet {
			quiet.WriteString(l.line + "\n")
		}
	}
	for _, verbose := range []bool{false, true} {
		var out bytes.Buffer
		c := newConsole(&out, verbose)
		// Written in odd pieces, as a writer may be: lines are judged whole.
		in := []byte(all.String())
		for len(in) > 0 {
			n := min(7, len(in))
			if _, err := c.Write(in[:n]); err != nil {
				t.Fatal(err)
			}
			in = in[n:]
		}
		want := quiet.String()
		if verbose {
			want = all.String()
		}
		if out.String() != want {
			t.Errorf("verbose=%v: console shows\n%s\nwant\n%s", verbose, out.String(), want)
		}
	}
}
