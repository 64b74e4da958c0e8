package web_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/atrium-cdn/atrium/shared/web"
)

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

type tokenRequest struct {
	Token string `json:"token"`
}

type typedRequest struct {
	Name    string   `json:"name"`
	Count   int      `json:"count"`
	Enabled bool     `json:"enabled"`
	Tags    []string `json:"tags"`
	Nested  struct {
		Limit int `json:"limit"`
	} `json:"nested"`
}

// TestDecodeJSON drives DecodeJSON through the whole request path (Wrap,
// Router, Handle), as a function serves it.
func TestDecodeJSON(t *testing.T) {
	const password = "correct-horse-battery"
	tests := []struct {
		name        string
		contentType string // "-" means no header
		body        string
		want        int
		wantCode    string
		wantField   string // the first field error's field ...
		wantFCode   string // ... and code
	}{
		{name: "valid", contentType: "application/json", body: `{"email":"a@example.com","password":"` + password + `"}`, want: 200},
		{name: "valid with charset", contentType: "application/json; charset=utf-8", body: `{"email":"a@example.com"}`, want: 200},
		{name: "media type is case-insensitive", contentType: "Application/JSON", body: `{"email":"a@example.com"}`, want: 200},
		{name: "surrounding whitespace", contentType: "application/json", body: "\n\t {\"email\":\"a\"} \r\n", want: 200},
		{name: "empty object", contentType: "application/json", body: `{}`, want: 200},
		{name: "no content type", contentType: "-", body: `{"email":"a"}`, want: 415, wantCode: "unsupported_media_type"},
		{name: "empty content type", contentType: "", body: `{"email":"a"}`, want: 415, wantCode: "unsupported_media_type"},
		{name: "text/plain", contentType: "text/plain", body: `{"email":"a"}`, want: 415, wantCode: "unsupported_media_type"},
		{name: "form", contentType: "application/x-www-form-urlencoded", body: `email=a`, want: 415, wantCode: "unsupported_media_type"},
		{name: "another JSON type", contentType: "application/problem+json", body: `{}`, want: 415, wantCode: "unsupported_media_type"},
		{name: "unparsable content type", contentType: "application/json; charset", body: `{}`, want: 415, wantCode: "unsupported_media_type"},
		{name: "empty body", contentType: "application/json", body: ``, want: 400, wantCode: "malformed_json"},
		{name: "blank body", contentType: "application/json", body: " \n\t", want: 400, wantCode: "malformed_json"},
		{name: "null", contentType: "application/json", body: `null`, want: 400, wantCode: "malformed_json"},
		{name: "array", contentType: "application/json", body: `[{"email":"a"}]`, want: 400, wantCode: "malformed_json"},
		{name: "string", contentType: "application/json", body: `"` + password + `"`, want: 400, wantCode: "malformed_json"},
		{name: "number", contentType: "application/json", body: `42`, want: 400, wantCode: "malformed_json"},
		{name: "truncated", contentType: "application/json", body: `{"email":"a","password":"` + password, want: 400, wantCode: "malformed_json"},
		{name: "syntax error", contentType: "application/json", body: `{"email":,"password":"` + password + `"}`, want: 400, wantCode: "malformed_json"},
		{name: "single quotes", contentType: "application/json", body: `{'email':'a'}`, want: 400, wantCode: "malformed_json"},
		{name: "second object", contentType: "application/json", body: `{"email":"a"} {"password":"` + password + `"}`, want: 400, wantCode: "malformed_json"},
		{name: "trailing garbage", contentType: "application/json", body: `{"email":"a"}x`, want: 400, wantCode: "malformed_json"},
		{name: "trailing bracket", contentType: "application/json", body: `{"email":"a"}]`, want: 400, wantCode: "malformed_json"},
		{name: "unknown field", contentType: "application/json", body: `{"email":"a","admin":true}`,
			want: 400, wantCode: "validation_failed", wantField: "admin", wantFCode: "unknown_field"},
		{name: "empty key", contentType: "application/json", body: `{"":1}`,
			want: 400, wantCode: "validation_failed", wantField: "", wantFCode: "unknown_field"},
		{name: "wrong type", contentType: "application/json", body: `{"email":5,"password":"` + password + `"}`,
			want: 400, wantCode: "validation_failed", wantField: "email", wantFCode: "wrong_type"},
		{name: "object for a string", contentType: "application/json", body: `{"password":{"x":1}}`,
			want: 400, wantCode: "validation_failed", wantField: "password", wantFCode: "wrong_type"},
		// Strict: exact names, no duplicates, valid UTF-8.
		{name: "name in another case", contentType: "application/json", body: `{"EMAIL":"a"}`,
			want: 400, wantCode: "validation_failed", wantField: "EMAIL", wantFCode: "unknown_field"},
		{name: "duplicate key", contentType: "application/json", body: `{"password":"x","password":"` + password + `"}`,
			want: 400, wantCode: "malformed_json"},
		{name: "invalid UTF-8", contentType: "application/json", body: "{\"email\":\"a\xff\"}",
			want: 400, wantCode: "malformed_json"},
		{name: "lone surrogate", contentType: "application/json", body: `{"email":"\ud800"}`,
			want: 400, wantCode: "malformed_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logger, buf := captureLogger()
			rt := web.NewRouter(logger)
			rt.Handle("POST /v1/login", func(w http.ResponseWriter, r *http.Request) error {
				var in loginRequest
				if err := web.DecodeJSON(r, &in); err != nil {
					return err
				}
				web.WriteJSON(w, http.StatusOK, map[string]string{"email": in.Email})
				return nil
			})
			h := web.Wrap(rt, web.Options{Logger: logger})
			req := httptest.NewRequest(http.MethodPost, "/v1/login", strings.NewReader(tt.body))
			if tt.contentType != "-" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)

			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			// Neither the answer nor the log ever echoes what was sent.
			mustNotContain(t, "response", rec.Body.String(), password)
			mustNotContain(t, "log", buf.String(), password)
			if tt.want == 200 {
				if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
					t.Errorf("Content-Type %q", ct)
				}
				return
			}
			p := problemOf(t, rec)
			if p.Code != tt.wantCode {
				t.Errorf("code %q, want %q (%s)", p.Code, tt.wantCode, p.Detail)
			}
			if tt.wantFCode == "" {
				if len(p.Errors) != 0 {
					t.Errorf("unexpected field errors %+v", p.Errors)
				}
			} else if len(p.Errors) != 1 || p.Errors[0].Field != tt.wantField || p.Errors[0].Code != tt.wantFCode || p.Errors[0].Detail == "" {
				t.Errorf("field errors %+v, want one %s/%s", p.Errors, tt.wantField, tt.wantFCode)
			}
			if line := accessLine(t, buf); line["code"] != tt.wantCode || line["status"] != float64(tt.want) {
				t.Errorf("access line %v", line)
			}
		})
	}
}

// errReader fails every read with an error whose text must never be shown.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset by 203.0.113.9") }

func TestDecodeJSONUnreadableBody(t *testing.T) {
	req := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(errReader{}))
	req.Header.Set("Content-Type", "application/json")
	var in loginRequest
	err := web.DecodeJSON(req, &in)
	var e *web.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Code != "unreadable_body" {
		t.Fatalf("error %v, want 400 unreadable_body", err)
	}
	if e.Cause == nil || strings.Contains(e.Message, "203.0.113.9") {
		t.Errorf("the cause belongs in Cause, not in Message: %+v", e)
	}
}

// TestDecodeJSONBytesTypes checks the wording of type errors for each JSON kind.
func TestDecodeJSONBytesTypes(t *testing.T) {
	tests := []struct {
		body       string
		field      string
		wantDetail string
	}{
		{`{"name":1}`, "name", "must be a string"},
		{`{"count":"1"}`, "count", "must be a number"},
		{`{"count":1.5}`, "count", "must be a number"},
		{`{"enabled":"yes"}`, "enabled", "must be a boolean"},
		{`{"tags":"a"}`, "tags", "must be an array"},
		{`{"tags":[1]}`, "tags", "must be a string"},
		{`{"nested":[]}`, "nested", "must be an object"},
		{`{"nested":{"limit":"x"}}`, "nested.limit", "must be a number"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			var dst typedRequest
			err := web.DecodeJSONBytes([]byte(tt.body), &dst)
			var e *web.Error
			if !errors.As(err, &e) || e.Status != 400 || e.Code != "validation_failed" || len(e.Fields) != 1 {
				t.Fatalf("error %#v", err)
			}
			f := e.Fields[0]
			if f.Field != tt.field || f.Code != "wrong_type" || f.Detail != tt.wantDetail {
				t.Errorf("field error %+v, want %s %q", f, tt.field, tt.wantDetail)
			}
		})
	}
}

func TestDecodeJSONBytesLongUnknownField(t *testing.T) {
	long := strings.Repeat("é", 100) // multi-byte, so a cut at a byte count could split one
	err := web.DecodeJSONBytes([]byte(`{"`+long+`":1}`), &loginRequest{})
	var e *web.Error
	if !errors.As(err, &e) || e.Code != "validation_failed" || len(e.Fields) != 1 {
		t.Fatalf("error %#v", err)
	}
	f := e.Fields[0]
	if f.Code != "unknown_field" || len(f.Field) > 70 || !strings.HasSuffix(f.Field, "…") {
		t.Errorf("field %q (%d bytes), want it cut short with an ellipsis", f.Field, len(f.Field))
	}
	if !utf8.ValidString(f.Field) {
		t.Errorf("cut field name is not valid UTF-8: %q", f.Field)
	}
}

type embeddedBase struct {
	ID   string `json:"id"`
	Kind string // no tag: its Go name, which "kind" does not hide
	Name string `json:"kind_name"`
}

type deeper struct {
	Name string `json:"kind_name"` // deeper than embeddedBase's: hidden
}

type shadowing struct {
	embeddedBase
	*DeeperHolder
	Kind  string          `json:"kind"` // embeddedBase.Kind, untagged, is another name: "Kind"
	Skip  string          `json:"-"`
	Free  map[string]int  `json:"free"`
	Raw   json.RawMessage `json:"raw"`
	Any   any             `json:"any"`
	Items []typedRequest  `json:"items"`
	//lint:ignore U1000 never used: it is here to be unexported, which encoding/json skips
	hidden string
}

// TestDecodeJSONBytesStrict: what encoding/json lets through and a strict
// decoder refuses, at every depth, and what it still accepts.
func TestDecodeJSONBytesStrict(t *testing.T) {
	type fe struct{ field, code string }
	tests := []struct {
		name     string
		body     string
		dst      func() any
		wantCode string // "" for success
		want     []fe   // the field errors, in order
		detail   string // a part of the first field error's detail
	}{
		{name: "exact names", body: `{"name":"n","count":1,"nested":{"limit":2}}`, dst: typed},
		{name: "case variant", body: `{"Name":"n"}`, dst: typed, wantCode: "validation_failed",
			want: []fe{{"Name", "unknown_field"}}, detail: `did you mean "name"?`},
		{name: "Kelvin sign folds to k in encoding/json", body: `{"coun\u212at":1}`, dst: typed, wantCode: "validation_failed",
			want: []fe{{"coun\u212at", "unknown_field"}}},
		{name: "nested case variant", body: `{"nested":{"LIMIT":2}}`, dst: typed, wantCode: "validation_failed",
			want: []fe{{"nested.LIMIT", "unknown_field"}}, detail: `did you mean "limit"?`},
		{name: "nested unknown", body: `{"nested":{"x":2}}`, dst: typed, wantCode: "validation_failed",
			want: []fe{{"nested.x", "unknown_field"}}, detail: "is not a field of this request"},
		{name: "the first unknown name", body: `{"name":"n","Count":1,"b":2}`, dst: typed, wantCode: "validation_failed",
			want: []fe{{"Count", "unknown_field"}}, detail: `did you mean "count"?`},
		{name: "case variant of a wrong type", body: `{"COUNT":"x"}`, dst: typed, wantCode: "validation_failed",
			want: []fe{{"COUNT", "unknown_field"}}},
		{name: "duplicate", body: `{"name":"a","name":"b"}`, dst: typed, wantCode: "malformed_json",
			detail: "repeats a name within one object (at byte 12)"},
		{name: "duplicate after spaces", body: "{\"name\":\"a\" ,\n \"name\":\"b\"}", dst: typed, wantCode: "malformed_json",
			detail: "(at byte 15)"},
		{name: "duplicate of a case variant", body: `{"NAME":"b","NAME":"c"}`, dst: typed, wantCode: "malformed_json"},
		{name: "duplicate after an unknown name", body: `{"x":1,"name":"a","name":"b"}`, dst: typed, wantCode: "malformed_json"},
		{name: "nested duplicate", body: `{"nested":{"limit":1,"limit":2}}`, dst: typed, wantCode: "malformed_json"},
		{name: "same name in two objects", body: `{"nested":{"limit":1},"name":"limit"}`, dst: typed},
		{name: "duplicate and a wrong type", body: `{"count":"x","name":"a","name":"b"}`, dst: typed, wantCode: "malformed_json"},
		{name: "unknown name before a wrong type", body: `{"Name":"n","count":"x"}`, dst: typed, wantCode: "validation_failed",
			want: []fe{{"Name", "unknown_field"}}},

		{name: "invalid UTF-8 in a value", body: "{\"name\":\"\xc3\x28\"}", dst: typed, wantCode: "malformed_json", detail: "UTF-8"},
		{name: "invalid UTF-8 in a key", body: "{\"na\xffme\":\"n\"}", dst: typed, wantCode: "malformed_json", detail: "UTF-8"},
		{name: "overlong encoding", body: "{\"name\":\"\xc0\xaf\"}", dst: typed, wantCode: "malformed_json"},
		{name: "encoded surrogate", body: "{\"name\":\"\xed\xa0\x80\"}", dst: typed, wantCode: "malformed_json"},
		{name: "escaped high surrogate alone", body: `{"name":"\ud83d"}`, dst: typed, wantCode: "malformed_json", detail: "surrogate"},
		{name: "escaped low surrogate alone", body: `{"name":"\udc00x"}`, dst: typed, wantCode: "malformed_json"},
		{name: "escaped surrogates reversed", body: `{"name":"\ude00\ud83d"}`, dst: typed, wantCode: "malformed_json"},
		{name: "high surrogate then a character", body: `{"name":"\ud83d\u0041"}`, dst: typed, wantCode: "malformed_json"},
		{name: "escaped surrogate in a key", body: `{"\ud800":1}`, dst: typed, wantCode: "malformed_json"},
		{name: "escaped pair", body: `{"name":"\ud83d\ude00"}`, dst: typed},
		{name: "escaped backslash then u", body: `{"name":"\\ud800"}`, dst: typed},
		{name: "escaped quote", body: `{"name":"\"\ud800"}`, dst: typed, wantCode: "malformed_json"},
		{name: "valid multi-byte text", body: `{"name":"café ☕ 😀"}`, dst: typed},

		{name: "embedded fields promoted", body: `{"id":"x","kind":"k"}`, dst: shadow},
		{name: "untagged embedded field by its Go name", body: `{"Kind":"k","kind":"l"}`, dst: shadow}, // two names
		{name: "case variant of both", body: `{"KIND":"k"}`, dst: shadow, wantCode: "validation_failed",
			want: []fe{{"KIND", "unknown_field"}}},
		{name: "embedded pointer promoted", body: `{"other":"o","kind_name":"n"}`, dst: shadow},
		{name: "dash-tagged field", body: `{"Skip":"x"}`, dst: shadow, wantCode: "validation_failed", want: []fe{{"Skip", "unknown_field"}}},
		{name: "unexported field", body: `{"hidden":"x"}`, dst: shadow, wantCode: "validation_failed", want: []fe{{"hidden", "unknown_field"}}},
		{name: "map keys are free", body: `{"free":{"A":1,"a":2}}`, dst: shadow},
		{name: "map keys unique", body: `{"free":{"a":1,"a":2}}`, dst: shadow, wantCode: "malformed_json"},
		{name: "raw message is free", body: `{"raw":{"Anything":[1,{"X":2}]}}`, dst: shadow},
		{name: "raw message keys unique", body: `{"raw":{"x":1,"x":2}}`, dst: shadow, wantCode: "malformed_json"},
		{name: "interface keys unique", body: `{"any":[{"x":1,"x":2}]}`, dst: shadow, wantCode: "malformed_json"},
		{name: "array elements by their type", body: `{"items":[{"name":"a"},{"Name":"b"}]}`, dst: shadow, wantCode: "validation_failed",
			want: []fe{{"items.Name", "unknown_field"}}},
		{name: "raw message body", body: `{"a":{"b":1},"A":[]}`, dst: func() any { return new(json.RawMessage) }},
		{name: "raw message body, duplicate", body: `{"a":1,"a":1}`, dst: func() any { return new(json.RawMessage) },
			wantCode: "malformed_json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := web.DecodeJSONBytes([]byte(tt.body), tt.dst())
			if tt.wantCode == "" {
				if err != nil {
					t.Fatalf("error %v, want success", err)
				}
				return
			}
			var e *web.Error
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || string(e.Code) != tt.wantCode {
				t.Fatalf("error %v, want 400 %s", err, tt.wantCode)
			}
			var got []fe
			for _, f := range e.Fields {
				got = append(got, fe{f.Field, f.Code})
				if f.Detail == "" {
					t.Errorf("field error %+v without detail", f)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("field errors %+v, want %+v", got, tt.want)
			}
			text := e.Message
			if len(e.Fields) > 0 {
				text = e.Fields[0].Detail
			}
			if !strings.Contains(text, tt.detail) {
				t.Errorf("message %q does not say %q", text, tt.detail)
			}
		})
	}
}

// DeeperHolder is embedded by pointer: exported, so encoding/json can allocate it.
type DeeperHolder struct {
	deeper
	Other string `json:"other"`
}

func typed() any  { return new(typedRequest) }
func shadow() any { return new(shadowing) }

func TestDecodeJSONBytesValid(t *testing.T) {
	var got typedRequest
	body := `{"name":"n","count":3,"enabled":true,"tags":["a","b"],"nested":{"limit":7}}`
	if err := web.DecodeJSONBytes([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	var want typedRequest
	want.Name, want.Count, want.Enabled, want.Tags, want.Nested.Limit = "n", 3, true, []string{"a", "b"}, 7
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// FuzzDecodeJSONBytes: whatever the bytes, decoding never panics; a success
// survives a round trip unchanged; a failure is a client error with a code.
func FuzzDecodeJSONBytes(f *testing.F) {
	for _, s := range []string{
		``, ` `, `null`, ` null `, `{}`, `[]`, `"x"`, `1`, `true`,
		`{"email":"a@example.com","password":"pw"}`,
		`{"token":"acct_x.sess_y.zzzz"}`,
		`{"email":"a"} {"email":"b"}`, `{"email":"a"}x`, `{"email":"a"`, `{"email":}`,
		`{"email":1}`, `{"token":null}`, `{"token":{"a":1}}`, `{"admin":true}`,
		`{"EMAIL":"case","Password":"folds"}`, `{"email":"a","email":"b"}`,
		`{"email":"\ud800"}`, "{\"email\":\"\xff\"}", `{"email":"\u0000"}`,
		`{"Email":"a"}`, `{"emaiL":"a","password":"p"}`, `{"tok\u212an":"k"}`, `{"TOKEN":"x","token":"y"}`,
		`{"password":"a","password":"a"}`, `{"token":"a","token":"b","token":"c"}`, `{"email":"a","Email":"b"}`,
		`{"email":"\ud83d\ude00"}`, `{"email":"\ude00"}`, `{"email":"\ud83d\u0041"}`, `{"email":"\\ud800"}`,
		"{\"email\":\"\xed\xa0\x80\"}", "{\"email\":\"\xc0\xaf\"}", "{\"em\xffail\":1}",
		`{"email":"café ☕"}`,
		"\xef\xbb\xbf{}", `{"` + strings.Repeat("k", 200) + `":1}`,
		`{"token":"` + strings.Repeat("t", 5000) + `"}`,
		strings.Repeat("[", 20000),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkDecode(t, body, &loginRequest{})
		checkDecode(t, body, &tokenRequest{})
	})
}

func checkDecode[T any](t *testing.T, body []byte, dst *T) {
	t.Helper()
	err := web.DecodeJSONBytes(body, dst)
	if err != nil {
		var e *web.Error
		if !errors.As(err, &e) {
			t.Fatalf("%q: error %T %v is not a *web.Error", body, err, err)
		}
		if e.Status != 400 && e.Status != 413 && e.Status != 415 {
			t.Fatalf("%q: status %d", body, e.Status)
		}
		if e.Code == "" || e.Message == "" {
			t.Fatalf("%q: error without code or message: %#v", body, e)
		}
		for _, fe := range e.Fields {
			// A field may be nameless only when the client sent an empty key.
			if fe.Code == "" || fe.Detail == "" || fe.Field == "" && fe.Code != "unknown_field" {
				t.Fatalf("%q: incomplete field error %#v", body, fe)
			}
		}
		return
	}
	again, err := json.Marshal(dst)
	if err != nil {
		t.Fatalf("%q: re-encode: %v", body, err)
	}
	var second T
	if err := web.DecodeJSONBytes(again, &second); err != nil {
		t.Fatalf("%q: re-encoded %s does not decode: %v", body, again, err)
	}
	if !reflect.DeepEqual(*dst, second) {
		t.Fatalf("%q: decoded %#v, after a round trip %#v", body, *dst, second)
	}
	if !bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")) {
		t.Fatalf("%q: accepted a body that is not a JSON object", body)
	}
	// Strict: valid UTF-8, and each top-level key once and spelled exactly
	// as a json tag of the destination.
	if !utf8.Valid(body) {
		t.Fatalf("%q: accepted invalid UTF-8", body)
	}
	names := map[string]bool{}
	rt := reflect.TypeFor[T]()
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		names[name] = true
	}
	seen := map[string]bool{}
	for _, k := range topLevelKeys(t, body) {
		if !names[k] || seen[k] {
			t.Fatalf("%q: accepted key %q (unknown, another case, or repeated)", body, k)
		}
		seen[k] = true
	}
}

// topLevelKeys returns the keys of the JSON object in body, in order,
// repeats included.
func topLevelKeys(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	var keys []string
	depth := 0
	wantKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return keys
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
			wantKey = depth == 1 && tok == json.Delim('{')
			continue
		case json.Delim('}'), json.Delim(']'):
			depth--
			wantKey = depth == 1
			if depth == 0 {
				return keys
			}
			continue
		}
		if depth == 1 && wantKey {
			keys = append(keys, tok.(string))
			wantKey = false
			continue
		}
		wantKey = depth == 1
	}
}
