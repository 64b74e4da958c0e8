package breached

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Test passwords and the SHA-1 parts the fake service knows them by. The
// counts are made up; the hashes are checked by TestVectors.
const (
	// breachedPassword is listed under its prefix, breachedCount times.
	breachedPassword = "password123456789"
	breachedPrefix   = "71941"
	breachedSuffix   = "A777840AD94EEDF7B3809CD714CCCE7FCEA"
	breachedCount    = 4127

	// paddedPassword's suffix appears under its prefix only as a padding
	// entry (count 0).
	paddedPassword = "lantern-quarry-velvet-0917"
	paddedPrefix   = "F9710"
	paddedSuffix   = "B7D1570951DAD623F897A31E950316178F3"

	// cleanPassword is not listed at all.
	cleanPassword = "Tr0ub4dor&3 is not a passphrase"
	cleanPrefix   = "FDA22"
)

// rangeLines are the real entries the fake service lists per prefix, in the
// service's order (ascending suffix). Other prefixes get otherLines.
var (
	rangeLines = map[string][]string{
		breachedPrefix: {
			"0A5BBBF75ACB604145B72D4FB2DBDEC27DE:3",
			"3D585BED3D88B1B9B46AC56601ACF9E4702:12",
			breachedSuffix + ":" + strconv.Itoa(breachedCount),
			"E2FA897B47DEE2022B743340097D057FB2E:1",
		},
		paddedPrefix: {
			"784BAA27B1B852B379BB2C2923E28B8B15C:2",
			"9E43B64A0DCF9F1B12EE327484A4693BE51:7",
		},
	}
	otherLines = []string{
		"62775FE94A9A071FB715527DE2F7A49740B:1",
		"A3A25042DC1A910AD4AD7E4E88ED31F31B2:25",
		"E9E82D9FB98A067F3611B8EA0A563F3A82A:9",
	}
	// paddingLines are added when the request asks for padding. The real
	// service generates random ones; paddedPrefix gets paddedSuffix.
	paddingLines = map[string][]string{
		paddedPrefix: {
			"1F0C52E0D4C6A1AB9A30F0F4E2C43D7D1A8:0",
			paddedSuffix + ":0",
			"D04B98F48E8F8BCC15C6AE5AC050801CD6D:0",
		},
	}
	otherPadding = []string{
		"2B6E5A6B0C8F1E2D3C4B5A69788796A5B4C:0",
		"C3D2E1F00F1E2D3C4B5A69788796A5B4C3D:0",
	}
)

func sha1Hex(password string) string {
	sum := sha1.Sum([]byte(password))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func TestVectors(t *testing.T) {
	for _, v := range []struct{ password, prefix, suffix string }{
		{breachedPassword, breachedPrefix, breachedSuffix},
		{paddedPassword, paddedPrefix, paddedSuffix},
		{cleanPassword, cleanPrefix, ""},
	} {
		h := sha1Hex(v.password)
		if h[:5] != v.prefix || (v.suffix != "" && h[5:] != v.suffix) {
			t.Errorf("SHA-1(%q) = %s, constants say %s%s", v.password, h, v.prefix, v.suffix)
		}
	}
}

// serveRange speaks the range API: GET /range/{5 hex}, CRLF-separated lines,
// padding entries when asked with Add-Padding: true.
func serveRange(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	prefix, ok := strings.CutPrefix(r.URL.Path, "/range/")
	if _, err := hex.DecodeString(prefix + "0"); !ok || len(prefix) != 5 || err != nil {
		http.Error(w, "The hash prefix was not in a valid format", http.StatusBadRequest)
		return
	}
	prefix = strings.ToUpper(prefix)
	lines, ok := rangeLines[prefix]
	if !ok {
		lines = otherLines
	}
	if r.Header.Get("Add-Padding") == "true" {
		padding, ok := paddingLines[prefix]
		if !ok {
			padding = otherPadding
		}
		lines = append(slices.Clone(lines), padding...)
		slices.Sort(lines)
	}
	w.Header().Set("Content-Type", "text/plain")
	io.WriteString(w, strings.Join(lines, "\r\n"))
}

// recorded is everything a request carried to the service.
type recorded struct {
	Method, RequestURI, Path, RawQuery, Host string
	ContentLength                            int64
	Header, Trailer                          http.Header
	Body                                     []byte
}

// fakeAPI is a local service that records every request before handing it
// to its handler.
type fakeAPI struct {
	*httptest.Server
	release chan struct{} // closed at cleanup: frees handlers that hang

	mu   sync.Mutex
	reqs []recorded
}

// newFakeAPI starts a service whose handler is built by handler (with the
// service at hand, for hang), or serveRange when handler is nil.
func newFakeAPI(t *testing.T, handler func(api *fakeAPI) http.HandlerFunc) *fakeAPI {
	t.Helper()
	api := &fakeAPI{release: make(chan struct{})}
	h := http.HandlerFunc(serveRange)
	if handler != nil {
		h = handler(api)
	}
	api.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		api.mu.Lock()
		api.reqs = append(api.reqs, recorded{
			Method: r.Method, RequestURI: r.RequestURI, Path: r.URL.Path, RawQuery: r.URL.RawQuery,
			Host: r.Host, ContentLength: r.ContentLength,
			Header: r.Header.Clone(), Trailer: r.Trailer.Clone(), Body: body,
		})
		api.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(api.Close) // runs last: cleanups are LIFO
	t.Cleanup(func() { close(api.release) })
	return api
}

func (a *fakeAPI) requests() []recorded {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.reqs)
}

// hang blocks a handler until the client goes away or the test ends.
func (a *fakeAPI) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-a.release:
	}
}

// failureLog records what Options.OnFailure receives.
type failureLog struct {
	mu   sync.Mutex
	errs []error
}

func (f *failureLog) record(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs = append(f.errs, err)
}

func (f *failureLog) list() []error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.errs)
}

func newChecker(t *testing.T, api *fakeAPI, o Options) *Checker {
	t.Helper()
	o.BaseURL = api.URL
	c, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// assertSafe fails when err's message carries the password, its hash, its
// suffix or the request path (which holds the prefix).
func assertSafe(t *testing.T, err error, password string) {
	t.Helper()
	if err == nil {
		return
	}
	msg := strings.ToUpper(err.Error())
	h := sha1Hex(password)
	for _, secret := range []string{h, h[prefixLen:], "/RANGE/" + h[:prefixLen]} {
		if strings.Contains(msg, secret) {
			t.Errorf("error %q contains %s", err, secret)
		}
	}
	if password != "" && strings.Contains(err.Error(), password) {
		t.Errorf("error %q contains the password", err)
	}
}

func TestBreached(t *testing.T) {
	tests := []struct {
		name     string
		password string
		minCount int
		want     bool
	}{
		{"listed", breachedPassword, 0, true},
		{"listed, MinCount 1", breachedPassword, 1, true},
		{"listed, count equals MinCount", breachedPassword, breachedCount, true},
		{"listed, count below MinCount", breachedPassword, breachedCount + 1, false},
		{"not listed", cleanPassword, 0, false},
		{"only a padding entry", paddedPassword, 0, false},
		{"only a padding entry, MinCount 1", paddedPassword, 1, false},
		{"empty password", "", 0, false},
	}
	api := newFakeAPI(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fails failureLog
			// Fail closed, so that a failure would show as an error.
			c := newChecker(t, api, Options{MinCount: tt.minCount, FailClosed: true, OnFailure: fails.record})
			got, err := c.Breached(t.Context(), tt.password)
			if err != nil {
				t.Fatalf("Breached: %v", err)
			}
			if got != tt.want {
				t.Errorf("Breached = %v, want %v", got, tt.want)
			}
			if f := fails.list(); len(f) != 0 {
				t.Errorf("OnFailure called with %v", f)
			}
		})
	}
}

// TestRequestLeaksOnlyPrefix checks every request the service receives: a
// GET of /range/{the first 5 uppercase hex characters of the SHA-1}, no
// query, no body, and only headers that do not depend on the password.
func TestRequestLeaksOnlyPrefix(t *testing.T) {
	passwords := []string{
		breachedPassword, paddedPassword, cleanPassword, "",
		"correct horse battery staple", "пароль-ünïcødé-密码-🔑🔑🔑",
		strings.Repeat("long password ", 100), "abcdef0123456789",
	}
	allowedHeaders := map[string]bool{"User-Agent": true, "Add-Padding": true, "Accept-Encoding": true}

	for _, password := range passwords {
		t.Run(fmt.Sprintf("%.20q", password), func(t *testing.T) {
			api := newFakeAPI(t, nil)
			c := newChecker(t, api, Options{FailClosed: true})
			if _, err := c.Breached(t.Context(), password); err != nil {
				t.Fatalf("Breached: %v", err)
			}
			reqs := api.requests()
			if len(reqs) != 1 {
				t.Fatalf("service received %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			h := sha1Hex(password)
			prefix := h[:prefixLen]
			wantHost := strings.TrimPrefix(api.URL, "http://")

			if r.Method != http.MethodGet {
				t.Errorf("method %s, want GET", r.Method)
			}
			if r.RequestURI != "/range/"+prefix || r.Path != "/range/"+prefix {
				t.Errorf("request URI %q (path %q), want exactly /range/%s", r.RequestURI, r.Path, prefix)
			}
			if r.RawQuery != "" {
				t.Errorf("query %q, want none", r.RawQuery)
			}
			if len(r.Body) != 0 || r.ContentLength != 0 {
				t.Errorf("body of %d bytes (Content-Length %d), want none", len(r.Body), r.ContentLength)
			}
			if len(r.Trailer) != 0 {
				t.Errorf("trailers %v, want none", r.Trailer)
			}
			if r.Host != wantHost {
				t.Errorf("Host %q, want %q", r.Host, wantHost)
			}
			if got := r.Header.Get("Add-Padding"); got != "true" {
				t.Errorf("Add-Padding %q, want true", got)
			}
			if got := r.Header.Get("User-Agent"); got != DefaultUserAgent {
				t.Errorf("User-Agent %q, want %q", got, DefaultUserAgent)
			}
			for name, values := range r.Header {
				if !allowedHeaders[name] {
					t.Errorf("unexpected header %s: %q", name, values)
				}
				for _, v := range values {
					up := strings.ToUpper(v)
					if strings.Contains(up, prefix) || strings.Contains(up, h[prefixLen:prefixLen+8]) ||
						(password != "" && strings.Contains(v, password)) {
						t.Errorf("header %s: %q is derived from the password", name, v)
					}
				}
			}
		})
	}
}

func TestFailures(t *testing.T) {
	// A valid answer that lists the checked password, followed by a bad
	// line: strict parsing must refuse the whole answer anyway.
	listed := strings.Join(rangeLines[breachedPrefix], "\r\n")
	serve := func(body string) func(*fakeAPI) http.HandlerFunc {
		return func(*fakeAPI) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }
		}
	}
	tests := []struct {
		name    string
		handler func(api *fakeAPI) http.HandlerFunc
		kind    error
	}{
		{"status 500", func(*fakeAPI) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, breachedSuffix+":1", http.StatusInternalServerError)
			}
		}, errStatus},
		{"status 429", func(*fakeAPI) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTooManyRequests) }
		}, errStatus},
		{"status 204", func(*fakeAPI) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }
		}, errStatus},
		{"redirect is not followed", func(*fakeAPI) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/elsewhere"+r.URL.Path, http.StatusFound)
			}
		}, errStatus},
		{"timeout before headers", func(api *fakeAPI) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) { api.hang(r) }
		}, errTimeout},
		{"timeout in the body", func(api *fakeAPI) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, listed+"\r\n")
				w.(http.Flusher).Flush()
				api.hang(r)
			}
		}, errTimeout},
		{"connection dropped", func(*fakeAPI) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				conn, _, err := http.NewResponseController(w).Hijack()
				if err == nil {
					conn.Close()
				}
			}
		}, errTransport},
		{"empty body", serve(""), errMalformed},
		{"HTML page", serve("<html><body>Service Unavailable</body></html>"), errMalformed},
		{"JSON", serve(`{"` + breachedSuffix + `":4127}`), errMalformed},
		{"suffix too short", serve(listed + "\r\nABCDEF:1"), errMalformed},
		{"suffix too long", serve(listed + "\r\n" + breachedSuffix + "0:1"), errMalformed},
		{"suffix not hex", serve(listed + "\r\nG777840AD94EEDF7B3809CD714CCCE7FCEA:1"), errMalformed},
		{"no count", serve(listed + "\r\n" + breachedSuffix + ":"), errMalformed},
		{"negative count", serve(listed + "\r\n" + breachedSuffix + ":-1"), errMalformed},
		{"count with a space", serve(listed + "\r\n" + breachedSuffix + ": 1"), errMalformed},
		{"count too large", serve(listed + "\r\n" + breachedSuffix + ":9999999999999999999"), errMalformed},
		{"empty line", serve(listed + "\r\n\r\n"), errMalformed},
		{"CR without LF", serve(strings.Join(rangeLines[breachedPrefix], "\r")), errMalformed},
		{"oversized with Content-Length", func(*fakeAPI) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				body := oversizedBody()
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.Write(body)
			}
		}, errTooLarge},
		{"oversized chunked", func(*fakeAPI) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				body := oversizedBody()
				for len(body) > 0 {
					n := min(len(body), 64<<10)
					w.Write(body[:n])
					w.(http.Flusher).Flush()
					body = body[n:]
				}
			}
		}, errTooLarge},
	}
	for _, tt := range tests {
		for _, failClosed := range []bool{true, false} {
			name := tt.name + map[bool]string{true: "/fail closed", false: "/fail open"}[failClosed]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				api := newFakeAPI(t, tt.handler)
				var fails failureLog
				// Only the cases that time out wait for Timeout: the others get
				// plenty, so that a loaded machine cannot turn them into timeouts.
				timeout := MaxTimeout
				if tt.kind == errTimeout {
					timeout = MinTimeout
				}
				c := newChecker(t, api, Options{FailClosed: failClosed, Timeout: timeout, OnFailure: fails.record})

				got, err := c.Breached(t.Context(), breachedPassword)
				if got {
					t.Error("Breached = true on a failure")
				}
				if failClosed {
					if !errors.Is(err, ErrUnavailable) || !errors.Is(err, tt.kind) {
						t.Errorf("error %v, want ErrUnavailable and %q", err, tt.kind)
					}
				} else if err != nil {
					t.Errorf("fail-open error %v, want nil", err)
				}
				f := fails.list()
				if len(f) != 1 {
					t.Fatalf("OnFailure called %d times (%v), want once", len(f), f)
				}
				if !errors.Is(f[0], ErrUnavailable) || !errors.Is(f[0], tt.kind) {
					t.Errorf("OnFailure got %v, want ErrUnavailable and %q", f[0], tt.kind)
				}
				if failClosed && f[0] != err {
					t.Errorf("OnFailure got %v, Breached returned %v: want the same error", f[0], err)
				}
				assertSafe(t, f[0], breachedPassword)
				if n := len(api.requests()); n != 1 {
					t.Errorf("service received %d requests, want 1", n)
				}
			})
		}
	}
}

// maxSizeBody is a valid answer of exactly MaxResponseBytes bytes, or one
// byte more when over is set, that lists breachedSuffix 12 times: 52,425
// lines of 40 bytes ("SUFFIX:12\r\n") and 4 of 38 ("SUFFIX:1\n"), the last
// of which becomes "SUFFIX:10\n" when over is set.
func maxSizeBody(over bool) []byte {
	const long, short = 52425, 4
	b := make([]byte, 0, MaxResponseBytes+1)
	b = fmt.Appendf(b, "%s:12\r\n", breachedSuffix)
	for i := 1; i < long; i++ {
		b = fmt.Appendf(b, "%035X:12\r\n", i)
	}
	for i := range short {
		b = fmt.Appendf(b, "%035X:1", long+i)
		if over && i == short-1 {
			b = append(b, '0')
		}
		b = append(b, '\n')
	}
	return b
}

var oversizedBody = sync.OnceValue(func() []byte { return maxSizeBody(true) })

func TestSizeLimit(t *testing.T) {
	if n := len(maxSizeBody(false)); n != MaxResponseBytes {
		t.Fatalf("maxSizeBody(false) is %d bytes, want %d", n, MaxResponseBytes)
	}
	if n := len(oversizedBody()); n != MaxResponseBytes+1 {
		t.Fatalf("oversizedBody() is %d bytes, want %d", n, MaxResponseBytes+1)
	}
	api := newFakeAPI(t, func(*fakeAPI) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { w.Write(maxSizeBody(false)) }
	})
	c := newChecker(t, api, Options{FailClosed: true})
	got, err := c.Breached(t.Context(), breachedPassword)
	if err != nil || !got {
		t.Fatalf("Breached on an answer of exactly MaxResponseBytes = %v, %v; want true, nil", got, err)
	}
}

// TestCallerContext checks that the caller's context bounds a check, and
// that its end is reported as the caller's, not as a service failure.
func TestCallerContext(t *testing.T) {
	tests := []struct {
		name    string
		timeout time.Duration
		ctx     func(t *testing.T, started <-chan struct{}) context.Context
		want    error
		request bool // whether the service sees a request
	}{
		{"cancelled before the call", 0, func(t *testing.T, _ <-chan struct{}) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			return ctx
		}, context.Canceled, false},
		{"deadline passed before the call", 0, func(t *testing.T, _ <-chan struct{}) context.Context {
			ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded, false},
		{"cancelled while waiting", MaxTimeout, func(t *testing.T, started <-chan struct{}) context.Context {
			ctx, cancel := context.WithCancel(t.Context())
			t.Cleanup(cancel)
			go func() {
				<-started
				cancel()
			}()
			return ctx
		}, context.Canceled, true},
		{"deadline shorter than Timeout", MaxTimeout, func(t *testing.T, _ <-chan struct{}) context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}, context.DeadlineExceeded, true},
	}
	for _, tt := range tests {
		for _, failClosed := range []bool{true, false} {
			name := tt.name + map[bool]string{true: "/fail closed", false: "/fail open"}[failClosed]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				started := make(chan struct{}, 1)
				api := newFakeAPI(t, func(api *fakeAPI) http.HandlerFunc {
					return func(w http.ResponseWriter, r *http.Request) {
						started <- struct{}{}
						api.hang(r)
					}
				})
				var fails failureLog
				c := newChecker(t, api, Options{FailClosed: failClosed, Timeout: tt.timeout, OnFailure: fails.record})

				got, err := c.Breached(tt.ctx(t, started), breachedPassword)
				if got {
					t.Error("Breached = true")
				}
				if !errors.Is(err, tt.want) || errors.Is(err, ErrUnavailable) {
					t.Errorf("error %v, want %v and not ErrUnavailable", err, tt.want)
				}
				assertSafe(t, err, breachedPassword)
				if f := fails.list(); len(f) != 0 {
					t.Errorf("OnFailure called with %v, want no call", f)
				}
				if n := len(api.requests()); (n == 1) != tt.request || n > 1 {
					t.Errorf("service received %d requests, want request=%v", n, tt.request)
				}
			})
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		o         Options
		wantErr   bool
		wantRange string // rangeURL, when New succeeds and this is set
	}{
		{"zero options", Options{}, false, DefaultBaseURL + "/range/"},
		{"https with a path", Options{BaseURL: "https://pwned.example.com/api/"}, false, "https://pwned.example.com/api/range/"},
		{"https with a port", Options{BaseURL: "https://pwned.example.com:8443"}, false, "https://pwned.example.com:8443/range/"},
		{"http on 127.0.0.1", Options{BaseURL: "http://127.0.0.1:8080"}, false, "http://127.0.0.1:8080/range/"},
		{"http on 127.5.6.7", Options{BaseURL: "http://127.5.6.7"}, false, "http://127.5.6.7/range/"},
		{"http on ::1", Options{BaseURL: "http://[::1]:8080/"}, false, "http://[::1]:8080/range/"},
		{"http on localhost", Options{BaseURL: "http://LocalHost:1234"}, false, "http://LocalHost:1234/range/"},

		{"http on a public host", Options{BaseURL: "http://api.pwnedpasswords.com"}, true, ""},
		{"http on a private address", Options{BaseURL: "http://10.0.0.1"}, true, ""},
		{"http on 0.0.0.0", Options{BaseURL: "http://0.0.0.0:80"}, true, ""},
		{"http on a localhost subdomain", Options{BaseURL: "http://localhost.example.com"}, true, ""},
		{"http on a name that embeds 127.0.0.1", Options{BaseURL: "http://127.0.0.1.nip.io"}, true, ""},
		{"ftp on loopback", Options{BaseURL: "ftp://127.0.0.1"}, true, ""},
		{"no scheme", Options{BaseURL: "api.pwnedpasswords.com"}, true, ""},
		{"no host", Options{BaseURL: "https://"}, true, ""},
		{"opaque", Options{BaseURL: "https:api.pwnedpasswords.com"}, true, ""},
		{"credentials", Options{BaseURL: "https://user:pw@pwned.example.com"}, true, ""},
		{"query", Options{BaseURL: "https://pwned.example.com/?key=1"}, true, ""},
		{"empty query", Options{BaseURL: "https://pwned.example.com/?"}, true, ""},
		{"fragment", Options{BaseURL: "https://pwned.example.com/#x"}, true, ""},
		{"not a URL", Options{BaseURL: "https://pwned example.com\x7f"}, true, ""},

		{"Timeout at minimum", Options{Timeout: MinTimeout}, false, ""},
		{"Timeout at maximum", Options{Timeout: MaxTimeout}, false, ""},
		{"Timeout below minimum", Options{Timeout: MinTimeout - time.Nanosecond}, true, ""},
		{"Timeout above maximum", Options{Timeout: MaxTimeout + time.Nanosecond}, true, ""},
		{"Timeout negative", Options{Timeout: -time.Second}, true, ""},

		{"MinCount large", Options{MinCount: 1000}, false, ""},
		{"MinCount negative", Options{MinCount: -1}, true, ""},

		{"UserAgent custom", Options{UserAgent: "atrium/1.2 (+https://atrium.example)"}, false, ""},
		{"UserAgent with CRLF", Options{UserAgent: "atrium\r\nX-Leak: 1"}, true, ""},
		{"UserAgent non-ASCII", Options{UserAgent: "atrium-ü"}, true, ""},
		{"UserAgent too long", Options{UserAgent: strings.Repeat("a", maxUserAgentLen+1)}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.o)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("New(%+v) succeeded, want an error", tt.o)
				}
				if c != nil {
					t.Error("New returned a Checker with its error")
				}
				if !strings.HasPrefix(err.Error(), "breached: ") {
					t.Errorf("error %q lacks the package prefix", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if tt.wantRange != "" && c.rangeURL != tt.wantRange {
				t.Errorf("range endpoint %q, want %q", c.rangeURL, tt.wantRange)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.timeout != DefaultTimeout || c.minCount != 1 || c.userAgent != DefaultUserAgent || c.failClosed || c.onFailure != nil {
		t.Errorf("defaults: timeout %v, minCount %d, userAgent %q, failClosed %v, onFailure set %v",
			c.timeout, c.minCount, c.userAgent, c.failClosed, c.onFailure != nil)
	}
	if c.client.Timeout != DefaultTimeout {
		t.Errorf("default client timeout %v, want %v", c.client.Timeout, DefaultTimeout)
	}
	if c.client.CheckRedirect == nil || c.client.CheckRedirect(nil, nil) != http.ErrUseLastResponse {
		t.Error("default client follows redirects")
	}
	if c.client == http.DefaultClient || c.client.Transport == http.DefaultTransport {
		t.Error("default client shares the process-wide client or transport")
	}
}

// countingTransport counts the requests of a caller-supplied client.
type countingTransport struct {
	mu sync.Mutex
	n  int
}

func (ct *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	ct.mu.Lock()
	ct.n++
	ct.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func TestHTTPClientAndUserAgent(t *testing.T) {
	api := newFakeAPI(t, nil)
	ct := &countingTransport{}
	c := newChecker(t, api, Options{HTTPClient: &http.Client{Transport: ct}, UserAgent: "atrium-test/1"})
	got, err := c.Breached(t.Context(), breachedPassword)
	if err != nil || !got {
		t.Fatalf("Breached = %v, %v; want true, nil", got, err)
	}
	if ct.n != 1 {
		t.Errorf("supplied client sent %d requests, want 1", ct.n)
	}
	if reqs := api.requests(); len(reqs) != 1 || reqs[0].Header.Get("User-Agent") != "atrium-test/1" {
		t.Errorf("requests %+v, want one with User-Agent atrium-test/1", reqs)
	}
}

// TestConcurrent shares one Checker between goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	api := newFakeAPI(t, nil)
	var fails failureLog
	c := newChecker(t, api, Options{FailClosed: true, OnFailure: fails.record})
	passwords := map[string]bool{breachedPassword: true, cleanPassword: false, paddedPassword: false}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				for pw, want := range passwords {
					if got, err := c.Breached(t.Context(), pw); err != nil || got != want {
						t.Errorf("Breached(%q) = %v, %v; want %v, nil", pw, got, err, want)
					}
				}
			}
		})
	}
	wg.Wait()
	if n := len(api.requests()); n != 8*5*len(passwords) {
		t.Errorf("service received %d requests, want %d", n, 8*5*len(passwords))
	}
}

type entry struct {
	Suffix string
	Count  int64
}

func parseAll(body []byte) ([]entry, error) {
	var got []entry
	err := parseRange(body, func(s suffix, count int64) {
		got = append(got, entry{string(s[:]), count})
	})
	return got, err
}

func TestParseRange(t *testing.T) {
	const (
		a = "0A5BBBF75ACB604145B72D4FB2DBDEC27DE"
		b = "3D585BED3D88B1B9B46AC56601ACF9E4702"
	)
	tests := []struct {
		name string
		body string
		want []entry // nil: malformed
	}{
		{"one line", a + ":3", []entry{{a, 3}}},
		{"LF", a + ":3\n" + b + ":0", []entry{{a, 3}, {b, 0}}},
		{"CRLF", a + ":3\r\n" + b + ":12", []entry{{a, 3}, {b, 12}}},
		{"mixed terminators", a + ":3\n" + b + ":12\r\n", []entry{{a, 3}, {b, 12}}},
		{"trailing LF", a + ":3\n", []entry{{a, 3}}},
		{"trailing CRLF", a + ":3\r\n", []entry{{a, 3}}},
		{"lower case", strings.ToLower(a) + ":3", []entry{{a, 3}}},
		{"padding", a + ":0", []entry{{a, 0}}},
		{"18-digit count", a + ":999999999999999999", []entry{{a, 999999999999999999}}},

		{"empty", "", nil},
		{"only LF", "\n", nil},
		{"only CRLF", "\r\n", nil},
		{"leading empty line", "\n" + a + ":3", nil},
		{"empty line", a + ":3\n\n" + b + ":1", nil},
		{"two trailing LFs", a + ":3\n\n", nil},
		{"trailing CR", a + ":3\r", nil},
		{"CR as separator", a + ":3\r" + b + ":1", nil},
		{"CR inside", a[:10] + "\r" + a[11:] + ":3", nil},
		{"short suffix", a[1:] + ":3", nil},
		{"long suffix", a + "0:3", nil},
		{"full hash", "71941" + a + ":3", nil},
		{"non-hex suffix", "G" + a[1:] + ":3", nil},
		{"space in suffix", " " + a[1:] + ":3", nil},
		{"no colon", a + "3", nil},
		{"other separator", a + ";3", nil},
		{"no count", a + ":", nil},
		{"two colons", a + "::3", nil},
		{"signed count", a + ":+3", nil},
		{"negative count", a + ":-3", nil},
		{"leading zero", a + ":03", nil},
		{"double zero", a + ":00", nil},
		{"count with space", a + ":3 ", nil},
		{"count with tab", a + ":\t3", nil},
		{"hex count", a + ":0x3", nil},
		{"19-digit count", a + ":1000000000000000000", nil},
		{"decimal point", a + ":3.0", nil},
		{"non-ASCII digit", a + ":٣", nil},
		{"NUL", a + ":3\x00", nil},
		{"BOM", "\ufeff" + a + ":3", nil},
		{"extra field", a + ":3:4", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAll([]byte(tt.body))
			if tt.want == nil {
				if err == nil {
					t.Fatalf("parsed %q as %v, want an error", tt.body, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse %q: %v", tt.body, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("parsed %q as %v, want %v", tt.body, got, tt.want)
			}
		})
	}
}

func TestLookupRange(t *testing.T) {
	var want suffix
	copy(want[:], breachedSuffix)
	tests := []struct {
		name string
		body string
		want int64
	}{
		{"listed", strings.Join(rangeLines[breachedPrefix], "\r\n"), breachedCount},
		{"listed in lower case", strings.ToLower(breachedSuffix) + ":5", 5},
		{"not listed", strings.Join(otherLines, "\r\n"), 0},
		{"padding only", breachedSuffix + ":0", 0},
		{"listed twice: the larger count", breachedSuffix + ":0\n" + breachedSuffix + ":7\n" + breachedSuffix + ":2", 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lookupRange([]byte(tt.body), want)
			if err != nil || got != tt.want {
				t.Errorf("lookupRange = %d, %v; want %d, nil", got, err, tt.want)
			}
		})
	}
	if got, err := lookupRange([]byte(breachedSuffix+":5\nbad"), want); err == nil || got != 0 {
		t.Errorf("lookupRange on a malformed answer = %d, %v; want 0 and an error", got, err)
	}
}
