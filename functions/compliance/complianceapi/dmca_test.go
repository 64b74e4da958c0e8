package complianceapi

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/web"
)

// storedNotice is a notice item as stored, with its key and expiry.
type storedNotice struct {
	Notice
	PK        string `dynamodbav:"pk"`
	ExpiresAt int64  `dynamodbav:"expires_at"`
}

// notices returns every DMCA notice item of the table.
func (f *fixture) notices(t testing.TB) []storedNotice {
	t.Helper()
	out, err := f.db.Scan(t.Context(), &dynamodb.ScanInput{TableName: &f.table})
	if err != nil {
		t.Fatal(err)
	}
	var all []storedNotice
	for _, it := range out.Items {
		var n storedNotice
		if err := attributevalue.UnmarshalMap(it, &n); err == nil && strings.HasPrefix(n.PK, "DMCA#") {
			all = append(all, n)
		}
	}
	return all
}

// personalData are the values of a notice that must never be logged: every
// string element, and each line of the postal address.
func personalData(notice map[string]any) []string {
	var out []string
	for _, v := range notice {
		if s, ok := v.(string); ok {
			out = append(out, s)
			out = append(out, strings.Split(s, "\n")...)
		}
	}
	return out
}

// checkLogsFree fails if any log line holds a value of the notice, or if a
// dmca_notice line says more than its id and outcome.
func (f *fixture) checkLogsFree(t testing.TB, notices ...map[string]any) {
	t.Helper()
	logs := strings.ToLower(f.logs.String())
	if logs == "" {
		t.Fatal("no log lines were captured")
	}
	for _, n := range notices {
		for _, v := range personalData(n) {
			if v = strings.ToLower(strings.TrimSpace(v)); len(v) >= 4 && strings.Contains(logs, v) {
				t.Errorf("a log line holds a notice's personal data (%d characters)", len(v))
			}
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(f.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not a JSON log line: %q", line)
		}
		if m["msg"] != "dmca_notice" {
			continue
		}
		for k := range m {
			if !slices.Contains([]string{"time", "level", "msg", "request_id", "outcome", "notice_id"}, k) {
				t.Errorf("a dmca_notice line has the attribute %q", k)
			}
		}
	}
}

func postNotice(f *fixture, body, remote string) *httptest.ResponseRecorder {
	return serve(f.handler, request{method: "POST", path: "/v1/dmca", body: body, remote: remote})
}

func TestDMCANoticeRecordedAndForwarded(t *testing.T) {
	f := newFixture(t, map[string]string{"DMCA_RETENTION": "8760h"})
	notice := validNotice()
	w := postNotice(f, noticeJSON(t, notice), "")
	if w.Code != http.StatusCreated {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	receipt := decodeAs[NoticeReceipt](t, w)
	received := f.clock.Now()
	if !strings.HasPrefix(receipt.Notice.ID, "dmca_") || !receipt.Notice.ReceivedAt.Equal(received) {
		t.Errorf("receipt %+v", receipt.Notice)
	}
	for _, s := range []string{"hosts none", "transforms", "owner of the website", "hosting provider", "recorded"} {
		if !strings.Contains(receipt.Message, s) {
			t.Errorf("the message does not say %q: %s", s, receipt.Message)
		}
	}

	stored := f.notices(t)
	if len(stored) != 1 {
		t.Fatalf("%d notices stored", len(stored))
	}
	n := stored[0]
	want := Notice{ID: receipt.Notice.ID, ReceivedAt: received, InfringingURL: notice["infringing_url"].(string),
		OriginalURL: notice["original_url"].(string), ComplainantName: notice["complainant_name"].(string),
		PostalAddress: notice["postal_address"].(string), Telephone: notice["telephone"].(string), Email: notice["email"].(string),
		GoodFaithStatement: true, AccuracyStatement: true, AuthorizedUnderPenaltyOfPerjury: true, Signature: notice["signature"].(string)}
	n.ReceivedAt = n.ReceivedAt.UTC()
	if n.Notice != want {
		t.Errorf("stored %+v\nwant %+v", n.Notice, want)
	}
	if n.PK != "DMCA#"+want.ID || n.ExpiresAt != received.Add(8760*time.Hour).Unix() {
		t.Errorf("key %s, expires_at %d, want %d", n.PK, n.ExpiresAt, received.Add(8760*time.Hour).Unix())
	}

	mails := testenv.WaitForMails(t, f.agent, 1)
	m := mails[0]
	if m.Subject != "DMCA takedown notice "+want.ID {
		t.Errorf("subject %q", m.Subject)
	}
	for _, v := range personalData(notice) {
		if !strings.Contains(m.Text, v) && !strings.Contains(v, "\n") {
			t.Errorf("the email lacks %q:\n%s", v, m.Text)
		}
	}
	if strings.Count(m.Text, ": yes") != 3 {
		t.Errorf("the email does not show the three statements:\n%s", m.Text)
	}
	if !strings.Contains(f.logs.String(), `"notice_id":"`+want.ID+`"`) || !strings.Contains(f.logs.String(), `"outcome":"recorded"`) {
		t.Errorf("no log line with the notice id and outcome:\n%s", f.logs)
	}
	f.checkLogsFree(t, notice)
}

// Each statutory element left out is named, alone, in the problem; nothing
// is stored or sent.
func TestDMCAMissingElements(t *testing.T) {
	f := newFixture(t, nil)
	var sent []map[string]any
	for _, el := range noticeElements {
		t.Run(el, func(t *testing.T) {
			notice := validNotice()
			delete(notice, el)
			sent = append(sent, notice)
			w := postNotice(f, noticeJSON(t, notice), "")
			if status, code := problem(t, w); status != http.StatusBadRequest || code != "validation_failed" {
				t.Fatalf("%d %s", status, code)
			}
			errs := decodeAs[web.Problem](t, w).Errors
			if len(errs) != 1 || errs[0].Field != el || errs[0].Code != "required" {
				t.Errorf("errors %+v, want %s alone", errs, el)
			}
		})
	}
	for _, tc := range []struct {
		name, field string
		value       any
		code        string
	}{
		{"statement denied", "good_faith_statement", false, "must_be_true"},
		{"perjury statement denied", "authorized_under_penalty_of_perjury", false, "must_be_true"},
		{"URL of another scheme", "infringing_url", "file:///etc/passwd", "invalid_url"},
		{"email invalid", "email", "complainant@", "invalid_email"},
		{"blank signature", "signature", "   ", "required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			notice := validNotice()
			notice[tc.field] = tc.value
			sent = append(sent, notice)
			w := postNotice(f, noticeJSON(t, notice), "")
			if errs := decodeAs[web.Problem](t, w).Errors; w.Code != 400 || len(errs) != 1 || errs[0].Field != tc.field || errs[0].Code != tc.code {
				t.Errorf("%d %+v", w.Code, errs)
			}
		})
	}
	if n := f.notices(t); len(n) != 0 {
		t.Errorf("stored %d notices", len(n))
	}
	if m := testenv.Mails(t, f.agent); len(m) != 0 {
		t.Errorf("sent %d emails", len(m))
	}
	f.checkLogsFree(t, sent...)
}

// Notices are limited per client address; a malformed one is not counted;
// no address is stored.
func TestDMCARateLimit(t *testing.T) {
	f := newFixture(t, map[string]string{"RATE_LIMIT_DMCA": "2"})
	const client, neighbour = "192.0.2.10:40000", "198.51.100.7:40000"
	notice := validNotice()
	body := noticeJSON(t, notice)
	for i := range 2 {
		if w := postNotice(f, body, client); w.Code != http.StatusCreated {
			t.Fatalf("notice %d: %d %s", i+1, w.Code, w.Body)
		}
	}
	bad := validNotice()
	delete(bad, "signature")
	if w := postNotice(f, noticeJSON(t, bad), client); w.Code != http.StatusBadRequest {
		t.Errorf("a malformed notice over the limit: %d, want 400", w.Code)
	}
	w := postNotice(f, body, client)
	if status, code := problem(t, w); status != http.StatusTooManyRequests || code != "rate_limited" {
		t.Fatalf("third notice: %d %s", status, code)
	}
	if s, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || s < 1 || s > 120 {
		t.Errorf("Retry-After %q", w.Header().Get("Retry-After"))
	}
	if w := postNotice(f, body, neighbour); w.Code != http.StatusCreated {
		t.Errorf("another address: %d %s", w.Code, w.Body)
	}
	f.clock.Advance(2 * time.Minute)
	if w := postNotice(f, body, client); w.Code != http.StatusCreated {
		t.Errorf("two minutes later: %d %s", w.Code, w.Body)
	}
	if n := f.notices(t); len(n) != 4 {
		t.Errorf("%d notices stored, want 4", len(n))
	}
	testenv.WaitForMails(t, f.agent, 4)
	if m := testenv.Mails(t, f.agent); len(m) != 4 {
		t.Errorf("%d emails, want 4", len(m))
	}
	out, err := f.db.Scan(t.Context(), &dynamodb.ScanInput{TableName: &f.table})
	if err != nil {
		t.Fatal(err)
	}
	dump, _ := json.Marshal(out.Items)
	if strings.Contains(string(dump), "192.0.2.10") || strings.Contains(string(dump), "198.51.100.7") {
		t.Error("a client address is stored")
	}
	if !strings.Contains(f.logs.String(), `"outcome":"rate_limited"`) {
		t.Error("no log line for the refusal")
	}
	f.checkLogsFree(t, notice, bad)
}
