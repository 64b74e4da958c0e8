package lambdahttp

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func event(method, rawPath string) events.APIGatewayV2HTTPRequest {
	ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: rawPath, Headers: map[string]string{}}
	ev.RequestContext.HTTP.Method = method
	ev.RequestContext.HTTP.Path = rawPath
	ev.RequestContext.HTTP.SourceIP = "198.51.100.7"
	ev.RequestContext.DomainName = "api.example.com"
	return ev
}

func TestRequestKeepsWhatTheClientSent(t *testing.T) {
	sig := "t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd,v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
	ev := event("POST", "/v1/webhooks/stripe%2Fx")
	ev.RawQueryString = "a=1&b=two%20words"
	ev.Headers = map[string]string{"stripe-signature": sig, "content-type": "application/json", "accept": "text/html, application/json"}
	ev.Cookies = []string{"theme=dark", "__Host-atrium_session=abc.def"}
	ev.Body = base64.StdEncoding.EncodeToString([]byte(`{"id":"evt_1"}`))
	ev.IsBase64Encoded = true

	r, err := Request(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(r.Body)
	c, cerr := r.Cookie("__Host-atrium_session")
	checks := []struct {
		name      string
		got, want string
	}{
		{"comma-separated header kept whole", r.Header.Get("Stripe-Signature"), sig},
		{"values of Accept", strings.Join(r.Header.Values("Accept"), "|"), "text/html, application/json"},
		{"method", r.Method, "POST"},
		{"escaped path", r.URL.EscapedPath(), "/v1/webhooks/stripe%2Fx"},
		{"query", r.URL.Query().Get("b"), "two words"},
		{"body decoded", string(body), `{"id":"evt_1"}`},
		{"remote address", r.RemoteAddr, "198.51.100.7"},
		{"host", r.Host, "api.example.com"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %q, want %q", c.name, c.got, c.want)
		}
	}
	if cerr != nil || c.Value != "abc.def" {
		t.Errorf("session cookie: %v %v", c, cerr)
	}
}

func TestHandlerResponses(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
		check   func(t *testing.T, res events.APIGatewayV2HTTPResponse)
	}{
		{"nothing written is 200", func(http.ResponseWriter, *http.Request) {}, func(t *testing.T, res events.APIGatewayV2HTTPResponse) {
			if res.StatusCode != 200 || res.Body != "" {
				t.Errorf("got %d %q", res.StatusCode, res.Body)
			}
		}},
		{"status, headers and cookies", func(w http.ResponseWriter, _ *http.Request) {
			http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
			http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
			w.Header().Add("Vary", "Origin")
			w.Header().Add("Vary", "Cookie")
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{"ok":true}`))
			w.WriteHeader(http.StatusTeapot) // ignored, as net/http does
		}, func(t *testing.T, res events.APIGatewayV2HTTPResponse) {
			if res.StatusCode != 201 || res.Body != `{"ok":true}` || res.IsBase64Encoded {
				t.Errorf("got %d %q", res.StatusCode, res.Body)
			}
			if strings.Join(res.Cookies, ";") != "a=1;b=2" || res.Headers["Set-Cookie"] != "" {
				t.Errorf("cookies %v, headers %v", res.Cookies, res.Headers)
			}
			if res.Headers["Vary"] != "Origin, Cookie" {
				t.Errorf("Vary %q", res.Headers["Vary"])
			}
		}},
		{"binary body is base64", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte{0xff, 0x00, 0xfe}) },
			func(t *testing.T, res events.APIGatewayV2HTTPResponse) {
				if !res.IsBase64Encoded || res.Body != base64.StdEncoding.EncodeToString([]byte{0xff, 0x00, 0xfe}) {
					t.Errorf("got %+v", res)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Handler(tt.handler)(context.Background(), event("GET", "/x"))
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, res)
		})
	}
}

func TestBadEventsAreRefusedPlainly(t *testing.T) {
	bad := []events.APIGatewayV2HTTPRequest{
		func() events.APIGatewayV2HTTPRequest {
			e := event("POST", "/x")
			e.Body, e.IsBase64Encoded = "%%%", true
			return e
		}(),
		event("", "/x"),
		event("GET", "/%zz"),
	}
	for i, ev := range bad {
		called := false
		res, err := Handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true }))(context.Background(), ev)
		if err != nil || res.StatusCode != 400 || called || !strings.Contains(res.Body, `"code":"bad_event"`) {
			t.Errorf("event %d: %d %q called=%v err=%v", i, res.StatusCode, res.Body, called, err)
		}
	}
}

func FuzzRequest(f *testing.F) {
	f.Add("GET", "/v1/account", "a=1", "x-h", "v1,v2", "body", false)
	f.Add("POST", "/%zz", "", "cookie", "", "%%%", true)
	f.Add("", "", "", "", "", "", false)
	f.Fuzz(func(t *testing.T, method, path, query, hk, hv, body string, b64 bool) {
		ev := event(method, path)
		ev.RawQueryString = query
		if hk != "" {
			ev.Headers[hk] = hv
		}
		ev.Body, ev.IsBase64Encoded = body, b64
		res, err := Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(w, r.Body)
		}))(context.Background(), ev)
		if err != nil || res.StatusCode == 0 {
			t.Fatalf("%+v %v", res, err)
		}
	})
}
