package complianceapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/shared/compliance"
)

// rawTimes reads the strings at each path of a JSON answer, as sent.
func rawTimes(t *testing.T, w *httptest.ResponseRecorder, paths ...[]string) []string {
	t.Helper()
	var doc any
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatalf("%d %s: %v", w.Code, w.Body, err)
	}
	var out []string
	for _, p := range paths {
		v := doc
		for _, k := range p {
			switch x := v.(type) {
			case map[string]any:
				v = x[k]
			case []any:
				v = x[0]
			}
		}
		s, _ := v.(string)
		out = append(out, s)
	}
	return out
}

// Every time the function answers is the instant it recorded, in UTC to
// the nanosecond, as the contract's Time says: the clock here reads a
// sub-millisecond instant in another zone, so a time cut to the second or
// the millisecond, or written in the clock's zone, differs from want.
func TestTimesUTCToTheNanosecond(t *testing.T) {
	f := newFixture(t, nil)
	zone := time.FixedZone("UTC+05:30", 5*3600+30*60)
	f.clock.Set(f.clock.Now().Truncate(time.Second).Add(123456789 * time.Nanosecond).In(zone))
	want := f.clock.Now().UTC().Format(time.RFC3339Nano)
	if want[len(want)-11:] != ".123456789Z" {
		t.Fatalf("the clock reads %s", want)
	}
	_, token := f.account(t)

	check := func(what string, w *httptest.ResponseRecorder, status int, paths ...[]string) {
		t.Helper()
		if w.Code != status {
			t.Fatalf("%s: %d %s", what, w.Code, w.Body)
		}
		for i, got := range rawTimes(t, w, paths...) {
			if got != want {
				t.Errorf("%s: %v is %q, want %q", what, paths[i], got, want)
			}
		}
	}
	check("POST /v1/compliance/nda", f.call("POST", "/v1/compliance/nda", token, ndaBody), http.StatusCreated,
		[]string{"nda", "accepted_at"})
	check("POST /v1/compliance/nda again", f.call("POST", "/v1/compliance/nda", token, ndaBody), http.StatusOK,
		[]string{"nda", "accepted_at"})
	check("POST /v1/compliance/requests", f.call("POST", "/v1/compliance/requests", token,
		bodyOf(compliance.TypePentestNotice, f.clock.Now())), http.StatusCreated, []string{"request", "created_at"})
	check("GET /v1/compliance/requests", f.call("GET", "/v1/compliance/requests", token, ""), http.StatusOK,
		[]string{"requests", "0", "created_at"}, []string{"nda", "accepted", "accepted_at"})
	check("POST /v1/dmca", postNotice(f, noticeJSON(t, validNotice()), ""), http.StatusCreated,
		[]string{"notice", "received_at"})
}
