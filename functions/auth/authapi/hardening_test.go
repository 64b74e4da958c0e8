package authapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/mail"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// The security regression suite of issue #13: each class an outside review
// broke, replayed over HTTP against DynamoDB Local and Mailpit, concurrently
// and from many loopback source addresses where the class is a race.

// answer is what a requester observes of one response, less its request id.
type answer struct {
	status     int
	code       string
	retryAfter string
	body       string // the problem or result, request_id removed
	headers    string // the names of the headers set, sorted
}

// send posts body to path over real HTTP from the loopback source address i.
func (f *fixture) send(t testing.TB, i int, path, body string) answer {
	t.Helper()
	resp, err := testenv.LoopbackClient(i).Post(f.srv.URL+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Error(err)
		return answer{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	code, _ := out["code"].(string)
	delete(out, "request_id")
	norm, _ := json.Marshal(out)
	var names []string
	for k := range resp.Header {
		if k != "Date" && k != "Content-Length" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	return answer{resp.StatusCode, code, resp.Header.Get("Retry-After"), string(norm), strings.Join(names, ",")}
}

// burst sends n requests at once, request i from loopback source i, and
// returns the answers in request order.
func (f *fixture) burst(t testing.TB, n int, req func(i int) (path, body string)) []answer {
	t.Helper()
	out := make([]answer, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			path, body := req(i)
			ready.Done()
			<-start
			out[i] = f.send(t, i, path, body)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return out
}

func tally(as []answer) map[string]int {
	m := map[string]int{}
	for _, a := range as {
		m[fmt.Sprintf("%d %s", a.status, a.code)]++
	}
	return m
}

func (f *fixture) failures(t testing.TB, email string) throttle.Failures {
	t.Helper()
	fl, err := f.svc.throttle.LoginFailures(context.Background(), f.svc.keyer.Of("email", email))
	if err != nil {
		t.Fatal(err)
	}
	return fl
}

// TestPendingAddressCannotBePreHijacked: an attacker who signs up the
// victim's address, before or after the victim and as often as the cap
// allows, never holds the account the victim verifies: whichever link the
// victim opens (one the attacker caused included), in whatever order and
// however often, the account gets the password the victim types there, and
// every other link dies. A login on the pending address mints no link.
func TestPendingAddressCannotBePreHijacked(t *testing.T) {
	f := newFixture(t, io.Discard)
	const victimPass, attackerPass = strong, "attacker-chosen-orchid-47-delta"
	tests := []struct {
		name          string
		attackerFirst bool
		clicks        []string // whose signup's link the victim opens, in order
	}{
		{"attacker first, victim opens the newest link", true, []string{"victim"}},
		{"attacker first, victim opens the attacker's (oldest) link", true, []string{"attacker", "victim"}},
		{"victim first, victim opens their own (oldest) link", false, []string{"victim", "attacker"}},
		{"victim first, victim opens the attacker's newer link", false, []string{"attacker"}},
		{"every link, each twice", true, []string{"attacker", "victim", "attacker", "victim"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			email := testenv.Email(t)
			links := map[string]string{}
			signup := func(who string, from int) {
				if a := f.send(t, from, "/v1/signup", signupBody(email)); a.status != http.StatusAccepted {
					t.Fatalf("%s's signup: %+v", who, a)
				}
				links[who] = testenv.LinkToken(t, testenv.WaitForMails(t, email, len(links)+1)[0])
			}
			if tc.attackerFirst {
				signup("attacker", 9)
				signup("victim", 1)
			} else {
				signup("victim", 1)
				signup("attacker", 9)
			}
			// The attacker's login on the pending address is a plain failure and mails nothing.
			f.mail.reset()
			if a := f.send(t, 9, "/v1/login", creds(email, attackerPass)); a.status != http.StatusUnauthorized || a.code != "invalid_credentials" {
				t.Fatalf("attacker's login on the pending address: %+v", a)
			}
			if n := f.mail.reset(); n != 0 {
				t.Fatalf("a login on a pending address sent %d emails", n)
			}
			for i, who := range tc.clicks {
				a := f.send(t, 1, "/v1/signup/verify", verifyBody(links[who], victimPass))
				switch {
				case i == 0 && a.status != http.StatusCreated:
					t.Fatalf("victim opening the %s's link first: %+v, want 201", who, a)
				case i > 0 && (a.status != http.StatusBadRequest || a.code != "invalid_token"):
					t.Fatalf("a link opened after activation (%s's): %+v, want 400 invalid_token", who, a)
				}
			}
			// Holding a link would not help the attacker now, nor does signing up over the account.
			if a := f.send(t, 9, "/v1/signup/verify", verifyBody(links["attacker"], attackerPass)); a.status != http.StatusBadRequest {
				t.Fatalf("the attacker's link after the victim verified: %+v", a)
			}
			if a := f.send(t, 9, "/v1/signup", signupBody(email)); a.status != http.StatusAccepted {
				t.Fatalf("attacker's signup after verification: %+v", a)
			}
			if a := f.send(t, 9, "/v1/login", creds(email, attackerPass)); a.status != http.StatusUnauthorized {
				t.Fatalf("attacker's password opens the account: %+v", a)
			}
			if a := f.send(t, 1, "/v1/login", creds(email, victimPass)); a.status != http.StatusOK {
				t.Fatalf("victim's password: %+v", a)
			}
		})
	}
}

// TestFloodedAddressCanStillVerifyAndReset: an attacker who asks for more
// verification or reset emails than the cap allows, before the owner asks,
// cannot keep the owner from getting in: refused requests count nothing, and
// every link the cap let through works for whoever holds the mailbox.
func TestFloodedAddressCanStillVerifyAndReset(t *testing.T) {
	const capPerHour = 3
	generous := throttle.Limit{Max: 100000, Window: time.Minute}
	f := newFixtureWith(t, io.Discard, options{limits: &Limits{Login: generous, Signup: generous, Verify: generous,
		Password: generous, Mail: throttle.Limit{Max: capPerHour, Window: throttle.MailWindow}}})

	t.Run("verification", func(t *testing.T) {
		email := testenv.Email(t)
		for i := range 10 {
			if a := f.send(t, 20+i, "/v1/signup", signupBody(email)); a.status != http.StatusAccepted {
				t.Fatalf("attacker's signup %d: %+v", i, a)
			}
		}
		f.clock.Advance(10 * time.Minute)
		if a := f.send(t, 1, "/v1/signup", signupBody(email)); a.status != http.StatusAccepted {
			t.Fatalf("owner's signup: %+v", a)
		}
		mails := testenv.WaitForMails(t, email, capPerHour)
		// The owner's own request was capped, but any link in the mailbox works for them.
		if a := f.send(t, 1, "/v1/signup/verify", verifyBody(testenv.LinkToken(t, mails[len(mails)-1]), strong)); a.status != http.StatusCreated {
			t.Fatalf("owner opening the oldest link: %+v", a)
		}
	})

	t.Run("reset", func(t *testing.T) {
		email := testenv.Email(t)
		f.activeAccount(t, email)
		// One request a minute for two whole hours: each still sends its first emails.
		f.clock.Set(f.clock.Now().Truncate(time.Hour).Add(time.Hour))
		sent := 0
		for range 120 {
			if a := f.send(t, 30, "/v1/password/forgot", `{"email":"`+email+`"}`); a.status != http.StatusAccepted {
				t.Fatalf("attacker's forgot: %+v", a)
			}
			sent += f.mail.reset()
			f.clock.Advance(time.Minute)
		}
		if sent != 2*capPerHour {
			t.Fatalf("%d reset emails in two hours of flooding, want the cap of each hour (%d)", sent, 2*capPerHour)
		}
		link := testenv.LinkToken(t, testenv.WaitForMails(t, email, 1+sent)[0])
		if a := f.send(t, 1, "/v1/password/reset", `{"token":"`+link+`","new_password":"`+pwStrong3+`"}`); a.status != http.StatusNoContent {
			t.Fatalf("owner using the newest link: %+v", a)
		}
	})
}

// TestConcurrentGuessesAreAnsweredAsSequentialOnes: a burst of guesses for
// one address from 120 source addresses evaluates exactly as many passwords
// as the same guesses one after another would (five free failures, then a
// delay), for a real and an unknown address alike; a right password inside
// a later burst logs in only if it is the one attempt the policy allows.
func TestConcurrentGuessesAreAnsweredAsSequentialOnes(t *testing.T) {
	policy := throttle.DefaultPolicy()
	for _, known := range []bool{true, false} {
		t.Run(fmt.Sprintf("account exists: %v", known), func(t *testing.T) {
			f := newFixture(t, io.Discard)
			email := testenv.Email(t)
			if known {
				f.activeAccount(t, email)
			}
			const n = 120
			got := tally(f.burst(t, n, func(int) (string, string) { return "/v1/login", creds(email, "wrong-"+strong) }))
			_, verified := f.hasher.reset()
			want := map[string]int{"401 invalid_credentials": policy.FreeFailures, "429 login_delayed": n - policy.FreeFailures}
			if fmt.Sprint(got) != fmt.Sprint(want) || len(verified) != policy.FreeFailures {
				t.Fatalf("answers %v with %d passwords checked; want %v with %d checked", got, len(verified), want, policy.FreeFailures)
			}
			if c := f.failures(t, email).Count; c != policy.FreeFailures {
				t.Fatalf("%d failures counted, want %d", c, policy.FreeFailures)
			}

			// Once the delay has run, one more attempt is allowed: of 20 wrong
			// guesses and the right password sent at once, exactly one is checked.
			f.clock.Advance(policy.Delay(policy.FreeFailures))
			answers := f.burst(t, 21, func(i int) (string, string) {
				if i == 10 {
					return "/v1/login", creds(email, strong)
				}
				return "/v1/login", creds(email, "wrong-"+strong)
			})
			_, verified = f.hasher.reset()
			got = tally(answers)
			if len(verified) != 1 || got["429 login_delayed"] != 20 {
				t.Fatalf("second burst: %v with %d passwords checked; want 20 delayed and one checked", got, len(verified))
			}
			if !known && got["200 "] != 0 {
				t.Fatal("an unknown address logged in")
			}
			if answers[10].status == http.StatusOK {
				if c := f.failures(t, email).Count; c != 0 {
					t.Fatalf("a login succeeded but %d failures are still counted", c)
				}
			} else if c := f.failures(t, email).Count; c != policy.FreeFailures+1 {
				t.Fatalf("%d failures counted after the second burst, want %d", c, policy.FreeFailures+1)
			}
		})
	}
}

// TestConfirmingAPasswordTakesItsSlotToo: a signed-in session cannot be used
// to guess the password faster than login allows (password change and
// account deletion confirm it under the same counter).
func TestConfirmingAPasswordTakesItsSlotToo(t *testing.T) {
	policy := throttle.DefaultPolicy()
	f := newFixture(t, io.Discard)
	email := testenv.Email(t)
	token := f.activeAccount(t, email)
	const n = 30
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i], _, _ = f.call(t, http.MethodPost, "/v1/password/change", pwChangeBody("wrong-"+strong, "new-"+strong), testenv.LoopbackAddr(i), token)
		}()
	}
	wg.Wait()
	_, verified := f.hasher.reset()
	refused := 0
	for _, s := range statuses {
		if s == http.StatusTooManyRequests {
			refused++
		}
	}
	if len(verified) != policy.FreeFailures || refused != n-policy.FreeFailures {
		t.Fatalf("%d passwords checked, %d refused; want %d checked and the rest refused (statuses %v)", len(verified), refused, policy.FreeFailures, statuses)
	}
}

// TestClientOverItsLimitCausesNoHashing: a client's burst beyond its login
// limit is refused before any password is checked or any failure counted.
func TestClientOverItsLimitCausesNoHashing(t *testing.T) {
	five := throttle.Limit{Max: 5, Window: time.Minute}
	generous := throttle.Limit{Max: 100000, Window: time.Minute}
	f := newFixtureWith(t, io.Discard, options{limits: &Limits{Login: five, Signup: generous, Verify: generous, Password: generous, Mail: generous}})
	email := testenv.Email(t)
	f.activeAccount(t, email)
	const n = 40
	// From distinct sources, none is limited.
	got := tally(f.burst(t, n, func(int) (string, string) { return "/v1/login", creds(testenv.Email(t), "wrong-"+strong) }))
	_, verified := f.hasher.reset()
	if got["401 invalid_credentials"] != n || len(verified) != n {
		t.Fatalf("distinct sources: %v with %d passwords checked", got, len(verified))
	}
	// Now from one source: exactly the limit is evaluated.
	answers := make([]answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = f.send(t, 200, "/v1/login", creds(testenv.Email(t), "wrong-"+strong))
		}()
	}
	wg.Wait()
	_, verified = f.hasher.reset()
	got = tally(answers)
	if got["429 rate_limited"] != n-five.Max || got["401 invalid_credentials"] != five.Max || len(verified) != five.Max {
		t.Fatalf("one source, %d at once: %v with %d passwords checked; want %d evaluated", n, got, len(verified), five.Max)
	}
}

// failingMail is an SMTP server that is down.
type failingMail struct{}

func (failingMail) Send(context.Context, mail.Message) error {
	return errors.New("smtp: connection refused")
}

// TestNothingObservableDependsOnWhetherAnAddressHasAnAccount replays the
// sequences an onlooker can run against an address, for an address with an
// account and one without, with mail working and with mail down: every
// answer is the same but for its request id, and so is the hashing work.
func TestNothingObservableDependsOnWhetherAnAddressHasAnAccount(t *testing.T) {
	small := throttle.Policy{FreeFailures: 1, BaseDelay: time.Second, MaxDelay: time.Second, LockAfter: 3,
		Memory: time.Hour, LockMemory: time.Hour}
	for _, mailDown := range []bool{false, true} {
		t.Run(fmt.Sprintf("mail down: %v", mailDown), func(t *testing.T) {
			f := newFixtureWith(t, io.Discard, options{throttle: &small})
			existing, fresh := testenv.Email(t), testenv.Email(t)
			f.activeAccount(t, existing)
			if mailDown {
				f.mail.next = failingMail{}
			}
			chosen := "onlooker-chosen-cobalt-62-fjord"
			type step struct{ path, body string }
			sequence := func(email string) []step {
				return []step{
					{"/v1/signup", signupBody(email)},   // sign up with a password of one's choosing,
					{"/v1/login", creds(email, chosen)}, // then log in with it,
					{"/v1/password/forgot", `{"email":"` + email + `"}`},
					{"/v1/login", creds(email, "x-"+chosen)}, // and fail until the lock
					{"/v1/login", creds(email, "y-"+chosen)},
					{"/v1/login", creds(email, chosen)},
				}
			}
			run := func(email string) (as []answer, work []int) {
				for _, s := range sequence(email) {
					as = append(as, f.send(t, 3, s.path, s.body))
					h, v := f.hasher.reset()
					work = append(work, h, len(v))
					f.clock.Advance(small.MaxDelay)
				}
				return as, work
			}
			a1, w1 := run(existing)
			a2, w2 := run(fresh)
			for i := range a1 {
				if a1[i] != a2[i] {
					t.Errorf("step %d (%s): with an account %+v\nwithout %+v", i, sequence("")[i].path, a1[i], a2[i])
				}
			}
			if fmt.Sprint(w1) != fmt.Sprint(w2) {
				t.Errorf("hashing work with an account %v, without %v", w1, w2)
			}
			if a1[1].status != http.StatusUnauthorized || a1[5].code != "login_locked" {
				t.Errorf("sequence: %+v", a1)
			}
		})
	}
}

// TestSignupAnswersEveryAddressAtTheSameMoment: a new address costs more
// writes than a known one, so both answers wait for the same floor.
func TestSignupAnswersEveryAddressAtTheSameMoment(t *testing.T) {
	var (
		mu     sync.Mutex
		floors []time.Duration
		began  time.Time
	)
	f := newFixtureWith(t, io.Discard, options{answerPause: func(_ context.Context, until time.Time) {
		mu.Lock()
		defer mu.Unlock()
		// The floor counts from the handler's start, a moment after began.
		floors = append(floors, until.Sub(began).Truncate(time.Second))
	}})
	existing := testenv.Email(t)
	f.activeAccount(t, existing)
	floors = nil // the set-up's own signup
	for _, addr := range []string{existing, testenv.Email(t)} {
		began = time.Now()
		if a := f.send(t, 4, "/v1/signup", signupBody(addr)); a.status != http.StatusAccepted {
			t.Fatalf("signup: %+v", a)
		}
	}
	if want := []time.Duration{DefaultAnswerFloor, DefaultAnswerFloor}; fmt.Sprint(floors) != fmt.Sprint(want) {
		t.Fatalf("signup floors %v, want %v", floors, want)
	}
}

// TestMailToOneAddressIsCapped: 30 requests of each kind a stranger can send
// about one address cause at most the cap's worth of emails, and every one
// of the 30 is answered alike.
func TestMailToOneAddressIsCapped(t *testing.T) {
	const capPerHour = 3
	generous := throttle.Limit{Max: 100000, Window: time.Minute}
	f := newFixtureWith(t, io.Discard, options{limits: &Limits{Login: generous, Signup: generous, Verify: generous,
		Password: generous, Mail: throttle.Limit{Max: capPerHour, Window: throttle.MailWindow}}})
	existing, pending := testenv.Email(t), testenv.Email(t)
	f.activeAccount(t, existing)
	tests := []struct {
		name, to, path, body string
	}{
		{"forgot password", existing, "/v1/password/forgot", `{"email":"` + existing + `"}`},
		{"signup of a registered address", existing, "/v1/signup", signupBody(existing)},
		{"signup of an unverified address", pending, "/v1/signup", signupBody(pending)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.mail.reset()
			answers := f.burst(t, 30, func(int) (string, string) { return tc.path, tc.body })
			if got := tally(answers); len(got) != 1 || got["202 "] != 30 {
				t.Fatalf("answers %v, want 30 × 202", got)
			}
			if n := f.mail.reset(); n != capPerHour {
				t.Fatalf("%d emails sent, want the cap, %d", n, capPerHour)
			}
			// An hour later the address can be mailed again.
			f.clock.Advance(2 * throttle.MailWindow)
			if a := f.send(t, 0, tc.path, tc.body); a.status != http.StatusAccepted || f.mail.reset() != 1 {
				t.Fatalf("after the window: %+v", a)
			}
		})
	}
}
