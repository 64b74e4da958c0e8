package gateway_test

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// The security regression suite, black box: each class of issue #13 replayed
// through the whole local API (one port, every function), from many
// loopback source addresses. The package's log check covers these flows.

// TestAPendingAddressCannotBePreHijacked: an attacker signs up the victim's
// address first, logs in on it, and signs it up again after the victim. The
// victim opens the attacker's first link and chooses a password: the account
// is theirs; every other link is dead, and no password the attacker chose
// ever opens it.
func TestAPendingAddressCannotBePreHijacked(t *testing.T) {
	email, victim, attacker := newAddress(t), strongPassword(t), strongPassword(t)
	signup := func(from int) {
		r := do(t, request{method: "POST", path: "/v1/signup", from: from, body: map[string]string{"email": email}})
		if r.Status != http.StatusAccepted {
			t.Fatalf("signup: %d %s", r.Status, r.Raw)
		}
	}
	signup(66)
	wantProblem(t, do(t, request{method: "POST", path: "/v1/login", from: 66, body: map[string]string{"email": email, "password": attacker}}),
		http.StatusUnauthorized, "invalid_credentials")
	signup(7)
	signup(66)
	mails := testenv.WaitForMails(t, email, 3) // newest first; a login on a pending address sends none
	if len(mails) != 3 {
		t.Fatalf("%d emails, want one per signup", len(mails))
	}
	links := []string{testenv.LinkToken(t, mails[2]), testenv.LinkToken(t, mails[1]), testenv.LinkToken(t, mails[0])}
	remember(links...)

	r := do(t, request{method: "POST", path: "/v1/signup/verify", from: 7, body: map[string]string{"token": links[0], "password": victim}})
	if r.Status != http.StatusCreated {
		t.Fatalf("victim opening the attacker's first link: %d %s", r.Status, r.Raw)
	}
	remember(r.str("session", "token"))
	for _, link := range links {
		wantProblem(t, do(t, request{method: "POST", path: "/v1/signup/verify", from: 66, body: map[string]string{"token": link, "password": attacker}}),
			http.StatusBadRequest, "invalid_token")
	}
	wantProblem(t, do(t, request{method: "POST", path: "/v1/login", from: 66, body: map[string]string{"email": email, "password": attacker}}),
		http.StatusUnauthorized, "invalid_credentials")
	if r := do(t, request{method: "POST", path: "/v1/login", from: 7, body: map[string]string{"email": email, "password": victim}}); r.Status != http.StatusOK {
		t.Fatalf("victim's login: %d %s", r.Status, r.Raw)
	} else {
		remember(r.str("session", "token"))
	}
}

// TestABurstOfGuessesPassesNoBrake: 60 wrong guesses for one address sent at
// once from 60 source addresses. However the burst spreads in time, no more
// passwords are checked than the policy allows guesses one after another in
// that time (five free, then delays of 1 s, 2 s, 4 s, …), and every checked
// guess is counted.
func TestABurstOfGuessesPassesNoBrake(t *testing.T) {
	email := newAddress(t)
	token, _ := signUpAndVerify(t, email, strongPassword(t))
	const n = 60
	body, _ := json.Marshal(map[string]string{"email": email, "password": "wrong-guess-" + strongPassword(t)})
	statuses := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := loopbackClient(100+i).Post(api(t)+"/v1/login", "application/json", strings.NewReader(string(body)))
			if err != nil {
				statuses[i] = err.Error()
				return
			}
			defer resp.Body.Close()
			var p struct{ Code string }
			raw, _ := io.ReadAll(resp.Body)
			_ = json.Unmarshal(raw, &p)
			statuses[i] = fmt.Sprint(resp.StatusCode, " ", p.Code)
		}()
	}
	began := time.Now()
	close(start)
	wg.Wait()
	elapsed := time.Since(began)
	checked := 0
	for _, s := range statuses {
		switch s {
		case "401 invalid_credentials":
			checked++
		case "429 login_delayed":
		default:
			t.Fatalf("answer %q", s)
		}
	}
	p := throttle.DefaultPolicy()
	allowed := p.FreeFailures + int(math.Log2(elapsed.Seconds()/p.BaseDelay.Seconds()+1))
	if checked > allowed {
		t.Fatalf("%d guesses checked in a %s burst; one after another, at most %d would have been", checked, elapsed.Round(time.Millisecond), allowed)
	}
	if got := failureCount(t, token); got != checked {
		t.Fatalf("%d guesses checked but %d failures counted", checked, got)
	}
}

// failureCount reads the address's consecutive failures as its owner sees
// them, in the GDPR export.
func failureCount(t *testing.T, token string) int {
	t.Helper()
	r := do(t, request{method: "GET", path: "/v1/account/export", header: bearer(token)})
	if r.Status != http.StatusOK {
		t.Fatalf("export: %d %s", r.Status, r.Raw)
	}
	f, _ := r.JSON["login_failures"].(map[string]any)
	n, _ := f["count"].(float64)
	return int(n)
}
