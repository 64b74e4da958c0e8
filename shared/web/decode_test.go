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
}
