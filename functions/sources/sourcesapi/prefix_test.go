package sourcesapi

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/sources"
)

// TestPrefixRules: one rule for the prefix, applied identically by
// registration and PATCH: the same refusal (field, code and detail) before
// any side effect, or the prefix stored as given.
func TestPrefixRules(t *testing.T) {
	f := newFixture(t, Limits{Standard: 100, Premium: 100})
	acct, tok := f.account(t, plans.Standard)
	id := f.register(t, tok, "Existing", readerKey, f.secret())
	tests := []struct {
		prefix string
		ok     bool
	}{
		{"", true},
		{"images/", true},
		{"images", true},
		{"photos/2024/", true},
		{"a.b/c..d/...", true},
		{"ümlaut/café/", true},
		{"with space/", true},
		{"100%/", true},
		{"%41/", true},
		{strings.Repeat("p", 1024), true},

		{"../../etc", false},
		{"..", false},
		{"../", false},
		{"a/..", false},
		{"a/../b/", false},
		{".", false},
		{"./images/", false},
		{"a/./b", false},
		{"%2e%2e/etc/", false},
		{"a/%2E%2e/", false},
		{"a/.%2e", false},
		{"%2e/", false},
		{"a%2fb/", false},
		{"a%5C..%5Cb/", false},
		{"/", false},
		{"/etc/", false},
		{"//images/", false},
		{"a//b/", false},
		{"a/b//", false},
		{`a\b`, false},
		{`..\..\etc`, false},
		{"a\x00b", false},
		{"a\nb/", false},
		{"a\x7fb", false},
		{"a\u0085b", false},
		{"a\u202eb/", false},
		{"a\u200bb/", false},
		{"\ufeffimages/", false},
		{strings.Repeat("p", 1025), false},
		{strings.Repeat("é", 513), false},
	}
	for _, tt := range tests {
		t.Run(tt.prefix[:min(len(tt.prefix), 24)], func(t *testing.T) {
			before := f.do(t, http.MethodGet, "/v1/sources/"+id, tok, nil).want(t, http.StatusOK, "").source(t)
			count := len(f.storedSources(t, acct))
			checks := f.checker.count()
			f.clock.Advance(time.Second)
			create := f.do(t, http.MethodPost, "/v1/sources", tok,
				f.createBody("Prefix", readerKey, f.secret(), map[string]any{"prefix": tt.prefix}))
			patch := f.do(t, http.MethodPatch, "/v1/sources/"+id, tok, map[string]any{"prefix": tt.prefix})
			if tt.ok {
				create.want(t, http.StatusCreated, "")
				patch.want(t, http.StatusOK, "")
				if got := create.source(t)["prefix"]; got != tt.prefix {
					t.Errorf("registration stored prefix %q", got)
				}
				if got := patch.source(t)["prefix"]; got != tt.prefix {
					t.Errorf("PATCH stored prefix %q", got)
				}
				return
			}
			create.want(t, http.StatusBadRequest, "validation_failed")
			patch.want(t, http.StatusBadRequest, "validation_failed")
			if len(create.problem.Errors) != 1 || create.problem.Errors[0].Field != "prefix" ||
				create.problem.Errors[0].Code != "invalid_prefix" || create.problem.Errors[0].Detail == "" {
				t.Fatalf("registration field errors %+v, want one prefix/invalid_prefix", create.problem.Errors)
			}
			if !reflect.DeepEqual(create.problem.Errors, patch.problem.Errors) {
				t.Errorf("registration refused with %+v, PATCH with %+v", create.problem.Errors, patch.problem.Errors)
			}
			if f.checker.count() != checks {
				t.Error("an invalid prefix reached the read check")
			}
			if n := len(f.storedSources(t, acct)); n != count {
				t.Errorf("%d sources stored, was %d", n, count)
			}
			after := f.do(t, http.MethodGet, "/v1/sources/"+id, tok, nil).want(t, http.StatusOK, "").source(t)
			if !reflect.DeepEqual(after, before) {
				t.Errorf("PATCH changed the source: %v, was %v", after, before)
			}
		})
	}

	// Invalid UTF-8 never reaches the rule: the decoder refuses the body.
	for _, method := range []string{http.MethodPost, http.MethodPatch} {
		path := "/v1/sources"
		if method == http.MethodPatch {
			path += "/" + id
		}
		f.doRaw(t, method, path, tok, "application/json", "{\"prefix\":\"a\xffb/\"}").want(t, http.StatusBadRequest, "malformed_json")
	}
	if problem := sources.PrefixProblem("a\xffb/"); problem == "" {
		t.Error("PrefixProblem accepts invalid UTF-8")
	}
	f.assertNoLeaks(t)
}

// TestPrefixChangeUnverifies: the read check covers the prefix it was made
// under. A PATCH that moves the prefix marks the source unverified (with a
// notice saying how to verify it), a PATCH that does not leaves it as it
// was, and sending the keys again verifies it under the new prefix, even
// when a PATCH lands between that check and its record.
func TestPrefixChangeUnverifies(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acct, tok := f.account(t, plans.Standard)
	id := f.register(t, tok, "Photos", readerKey, f.secret())
	path := "/v1/sources/" + id
	verification := func(r response) (status string, checkedAt time.Time) {
		t.Helper()
		v, _ := r.source(t)["verification"].(map[string]any)
		status, _ = v["status"].(string)
		return status, timeField(t, v, "checked_at")
	}
	stored := func() sources.Verification {
		t.Helper()
		return decodeSource(t, f.sourceItem(t, acct, id)).Verification
	}
	created := f.clock.Now()

	steps := []struct {
		name        string
		body        map[string]any
		wantStatus  string
		wantNotice  bool
		wantChecked time.Time
	}{
		{"rename only", map[string]any{"name": "Renamed"}, "verified", false, created},
		{"the same prefix", map[string]any{"prefix": ""}, "verified", false, created},
		{"a new prefix", map[string]any{"prefix": "images/"}, "unverified", true, created},
		{"rename while unverified", map[string]any{"name": "Again"}, "unverified", true, created},
		{"the new prefix again", map[string]any{"prefix": "images/"}, "unverified", true, created},
		{"back to the checked prefix", map[string]any{"prefix": ""}, "unverified", true, created},
	}
	for _, st := range steps {
		f.clock.Advance(time.Second)
		r := f.do(t, http.MethodPatch, path, tok, st.body).want(t, http.StatusOK, "")
		status, checked := verification(r)
		if status != st.wantStatus || !checked.Equal(st.wantChecked) {
			t.Fatalf("%s: verification %s at %v, want %s at %v", st.name, status, checked, st.wantStatus, st.wantChecked)
		}
		if notice, _ := r.json["notice"].(string); (notice == Unverified) != st.wantNotice || (notice != "" && !st.wantNotice) {
			t.Fatalf("%s: notice %q", st.name, notice)
		}
		if v := stored(); v.Status != st.wantStatus {
			t.Fatalf("%s: stored verification %+v", st.name, v)
		}
		g := f.do(t, http.MethodGet, path, tok, nil).want(t, http.StatusOK, "")
		if s, _ := verification(g); s != st.wantStatus {
			t.Fatalf("%s: GET shows %s", st.name, s)
		}
	}

	// Sending the keys again checks them under the current prefix.
	f.do(t, http.MethodPatch, path, tok, map[string]any{"prefix": "images/"}).want(t, http.StatusOK, "")
	f.clock.Advance(time.Second)
	r := f.do(t, http.MethodPut, path+"/credentials", tok,
		map[string]any{"access_key_id": readerKey2, "secret_access_key": f.secret()}).want(t, http.StatusOK, "")
	if loc := f.checker.lastLocation(); loc.Prefix != "images/" {
		t.Fatalf("the keys were checked under prefix %q", loc.Prefix)
	}
	if status, checked := verification(r); status != "verified" || !checked.Equal(f.clock.Now()) || r.json["notice"] != nil {
		t.Fatalf("PUT credentials: %s", r.raw)
	}

	// A PATCH between the check and its record: the new keys are stored,
	// but the check was of the old prefix, so the source is unverified.
	f.clock.Advance(time.Second)
	f.sm.mu.Lock()
	f.sm.beforePut = func() {
		f.do(t, http.MethodPatch, path, tok, map[string]any{"prefix": "moved/"}).want(t, http.StatusOK, "")
	}
	f.sm.mu.Unlock()
	r = f.do(t, http.MethodPut, path+"/credentials", tok,
		map[string]any{"access_key_id": readerKey, "secret_access_key": f.secret()}).want(t, http.StatusOK, "")
	src := r.source(t)
	if status, _ := verification(r); status != "unverified" || r.json["notice"] != Unverified ||
		src["prefix"] != "moved/" || src["access_key_id_hint"] != "0001" {
		t.Fatalf("PUT credentials raced by a PATCH: %s", r.raw)
	}
	if item := f.sourceItem(t, acct, id); item["credentials_lock"] != nil {
		t.Fatal("the credentials lock was not released")
	}
	// ... and the keys can be sent again at once, which verifies it.
	r = f.do(t, http.MethodPut, path+"/credentials", tok,
		map[string]any{"access_key_id": readerKey, "secret_access_key": f.secret()}).want(t, http.StatusOK, "")
	if status, _ := verification(r); status != "verified" || f.checker.lastLocation().Prefix != "moved/" {
		t.Fatalf("PUT credentials after the race: %s", r.raw)
	}
	f.assertNoLeaks(t)
}
