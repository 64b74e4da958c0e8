package authapi

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

type attempt struct {
	status     int
	code       string
	retryAfter int
}

func (f *fixture) login(t *testing.T, email, pass, ip string) attempt {
	t.Helper()
	status, ra, out := f.call(t, http.MethodPost, "/v1/login", creds(email, pass), ip, "")
	code, _ := out["code"].(string)
	return attempt{status, code, ra}
}

// TestFailureDelaysGrowAndTheHundredthLocks walks one address through 100
// consecutive failures under the default policy: five free, then a delay
// that doubles (and whose Retry-After is honest: refused one second before,
// accepted at), capped at 15 minutes; the 100th failure locks, so the 101st
// attempt is refused even with the right password, and the owner is told.
func TestFailureDelaysGrowAndTheHundredthLocks(t *testing.T) {
	f := newFixture(t, &bytes.Buffer{})
	email := testenv.Email(t)
	f.activeAccount(t, email)
	policy := throttle.DefaultPolicy()

	var delays []int
	prev401 := false
	for failures := 0; failures < policy.LockAfter; {
		a := f.login(t, email, "wrong-"+strong, "")
		switch {
		case a.status == http.StatusUnauthorized && a.code == "invalid_credentials":
			if prev401 && failures >= policy.FreeFailures {
				t.Fatalf("failure %d came without a delay", failures+1)
			}
			prev401 = true
			failures++
			continue
		case a.status != http.StatusTooManyRequests || a.code != "login_delayed" || a.retryAfter < 1:
			t.Fatalf("after %d failures: %+v", failures, a)
		}
		want := int(policy.Delay(failures) / time.Second)
		if a.retryAfter != want {
			t.Fatalf("after %d failures Retry-After is %d s, want %d s", failures, a.retryAfter, want)
		}
		delays = append(delays, a.retryAfter)
		prev401 = false
		if a.retryAfter > 1 {
			f.clock.Advance(time.Duration(a.retryAfter-1) * time.Second)
			if b := f.login(t, email, strong, ""); b.code != "login_delayed" {
				t.Fatalf("a second before Retry-After ran out: %+v", b)
			}
			f.clock.Advance(time.Second)
		} else {
			f.clock.Advance(time.Second)
		}
	}
	if len(delays) != policy.LockAfter-policy.FreeFailures || delays[0] != 1 || delays[1] != 2 || delays[len(delays)-1] != 900 {
		t.Fatalf("%d delays %v: want 1, 2, 4, … up to 900 s, one per failure after the fifth", len(delays), delays)
	}
	f.clock.Advance(time.Hour)
	if a := f.login(t, email, strong, ""); a.status != http.StatusTooManyRequests || a.code != "login_locked" || a.retryAfter != 0 {
		t.Fatalf("101st attempt, right password: %+v; want 429 login_locked", a)
	}
	mails := testenv.WaitForMails(t, email, 2)
	if mails[0].Subject != "Your Atrium account is locked" || !strings.Contains(mails[0].Text, "/forgot-password") {
		t.Fatalf("lock email: %q", mails[0].Subject)
	}
}

// TestUnknownAddressIsThrottledLikeAKnownOne runs the same attempts against
// an address with an account and one without: every answer is the same.
func TestUnknownAddressIsThrottledLikeAKnownOne(t *testing.T) {
	small := throttle.Policy{FreeFailures: 2, BaseDelay: time.Second, MaxDelay: 4 * time.Second, LockAfter: 6,
		Memory: time.Hour, LockMemory: time.Hour}
	f := newFixtureWith(t, &bytes.Buffer{}, options{throttle: &small})
	known := testenv.Email(t)
	f.activeAccount(t, known)
	run := func(email string) []attempt {
		var seen []attempt
		for range 12 {
			a := f.login(t, email, "wrong-"+strong, "")
			seen = append(seen, a)
			f.clock.Advance(time.Duration(a.retryAfter) * time.Second)
		}
		return seen
	}
	k, u := run(known), run(testenv.Email(t))
	if fmt.Sprint(k) != fmt.Sprint(u) {
		t.Fatalf("known address: %v\nunknown address: %v", k, u)
	}
	if last := k[len(k)-1]; last.code != "login_locked" {
		t.Fatalf("sequence never locked: %v", k)
	}
}

// TestSuccessClearsFailuresAndTellsTheOwner: a login that succeeds after
// delays began clears the count and sends a "new sign-in" email.
func TestSuccessClearsFailuresAndTellsTheOwner(t *testing.T) {
	small := throttle.Policy{FreeFailures: 2, BaseDelay: time.Second, MaxDelay: time.Minute, LockAfter: 10,
		Memory: time.Hour, LockMemory: time.Hour}
	f := newFixtureWith(t, &bytes.Buffer{}, options{throttle: &small})
	email := testenv.Email(t)
	f.activeAccount(t, email)
	for range 3 {
		if a := f.login(t, email, "wrong-"+strong, ""); a.code == "login_delayed" {
			f.clock.Advance(time.Duration(a.retryAfter) * time.Second)
		}
	}
	f.clock.Advance(time.Minute)
	if a := f.login(t, email, strong, ""); a.status != http.StatusOK {
		t.Fatalf("right password after the delay: %+v", a)
	}
	mails := testenv.WaitForMails(t, email, 2)
	if mails[0].Subject != "New sign-in to your Atrium account" || !strings.Contains(mails[0].Text, "failed attempts") {
		t.Fatalf("sign-in notice: %q", mails[0].Subject)
	}
	// The count starts again from zero: two free failures, no delay.
	for i := range 2 {
		if a := f.login(t, email, "wrong-"+strong, ""); a.status != http.StatusUnauthorized {
			t.Fatalf("free failure %d after a success: %+v", i+1, a)
		}
	}
}

// TestPerClientRateLimits: each way in is limited per client address, with
// an honest Retry-After; another client is unaffected.
func TestPerClientRateLimits(t *testing.T) {
	two := throttle.Limit{Max: 2, Window: time.Minute}
	f := newFixtureWith(t, &bytes.Buffer{}, options{limits: &Limits{Login: two, Signup: two, Verify: two, Password: two}})
	email := testenv.Email(t)
	cases := []struct {
		name, path, body string
		allowed          int
	}{
		{"login", "/v1/login", creds(email, "wrong-"+strong), http.StatusUnauthorized},
		{"signup", "/v1/signup", signupBody(testenv.Email(t)), http.StatusAccepted},
		{"verify", "/v1/signup/verify", `{"token":"bm90LWEtcmVhbC10b2tlbi1qdXN0LWZvci10aGUtbGltaXQ","password":"` + strong + `"}`, http.StatusBadRequest},
		{"forgot", "/v1/password/forgot", `{"email":"` + email + `"}`, http.StatusAccepted},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ip := fmt.Sprintf("198.51.100.%d", i+1)
			for n := range 2 {
				if s, _, out := f.call(t, http.MethodPost, tc.path, tc.body, ip, ""); s != tc.allowed {
					t.Fatalf("request %d: %d %v", n+1, s, out)
				}
			}
			s, ra, out := f.call(t, http.MethodPost, tc.path, tc.body, ip, "")
			if s != http.StatusTooManyRequests || out["code"] != "rate_limited" || ra < 1 || ra > 120 {
				t.Fatalf("third request: %d Retry-After %d %v", s, ra, out)
			}
			if s, _, _ := f.call(t, http.MethodPost, tc.path, tc.body, fmt.Sprintf("203.0.113.%d", i+1), ""); s != tc.allowed {
				t.Fatalf("another client was limited: %d", s)
			}
			f.clock.Advance(time.Duration(ra-1) * time.Second)
			if s, _, _ := f.call(t, http.MethodPost, tc.path, tc.body, ip, ""); s != http.StatusTooManyRequests {
				t.Fatalf("a second before Retry-After ran out: %d", s)
			}
			// The refused request counted too; wait out its share as well.
			f.clock.Advance(2 * time.Minute)
			if s, _, _ := f.call(t, http.MethodPost, tc.path, tc.body, ip, ""); s != tc.allowed {
				t.Fatalf("after the window slid by: %d", s)
			}
		})
	}
}

// TestSecurityEventsCarryNoPersonalData: every authentication attempt leaves
// one security_event line with its outcome, and no line holds an address,
// a password or a client IP.
func TestSecurityEventsCarryNoPersonalData(t *testing.T) {
	var logs testenv.LogBuffer
	f := newFixtureWith(t, &logs, options{})
	email := testenv.Email(t)
	f.activeAccount(t, email)
	const ip = "192.0.2.77"
	f.login(t, email, "wrong-"+strong, ip)
	f.login(t, testenv.Email(t), "wrong-"+strong, ip)
	f.login(t, email, strong, ip)

	outcomes := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(logs.String()))
	for sc.Scan() {
		line := sc.Text()
		for _, secret := range []string{email, strong, ip, "@example.com"} {
			if strings.Contains(line, secret) {
				t.Fatalf("log line holds personal data: %s", line)
			}
		}
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		if ev["msg"] == "security_event" && ev["event"] == "login" {
			outcomes[fmt.Sprint(ev["outcome"], "/", ev["reason"], "/", ev["account_id"] != nil)]++
		}
	}
	want := map[string]int{"failure/wrong_password/true": 1, "failure/unknown_address/false": 1, "success/<nil>/true": 1}
	if fmt.Sprint(outcomes) != fmt.Sprint(want) {
		t.Fatalf("security events %v, want %v", outcomes, want)
	}
}
