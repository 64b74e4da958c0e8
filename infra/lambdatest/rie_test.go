package lambdatest_test

import (
	"encoding/json"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/atrium-cdn/atrium/functions/auth/authapi"
	"github.com/atrium-cdn/atrium/functions/billing/billingapi"
	"github.com/atrium-cdn/atrium/functions/deletion/deletionapi"
	"github.com/atrium-cdn/atrium/infra/lambdatest"
	"github.com/atrium-cdn/atrium/infra/local/fakes3"
	"github.com/atrium-cdn/atrium/infra/local/gateway"
	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/plans"
)

// flow is what the steps of TestHTTPFunctionsUnderRIE hand on to each other.
type flow struct {
	email, password string
	accountID       string // the account signup verification created
	verifyToken     string // from the verification email
	token           string // session token from signup verification (used by bearer)
	loginToken      string // session token from login (used by cookie)
	s3URL           string // the customer's bucket (an in-process S3)
	sourceID        string // the source registered
	deletionID      string // the account's deletion, once accepted
	pentestID       string // the compliance request announcing a pen test
}

// wrongPassword is not the account's password; it is refused like a failed login.
const wrongPassword = "amber-quarry-nimbus-41-thistle"

// Keys of the test bucket: a reader the bucket grants, for the sources steps.
const (
	s3Bucket = "rie-images"
	s3KeyID  = "AKIARIETESTREADER001"
	s3Secret = "rie-test-secret-key-0123456789abcdefghij" // #nosec G101 -- a made-up key of the in-process test bucket
)

// step is one invocation of one function through the emulator.
type step struct {
	name     string
	function string // folder under functions/, as in gateway.HTTPFunctions
	request  func(f *flow) lambdatest.HTTPRequest
	status   int
	problem  string // the problem code expected; "" for a success response
	check    func(t *testing.T, f *flow, res lambdatest.HTTPResult)
	// stream, when set, is a batch of stream records the function is invoked with first (as the
	// event source mapping invokes it); every record must be handled (no batchItemFailures).
	stream func(f *flow) []events.DynamoDBEventRecord
}

const sessionCookiePrefix = identity.CookieName + "="

func jsonBody(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func post(path, body string) lambdatest.HTTPRequest {
	return lambdatest.HTTPRequest{Method: http.MethodPost, Path: path, Body: body,
		Headers: map[string]string{"content-type": "application/json"}}
}

func bearer(r lambdatest.HTTPRequest, token string) lambdatest.HTTPRequest {
	h := map[string]string{"authorization": "Bearer " + token}
	for k, v := range r.Headers {
		h[k] = v
	}
	r.Headers = h
	return r
}

func getAccount() lambdatest.HTTPRequest {
	return lambdatest.HTTPRequest{Method: http.MethodGet, Path: "/v1/account"}
}

type sessionBody struct {
	Account identity.AccountView `json:"account"`
	Session struct {
		Token     string `json:"token"`
		ExpiresAt string `json:"expires_at"`
	} `json:"session"`
}

// checkSession decodes a new session's body, checks it is f's account, and
// checks the session cookie travels in the payload-2.0 cookies field.
func checkSession(t *testing.T, f *flow, res lambdatest.HTTPResult) string {
	t.Helper()
	var s sessionBody
	decode(t, res, &s)
	if s.Session.Token == "" || s.Session.ExpiresAt == "" {
		t.Fatalf("no session token or expiry in %s", res.Body)
	}
	if s.Account.Email != f.email || !s.Account.EmailVerified {
		t.Errorf("account = %+v, want the verified account of %s", s.Account, f.email)
	}
	if f.accountID != "" && s.Account.ID != f.accountID {
		t.Errorf("account id = %q, want %q", s.Account.ID, f.accountID)
	}
	f.accountID = s.Account.ID
	if !slices.ContainsFunc(res.Cookies, func(c string) bool { return strings.HasPrefix(c, sessionCookiePrefix+s.Session.Token+";") }) {
		t.Errorf("cookies = %q, want the session cookie %s… (payload 2.0 carries Set-Cookie in cookies)", res.Cookies, sessionCookiePrefix)
	}
	if v := res.Header("Set-Cookie"); v != "" {
		t.Errorf("Set-Cookie also in headers: %q", v)
	}
	return s.Session.Token
}

func decode(t *testing.T, res lambdatest.HTTPResult, dst any) {
	t.Helper()
	if ct := res.Header("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("content-type = %q, want application/json", ct)
	}
	if err := json.Unmarshal(res.BodyBytes(t), dst); err != nil {
		t.Fatalf("body %q: %v", res.Body, err)
	}
}

var steps = []step{
	{
		name: "signup", function: "auth", status: http.StatusAccepted,
		request: func(f *flow) lambdatest.HTTPRequest {
			return post("/v1/signup", jsonBody(map[string]string{"email": f.email}))
		},
		check: func(t *testing.T, f *flow, res lambdatest.HTTPResult) {
			var body map[string]any
			decode(t, res, &body)
			if len(body) != 1 || body["status"] != "verification_sent" {
				t.Errorf(`body = %s, want {"status":"verification_sent"}`, res.Body)
			}
			mails := testenv.WaitForMails(t, f.email, 1)
			f.verifyToken = testenv.LinkToken(t, mails[0])
		},
	},
	{
		name: "signup verify", function: "auth", status: http.StatusCreated,
		request: func(f *flow) lambdatest.HTTPRequest {
			return post("/v1/signup/verify", jsonBody(map[string]string{"token": f.verifyToken, "password": f.password}))
		},
		check: func(t *testing.T, f *flow, res lambdatest.HTTPResult) { f.token = checkSession(t, f, res) },
	},
	{
		name: "login with a base64-encoded body", function: "auth", status: http.StatusOK,
		request: func(f *flow) lambdatest.HTTPRequest {
			r := post("/v1/login", jsonBody(map[string]string{"email": f.email, "password": f.password}))
			r.Base64 = true
			return r
		},
		check: func(t *testing.T, f *flow, res lambdatest.HTTPResult) {
			f.loginToken = checkSession(t, f, res)
			if f.loginToken == f.token {
				t.Error("login returned the signup session's token")
			}
		},
	},
	{
		name: "malformed JSON", function: "auth", status: http.StatusBadRequest, problem: "malformed_json",
		request: func(f *flow) lambdatest.HTTPRequest {
			return post("/v1/login", `{"email": "`+f.email+`", "password": `)
		},
	},
	{
		name: "account without a session", function: "account", status: http.StatusUnauthorized, problem: "unauthenticated",
		request: func(*flow) lambdatest.HTTPRequest { return getAccount() },
	},
	{
		name: "account with a bearer token", function: "account", status: http.StatusOK,
		request: func(f *flow) lambdatest.HTTPRequest { return bearer(getAccount(), f.token) },
		check:   checkAccount,
	},
	{
		name: "account with the session cookie", function: "account", status: http.StatusOK,
		request: func(f *flow) lambdatest.HTTPRequest {
			r := getAccount()
			r.Cookies = []string{"theme=dark", sessionCookiePrefix + f.loginToken}
			return r
		},
		check: checkAccount,
	},
	{
		name: "register a source", function: "sources", status: http.StatusCreated,
		request: func(f *flow) lambdatest.HTTPRequest {
			return bearer(post("/v1/sources", jsonBody(map[string]string{
				"name": "Photos", "type": "s3_compatible", "bucket": s3Bucket, "region": "us-east-1",
				"endpoint": f.s3URL, "access_key_id": s3KeyID, "secret_access_key": s3Secret,
			})), f.token)
		},
		check: func(t *testing.T, f *flow, res lambdatest.HTTPResult) {
			var body struct {
				Source struct {
					ID   string `json:"id"`
					Hint string `json:"access_key_id_hint"`
				} `json:"source"`
			}
			decode(t, res, &body)
			if body.Source.ID == "" || body.Source.Hint != "R001" || strings.Contains(res.Body, s3Secret) {
				t.Errorf("source = %s", res.Body)
			}
			f.sourceID = body.Source.ID
		},
	},
	{
		name: "GDPR export", function: "account", status: http.StatusOK,
		request: func(f *flow) lambdatest.HTTPRequest {
			return bearer(lambdatest.HTTPRequest{Method: http.MethodGet, Path: "/v1/account/export"}, f.token)
		},
		check: func(t *testing.T, f *flow, res lambdatest.HTTPResult) {
			var doc struct {
				Format  string `json:"format"`
				Account struct {
					ID string `json:"id"`
				} `json:"account"`
				Sources []struct {
					ID string `json:"id"`
				} `json:"sources"`
			}
			decode(t, res, &doc)
			if doc.Format != "atrium-export-v1" || doc.Account.ID != f.accountID || len(doc.Sources) != 1 || doc.Sources[0].ID != f.sourceID {
				t.Errorf("export = %s", res.Body)
			}
			if !strings.HasPrefix(res.Header("Content-Disposition"), "attachment") {
				t.Errorf("Content-Disposition = %q", res.Header("Content-Disposition"))
			}
			if strings.Contains(res.Body, s3Secret) || strings.Contains(res.Body, f.password) || strings.Contains(res.Body, f.token) {
				t.Errorf("the export holds a secret")
			}
		},
	},
	{
		name: "an unknown source", function: "sources", status: http.StatusNotFound, problem: "source_not_found",
		request: func(f *flow) lambdatest.HTTPRequest {
			return bearer(lambdatest.HTTPRequest{Method: http.MethodGet, Path: "/v1/sources/src_nope", Route: "GET /v1/sources/{id}"}, f.token)
		},
	},
	{
		name: "billing without a session", function: "billing", status: http.StatusUnauthorized, problem: "unauthenticated",
		request: func(*flow) lambdatest.HTTPRequest { return getBilling() },
	},
	{
		name: "billing of a new account", function: "billing", status: http.StatusOK,
		request: func(f *flow) lambdatest.HTTPRequest { return bearer(getBilling(), f.token) },
		check: func(t *testing.T, _ *flow, res lambdatest.HTTPResult) {
			var v billingapi.View
			decode(t, res, &v)
			if v.Plan != plans.Standard || v.SubscriptionStatus != "none" || v.CurrentPeriodEnd != nil || v.GraceUntil != nil {
				t.Errorf("billing = %s, want the standard plan without a subscription", res.Body)
			}
		},
	},
	{
		// A customer created at stripe-mock (with the key from the Stripe secret) and linked
		// to the account in one transaction, and a Checkout Session opened.
		name: "checkout", function: "billing", status: http.StatusOK,
		request: func(f *flow) lambdatest.HTTPRequest {
			return bearer(post("/v1/billing/checkout", jsonBody(billingapi.CheckoutRequest{Plan: plans.Premium})), f.token)
		},
		check: checkStripePage,
	},
	{
		name: "billing portal of the linked customer", function: "billing", status: http.StatusOK,
		request: func(f *flow) lambdatest.HTTPRequest { return bearer(post("/v1/billing/portal", ""), f.token) },
		check:   checkStripePage,
	},
	{
		name: "stripe event with a forged signature", function: "stripewebhook", status: http.StatusBadRequest, problem: "signature_invalid",
		request: func(*flow) lambdatest.HTTPRequest { return stripeDelivery(ignoredEvent, forgedWebhookSecret) },
	},
	{
		name: "stripe event of an unhandled type", function: "stripewebhook", status: http.StatusOK,
		request: func(*flow) lambdatest.HTTPRequest { return stripeDelivery(ignoredEvent, stack.LocalWebhookSecret) },
		check:   checkReceipt("ignored"),
	},
	{
		// Handled, through the event ledger: a customer that is none of Atrium's changes nothing.
		name: "stripe event about an unknown customer", function: "stripewebhook", status: http.StatusOK,
		request: func(*flow) lambdatest.HTTPRequest {
			return stripeDelivery(unknownCustomerEvent, stack.LocalWebhookSecret)
		},
		check: checkReceipt("unknown_customer"),
	},
	{
		name: "the same stripe event delivered again", function: "stripewebhook", status: http.StatusOK,
		request: func(*flow) lambdatest.HTTPRequest {
			return stripeDelivery(unknownCustomerEvent, stack.LocalWebhookSecret)
		},
		check: checkReceipt("duplicate"),
	},
	// Compliance (P9, P10), with the bearer session while it lives. The account is still standard:
	// the Stripe events above changed nothing of it.
	{
		name: "a premium compliance request of a standard account", function: "compliance",
		status: http.StatusForbidden, problem: "premium_required",
		request: func(f *flow) lambdatest.HTTPRequest {
			return bearer(post("/v1/compliance/requests", `{"type":"soc2_report"}`), f.token)
		},
	},
	{
		// Any plan may announce a pen test; the account manager is emailed (Mailpit, through the
		// SMTP login read from the local Secrets Manager).
		name: "a pen-test notice", function: "compliance", status: http.StatusCreated,
		request: func(f *flow) lambdatest.HTTPRequest {
			start := time.Now().UTC().Add(24 * time.Hour).Truncate(time.Second)
			return bearer(post("/v1/compliance/requests", jsonBody(map[string]string{
				"type": "pentest_notice", "scope": "our staging site and its image URLs",
				"start": start.Format(time.RFC3339), "end": start.Add(72 * time.Hour).Format(time.RFC3339),
				"contact_name": pentestContact,
			})), f.token)
		},
		check: func(t *testing.T, f *flow, res lambdatest.HTTPResult) {
			var body struct {
				Request struct {
					ID     string `json:"id"`
					Type   string `json:"type"`
					Status string `json:"status"`
				} `json:"request"`
			}
			decode(t, res, &body)
			r := body.Request
			if !strings.HasPrefix(r.ID, "creq_") || r.Type != "pentest_notice" || r.Status != "received" {
				t.Fatalf("request = %s, want a received pentest_notice", res.Body)
			}
			f.pentestID = r.ID
			testenv.WaitForMailNaming(t, stack.LocalAccountManager, r.ID)
		},
	},
	{
		name: "list compliance requests", function: "compliance", status: http.StatusOK,
		request: func(f *flow) lambdatest.HTTPRequest {
			return bearer(lambdatest.HTTPRequest{Method: http.MethodGet, Path: "/v1/compliance/requests"}, f.token)
		},
		check: func(t *testing.T, f *flow, res lambdatest.HTTPResult) {
			var body struct {
				Requests []struct {
					ID string `json:"id"`
				} `json:"requests"`
				NDA struct {
					CurrentVersion string          `json:"current_version"`
					Accepted       json.RawMessage `json:"accepted"`
				} `json:"nda"`
			}
			decode(t, res, &body)
			if len(body.Requests) != 1 || body.Requests[0].ID != f.pentestID ||
				body.NDA.CurrentVersion == "" || string(body.NDA.Accepted) != "null" {
				t.Errorf("list = %s, want request %s alone and no NDA accepted", res.Body, f.pentestID)
			}
		},
	},
	{
		// Any plan may accept the NDA (a SOC 2 request would still need premium).
		name: "accept the NDA", function: "compliance", status: http.StatusCreated,
		request: func(f *flow) lambdatest.HTTPRequest {
			return bearer(post("/v1/compliance/nda", jsonBody(map[string]any{
				"signatory_name": ndaSignatory, "signatory_title": "Head of Security", "accept": true,
			})), f.token)
		},
		check: func(t *testing.T, _ *flow, res lambdatest.HTTPResult) {
			var body struct {
				NDA struct {
					Version       string `json:"version"`
					SignatoryName string `json:"signatory_name"`
				} `json:"nda"`
			}
			decode(t, res, &body)
			if body.NDA.Version == "" || body.NDA.SignatoryName != ndaSignatory {
				t.Errorf("nda = %s", res.Body)
			}
		},
	},
	{
		// Public: no session. The designated agent is emailed the notice.
		name: "a DMCA notice", function: "compliance", status: http.StatusCreated,
		request: func(*flow) lambdatest.HTTPRequest { return post("/v1/dmca", jsonBody(dmcaNotice)) },
		check: func(t *testing.T, _ *flow, res lambdatest.HTTPResult) {
			var body struct {
				Notice struct {
					ID string `json:"id"`
				} `json:"notice"`
				Message string `json:"message"`
			}
			decode(t, res, &body)
			if !strings.HasPrefix(body.Notice.ID, "dmca_") || !strings.Contains(body.Message, "hosts none") {
				t.Fatalf("receipt = %s", res.Body)
			}
			mail := testenv.WaitForMailNaming(t, stack.LocalDMCAAgent, body.Notice.ID)
			if !strings.Contains(mail.Text, dmcaComplainantEmail) {
				t.Errorf("the agent's email about %s does not carry the complainant's address", body.Notice.ID)
			}
		},
	},
	{
		name: "an empty DMCA notice", function: "compliance", status: http.StatusBadRequest, problem: "validation_failed",
		request: func(*flow) lambdatest.HTTPRequest { return post("/v1/dmca", "{}") },
	},
	{
		name: "logout", function: "auth", status: http.StatusNoContent,
		request: func(f *flow) lambdatest.HTTPRequest { return bearer(post("/v1/logout", ""), f.token) },
		check: func(t *testing.T, _ *flow, res lambdatest.HTTPResult) {
			if !slices.ContainsFunc(res.Cookies, func(c string) bool { return strings.HasPrefix(c, sessionCookiePrefix+";") }) {
				t.Errorf("cookies = %q, want the session cookie cleared", res.Cookies)
			}
		},
	},
	{
		name: "account after logout", function: "account", status: http.StatusUnauthorized, problem: "unauthenticated",
		request: func(f *flow) lambdatest.HTTPRequest { return bearer(getAccount(), f.token) },
	},
	// The account's deletion ends every session: these steps come last.
	{
		name: "delete the account with a wrong password", function: "auth", status: http.StatusForbidden, problem: "wrong_password",
		request: func(f *flow) lambdatest.HTTPRequest { return bearer(deleteAccount(wrongPassword), f.loginToken) },
	},
	{
		name: "delete the account", function: "auth", status: http.StatusAccepted,
		request: func(f *flow) lambdatest.HTTPRequest { return bearer(deleteAccount(f.password), f.loginToken) },
		check:   checkDeletionAccepted,
	},
	{
		name: "the session once the deletion is accepted", function: "account", status: http.StatusUnauthorized, problem: "unauthenticated",
		request: func(f *flow) lambdatest.HTTPRequest { return bearer(getAccount(), f.loginToken) },
	},
	{
		// Without a session, and read-only: nothing runs the job here (no stream in this test).
		name: "deletion status only reads", function: "deletion", status: http.StatusOK,
		request: func(f *flow) lambdatest.HTTPRequest { return getDeletion(f.deletionID) },
		check:   checkDeletionWaiting,
	},
	{
		// The state table's stream delivers the job's INSERT (with records the mapping's filter
		// would have dropped, which the function ignores too): the same bootstrap carries the job
		// out, then its status route shows the receipt.
		name: "the stream starts the job", function: "deletion", status: http.StatusOK,
		stream: func(f *flow) []events.DynamoDBEventRecord {
			job := deletion.JobKey(f.deletionID)
			return []events.DynamoDBEventRecord{
				lambdatest.StreamRecord(1, "MODIFY", identity.AccountKey(f.accountID).PK, identity.AccountKey(f.accountID).SK),
				lambdatest.StreamRecord(2, "INSERT", job.PK, job.SK),
				lambdatest.StreamRecord(3, "INSERT", job.PK, job.SK), // delivered twice: a no-op
			}
		},
		request: func(f *flow) lambdatest.HTTPRequest { return getDeletion(f.deletionID) },
		check:   checkDeletionDone,
	},
	{
		name: "an unknown deletion", function: "deletion", status: http.StatusNotFound, problem: "deletion_not_found",
		request: func(*flow) lambdatest.HTTPRequest { return getDeletion("del_aaaaaaaaaaaaaaaaaaaaaaaaaa") },
	},
	{
		name: "the session after the deletion", function: "account", status: http.StatusUnauthorized, problem: "unauthenticated",
		request: func(f *flow) lambdatest.HTTPRequest { return bearer(getAccount(), f.loginToken) },
	},
}

// A DMCA complainant's personal data: none of it may reach a log line; nor may the names a
// customer gives (its pen-test contact, its NDA signatory).
const (
	dmcaComplainantName    = "Rosalind Quillfeather"
	dmcaComplainantEmail   = "rosalind.quillfeather@example.org"
	dmcaComplainantPhone   = "+1 (555) 013-4477"
	dmcaComplainantAddress = "88 Larkspur Lane\nSpringfield, IL 62704"
	pentestContact         = "Tobias Wrenfield"
	ndaSignatory           = "Philippa Marchbank"
)

// dmcaNotice is a takedown notice with every element the statute requires.
var dmcaNotice = map[string]any{
	"infringing_url":   "https://images.customer.example/gallery/sunset.jpg",
	"original_url":     "https://rosalind-photos.example/portfolio/sunset",
	"complainant_name": dmcaComplainantName, "postal_address": dmcaComplainantAddress,
	"telephone": dmcaComplainantPhone, "email": dmcaComplainantEmail,
	"good_faith_statement": true, "accuracy_statement": true, "authorized_under_penalty_of_perjury": true,
	"signature": "/Rosalind Quillfeather/",
}

// deleteAccount is DELETE /v1/account confirmed with password.
func deleteAccount(password string) lambdatest.HTTPRequest {
	r := post("/v1/account", jsonBody(authapi.DeleteAccountRequest{Password: password}))
	r.Method = http.MethodDelete
	return r
}

func getDeletion(id string) lambdatest.HTTPRequest {
	return lambdatest.HTTPRequest{Method: http.MethodGet, Path: "/v1/account/deletion/" + id, Route: "GET /v1/account/deletion/{id}"}
}

// checkDeletionAccepted checks DELETE /v1/account's answer (the deletion, and where to follow
// it), the session cookie cleared, and the confirmation sent to the address.
func checkDeletionAccepted(t *testing.T, f *flow, res lambdatest.HTTPResult) {
	t.Helper()
	var body struct {
		Deletion authapi.DeletionView `json:"deletion"`
	}
	decode(t, res, &body)
	d := body.Deletion
	if !strings.HasPrefix(d.ID, deletion.IDPrefix+"_") || d.Status != deletion.StatusAccepted ||
		d.StatusURL != "/v1/account/deletion/"+d.ID || d.RequestedAt.IsZero() {
		t.Fatalf("deletion = %s, want an accepted deletion and its status_url", res.Body)
	}
	f.deletionID = d.ID
	if !slices.ContainsFunc(res.Cookies, func(c string) bool { return strings.HasPrefix(c, sessionCookiePrefix+";") }) {
		t.Errorf("cookies = %q, want the session cookie cleared", res.Cookies)
	}
	mails := testenv.WaitForMails(t, f.email, 2) // the verification, then this
	if !slices.ContainsFunc(mails, func(m testenv.Mail) bool { return strings.Contains(m.Text, d.ID) }) {
		t.Errorf("no email to %s names deletion %s", f.email, d.ID)
	}
}

// checkDeletionWaiting checks that the status route shows the flow's deletion accepted and
// untouched: it only reads.
func checkDeletionWaiting(t *testing.T, f *flow, res lambdatest.HTTPResult) {
	t.Helper()
	var body deletionapi.Response
	decode(t, res, &body)
	d := body.Deletion
	if d == nil || d.ID != f.deletionID || d.Status != deletion.StatusAccepted || d.CompletedAt != nil || len(d.Steps) != 0 {
		t.Fatalf("deletion = %s, want %s accepted, no step run", res.Body, f.deletionID)
	}
}

// checkDeletionDone checks the receipt of the flow's account: done, every step, what each step
// deleted, and the account digest, but neither the account's id nor its address.
func checkDeletionDone(t *testing.T, f *flow, res lambdatest.HTTPResult) {
	t.Helper()
	var body deletionapi.Response
	decode(t, res, &body)
	d := body.Deletion
	if d == nil || d.ID != f.deletionID || d.Status != deletion.StatusDone || d.CompletedAt == nil || !slices.Equal(d.Steps, deletion.Steps) {
		t.Fatalf("deletion = %s, want %s done, every step completed", res.Body, f.deletionID)
	}
	// One live session (login's; signup's was logged out), the source and its secret, the Stripe
	// customer of the checkout and its link, the compliance records left in the account's
	// partition (the pen-test notice and the NDA acceptance), the account's compliance-request
	// rate counter and its address's verification-email cap. No failed-login record: the right
	// password that confirmed the deletion cleared the wrong one's, as a login does.
	want := map[string]int{"sessions": 1, "sources": 1, "source_secrets": 1, "stripe_customer": 1, "billing_links": 1,
		"login_failure_records": 0, "other_items": 2, "rate_counters": 2, "account": 1, "email_claim": 1}
	for k, n := range want {
		if d.Deleted[k] != n {
			t.Errorf("deleted[%s] = %d, want %d (receipt %s)", k, d.Deleted[k], n, res.Body)
		}
	}
	if d.Deleted["request_logs"] == 0 {
		t.Errorf("no request logs deleted (receipt %s); the account's requests left some", res.Body)
	}
	if want := deletion.Digest(f.deletionID, f.accountID, f.email); d.Digest != want {
		t.Errorf("account_digest = %q, want %q", d.Digest, want)
	}
	if strings.Contains(res.Body, f.email) || strings.Contains(res.Body, f.accountID) {
		t.Errorf("receipt %s holds the account's address or id", res.Body)
	}
}

func getBilling() lambdatest.HTTPRequest {
	return lambdatest.HTTPRequest{Method: http.MethodGet, Path: "/v1/billing"}
}

// checkStripePage checks a response that sends the customer to a Stripe-hosted page.
func checkStripePage(t *testing.T, _ *flow, res lambdatest.HTTPResult) {
	t.Helper()
	var u billingapi.URLResponse
	decode(t, res, &u)
	if !strings.HasPrefix(u.URL, "https://") {
		t.Errorf("body = %s, want the https URL of a Stripe page", res.Body)
	}
}

// Stripe events as Stripe delivers them. The ignored one is of a type the webhook does not
// handle; the other concerns a customer Atrium never created.
const (
	ignoredEvent = `{"id":"evt_rie1","object":"event","type":"balance.available","api_version":"2023-10-16",` +
		`"data":{"object":{"id":"txn_1"}}}`
	unknownCustomerEvent = `{"id":"evt_rie2","object":"event","type":"customer.subscription.updated","api_version":"2023-10-16",` +
		`"data":{"object":{"id":"sub_rie2","object":"subscription","customer":"cus_RieNotOurs"}}}`
	// forgedWebhookSecret is not the endpoint's signing secret (stack.LocalWebhookSecret).
	forgedWebhookSecret = "whsec_forged_by_someone_else_0123456789" // #nosec G101 -- a made-up secret that must be refused
)

// stripeDelivery is a webhook delivery of body signed with secret, as Stripe signs it (the
// Stripe-Signature header), its body base64-encoded in the event so that the signature is
// checked over the bytes the function decodes.
func stripeDelivery(body, secret string) lambdatest.HTTPRequest {
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: []byte(body), Secret: secret})
	r := post("/v1/webhooks/stripe", body)
	r.Headers["content-type"] = "application/json; charset=utf-8"
	r.Headers["stripe-signature"] = signed.Header
	r.Base64 = true
	return r
}

// checkReceipt checks the webhook's acknowledgement of a delivery and its outcome.
func checkReceipt(outcome string) func(*testing.T, *flow, lambdatest.HTTPResult) {
	return func(t *testing.T, _ *flow, res lambdatest.HTTPResult) {
		t.Helper()
		var r struct {
			Received bool   `json:"received"`
			Outcome  string `json:"outcome"`
		}
		decode(t, res, &r)
		if !r.Received || r.Outcome != outcome {
			t.Errorf(`body = %s, want {"received":true,"outcome":%q}`, res.Body, outcome)
		}
	}
}

func checkAccount(t *testing.T, f *flow, res lambdatest.HTTPResult) {
	t.Helper()
	var a identity.AccountView
	decode(t, res, &a)
	if a.Email != f.email || a.ID == "" {
		t.Errorf("account = %+v, want the account of %s", a, f.email)
	}
}

// checkProblem checks an RFC 9457 problem response with the given code,
// whose request_id is the Lambda request id.
func checkProblem(t *testing.T, res lambdatest.HTTPResult, code string) {
	t.Helper()
	mt, _, err := mime.ParseMediaType(res.Header("Content-Type"))
	if err != nil || mt != "application/problem+json" {
		t.Errorf("content-type = %q, want application/problem+json", res.Header("Content-Type"))
	}
	var p struct {
		Status    int    `json:"status"`
		Code      string `json:"code"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(res.BodyBytes(t), &p); err != nil {
		t.Fatalf("problem body %q: %v", res.Body, err)
	}
	if p.Code != code || p.Status != res.StatusCode {
		t.Errorf("problem = %s, want code %q and status %d", res.Body, code, res.StatusCode)
	}
	if p.RequestID != res.Report.RequestID {
		t.Errorf("problem request_id = %q, want the Lambda request id %q", p.RequestID, res.Report.RequestID)
	}
}

// TestHTTPFunctionsUnderRIE proves the Lambda path of every HTTP function:
// its bootstrap, built for this machine with the deployment flags, runs
// under the AWS Lambda Runtime Interface Emulator with the environment the
// local stack gives it, cold-starts against the real local services, and
// answers API Gateway HTTP API (payload 2.0) events as API Gateway expects:
// status, headers, the cookies field, problem documents, and the Lambda
// request id as X-Request-Id.
func TestHTTPFunctionsUnderRIE(t *testing.T) {
	rie := testenv.RIE(t)
	st := testenv.NewStack(t)
	b := sharedBuilds(t)

	// Every function the HTTP API routes to must be exercised here.
	covered := map[string][]string{}
	for _, s := range steps {
		r := s.request(&flow{})
		route := r.Route
		if route == "" {
			route = r.Method + " " + r.Path
		}
		covered[s.function] = append(covered[s.function], route)
	}
	for _, fn := range gateway.HTTPFunctions {
		if len(covered[fn.Name]) == 0 {
			t.Errorf("function %s has no step here: add one so its Lambda path is proven", fn.Name)
		}
		for _, route := range fn.Routes {
			if !slices.Contains(covered[fn.Name], route) {
				t.Logf("note: route %q of %s has no step here", route, fn.Name)
			}
		}
	}
	for name := range covered {
		if !slices.ContainsFunc(gateway.HTTPFunctions, func(fn gateway.HTTPFunction) bool { return fn.Name == name }) {
			t.Errorf("steps invoke %q, which is not in gateway.HTTPFunctions", name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// One emulator per function for the whole flow, as one warm execution
	// environment per function serves a user's successive requests.
	emulators := map[string]*lambdatest.Emulator{}
	for _, fn := range gateway.HTTPFunctions {
		emulators[fn.Name] = lambdatest.StartEmulator(t, lambdatest.EmulatorOptions{
			RIE: rie, Name: "atrium-" + fn.Name, Env: st.Env(fn.Name),
			Bootstrap: b.Bootstrap(t, functionPkg(fn.Name), lambdatest.Host),
		})
	}

	bucket := fakes3.New()
	if err := bucket.CreateBucket(s3Bucket); err != nil {
		t.Fatal(err)
	}
	bucket.Grant(s3KeyID, s3Bucket)
	s3 := httptest.NewServer(bucket)
	t.Cleanup(s3.Close)
	f := &flow{email: testenv.Email(t), password: "violet-harbor-quantum-88-lantern", s3URL: s3.URL}
	var done []invocation
	for _, s := range steps {
		ok := t.Run(s.name, func(t *testing.T) {
			if s.stream != nil {
				res, _ := emulators[s.function].InvokeStream(t, s.stream(f)...)
				if len(res.BatchItemFailures) != 0 {
					t.Fatalf("stream batch: records %v failed\n%s", res.BatchItemFailures, emulators[s.function].Tail(40))
				}
			}
			req := s.request(f)
			res := emulators[s.function].InvokeHTTP(t, req)
			done = append(done, invocation{s.function, res.Report.RequestID, res.StatusCode})
			if res.StatusCode != s.status {
				t.Fatalf("%s %s: status %d, want %d; body %s", req.Method, req.Path, res.StatusCode, s.status, res.Body)
			}
			if got := res.Header("X-Request-Id"); got == "" || got != res.Report.RequestID {
				t.Errorf("X-Request-Id = %q, want the Lambda request id %q", got, res.Report.RequestID)
			}
			if s.problem != "" {
				checkProblem(t, res, s.problem)
			}
			if s.check != nil {
				s.check(t, f, res)
			}
		})
		if !ok {
			t.Fatalf("step %q failed; the steps after it build on it", s.name)
		}
	}
	seen := map[string]bool{}
	for _, inv := range done {
		if seen[inv.requestID] {
			t.Errorf("Lambda request id %q given to more than one invocation", inv.requestID)
		}
		seen[inv.requestID] = true
	}
	checkAccessLog(t, emulators, done)

	// P6 in the deployed shape: what the functions print is what CloudWatch
	// keeps. None of the caller's personal data or secrets may be in it.
	secrets := map[string]string{
		"email": f.email, "password": f.password, "wrong password": wrongPassword,
		"verification token": f.verifyToken, "source secret key": s3Secret,
		"session token": f.token, "login session token": f.loginToken,
		"source IP": lambdatest.SourceIP, "user agent": lambdatest.UserAgent,
		"Stripe secret key": stack.LocalStripeKey, "Stripe webhook signing secret": stack.LocalWebhookSecret,
		"DMCA complainant name": dmcaComplainantName, "DMCA complainant email": dmcaComplainantEmail,
		"DMCA complainant telephone": dmcaComplainantPhone, "DMCA complainant postal address": "88 Larkspur Lane",
		"pen-test contact": pentestContact, "NDA signatory": ndaSignatory,
	}
	for name, e := range emulators {
		out := e.Output()
		for what, v := range secrets {
			if v != "" && strings.Contains(out, v) {
				t.Errorf("the %s function's output holds the caller's %s", name, what)
			}
		}
	}
}

// invocation is one finished step, as its access-log line must show it.
type invocation struct {
	function, requestID string
	status              int
}

// checkAccessLog checks that each invocation left exactly one access-log line
// carrying its Lambda request id (the id CloudWatch shows beside every line)
// and its status.
func checkAccessLog(t *testing.T, emulators map[string]*lambdatest.Emulator, done []invocation) {
	t.Helper()
	type logged struct{ lines, status int }
	var found map[string]logged
	var missing []invocation
	// The function's output reaches us through the emulator's pipe: give the
	// last lines a moment.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		found = map[string]logged{}
		for _, e := range emulators {
			for _, line := range strings.Split(e.Output(), "\n") {
				var l struct {
					Msg       string `json:"msg"`
					Status    int    `json:"status"`
					RequestID string `json:"request_id"`
				}
				if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &l) == nil && l.Msg == "request" {
					f := found[l.RequestID]
					found[l.RequestID] = logged{lines: f.lines + 1, status: l.Status}
				}
			}
		}
		missing = missing[:0]
		for _, inv := range done {
			if found[inv.requestID].lines == 0 {
				missing = append(missing, inv)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, inv := range missing {
		ids := slices.Sorted(maps.Keys(found))
		t.Errorf("%s: no access-log line with request_id %q; the lines carry %q", inv.function, inv.requestID, ids)
	}
	for _, inv := range done {
		if f := found[inv.requestID]; f.lines > 1 || f.lines == 1 && f.status != inv.status {
			t.Errorf("%s: %d access-log lines for request %s, status %d; want one, status %d",
				inv.function, f.lines, inv.requestID, f.status, inv.status)
		}
	}
}
