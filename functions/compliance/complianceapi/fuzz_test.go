package complianceapi

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/emailaddr"
	"github.com/atrium-cdn/atrium/shared/web"
)

// The fuzzers need no stack: the parsers are pure. Their seed corpora run
// with every `go test`; `go test -fuzz FuzzParseNotice` explores further.

// checkRefusal holds for every refusal: a 400 problem the client can read,
// naming each field at most once, in bounded, valid UTF-8.
func checkRefusal(t *testing.T, err error) {
	t.Helper()
	var e *web.Error
	if !errors.As(err, &e) {
		t.Fatalf("not a client error: %v", err)
	}
	if e.Status != 400 || (e.Code != "validation_failed" && e.Code != "malformed_json") {
		t.Fatalf("refused with %d %s", e.Status, e.Code)
	}
	if (e.Code == "validation_failed") != (len(e.Fields) > 0) {
		t.Fatalf("%s with %d fields", e.Code, len(e.Fields))
	}
	seen := map[string]bool{}
	for _, f := range e.Fields {
		if f.Field == "" || len(f.Field) > 80 || !utf8.ValidString(f.Field) || f.Code == "" || f.Detail == "" || seen[f.Field] {
			t.Fatalf("field error %+v (fields %v)", f, e.Fields)
		}
		seen[f.Field] = true
	}
}

// checkText holds for every accepted text: trimmed, bounded, printable.
func checkText(t *testing.T, field, v string, max int, multiline bool) {
	t.Helper()
	if v == "" || v != strings.TrimSpace(v) || utf8.RuneCountInString(v) > max || !printable(v, multiline) || strings.Contains(v, "\r") {
		t.Fatalf("%s accepted as %q", field, v)
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, seed := range []string{
		`{"type":"soc2_report"}`,
		`{"type":"pentest_report"}`,
		`{"type":"security_questionnaire","description":"CAIQ lite","due_date":"2026-07-01"}`,
		`{"type":"security_questionnaire","description":"a\r\nb\u0000"}`,
		`{"type":"pentest_notice","scope":"api.example.com","start":"2026-07-01T09:00:00+02:00","end":"2026-07-30T00:00:00Z","contact_name":"Ada"}`,
		`{"type":"pentest_notice","scope":"s","start":"2026-07-02T00:00:00Z","end":"2026-07-01T00:00:00Z","contact_name":"A","description":"x"}`,
		`{"type":"pentest_notice","start":"9999-12-31T23:59:59.999999999-23:59","end":"0000-01-01T00:00:00Z"}`,
		`{"type":5,"zzz":[1,{"a":null}]}`,
		`{"type":"soc2_report"} trailing`,
		`null`, `[]`, ``, `"soc2_report"`, `{"type":"\ud800"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseRequest(body, parseNow)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		if _, ok := compliance.Types[r.Type]; !ok {
			t.Fatalf("accepted type %q", r.Type)
		}
		if r.ID != "" || r.AccountID != "" || r.Status != "" || !r.CreatedAt.IsZero() || r.NDAVersion != "" {
			t.Fatalf("the parser set the server's fields: %+v", r)
		}
		switch r.Type {
		case compliance.TypeSecurityQuestionnaire:
			checkText(t, "description", r.Description, MaxLongTextLength, true)
			if r.DueDate != "" {
				d, err := time.Parse(time.DateOnly, r.DueDate)
				if err != nil || !d.After(parseNow.Truncate(24*time.Hour)) || d.After(parseNow.Add(MaxLeadTime)) {
					t.Fatalf("due date %q accepted", r.DueDate)
				}
			}
			if r.Scope != "" || r.Start != nil || r.End != nil || r.ContactName != "" {
				t.Fatalf("notice fields on a questionnaire: %+v", r)
			}
		case compliance.TypePentestNotice:
			checkText(t, "scope", r.Scope, MaxLongTextLength, true)
			checkText(t, "contact_name", r.ContactName, MaxNameLength, false)
			if r.Start == nil || r.End == nil || !r.Start.After(parseNow) || r.Start.After(parseNow.Add(MaxLeadTime)) ||
				!r.End.After(*r.Start) || r.End.Sub(*r.Start) > MaxPentestWindow || r.Start.Location() != time.UTC {
				t.Fatalf("window %v – %v accepted", r.Start, r.End)
			}
			if r.Description != "" || r.DueDate != "" {
				t.Fatalf("questionnaire fields on a notice: %+v", r)
			}
		default:
			if r != (compliance.Request{Type: r.Type}) {
				t.Fatalf("fields on a %s: %+v", r.Type, r)
			}
		}
	})
}

func FuzzParseNotice(f *testing.F) {
	f.Add([]byte(noticeJSON(f, validNotice())))
	for _, el := range noticeElements {
		m := validNotice()
		delete(m, el)
		f.Add([]byte(noticeJSON(f, m)))
	}
	for _, seed := range []string{
		`{}`, `null`, `[]`, `{"email":"A@B.CO","telephone":"+1 555 0100 ext 9","infringing_url":"HTTPS://x.y/\u00e9"}`,
		`{"telephone":"ȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺ x1"}`,
		`{"infringing_url":"http://[::1]:80/a","original_url":"https://a@b/","good_faith_statement":"true"}`,
		`{"postal_address":"\r\r\n\t","signature":"\u2028"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseNotice(body)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		for _, u := range []struct{ field, v string }{{"infringing_url", n.InfringingURL}, {"original_url", n.OriginalURL}} {
			p, err := url.Parse(u.v)
			if err != nil || len(u.v) > MaxURLLength || (p.Scheme != "http" && p.Scheme != "https") || p.Hostname() == "" || p.User != nil ||
				strings.ContainsAny(u.v, " \t\r\n") {
				t.Fatalf("%s accepted as %q", u.field, u.v)
			}
		}
		checkText(t, "complainant_name", n.ComplainantName, MaxNameLength, false)
		checkText(t, "postal_address", n.PostalAddress, MaxAddressLength, true)
		checkText(t, "telephone", n.Telephone, MaxTelephoneLength, false)
		checkText(t, "signature", n.Signature, MaxNameLength, false)
		if addr, err := emailaddr.Normalize(n.Email); err != nil || addr != n.Email {
			t.Fatalf("email accepted as %q", n.Email)
		}
		if !n.GoodFaithStatement || !n.AccuracyStatement || !n.AuthorizedUnderPenaltyOfPerjury {
			t.Fatalf("a statement not affirmed: %+v", n)
		}
		if n.ID != "" || !n.ReceivedAt.IsZero() {
			t.Fatalf("the parser set the server's fields: %+v", n)
		}
	})
}

func FuzzParseNDA(f *testing.F) {
	for _, seed := range []string{
		`{"signatory_name":"Grace Hopper","signatory_title":"CISO","accept":true}`,
		`{"signatory_name":"G","signatory_title":"T","accept":false}`,
		`{"signatory_name":"\u0007","signatory_title":"","accept":null,"x":1}`,
		`{}`, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		name, title, err := ParseNDA(body)
		if err != nil {
			checkRefusal(t, err)
			return
		}
		checkText(t, "signatory_name", name, MaxNameLength, false)
		checkText(t, "signatory_title", title, MaxNameLength, false)
	})
}
