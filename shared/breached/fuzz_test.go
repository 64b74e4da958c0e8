package breached

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// parseErrorShape is every message a malformed answer may produce: a line
// number and a fixed reason, never the line itself.
var parseErrorShape = regexp.MustCompile(`^(empty response|line [1-9][0-9]*: [a-z ]+)$`)

// FuzzParseRange checks the answer parser: it never panics, its errors never
// echo the answer, and whatever it accepts is exactly the canonical form
// "SUFFIX:COUNT" (upper case, LF) of the input, which parses back to the same
// entries. The seeds run with every plain go test.
func FuzzParseRange(f *testing.F) {
	padded := append(append([]string{}, rangeLines[breachedPrefix]...), otherPadding...)
	for _, seed := range []string{
		strings.Join(rangeLines[breachedPrefix], "\r\n"),
		strings.Join(padded, "\r\n") + "\r\n",
		strings.Join(paddingLines[paddedPrefix], "\n"),
		strings.ToLower(strings.Join(otherLines, "\n")) + "\n",
		breachedSuffix + ":999999999999999999",
		"",
		"\r\n",
		breachedSuffix + ":3\n\n",
		breachedSuffix + ":03",
		breachedSuffix + ":-1",
		breachedSuffix + ":1000000000000000000",
		breachedSuffix + ":3\r",
		breachedSuffix[1:] + ":3",
		"G" + breachedSuffix[1:] + ":3",
		breachedSuffix + "::3",
		"<html><body>503 Service Unavailable</body></html>",
	} {
		f.Add([]byte(seed))
	}

	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := parseAll(body)
		if err != nil {
			if !parseErrorShape.MatchString(err.Error()) {
				t.Fatalf("error %q does not have the shape of a parse error", err)
			}
			if _, lerr := lookupRange(body, suffix{}); lerr == nil {
				t.Fatal("lookupRange accepted an answer parseRange refused")
			}
			return
		}
		if len(got) == 0 {
			t.Fatal("accepted an answer with no entries")
		}

		var canon bytes.Buffer
		most := map[string]int64{}
		for i, e := range got {
			for _, c := range []byte(e.Suffix) {
				if u, ok := upperHex(c); !ok || u != c {
					t.Fatalf("entry %d suffix %q is not upper-case hex", i, e.Suffix)
				}
			}
			if len(e.Suffix) != suffixLen || e.Count < 0 {
				t.Fatalf("entry %d is %+v", i, e)
			}
			if i > 0 {
				canon.WriteByte('\n')
			}
			fmt.Fprintf(&canon, "%s:%d", e.Suffix, e.Count)
			most[e.Suffix] = max(most[e.Suffix], e.Count)
		}

		// The input, up to case and line terminators, is the canonical form.
		norm := bytes.ToUpper(body)
		norm = bytes.ReplaceAll(norm, []byte("\r\n"), []byte("\n"))
		norm = bytes.TrimSuffix(norm, []byte("\n"))
		if !bytes.Equal(norm, canon.Bytes()) {
			t.Fatalf("accepted %q, whose canonical form is %q", body, canon.Bytes())
		}

		// The canonical form parses back to the same entries.
		again, err := parseAll(canon.Bytes())
		if err != nil {
			t.Fatalf("canonical form %q refused: %v", canon.Bytes(), err)
		}
		if fmt.Sprint(again) != fmt.Sprint(got) {
			t.Fatalf("canonical form parsed as %v, want %v", again, got)
		}

		// lookupRange agrees with the entries.
		for s, want := range most {
			var key suffix
			copy(key[:], s)
			if n, err := lookupRange(body, key); err != nil || n != want {
				t.Fatalf("lookupRange(%s) = %d, %v; want %d", s, n, err, want)
			}
		}
	})
}
