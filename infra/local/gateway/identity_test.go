package gateway_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/password"
)

func TestSignupVerifyLoginLogout(t *testing.T) {
	email, pass := newAddress(t), strongPassword(t)

	r := do(t, request{method: "POST", path: "/v1/signup", body: map[string]string{"email": strings.ToUpper(email)}})
	if r.Status != http.StatusAccepted || strings.TrimSpace(string(r.Raw)) != `{"status":"verification_sent"}` {
		t.Fatalf("signup: %d %s", r.Status, r.Raw)
	}
	if r.Header.Get("X-Request-Id") == "" || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("shared response headers missing: %v", r.Header)
	}
	mails := testenv.WaitForMails(t, email, 1)
	if mails[0].Subject != "Confirm your email address for Atrium" {
		t.Fatalf("subject %q", mails[0].Subject)
	}
	vt := testenv.LinkToken(t, mails[0])
	remember(vt)
	if !strings.Contains(mails[0].Text, "http://localhost:5173/verify-email#token=") {
		t.Fatalf("verification link missing: %q", mails[0].Text)
	}

	// Not active yet: a correct login is refused exactly like a wrong
	// password, and no link is sent; signing up again sends a second link.
	r = do(t, request{method: "POST", path: "/v1/login", body: map[string]string{"email": email, "password": pass}})
	wantProblem(t, r, http.StatusUnauthorized, "invalid_credentials")
	r = do(t, request{method: "POST", path: "/v1/signup", body: map[string]string{"email": email}})
	if r.Status != http.StatusAccepted {
		t.Fatalf("second signup: %d %s", r.Status, r.Raw)
	}
	testenv.WaitForMails(t, email, 2)

	// Opening the link, the person chooses the password; the policy applies,
	// and a refused one leaves the link usable.
	for _, weak := range []string{"Short-pass-91", "passwordpassword", strings.Split(email, "@")[0] + "example",
		"p\u200ba\u200bs\u200bs\u200bw\u200bo\u200br\u200bd\u200bp\u200ba\u200bs\u200bs"} {
		r = do(t, request{method: "POST", path: "/v1/signup/verify", body: `{"token":"` + vt + `","password":"` + weak + `"}`})
		wantProblem(t, r, http.StatusBadRequest, "validation_failed")
	}
	r = do(t, request{method: "POST", path: "/v1/signup/verify", body: map[string]string{"token": vt, "password": pass}})
	if r.Status != http.StatusCreated {
		t.Fatalf("verify: %d %s", r.Status, r.Raw)
	}
	token := r.str("session", "token")
	remember(token)
	if r.str("account", "email") != email || r.JSON["account"].(map[string]any)["email_verified"] != true ||
		r.str("account", "plan") != "standard" || !strings.HasPrefix(r.str("account", "id"), "acct_") {
		t.Fatalf("verify account: %s", r.Raw)
	}
	if exp, err := time.Parse(time.RFC3339, r.str("session", "expires_at")); err != nil || exp.Before(time.Now()) {
		t.Fatalf("session expires_at %q", r.str("session", "expires_at"))
	}
	cookie := sessionCookie(t, r)
	if cookie.Value != token {
		t.Fatal("cookie does not carry the session token")
	}

	// The link is single-use; the second link (of the second signup) is dead too now.
	r = do(t, request{method: "POST", path: "/v1/signup/verify", body: map[string]string{"token": vt, "password": pass}})
	wantProblem(t, r, http.StatusBadRequest, "invalid_token")
	second := testenv.LinkToken(t, testenv.WaitForMails(t, email, 2)[0])
	remember(second)
	r = do(t, request{method: "POST", path: "/v1/signup/verify", body: map[string]string{"token": second, "password": pass}})
	wantProblem(t, r, http.StatusBadRequest, "invalid_token")

	r = do(t, request{method: "GET", path: "/v1/account", header: bearer(token)})
	if r.Status != http.StatusOK || r.str("email") != email || r.str("plan") != "standard" || r.JSON["email_verified"] != true {
		t.Fatalf("account: %d %s", r.Status, r.Raw)
	}
	for _, k := range []string{"id", "email", "plan", "email_verified", "created_at"} {
		if _, ok := r.JSON[k]; !ok {
			t.Fatalf("account lacks %s: %s", k, r.Raw)
		}
	}
	if len(r.JSON) != 5 {
		t.Fatalf("account shows more than its five fields: %s", r.Raw)
	}

	r = do(t, request{method: "POST", path: "/v1/login", body: map[string]string{"email": email, "password": pass}})
	if r.Status != http.StatusOK || r.str("account", "email") != email {
		t.Fatalf("login: %d %s", r.Status, r.Raw)
	}
	second = r.str("session", "token")
	remember(second)
	if second == token {
		t.Fatal("login reused a session token")
	}

	r = do(t, request{method: "POST", path: "/v1/logout", header: bearer(token)})
	if r.Status != http.StatusNoContent {
		t.Fatalf("logout: %d %s", r.Status, r.Raw)
	}
	// Revoked at once; the other session lives on.
	wantProblem(t, do(t, request{method: "GET", path: "/v1/account", header: bearer(token)}), http.StatusUnauthorized, "unauthenticated")
	wantProblem(t, do(t, request{method: "POST", path: "/v1/logout", header: bearer(token)}), http.StatusUnauthorized, "unauthenticated")
	if r := do(t, request{method: "GET", path: "/v1/account", header: bearer(second)}); r.Status != http.StatusOK {
		t.Fatalf("other session: %d %s", r.Status, r.Raw)
	}
}

func sessionCookie(t *testing.T, r response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == identity.CookieName {
			if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" {
				t.Fatalf("session cookie attributes: %+v", c)
			}
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", identity.CookieName, r.Header["Set-Cookie"])
	return nil
}

func TestSignupDoesNotRevealExistingAddresses(t *testing.T) {
	existing, pass := newAddress(t), strongPassword(t)
	signUpAndVerify(t, existing, pass)
	fresh := newAddress(t)

	a := do(t, request{method: "POST", path: "/v1/signup", body: map[string]string{"email": existing}})
	b := do(t, request{method: "POST", path: "/v1/signup", body: map[string]string{"email": fresh}})
	if a.Status != b.Status || string(a.Raw) != string(b.Raw) || a.Status != http.StatusAccepted {
		t.Fatalf("existing %d %s vs new %d %s", a.Status, a.Raw, b.Status, b.Raw)
	}
	if a.Header.Get("Content-Type") != b.Header.Get("Content-Type") || len(a.Header) != len(b.Header) {
		t.Fatalf("headers differ: %v vs %v", a.Header, b.Header)
	}
	got := testenv.WaitForMails(t, existing, 2)
	if got[0].Subject != "You already have an Atrium account" || strings.Contains(got[0].Text, "#token=") {
		t.Fatalf("existing address got %q: %q", got[0].Subject, got[0].Text)
	}
	if testenv.WaitForMails(t, fresh, 1)[0].Subject != "Confirm your email address for Atrium" {
		t.Fatal("new address did not get a verification email")
	}
	// The existing account's password is unchanged by the second signup.
	r := do(t, request{method: "POST", path: "/v1/login", body: map[string]string{"email": existing, "password": pass}})
	if r.Status != http.StatusOK {
		t.Fatalf("login with the original password: %d %s", r.Status, r.Raw)
	}
}

func TestLoginFailuresLookAlike(t *testing.T) {
	email, pass := newAddress(t), strongPassword(t)
	signUpAndVerify(t, email, pass)
	unknown := newAddress(t)
	wrong := strongPassword(t)

	a := do(t, request{method: "POST", path: "/v1/login", body: map[string]string{"email": unknown, "password": pass}})
	b := do(t, request{method: "POST", path: "/v1/login", body: map[string]string{"email": email, "password": wrong}})
	wantProblem(t, a, http.StatusUnauthorized, "invalid_credentials")
	wantProblem(t, b, http.StatusUnauthorized, "invalid_credentials")
	delete(a.JSON, "request_id")
	delete(b.JSON, "request_id")
	if fmt.Sprint(a.JSON) != fmt.Sprint(b.JSON) {
		t.Fatalf("unknown address %v vs wrong password %v", a.JSON, b.JSON)
	}
	// A pending account with a wrong password is just a wrong password.
	pending := newAddress(t)
	if r := do(t, request{method: "POST", path: "/v1/signup", body: map[string]string{"email": pending}}); r.Status != http.StatusAccepted {
		t.Fatalf("signup: %d", r.Status)
	}
	wantProblem(t, do(t, request{method: "POST", path: "/v1/login", body: map[string]string{"email": pending, "password": wrong}}),
		http.StatusUnauthorized, "invalid_credentials")
	if n := len(testenv.Mails(t, pending)); n != 1 {
		t.Fatalf("a failed login sent mail: %d messages", n)
	}
}

// itemsOf counts the state table's items whose key mentions s.
func itemsOf(t *testing.T, st *stack.Stack, s string) int {
	t.Helper()
	db := stack.DynamoDBClient(st.DynamoDBEndpoint)
	n := 0
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: aws.String(st.Tables["StateTable"]), ConsistentRead: aws.Bool(true)})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, item := range page.Items {
			var k struct {
				PK    string `dynamodbav:"pk"`
				Email string `dynamodbav:"email"`
			}
			_ = attributevalue.UnmarshalMap(item, &k)
			if strings.Contains(k.PK, s) || k.Email == s {
				n++
			}
		}
	}
	return n
}

func TestBadInputChangesNothing(t *testing.T) {
	email := newAddress(t)
	big := `{"email":"` + email + `","password":"` + strings.Repeat("x", 20000) + `"}`
	cases := []struct {
		name   string
		path   string
		body   any
		header map[string]string
		status int
		code   string
		field  string
	}{
		{"invalid email", "/v1/signup", map[string]string{"email": "not-an-address"}, nil, 400, "validation_failed", "email"},
		{"email too long", "/v1/signup", map[string]string{"email": strings.Repeat("a", 250) + "@example.com"}, nil, 400, "validation_failed", "email"},
		{"a password at signup (chosen on the link's page)", "/v1/signup", map[string]string{"email": email, "password": "plum-harbor-lantern-91-quartz"}, nil, 400, "validation_failed", "password"},
		{"field name in another case", "/v1/signup", `{"Email":"` + email + `"}`, nil, 400, "validation_failed", "Email"},
		{"repeated name", "/v1/signup", `{"email":"` + email + `","email":"` + email + `"}`, nil, 400, "malformed_json", ""},
		{"unknown field", "/v1/signup", `{"email":"` + email + `","admin":true}`, nil, 400, "validation_failed", "admin"},
		{"trailing data", "/v1/signup", `{"email":"` + email + `"} {}`, nil, 400, "malformed_json", ""},
		{"wrong type", "/v1/signup", `{"email":["` + email + `"]}`, nil, 400, "validation_failed", "email"},
		{"not JSON", "/v1/signup", `email=` + email, nil, 400, "malformed_json", ""},
		{"empty body", "/v1/signup", " ", nil, 400, "malformed_json", ""},
		{"wrong content type", "/v1/signup", `{"email":"` + email + `"}`, map[string]string{"Content-Type": "text/plain"}, 415, "unsupported_media_type", ""},
		{"body too large", "/v1/signup", big, nil, 413, "body_too_large", ""},
		{"login invalid email", "/v1/login", map[string]string{"email": "nobody", "password": "x"}, nil, 400, "validation_failed", "email"},
		{"login password over 256 bytes", "/v1/login", map[string]string{"email": email, "password": strings.Repeat("p", 257)}, nil, 400, "validation_failed", "password"},
		{"verify empty token", "/v1/signup/verify", map[string]string{"token": "", "password": "plum-harbor-lantern-91-quartz"}, nil, 400, "validation_failed", "token"},
		{"verify oversized token", "/v1/signup/verify", map[string]string{"token": strings.Repeat("t", 129), "password": "plum-harbor-lantern-91-quartz"}, nil, 400, "validation_failed", "token"},
		{"verify without password", "/v1/signup/verify", map[string]string{"token": "dGhpcyBpcyBub3QgYSB0b2tlbiB3ZSBldmVyIGlzc3VlZA"}, nil, 400, "validation_failed", "password"},
		{"verify password over 256 bytes", "/v1/signup/verify", map[string]string{"token": "dGhpcyBpcyBub3QgYSB0b2tlbiB3ZSBldmVyIGlzc3VlZA", "password": strings.Repeat("plum-harbor-", 22)}, nil, 400, "validation_failed", "password"},
		{"verify unknown token", "/v1/signup/verify", map[string]string{"token": "dGhpcyBpcyBub3QgYSB0b2tlbiB3ZSBldmVyIGlzc3VlZA", "password": "plum-harbor-lantern-91-quartz"}, nil, 400, "invalid_token", ""},
		{"unknown route", "/v1/nothing-here", map[string]string{}, nil, 404, "not_found", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Every case is invalid on purpose: only the answer is checked against the contract.
			r := do(t, request{method: "POST", path: tc.path, body: tc.body, header: tc.header, malformed: true})
			wantProblem(t, r, tc.status, tc.code)
			if tc.field != "" {
				errs, _ := r.JSON["errors"].([]any)
				found := false
				for _, e := range errs {
					if e.(map[string]any)["field"] == tc.field {
						found = true
					}
				}
				if !found {
					t.Fatalf("no error names field %q: %s", tc.field, r.Raw)
				}
			}
			if strings.Contains(string(r.Raw), "plum-harbor") || strings.Contains(string(r.Raw), "passwordpassword") {
				t.Fatalf("response echoes the password: %s", r.Raw)
			}
		})
	}
	if n := itemsOf(t, theStack, email); n != 0 {
		t.Fatalf("refused requests stored %d items", n)
	}
	if n := len(testenv.Mails(t, email)); n != 0 {
		t.Fatalf("refused requests sent %d emails", n)
	}
	r := do(t, request{method: "GET", path: "/v1/login"})
	wantProblem(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
	if r.Header.Get("Allow") == "" {
		t.Fatal("405 without Allow")
	}
}

func TestExpiredVerificationToken(t *testing.T) {
	email := newAddress(t)
	if r := do(t, request{method: "POST", path: "/v1/signup", body: map[string]string{"email": email}}); r.Status != http.StatusAccepted {
		t.Fatalf("signup: %d", r.Status)
	}
	testenv.WaitForMails(t, email, 1)
	db := stack.DynamoDBClient(theStack.DynamoDBEndpoint)
	live := identity.NewStore(db, theStack.Tables["StateTable"], nil)
	cred, err := live.Credential(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	acctID := cred.AccountID
	// A token issued 25 hours ago, with the 24-hour lifetime, has expired;
	// it is still stored (TTL deletes late), and must be refused all the same.
	past := identity.NewStore(db, theStack.Tables["StateTable"], func() time.Time { return time.Now().Add(-25 * time.Hour) })
	old, err := past.IssueToken(context.Background(), identity.Token{Kind: identity.TokenVerifyEmail, AccountID: acctID}, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	remember(old)
	wantProblem(t, do(t, request{method: "POST", path: "/v1/signup/verify", body: map[string]string{"token": old, "password": strongPassword(t)}}), http.StatusBadRequest, "invalid_token")
	acct, err := live.Account(context.Background(), acctID)
	if err != nil || acct.Status != identity.StatusPending {
		t.Fatalf("expired token changed the account: %+v %v", acct, err)
	}
}

func TestSessionRules(t *testing.T) {
	email, pass := newAddress(t), strongPassword(t)
	token, account := signUpAndVerify(t, email, pass)
	cookie := &http.Cookie{Name: identity.CookieName, Value: token}

	if r := do(t, request{method: "GET", path: "/v1/account", cookie: cookie}); r.Status != http.StatusOK {
		t.Fatalf("cookie GET: %d %s", r.Status, r.Raw)
	}
	wantProblem(t, do(t, request{method: "POST", path: "/v1/logout", cookie: cookie}), http.StatusForbidden, "origin_not_allowed")
	wantProblem(t, do(t, request{method: "POST", path: "/v1/logout", cookie: cookie, header: map[string]string{"Origin": "https://evil.example"}}),
		http.StatusForbidden, "origin_not_allowed")
	// Bearer requests need no Origin (no ambient credential to forge).
	for _, bad := range []string{"", "garbage", token + "x", strings.Replace(token, ".", "", 1), "Basic " + token} {
		h := bearer(bad)
		if strings.HasPrefix(bad, "Basic") {
			h = map[string]string{"Authorization": bad}
		}
		// A missing or malformed credential, on purpose: only the answer is checked against the contract.
		wantProblem(t, do(t, request{method: "GET", path: "/v1/account", header: h, malformed: true}), http.StatusUnauthorized, "unauthenticated")
	}
	r := do(t, request{method: "POST", path: "/v1/logout", cookie: cookie, header: map[string]string{"Origin": "http://localhost:5173"}})
	if r.Status != http.StatusNoContent {
		t.Fatalf("cookie logout from the dashboard origin: %d %s", r.Status, r.Raw)
	}
	wantProblem(t, do(t, request{method: "GET", path: "/v1/account", cookie: cookie}), http.StatusUnauthorized, "unauthenticated")

	// Idle and absolute limits are enforced on every request, not left to TTL.
	db := stack.DynamoDBClient(theStack.DynamoDBEndpoint)
	acctID := account["id"].(string)
	policy := identity.SessionPolicy{IdleTimeout: 30 * time.Minute, MaxLifetime: 12 * time.Hour}
	for name, age := range map[string]time.Duration{"idle": 31 * time.Minute, "absolute": 13 * time.Hour} {
		p := policy
		if name == "absolute" {
			p.IdleTimeout = 24 * time.Hour // idle would allow it: only the absolute limit refuses
		}
		old := identity.NewStore(db, theStack.Tables["StateTable"], func() time.Time { return time.Now().Add(-age) })
		_, tok, err := old.CreateSession(context.Background(), acctID, p)
		if err != nil {
			t.Fatal(err)
		}
		remember(tok)
		wantProblem(t, do(t, request{method: "GET", path: "/v1/account", header: bearer(tok)}), http.StatusUnauthorized, "unauthenticated")
	}
}

func TestLoginUpgradesOutdatedHash(t *testing.T) {
	email, pass := newAddress(t), strongPassword(t)
	_, account := signUpAndVerify(t, email, pass)
	if account["id"] == "" {
		t.Fatal("no account id")
	}
	db := stack.DynamoDBClient(theStack.DynamoDBEndpoint)
	store := identity.NewStore(db, theStack.Tables["StateTable"], nil)
	cred, err := store.Credential(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	stronger := password.Default
	stronger.Time++
	old, err := password.NewHasher(stronger)
	if err != nil {
		t.Fatal(err)
	}
	outdated, err := old.Hash(pass)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := store.ReplacePasswordHash(context.Background(), email, cred.PasswordHash, outdated, false); !ok || err != nil {
		t.Fatalf("plant outdated hash: %v %v", ok, err)
	}
	if r := do(t, request{method: "POST", path: "/v1/login", body: map[string]string{"email": email, "password": pass}}); r.Status != http.StatusOK {
		t.Fatalf("login with outdated hash: %d %s", r.Status, r.Raw)
	}
	cred, err = store.Credential(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	current, _ := password.NewHasher(password.Default)
	if ok, rehash, err := current.Verify(pass, cred.PasswordHash); !ok || rehash || err != nil {
		t.Fatalf("hash not upgraded to current parameters: ok=%v rehash=%v err=%v", ok, rehash, err)
	}
	if r := do(t, request{method: "POST", path: "/v1/login", body: map[string]string{"email": email, "password": pass}}); r.Status != http.StatusOK {
		t.Fatalf("login after upgrade: %d", r.Status)
	}
}

func TestConcurrentSignupsMakeOneAccount(t *testing.T) {
	email := newAddress(t)
	const n = 50
	pass := strongPassword(t)
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = do(t, request{method: "POST", path: "/v1/signup", body: map[string]string{"email": email}}).Status
		}()
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusAccepted {
			t.Fatalf("signup %d: %d", i, s)
		}
	}
	mails := testenv.WaitForMails(t, email, n)
	verified := make([]int, len(mails))
	for i, m := range mails {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := testenv.LinkToken(t, m)
			remember(tok)
			verified[i] = do(t, request{method: "POST", path: "/v1/signup/verify", body: map[string]string{"token": tok, "password": pass}}).Status
		}()
	}
	wg.Wait()
	created := 0
	for _, s := range verified {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusBadRequest:
		default:
			t.Fatalf("verify answered %d", s)
		}
	}
	if created != 1 {
		t.Fatalf("%d verifications succeeded, want exactly 1", created)
	}
	// One account item and one claim for the address, whatever the interleaving.
	if got := itemsOf(t, theStack, email); got != 2 {
		t.Fatalf("%d items for the address, want 2 (account and claim)", got)
	}
}
