package complianceapi

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/web"
)

// bodyOf is a valid request of the type at now.
func bodyOf(typ string, now time.Time) string {
	switch typ {
	case compliance.TypeSecurityQuestionnaire:
		return fmt.Sprintf(`{"type":%q,"description":"Our vendor security questionnaire (CAIQ lite, 40 questions).","due_date":%q}`,
			typ, now.AddDate(0, 1, 0).Format(time.DateOnly))
	case compliance.TypePentestNotice:
		return fmt.Sprintf(`{"type":%q,"scope":"app.customer.example and its image URLs on Atrium","start":%q,"end":%q,"contact_name":"Ada Lovelace"}`,
			typ, now.Add(24*time.Hour).Format(time.RFC3339), now.Add(72*time.Hour).Format(time.RFC3339))
	}
	return fmt.Sprintf(`{"type":%q}`, typ)
}

const ndaBody = `{"signatory_name":"Grace Hopper","signatory_title":"CISO","accept":true}`

// Every type against each plan and each NDA state: premium types refused
// to standard accounts, the SOC 2 report also to premium accounts without
// an acceptance of the current NDA version; every success recorded, listed
// and emailed to the account manager.
func TestRequestsByPlanAndNDA(t *testing.T) {
	f := newFixture(t, nil)
	// The NDA was 2025-07 before 2026-01: an instance started with the old
	// version records acceptances of the old version.
	previous := f.build(t, map[string]string{"NDA_VERSION": "2025-07"})

	type account struct{ id, token string }
	accounts := map[string]account{}
	for _, plan := range []string{plans.Standard, plans.Premium} {
		for _, nda := range []string{"none", "current", "old"} {
			id, token := f.account(t)
			if plan == plans.Premium {
				f.makePremium(t, id, activePremium, time.Time{})
			}
			switch nda {
			case "current":
				if w := f.call("POST", "/v1/compliance/nda", token, ndaBody); w.Code != http.StatusCreated {
					t.Fatalf("accept NDA: %d %s", w.Code, w.Body)
				}
			case "old":
				if w := serve(previous, request{method: "POST", path: "/v1/compliance/nda", token: token, body: ndaBody}); w.Code != http.StatusCreated {
					t.Fatalf("accept old NDA: %d %s", w.Code, w.Body)
				}
			}
			accounts[plan+"/"+nda] = account{id, token}
		}
	}

	made := map[string][]string{} // account id → request ids, oldest first
	var all []string
	for _, typ := range compliance.TypeNames {
		for _, plan := range []string{plans.Standard, plans.Premium} {
			for _, nda := range []string{"none", "current", "old"} {
				t.Run(typ+"/"+plan+"/nda_"+nda, func(t *testing.T) {
					want := http.StatusCreated
					code := ""
					switch {
					case compliance.Types[typ].Premium && plan == plans.Standard:
						want, code = http.StatusForbidden, "premium_required"
					case compliance.Types[typ].NDA && nda != "current":
						want, code = http.StatusForbidden, "nda_required"
					}
					a := accounts[plan+"/"+nda]
					f.clock.Advance(time.Millisecond) // a distinct time for each request, to check the order
					w := f.call("POST", "/v1/compliance/requests", a.token, bodyOf(typ, f.clock.Now()))
					if status, got := problem(t, w); status != want || got != code {
						t.Fatalf("%d %s, want %d %s: %s", status, got, want, code, w.Body)
					}
					switch code {
					case "premium_required":
						detail := decodeAs[web.Problem](t, w).Detail
						for _, s := range []string{"SOC 2 report", "penetration-test", "security questionnaires", "POST /v1/billing/checkout"} {
							if !strings.Contains(detail, s) {
								t.Errorf("the refusal does not say %q: %s", s, detail)
							}
						}
					case "nda_required":
						if detail := decodeAs[web.Problem](t, w).Detail; !strings.Contains(detail, "POST /v1/compliance/nda") || !strings.Contains(detail, "2026-01") {
							t.Errorf("the refusal does not say how: %s", detail)
						}
					case "":
						got := decodeAs[map[string]compliance.RequestView](t, w)["request"]
						if !strings.HasPrefix(got.ID, "creq_") || got.Type != typ || got.Status != "received" || !got.CreatedAt.Equal(f.clock.Now()) {
							t.Errorf("answer %+v", got)
						}
						if (typ == compliance.TypeSOC2Report) != (got.NDAVersion == "2026-01") {
							t.Errorf("nda_version %q", got.NDAVersion)
						}
						if typ == compliance.TypePentestNotice && (got.Start == nil || got.ContactName != "Ada Lovelace") {
							t.Errorf("notice %+v", got)
						}
						made[a.id] = append(made[a.id], got.ID)
						all = append(all, got.ID)
					}
				})
			}
		}
	}
	if len(all) != 13 { // standard: 3 notices; premium: 3 + 4 + 3
		t.Fatalf("%d requests made, want 13", len(all))
	}

	// Each account lists its own requests, newest first, and nothing refused.
	for key, a := range accounts {
		w := f.call("GET", "/v1/compliance/requests", a.token, "")
		if w.Code != http.StatusOK {
			t.Fatalf("%s: list: %d %s", key, w.Code, w.Body)
		}
		list := decodeAs[ListResponse](t, w)
		var got []string
		for _, r := range list.Requests {
			got = append(got, r.ID)
		}
		want := slices.Clone(made[a.id])
		slices.Reverse(want)
		if !slices.Equal(got, want) || list.NextCursor != nil {
			t.Errorf("%s lists %v (next %q), want %v", key, got, deref(list.NextCursor), want)
		}
		if accepted := list.NDA.Accepted != nil; list.NDA.CurrentVersion != "2026-01" || accepted != strings.HasSuffix(key, "/current") {
			t.Errorf("%s: nda %+v", key, list.NDA)
		}
	}

	// One email to the account manager per request made, with the account
	// and the request; never a session token.
	mails := testenv.WaitForMails(t, f.manager, len(all))
	if len(mails) != len(all) {
		t.Errorf("%d emails for %d requests", len(mails), len(all))
	}
	tokens := make([]string, 0, len(accounts))
	for _, a := range accounts {
		tokens = append(tokens, a.token)
	}
	for acct, reqs := range made {
		for _, id := range reqs {
			var found []testenv.Mail
			for _, m := range mails {
				if strings.Contains(m.Subject, id) {
					found = append(found, m)
				}
			}
			if len(found) != 1 {
				t.Errorf("request %s: %d emails", id, len(found))
				continue
			}
			m := found[0]
			if !strings.Contains(m.Text, acct) || !strings.Contains(m.Text, id) {
				t.Errorf("email %q lacks the account or request id:\n%s", m.Subject, m.Text)
			}
			if strings.Contains(m.Subject, compliance.TypeSOC2Report) && !strings.Contains(m.Text, "version 2026-01 accepted") {
				t.Errorf("SOC 2 email without the NDA:\n%s", m.Text)
			}
			for _, tok := range tokens {
				if strings.Contains(m.Text, tok) || strings.Contains(m.Text, strings.Split(tok, ".")[2]) {
					t.Errorf("email %q holds a session token", m.Subject)
				}
			}
		}
	}
}

// A plan change made by Stripe's webhook is seen by the very next request.
func TestPlanChangeThroughTheWebhook(t *testing.T) {
	f := newFixture(t, nil)
	hook := f.webhook(t)
	acct, token := f.account(t)
	cus := hook.customer(t, f, acct)
	report := bodyOf(compliance.TypePentestReport, f.clock.Now())

	steps := []struct {
		name     string
		status   string // the subscription's status at Stripe, "" for none
		event    string
		want     int
		wantCode string
	}{
		{name: "standard", want: http.StatusForbidden, wantCode: "premium_required"},
		{name: "subscribed", status: "active", event: "customer.subscription.created", want: http.StatusCreated},
		{name: "payment failing, in grace", status: "past_due", event: "invoice.payment_failed", want: http.StatusCreated},
		{name: "cancelled", status: "canceled", event: "customer.subscription.deleted", want: http.StatusForbidden, wantCode: "premium_required"},
		{name: "subscribed again", status: "active", event: "customer.subscription.created", want: http.StatusCreated},
	}
	for i, step := range steps {
		if step.event != "" {
			f.clock.Advance(time.Second)
			hook.set(cus, "sub_plan_change", step.status, f.clock.Now())
			if w := hook.deliver(t, step.event, cus, "sub_plan_change"); w.Code != http.StatusOK {
				t.Fatalf("%s: webhook answered %d %s", step.name, w.Code, w.Body)
			}
		}
		w := f.call("POST", "/v1/compliance/requests", token, report)
		if status, code := problem(t, w); status != step.want || code != step.wantCode {
			t.Fatalf("step %d (%s): %d %s, want %d %s", i, step.name, status, code, step.want, step.wantCode)
		}
	}
}

// A premium plan whose payment failed lasts through its grace period, and
// the first request after it is refused.
func TestGracePeriodEnds(t *testing.T) {
	f := newFixture(t, nil)
	acct, token := f.account(t)
	f.makePremium(t, acct, billing.State{Plan: plans.Premium, Status: "past_due", PastDue: true}, f.clock.Now().Add(time.Hour))
	body := bodyOf(compliance.TypeSecurityQuestionnaire, f.clock.Now())
	if w := f.call("POST", "/v1/compliance/requests", token, body); w.Code != http.StatusCreated {
		t.Fatalf("in grace: %d %s", w.Code, w.Body)
	}
	f.clock.Advance(time.Hour)
	_, token, err := f.accounts.CreateSession(t.Context(), acct, sessionPolicy) // the first one has idled out
	if err != nil {
		t.Fatal(err)
	}
	if status, code := problem(t, f.call("POST", "/v1/compliance/requests", token, body)); status != http.StatusForbidden || code != "premium_required" {
		t.Fatalf("after grace: %d %s", status, code)
	}
}

func TestNDAAcceptance(t *testing.T) {
	f := newFixture(t, nil)
	_, token := f.account(t)
	accepted := f.clock.Now()

	w := f.call("POST", "/v1/compliance/nda", token, ndaBody)
	if w.Code != http.StatusCreated {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	want := compliance.NDAView{Version: "2026-01", AcceptedAt: accepted, SignatoryName: "Grace Hopper", SignatoryTitle: "CISO"}
	if got := decodeAs[map[string]compliance.NDAView](t, w)["nda"]; got != want {
		t.Errorf("answer %+v, want %+v", got, want)
	}
	// A second acceptance of the same version changes nothing: the first stands.
	f.clock.Advance(time.Minute)
	w = f.call("POST", "/v1/compliance/nda", token, `{"signatory_name":"Someone Else","signatory_title":"CTO","accept":true}`)
	if got := decodeAs[map[string]compliance.NDAView](t, w)["nda"]; w.Code != http.StatusOK || got != want {
		t.Errorf("again: %d %+v", w.Code, got)
	}
	if got := decodeAs[ListResponse](t, f.call("GET", "/v1/compliance/requests", token, "")).NDA; got.Accepted == nil || *got.Accepted != want {
		t.Errorf("list shows %+v", got)
	}
	// A new NDA version needs a new acceptance.
	next := f.build(t, map[string]string{"NDA_VERSION": "2027-01"})
	got := decodeAs[ListResponse](t, serve(next, request{method: "GET", path: "/v1/compliance/requests", token: token})).NDA
	if got.CurrentVersion != "2027-01" || got.Accepted != nil {
		t.Errorf("after a new version: %+v", got)
	}

	for _, tc := range []struct {
		token, body string
		status      int
		code        string
	}{
		{"", ndaBody, 401, "unauthenticated"},
		{token, `{"signatory_name":"G","signatory_title":"CISO","accept":false}`, 400, "validation_failed"},
		{token, `{"signatory_name":"G","signatory_title":"CISO"}`, 400, "validation_failed"},
		{token, `{"signatory_name":"G","signatory_title":"CISO","accept":true,"version":"2020-01"}`, 400, "validation_failed"},
	} {
		if status, code := problem(t, f.call("POST", "/v1/compliance/nda", tc.token, tc.body)); status != tc.status || code != tc.code {
			t.Errorf("%s: %d %s, want %d %s", tc.body, status, code, tc.status, tc.code)
		}
	}
}

// Refused requests store nothing and send nothing.
func TestRefusedRequestsLeaveNoTrace(t *testing.T) {
	f := newFixture(t, nil)
	acct, token := f.account(t)
	f.makePremium(t, acct, activePremium, time.Time{})
	for _, tc := range []struct {
		name, token, body, contentType string
		status                         int
		code                           string
		fields                         []string
	}{
		{"no session", "", bodyOf(compliance.TypePentestReport, f.clock.Now()), "", 401, "unauthenticated", nil},
		{"unknown type", token, `{"type":"iso27001"}`, "", 400, "validation_failed", []string{"type"}},
		{"fields of another type", token, `{"type":"soc2_report","scope":"everything"}`, "", 400, "validation_failed", []string{"scope"}},
		{"every bad field named", token, `{"type":"pentest_notice","scope":"","start":"2020-01-01T00:00:00Z","end":"soon"}`, "", 400, "validation_failed",
			[]string{"contact_name", "end", "scope", "start"}},
		{"not JSON", token, `type=soc2_report`, "", 400, "malformed_json", nil},
		{"a form", token, `type=soc2_report`, "application/x-www-form-urlencoded", 415, "unsupported_media_type", nil},
		{"too large", token, `{"type":"security_questionnaire","description":"` + strings.Repeat("a", 17<<10) + `"}`, "", 413, "body_too_large", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := request{method: "POST", path: "/v1/compliance/requests", token: tc.token, body: tc.body}
			h := f.handler
			if tc.contentType != "" {
				h = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					req.Header.Set("Content-Type", tc.contentType)
					f.handler.ServeHTTP(w, req)
				})
			}
			w := serve(h, r)
			if status, code := problem(t, w); status != tc.status || code != tc.code {
				t.Fatalf("%d %s, want %d %s: %s", status, code, tc.status, tc.code, w.Body)
			}
			if tc.fields != nil {
				var got []string
				for _, fe := range decodeAs[web.Problem](t, w).Errors {
					got = append(got, fe.Field)
				}
				slices.Sort(got)
				if !slices.Equal(got, tc.fields) {
					t.Errorf("fields %v, want %v", got, tc.fields)
				}
			}
		})
	}
	if page, err := f.records.Requests(t.Context(), acct, 10, ""); err != nil || len(page.Requests) != 0 {
		t.Errorf("stored %+v, %v", page, err)
	}
	if got := testenv.Mails(t, f.manager); len(got) != 0 {
		t.Errorf("%d emails sent", len(got))
	}
}

func TestListPages(t *testing.T) {
	f := newFixture(t, nil)
	_, token := f.account(t)
	_, other := f.account(t)
	var made []string
	for range 5 {
		f.clock.Advance(time.Second)
		w := f.call("POST", "/v1/compliance/requests", token, bodyOf(compliance.TypePentestNotice, f.clock.Now()))
		if w.Code != http.StatusCreated {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		made = append([]string{decodeAs[map[string]compliance.RequestView](t, w)["request"].ID}, made...) // newest first
	}
	var got []string
	cursor, pages := "", 0
	for {
		path := "/v1/compliance/requests?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		w := f.call("GET", path, token, "")
		if w.Code != http.StatusOK {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		page := decodeAs[ListResponse](t, w)
		pages++
		for _, r := range page.Requests {
			got = append(got, r.ID)
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if !slices.Equal(got, made) || pages != 3 {
		t.Errorf("%d pages of %v, want 3 pages of %v", pages, got, made)
	}
	// Another account's cursor reads only the caller's own partition.
	if w := f.call("GET", "/v1/compliance/requests?cursor="+cursor, other, ""); w.Code != http.StatusOK || len(decodeAs[ListResponse](t, w).Requests) != 0 {
		t.Errorf("another account with this cursor: %d %s", w.Code, w.Body)
	}
	for _, q := range []string{"limit=0", "limit=101", "limit=ten", "cursor=bm90LWEtY3Vyc29y", "cursor=%25%25", "page=2", "limit=1&limit=2",
		"cursor=" + strings.Repeat("A", 600)} {
		w := f.call("GET", "/v1/compliance/requests?"+q, token, "")
		if status, code := problem(t, w); status != 400 || code != "validation_failed" {
			t.Errorf("?%.40s: %d %s", q, status, code)
		}
	}
}

func TestAccountRequestLimit(t *testing.T) {
	f := newFixture(t, nil)
	_, token := f.account(t)
	body := bodyOf(compliance.TypePentestNotice, f.clock.Now())
	for i := range DefaultRequestLimit.Max {
		if w := f.call("POST", "/v1/compliance/requests", token, body); w.Code != http.StatusCreated {
			t.Fatalf("request %d: %d %s", i+1, w.Code, w.Body)
		}
	}
	w := f.call("POST", "/v1/compliance/requests", token, body)
	if status, code := problem(t, w); status != http.StatusTooManyRequests || code != "rate_limited" {
		t.Fatalf("%d %s", status, code)
	}
	if s, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || s < 1 || s > int(2*DefaultRequestLimit.Window/time.Second) {
		t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
	}
	testenv.WaitForMails(t, f.manager, DefaultRequestLimit.Max)
	if got := testenv.Mails(t, f.manager); len(got) != DefaultRequestLimit.Max {
		t.Errorf("%d emails, want %d", len(got), DefaultRequestLimit.Max)
	}
}

// closedPort is a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	_ = l.Close()
	return port
}

// When the email cannot be sent, the request is taken back and the
// customer told to try again: nothing waits unseen.
func TestMailDownKeepsNothing(t *testing.T) {
	f := newFixture(t, nil)
	down := f.build(t, map[string]string{"SMTP_HOST": "127.0.0.1", "SMTP_PORT": closedPort(t), "SMTP_CREDENTIALS_SECRET_ARN": ""})
	acct, token := f.account(t)
	w := serve(down, request{method: "POST", path: "/v1/compliance/requests", token: token, body: bodyOf(compliance.TypePentestNotice, f.clock.Now())})
	if status, code := problem(t, w); status != http.StatusInternalServerError || code != "internal_error" {
		t.Fatalf("%d %s", status, code)
	}
	if page, err := f.records.Requests(t.Context(), acct, 10, ""); err != nil || len(page.Requests) != 0 {
		t.Errorf("kept %+v, %v", page, err)
	}
	notice := noticeJSON(t, validNotice())
	w = serve(down, request{method: "POST", path: "/v1/dmca", body: notice})
	if status, code := problem(t, w); status != http.StatusInternalServerError || code != "internal_error" {
		t.Fatalf("notice: %d %s", status, code)
	}
	if n := f.notices(t); len(n) != 0 {
		t.Errorf("kept notices %v", n)
	}
	f.checkLogsFree(t, validNotice())
}
