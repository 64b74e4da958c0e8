package complianceapi

import (
	"net/http"
	"testing"

	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/web"
)

// TestRequestLimitCountsWhatPasses: the per-account limit of compliance
// requests, declared on the route, counts a request only once it is valid
// and its plan allows it: refusals for the body or the plan do not use up
// the allowance.
func TestRequestLimitCountsWhatPasses(t *testing.T) {
	f := newFixture(t, nil)
	_, token := f.account(t) // standard plan
	premiumOnly := bodyOf(compliance.TypeSecurityQuestionnaire, f.clock.Now())
	for i := range DefaultRequestLimit.Max + 1 {
		if status, code := problem(t, f.call("POST", "/v1/compliance/requests", token, premiumOnly)); status != http.StatusForbidden || code != "premium_required" {
			t.Fatalf("premium request %d: %d %s", i+1, status, code)
		}
		if status, code := problem(t, f.call("POST", "/v1/compliance/requests", token, `{"type":"pentest_notice"}`)); status != http.StatusBadRequest || code != "validation_failed" {
			t.Fatalf("invalid request %d: %d %s", i+1, status, code)
		}
	}
	body := bodyOf(compliance.TypePentestNotice, f.clock.Now())
	for i := range DefaultRequestLimit.Max {
		if w := f.call("POST", "/v1/compliance/requests", token, body); w.Code != http.StatusCreated {
			t.Fatalf("request %d after the refusals: %d %s", i+1, w.Code, w.Body)
		}
	}
	w := f.call("POST", "/v1/compliance/requests", token, body)
	if p := decodeAs[web.Problem](t, w); w.Code != http.StatusTooManyRequests || p.Code != "rate_limited" ||
		p.Detail != "Too many compliance requests from this account. Wait and try again." || w.Header().Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %s", w.Code, w.Body)
	}
}

// TestDMCALimitAnswer: the notice limit answers the API's one rate-limit
// problem, worded for notices.
func TestDMCALimitAnswer(t *testing.T) {
	f := newFixture(t, map[string]string{"RATE_LIMIT_DMCA": "1"})
	const client = "192.0.2.20:40000"
	body := noticeJSON(t, validNotice())
	if w := postNotice(f, body, client); w.Code != http.StatusCreated {
		t.Fatalf("first notice: %d %s", w.Code, w.Body)
	}
	w := postNotice(f, body, client)
	if p := decodeAs[web.Problem](t, w); w.Code != http.StatusTooManyRequests || p.Code != "rate_limited" ||
		p.Detail != "Too many notices from your network. Wait and try again." || w.Header().Get("Retry-After") == "" {
		t.Fatalf("second notice: %d %s", w.Code, w.Body)
	}
}
