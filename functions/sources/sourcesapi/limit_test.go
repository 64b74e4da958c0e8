package sourcesapi

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// concurrentCreates sends n registrations at once and returns the responses.
func concurrentCreates(t *testing.T, f *fixture, token string, n int) []response {
	t.Helper()
	bodies := make([]map[string]any, n)
	for i := range bodies {
		bodies[i] = f.createBody(fmt.Sprintf("Concurrent %d", i), readerKey, f.secret(), nil)
	}
	out := make([]response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = f.do(t, http.MethodPost, "/v1/sources", token, bodies[i])
		})
	}
	close(start)
	wg.Wait()
	return out
}

// checkRace counts the winners and checks every loser's refusal; it returns
// the winners' source ids.
func checkRace(t *testing.T, rs []response, wantWins int, plan string, limit int) []string {
	t.Helper()
	var won []string
	for _, r := range rs {
		switch {
		case r.status == http.StatusCreated:
			won = append(won, r.source(t)["id"].(string))
		case r.status == http.StatusConflict && r.problem.Code == "source_limit_reached":
			d := r.problem.Detail
			if !strings.Contains(d, plan) || !strings.Contains(d, fmt.Sprint(limit)) {
				t.Errorf("refusal %q does not name the %s plan and its limit %d", d, plan, limit)
			}
			if plan == plans.Standard && !strings.Contains(d, "upgrade") {
				t.Errorf("a standard account's refusal %q does not mention upgrading", d)
			}
		default:
			t.Errorf("unexpected answer %d %q: %s", r.status, r.problem.Code, r.raw)
		}
	}
	if len(won) != wantWins {
		t.Fatalf("%d of %d concurrent creates succeeded, want exactly %d", len(won), len(rs), wantWins)
	}
	return won
}

// wantSecretsOf fails unless the account's secrets are exactly those of the
// sources, and no intent is left.
func wantSecretsOf(t *testing.T, f *fixture, acct string, ids []string) {
	t.Helper()
	var want, got []string
	for _, id := range ids {
		want = append(want, f.secretName(acct, id))
	}
	for _, s := range f.listSecrets(t, f.prefix+acct+"/") {
		got = append(got, aws.ToString(s.Name))
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("secrets of the account %q, want exactly %q", got, want)
	}
	if in := f.intents(t); len(in) != 0 {
		t.Fatalf("%d intents left (first %+v)", len(in), *in[0])
	}
	var stored []string
	for _, s := range f.storedSources(t, acct) {
		stored = append(stored, s.ID)
	}
	slices.Sort(stored)
	wantIDs := slices.Sorted(slices.Values(ids))
	if !slices.Equal(stored, wantIDs) {
		t.Fatalf("source items %q, want %q", stored, wantIDs)
	}
	if n := f.sourceCount(t, acct); n != len(ids) {
		t.Fatalf("source_count %d, want %d", n, len(ids))
	}
}

// TestPlanLimitUnderConcurrentCreates: 8 registrations at once against a
// limit of 2 make exactly 2 sources and 2 secrets, the rest are refused with
// 409 and leave nothing behind; deleting a source frees a place; a premium
// account gets its own, higher limit.
func TestPlanLimitUnderConcurrentCreates(t *testing.T) {
	f := newFixture(t, Limits{Standard: 2, Premium: 5})
	acct, tok := f.account(t, plans.Standard)

	won := checkRace(t, concurrentCreates(t, f, tok, 8), 2, plans.Standard, 2)
	wantSecretsOf(t, f, acct, won)

	// At the limit, one more is refused before any check or secret.
	checks, created := f.checker.count(), len(f.sm.createdNames())
	r := f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody("One too many", readerKey, f.secret(), nil)).
		want(t, http.StatusConflict, "source_limit_reached")
	if r.problem.Detail != "Your standard plan allows 2 sources. Delete one, or upgrade to premium for more." {
		t.Errorf("detail %q", r.problem.Detail)
	}
	if f.checker.count() != checks || len(f.sm.createdNames()) != created {
		t.Fatal("a create over the limit reached the read check or Secrets Manager")
	}

	// Deleting one frees a place, for exactly one more.
	f.do(t, http.MethodDelete, "/v1/sources/"+won[0], tok, nil).want(t, http.StatusNoContent, "")
	again := checkRace(t, concurrentCreates(t, f, tok, 4), 1, plans.Standard, 2)
	wantSecretsOf(t, f, acct, []string{won[1], again[0]})

	// A premium account: five.
	premium, ptok := f.account(t, plans.Premium)
	pwon := checkRace(t, concurrentCreates(t, f, ptok, 8), 5, plans.Premium, 5)
	wantSecretsOf(t, f, premium, pwon)
	r = f.do(t, http.MethodPost, "/v1/sources", ptok, f.createBody("Sixth", readerKey, f.secret(), nil)).
		want(t, http.StatusConflict, "source_limit_reached")
	if r.problem.Detail != "Your premium plan allows 5 sources. Delete one to add another." {
		t.Errorf("premium detail %q", r.problem.Detail)
	}
	// The standard account's sources are untouched by the premium race.
	wantSecretsOf(t, f, acct, []string{won[1], again[0]})
	f.assertNoLeaks(t)
}
