package complianceapi

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/web"
)

// parseNow is the clock of the parsing tests.
var parseNow = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

// problemOf describes a parser's error as the client sees it: the problem
// code, and for validation_failed each field as "field:code", sorted.
func problemOf(t *testing.T, err error) (string, []string) {
	t.Helper()
	if err == nil {
		return "", nil
	}
	var e *web.Error
	if !errors.As(err, &e) {
		t.Fatalf("not a client error: %v", err)
	}
	var fs []string
	for _, f := range e.Fields {
		fs = append(fs, f.Field+":"+f.Code)
	}
	slices.Sort(fs)
	return string(e.Code), fs
}

func TestParseRequest(t *testing.T) {
	long := strings.Repeat("é", MaxLongTextLength) // characters, not bytes
	tests := []struct {
		name   string
		body   string
		code   string   // "" for success
		fields []string // "field:code", sorted
		check  func(t *testing.T, r compliance.Request)
	}{
		{name: "soc2", body: `{"type":"soc2_report"}`},
		{name: "pentest report", body: `{"type":"pentest_report"}`},
		{name: "questionnaire", body: `{"type":"security_questionnaire","description":"  Our vendor questionnaire, 40 questions.\r\nCAIQ lite. "}`,
			check: func(t *testing.T, r compliance.Request) {
				if r.Description != "Our vendor questionnaire, 40 questions.\nCAIQ lite." || r.DueDate != "" {
					t.Errorf("%+v", r)
				}
			}},
		{name: "questionnaire at the length limit", body: `{"type":"security_questionnaire","description":"` + long + `"}`},
		{name: "questionnaire due tomorrow", body: `{"type":"security_questionnaire","description":"d","due_date":"2026-06-16"}`,
			check: func(t *testing.T, r compliance.Request) {
				if r.DueDate != "2026-06-16" {
					t.Errorf("due %q", r.DueDate)
				}
			}},
		{name: "questionnaire due in a year", body: `{"type":"security_questionnaire","description":"d","due_date":"2027-06-15"}`},
		{name: "questionnaire due_date null is absent", body: `{"type":"security_questionnaire","description":"d","due_date":null}`},
		{name: "pentest notice", body: `{"type":"pentest_notice","scope":"api.example.com\n203.0.113.0/24","start":"2026-07-01T09:00:00+02:00","end":"2026-07-31T07:00:00Z","contact_name":"Ada Lovelace"}`,
			check: func(t *testing.T, r compliance.Request) {
				if !r.Start.Equal(time.Date(2026, 7, 1, 7, 0, 0, 0, time.UTC)) || r.Start.Location() != time.UTC ||
					!r.End.Equal(time.Date(2026, 7, 31, 7, 0, 0, 0, time.UTC)) || r.ContactName != "Ada Lovelace" ||
					r.Scope != "api.example.com\n203.0.113.0/24" {
					t.Errorf("%+v", r)
				}
			}},

		{name: "no type", body: `{}`, code: "validation_failed", fields: []string{"type:invalid_type"}},
		{name: "unknown type", body: `{"type":"iso27001_certificate"}`, code: "validation_failed", fields: []string{"type:invalid_type"}},
		{name: "type of the wrong kind", body: `{"type":5}`, code: "validation_failed", fields: []string{"type:wrong_type"}},
		{name: "unknown field", body: `{"type":"soc2_report","urgent":true}`, code: "validation_failed", fields: []string{"urgent:unknown_field"}},
		{name: "a field of another type", body: `{"type":"soc2_report","description":"x"}`, code: "validation_failed", fields: []string{"description:not_allowed"}},
		{name: "fields of another type on a notice", body: `{"type":"pentest_notice","scope":"s","start":"2026-07-01T00:00:00Z","end":"2026-07-02T00:00:00Z","contact_name":"A","due_date":"2026-07-01"}`,
			code: "validation_failed", fields: []string{"due_date:not_allowed"}},
		{name: "questionnaire without description", body: `{"type":"security_questionnaire"}`, code: "validation_failed", fields: []string{"description:required"}},
		{name: "blank description", body: `{"type":"security_questionnaire","description":" \n\t "}`, code: "validation_failed", fields: []string{"description:required"}},
		{name: "description too long", body: `{"type":"security_questionnaire","description":"` + long + `x"}`, code: "validation_failed", fields: []string{"description:too_long"}},
		{name: "description with a control character", body: `{"type":"security_questionnaire","description":"a\u0000b"}`, code: "validation_failed", fields: []string{"description:invalid_text"}},
		{name: "due today", body: `{"type":"security_questionnaire","description":"d","due_date":"2026-06-15"}`, code: "validation_failed", fields: []string{"due_date:in_the_past"}},
		{name: "due too far ahead", body: `{"type":"security_questionnaire","description":"d","due_date":"2027-08-01"}`, code: "validation_failed", fields: []string{"due_date:too_far_ahead"}},
		{name: "due date not a date", body: `{"type":"security_questionnaire","description":"d","due_date":"15/07/2026"}`, code: "validation_failed", fields: []string{"due_date:invalid_date"}},
		{name: "notice without anything", body: `{"type":"pentest_notice"}`, code: "validation_failed",
			fields: []string{"contact_name:required", "end:required", "scope:required", "start:required"}},
		{name: "notice in the past", body: `{"type":"pentest_notice","scope":"s","start":"2026-06-15T11:59:59Z","end":"2026-06-15T11:59:59Z","contact_name":"A"}`,
			code: "validation_failed", fields: []string{"end:in_the_past", "start:in_the_past"}},
		{name: "notice ending before it starts", body: `{"type":"pentest_notice","scope":"s","start":"2026-07-02T00:00:00Z","end":"2026-07-01T00:00:00Z","contact_name":"A"}`,
			code: "validation_failed", fields: []string{"end:not_after_start"}},
		{name: "notice of exactly 30 days", body: `{"type":"pentest_notice","scope":"s","start":"2026-07-01T00:00:00Z","end":"2026-07-31T00:00:00Z","contact_name":"A"}`},
		{name: "notice of 30 days and a second", body: `{"type":"pentest_notice","scope":"s","start":"2026-07-01T00:00:00Z","end":"2026-07-31T00:00:01Z","contact_name":"A"}`,
			code: "validation_failed", fields: []string{"end:window_too_long"}},
		{name: "notice starting too far ahead", body: `{"type":"pentest_notice","scope":"s","start":"2027-08-01T00:00:00Z","end":"2027-08-02T00:00:00Z","contact_name":"A"}`,
			code: "validation_failed", fields: []string{"start:too_far_ahead"}},
		{name: "notice times not RFC 3339", body: `{"type":"pentest_notice","scope":"s","start":"tomorrow","end":"2026-07-01","contact_name":"A"}`,
			code: "validation_failed", fields: []string{"end:invalid_time", "start:invalid_time"}},
		{name: "contact name on two lines", body: `{"type":"pentest_notice","scope":"s","start":"2026-07-01T00:00:00Z","end":"2026-07-02T00:00:00Z","contact_name":"A\nB"}`,
			code: "validation_failed", fields: []string{"contact_name:invalid_text"}},
		{name: "contact name too long", body: `{"type":"pentest_notice","scope":"s","start":"2026-07-01T00:00:00Z","end":"2026-07-02T00:00:00Z","contact_name":"` + strings.Repeat("n", MaxNameLength+1) + `"}`,
			code: "validation_failed", fields: []string{"contact_name:too_long"}},
		{name: "not JSON", body: `{"type":`, code: "malformed_json"},
		{name: "not an object", body: `["soc2_report"]`, code: "malformed_json"},
		{name: "null", body: `null`, code: "malformed_json"},
		{name: "two objects", body: `{"type":"soc2_report"}{}`, code: "malformed_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseRequest([]byte(tt.body), parseNow)
			code, fields := problemOf(t, err)
			if code != tt.code || !slices.Equal(fields, tt.fields) {
				t.Fatalf("got %q %v, want %q %v", code, fields, tt.code, tt.fields)
			}
			if err == nil && tt.check != nil {
				tt.check(t, r)
			}
		})
	}
}

func TestParseNDA(t *testing.T) {
	tests := []struct {
		name, body string
		code       string
		fields     []string
	}{
		{"accepted", `{"signatory_name":" Grace Hopper ","signatory_title":"CISO","accept":true}`, "", nil},
		{"not accepted", `{"signatory_name":"G","signatory_title":"CISO","accept":false}`, "validation_failed", []string{"accept:must_be_true"}},
		{"nothing", `{}`, "validation_failed", []string{"accept:required", "signatory_name:required", "signatory_title:required"}},
		{"accept as a string", `{"signatory_name":"G","signatory_title":"CISO","accept":"yes"}`, "validation_failed", []string{"accept:wrong_type"}},
		{"a version of one's own", `{"signatory_name":"G","signatory_title":"CISO","accept":true,"version":"1999"}`, "validation_failed", []string{"version:unknown_field"}},
		{"title too long", `{"signatory_name":"G","signatory_title":"` + strings.Repeat("t", MaxNameLength+1) + `","accept":true}`, "validation_failed", []string{"signatory_title:too_long"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, _, err := ParseNDA([]byte(tt.body))
			code, fields := problemOf(t, err)
			if code != tt.code || !slices.Equal(fields, tt.fields) {
				t.Fatalf("got %q %v, want %q %v", code, fields, tt.code, tt.fields)
			}
			if err == nil && name != "Grace Hopper" {
				t.Errorf("name %q", name)
			}
		})
	}
}

// validNotice is a complete takedown notice, as a JSON object.
func validNotice() map[string]any {
	return map[string]any{
		"infringing_url":                      "https://shop.example.net/images/stolen-photo.jpg",
		"original_url":                        "https://photographer.example.org/portfolio/harbour-at-dawn",
		"complainant_name":                    "Maria Complainant-Sanchez",
		"postal_address":                      "12 Harbour Lane\nPortsmouth PO1 2AB\nUnited Kingdom",
		"telephone":                           "+44 (0)23 9200 0001",
		"email":                               "maria.complainant@example.org",
		"good_faith_statement":                true,
		"accuracy_statement":                  true,
		"authorized_under_penalty_of_perjury": true,
		"signature":                           "/Maria Complainant-Sanchez/",
	}
}

// noticeElements are the notice's required elements, in body order.
var noticeElements = []string{"infringing_url", "original_url", "complainant_name", "postal_address", "telephone", "email",
	"good_faith_statement", "accuracy_statement", "authorized_under_penalty_of_perjury", "signature"}

func noticeJSON(t testing.TB, m map[string]any) string {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseNotice(t *testing.T) {
	with := func(k string, v any) string {
		m := validNotice()
		m[k] = v
		return noticeJSON(t, m)
	}
	tests := []struct {
		name, body string
		code       string
		fields     []string
	}{
		{"complete", noticeJSON(t, validNotice()), "", nil},
		{"http URL", with("infringing_url", "http://shop.example.net/a.jpg?w=300#x"), "", nil},
		{"URL of the maximum length", with("original_url", "https://example.org/"+strings.Repeat("a", MaxURLLength-20)), "", nil},
		{"URL one byte too long", with("original_url", "https://example.org/"+strings.Repeat("a", MaxURLLength-19)), "validation_failed", []string{"original_url:too_long"}},
		{"ftp URL", with("infringing_url", "ftp://files.example.net/a.jpg"), "validation_failed", []string{"infringing_url:invalid_url"}},
		{"javascript URL", with("infringing_url", "javascript:alert(1)"), "validation_failed", []string{"infringing_url:invalid_url"}},
		{"relative URL", with("infringing_url", "/images/a.jpg"), "validation_failed", []string{"infringing_url:invalid_url"}},
		{"URL without host", with("original_url", "https://"), "validation_failed", []string{"original_url:invalid_url"}},
		{"URL with a password", with("original_url", "https://me:pw@example.org/a"), "validation_failed", []string{"original_url:invalid_url"}},
		{"URL with a space", with("original_url", "https://example.org/a b"), "validation_failed", []string{"original_url:invalid_url"}},
		{"bad email", with("email", "maria at example.org"), "validation_failed", []string{"email:invalid_email"}},
		{"telephone with extension", with("telephone", "+1 (555) 010-9999 ext. 12"), "", nil},
		{"telephone x extension", with("telephone", "555.010.9999 x7"), "", nil},
		{"telephone in words", with("telephone", "call me maybe"), "validation_failed", []string{"telephone:invalid_telephone"}},
		{"telephone too short", with("telephone", "1234"), "validation_failed", []string{"telephone:invalid_telephone"}},
		{"telephone that lower-casing lengthens", with("telephone", "ȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺȺ x1"), "validation_failed", []string{"telephone:invalid_telephone"}},
		{"telephone with a + inside", with("telephone", "12+345678"), "validation_failed", []string{"telephone:invalid_telephone"}},
		{"statement false", with("accuracy_statement", false), "validation_failed", []string{"accuracy_statement:must_be_true"}},
		{"statement as a string", with("good_faith_statement", "yes"), "validation_failed", []string{"good_faith_statement:wrong_type"}},
		{"signature too long", with("signature", strings.Repeat("s", MaxNameLength+1)), "validation_failed", []string{"signature:too_long"}},
		{"name on two lines", with("complainant_name", "Maria\r\nSanchez"), "validation_failed", []string{"complainant_name:invalid_text"}},
		{"address too long", with("postal_address", strings.Repeat("a", MaxAddressLength+1)), "validation_failed", []string{"postal_address:too_long"}},
		{"unknown element", with("hash", "abc"), "validation_failed", []string{"hash:unknown_field"}},
		{"empty object: every element named", `{}`, "validation_failed", []string{"accuracy_statement:required", "authorized_under_penalty_of_perjury:required",
			"complainant_name:required", "email:required", "good_faith_statement:required", "infringing_url:required", "original_url:required",
			"postal_address:required", "signature:required", "telephone:required"}},
		{"a wrong type does not hide the other faults", `{"good_faith_statement":"yes","signature":"S"}`, "validation_failed", []string{"accuracy_statement:required",
			"authorized_under_penalty_of_perjury:required", "complainant_name:required", "email:required", "good_faith_statement:wrong_type",
			"infringing_url:required", "original_url:required", "postal_address:required", "telephone:required"}},
		{"not JSON", `infringing_url=x`, "malformed_json", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := ParseNotice([]byte(tt.body))
			code, fields := problemOf(t, err)
			if code != tt.code || !slices.Equal(fields, tt.fields) {
				t.Fatalf("got %q %v, want %q %v", code, fields, tt.code, tt.fields)
			}
			if err == nil && (!n.GoodFaithStatement || !n.AccuracyStatement || !n.AuthorizedUnderPenaltyOfPerjury || n.Signature == "") {
				t.Errorf("%+v", n)
			}
		})
	}
}

// Every element left out, one at a time, is named alone.
func TestParseNoticeNamesEachMissingElement(t *testing.T) {
	for _, el := range noticeElements {
		t.Run(el, func(t *testing.T) {
			m := validNotice()
			delete(m, el)
			_, err := ParseNotice([]byte(noticeJSON(t, m)))
			code, fields := problemOf(t, err)
			if code != "validation_failed" || !slices.Equal(fields, []string{el + ":required"}) {
				t.Errorf("got %q %v", code, fields)
			}
		})
	}
}
