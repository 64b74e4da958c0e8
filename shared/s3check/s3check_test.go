package s3check_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/fakes3"
	"github.com/atrium-cdn/atrium/shared/s3check"
)

const (
	readerKey = "AKIAREADER0000000001"
	otherKey  = "AKIAOTHERKEY00000002"
	strangerK = "AKIASTRANGER00000003"
	secret    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

// recorder notes every request that reaches the storage.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
	next http.Handler
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	clone := r.Clone(context.Background())
	clone.Body = io.NopCloser(strings.NewReader(string(body)))
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, clone)
	rec.mu.Unlock()
	rec.next.ServeHTTP(w, r)
}

func (rec *recorder) requests() []*http.Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]*http.Request(nil), rec.reqs...)
}

type bucketFixture struct {
	fake *fakes3.Server
	rec  *recorder
	url  string
}

func newBucket(t *testing.T) bucketFixture {
	t.Helper()
	fake := fakes3.New()
	for _, b := range []string{"photos", "other-bucket", "empty-bucket"} {
		if err := fake.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"cats/tom.jpg", "cats/felix.jpg", "dogs/rex.jpg"} {
		if err := fake.PutObject("photos", k, []byte("img")); err != nil {
			t.Fatal(err)
		}
	}
	fake.Grant(readerKey, "photos", "empty-bucket")
	fake.Grant(otherKey, "other-bucket")
	rec := &recorder{next: fake}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return bucketFixture{fake: fake, rec: rec, url: srv.URL}
}

func compat(endpoint, bucket, prefix string) s3check.Location {
	return s3check.Location{Type: s3check.TypeS3Compatible, Bucket: bucket, Region: "us-east-1", Prefix: prefix, Endpoint: endpoint}
}

// closedPort returns a loopback endpoint nobody listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

// assertSafe checks that a failure never holds the keys.
func assertSafe(t *testing.T, err error, keys s3check.Keys) *s3check.Failure {
	t.Helper()
	var f *s3check.Failure
	if !errors.As(err, &f) {
		t.Fatalf("error %v (%T) is not a *Failure", err, err)
	}
	if f.Message == "" {
		t.Fatal("empty message")
	}
	for _, s := range []string{f.Message, f.Error(), fmt.Sprintf("%v", err), fmt.Sprintf("%+v", f), fmt.Sprintf("%#v", f)} {
		if keys.SecretAccessKey != "" && strings.Contains(s, keys.SecretAccessKey) {
			t.Fatalf("failure holds the secret key: %s", s)
		}
		if keys.AccessKeyID != "" && strings.Contains(s, keys.AccessKeyID) {
			t.Fatalf("failure holds the full access key id: %s", s)
		}
	}
	if errors.Unwrap(err) != nil {
		t.Fatal("failure wraps another error, whose text could hold anything")
	}
	return f
}

func TestCheckReadAgainstFakeS3(t *testing.T) {
	fx := newBucket(t)
	checker := s3check.New(s3check.Options{AllowLoopbackHTTP: true, Timeout: 5 * time.Second})
	tests := []struct {
		name       string
		loc        s3check.Location
		akid       string
		wantReason string // "" means the keys can read
		wantInMsg  string
	}{
		{"reading key", compat(fx.url, "photos", ""), readerKey, "", ""},
		{"reading key with prefix", compat(fx.url, "photos", "cats/"), readerKey, "", ""},
		{"reading key, prefix matching nothing", compat(fx.url, "photos", "birds/"), readerKey, "", ""},
		{"reading key, empty bucket", compat(fx.url, "empty-bucket", ""), readerKey, "", ""},
		{"reading key, empty region", s3check.Location{Type: "s3_compatible", Bucket: "photos", Endpoint: fx.url + "/"}, readerKey, "", ""},
		{"key granted another bucket", compat(fx.url, "photos", ""), otherKey, "access_denied", "ending in 0002"},
		{"key never granted", compat(fx.url, "photos", ""), strangerK, "access_denied", "s3:ListBucket"},
		{"missing bucket", compat(fx.url, "no-such-bucket", ""), readerKey, "no_such_bucket", `"no-such-bucket"`},
		{"closed port", compat(closedPort(t), "photos", ""), readerKey, "unreachable", "refused the connection"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys := s3check.Keys{AccessKeyID: tc.akid, SecretAccessKey: secret}
			err := checker.CheckRead(context.Background(), tc.loc, keys)
			if tc.wantReason == "" {
				if err != nil {
					t.Fatalf("want nil, got %v", err)
				}
				return
			}
			f := assertSafe(t, err, keys)
			if f.Reason != tc.wantReason {
				t.Fatalf("reason %q, want %q (%s)", f.Reason, tc.wantReason, f.Message)
			}
			if !strings.Contains(f.Message, tc.wantInMsg) {
				t.Fatalf("message %q does not mention %q", f.Message, tc.wantInMsg)
			}
		})
	}

	// P5: the bucket was never written to, and the only requests were
	// one-key listings.
	if n := fx.fake.Writes(); n != 0 {
		t.Fatalf("fakes3 counted %d writes", n)
	}
	reqs := fx.rec.requests()
	if len(reqs) == 0 {
		t.Fatal("no request reached the storage")
	}
	for _, r := range reqs {
		q := r.URL.Query()
		if r.Method != http.MethodGet || q.Get("list-type") != "2" || q.Get("max-keys") != "1" {
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
		}
	}
}

// TestKeysOnlyInSignature: the secret key never travels, and the access key
// id travels only in the Authorization header's credential scope.
func TestKeysOnlyInSignature(t *testing.T) {
	fx := newBucket(t)
	checker := s3check.New(s3check.Options{AllowLoopbackHTTP: true})
	keys := s3check.Keys{AccessKeyID: readerKey, SecretAccessKey: secret}
	if err := checker.CheckRead(context.Background(), compat(fx.url, "photos", "cats/"), keys); err != nil {
		t.Fatal(err)
	}
	reqs := fx.rec.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want exactly 1", len(reqs))
	}
	r := reqs[0]
	body, _ := io.ReadAll(r.Body)
	if strings.Contains(r.URL.String(), secret) || strings.Contains(string(body), secret) ||
		strings.Contains(r.URL.String(), readerKey) || len(body) != 0 {
		t.Fatalf("keys or a body in the request line: %s %q", r.URL, body)
	}
	for name, values := range r.Header {
		for _, v := range values {
			if strings.Contains(v, secret) {
				t.Fatalf("secret in header %s", name)
			}
			if strings.Contains(v, readerKey) && name != "Authorization" {
				t.Fatalf("access key id in header %s", name)
			}
		}
	}
	if !strings.Contains(r.Header.Get("Authorization"), "Credential="+readerKey+"/") {
		t.Fatalf("request not signed with the given key: %q", r.Header.Get("Authorization"))
	}
}

// scripted answers every request with a fixed response.
func scripted(t *testing.T, status int, header map[string]string, body string) (string, *int) {
	t.Helper()
	var mu sync.Mutex
	count := new(int)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		*count++
		mu.Unlock()
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, count
}

func s3err(code, msg string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>` + code + `</Code><Message>` + msg + `</Message><RequestId>1</RequestId></Error>`
}

func TestFailureMapping(t *testing.T) {
	keys := s3check.Keys{AccessKeyID: readerKey, SecretAccessKey: secret}
	xmlHdr := map[string]string{"Content-Type": "application/xml"}
	tests := []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		wantReason string
		wantInMsg  string
		reqs       int // requests the storage saw
	}{
		{"access denied", 403, xmlHdr, s3err("AccessDenied", "Access Denied"), "access_denied", "s3:GetObject", 1},
		{"unknown access key", 403, xmlHdr, s3err("InvalidAccessKeyId", "no such key"), "access_denied", "does not recognise the access key id ending in 0001", 1},
		{"wrong secret", 403, xmlHdr, s3err("SignatureDoesNotMatch", "bad sig"), "access_denied", "secret access key does not match", 1},
		{"403 without body", 403, nil, "", "access_denied", "refused", 1},
		{"no such bucket", 404, xmlHdr, s3err("NoSuchBucket", "gone"), "no_such_bucket", "does not exist", 1},
		{"404 html", 404, map[string]string{"Content-Type": "text/html"}, "<html><body>not found</body></html>", "no_such_bucket", "not found", 1},
		{"permanent redirect", 301, map[string]string{"Content-Type": "application/xml", "X-Amz-Bucket-Region": "eu-west-1"},
			s3err("PermanentRedirect", "use the right endpoint"), "invalid_region", `region "eu-west-1"`, 1},
		{"authorization header malformed", 400, map[string]string{"Content-Type": "application/xml", "X-Amz-Bucket-Region": "ap-south-1"},
			s3err("AuthorizationHeaderMalformed", "the region 'us-east-1' is wrong; expecting 'ap-south-1'"), "invalid_region", `"ap-south-1"`, 1},
		{"server error is retried once", 500, xmlHdr, s3err("InternalError", "oops"), "unreachable", "HTTP 500, InternalError", 2},
		{"teapot", 418, nil, "", "unreachable", "HTTP 418", 1},
		{"hostile server echoes the keys", 418, xmlHdr, s3err(secret, readerKey), "unreachable", "HTTP 418", 1},
		{"hostile server, letters-only code", 418, xmlHdr, s3err("AKIAREADERKEY", "x"), "unreachable", "HTTP 418, AKIAREADERKEY", 1},
		{"huge answer", 200, xmlHdr, `<?xml version="1.0"?><ListBucketResult><Name>` + strings.Repeat("a", 2<<20) + `</Name></ListBucketResult>`, "unreachable", "unexpectedly large", 1},
	}
	checker := s3check.New(s3check.Options{AllowLoopbackHTTP: true})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url, count := scripted(t, tc.status, tc.header, tc.body)
			err := checker.CheckRead(context.Background(), compat(url, "photos", ""), keys)
			f := assertSafe(t, err, keys)
			if f.Reason != tc.wantReason || !strings.Contains(f.Message, tc.wantInMsg) {
				t.Fatalf("got %s %q, want %s and %q", f.Reason, f.Message, tc.wantReason, tc.wantInMsg)
			}
			if *count != tc.reqs {
				t.Fatalf("%d requests, want %d", *count, tc.reqs)
			}
		})
	}
}

func TestUntrustedCertificate(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	keys := s3check.Keys{AccessKeyID: readerKey, SecretAccessKey: secret}
	checker := s3check.New(s3check.Options{AllowLoopbackHTTP: true})
	err := checker.CheckRead(context.Background(), compat(srv.URL, "photos", ""), keys)
	if f := assertSafe(t, err, keys); f.Reason != "unreachable" || !strings.Contains(f.Message, "certificate") {
		t.Fatalf("got %s %q", f.Reason, f.Message)
	}

	// With the caller's own client (which trusts the test certificate) the
	// same endpoint is read.
	ok := s3check.New(s3check.Options{AllowLoopbackHTTP: true, HTTPClient: srv.Client()})
	if err := ok.CheckRead(context.Background(), compat(srv.URL, "photos", ""), keys); err != nil {
		t.Fatalf("with the server's client: %v", err)
	}
}

func TestTimeout(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(srv.Close)
	checker := s3check.New(s3check.Options{AllowLoopbackHTTP: true, Timeout: 300 * time.Millisecond})
	keys := s3check.Keys{AccessKeyID: readerKey, SecretAccessKey: secret}
	start := time.Now()
	err := checker.CheckRead(context.Background(), compat(srv.URL, "photos", ""), keys)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("check took %s with a 300ms timeout", d)
	}
	f := assertSafe(t, err, keys)
	if f.Reason != "unreachable" || !strings.Contains(f.Message, "did not answer within 300ms") {
		t.Fatalf("got %s %q", f.Reason, f.Message)
	}

	// A caller that gives up is not the storage's fault, and is said so.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = checker.CheckRead(ctx, compat(srv.URL, "photos", ""), keys)
	if f := assertSafe(t, err, keys); f.Reason != "unreachable" || !strings.Contains(f.Message, "interrupted") {
		t.Fatalf("got %s %q", f.Reason, f.Message)
	}
}

func TestValidationBeforeAnyRequest(t *testing.T) {
	url, count := scripted(t, 200, nil, "")
	good := s3check.Keys{AccessKeyID: readerKey, SecretAccessKey: secret}
	tests := []struct {
		name       string
		loc        s3check.Location
		keys       s3check.Keys
		loopback   bool
		wantReason string
	}{
		{"unknown type", s3check.Location{Type: "gcs", Bucket: "photos", Region: "us-east-1"}, good, true, "invalid_endpoint"},
		{"s3 with endpoint", s3check.Location{Type: "s3", Bucket: "photos", Region: "us-east-1", Endpoint: url}, good, true, "invalid_endpoint"},
		{"s3 without region", s3check.Location{Type: "s3", Bucket: "photos"}, good, true, "invalid_region"},
		{"s3 bad region", s3check.Location{Type: "s3", Bucket: "photos", Region: "evil.example.com/"}, good, true, "invalid_region"},
		{"s3 bad bucket", s3check.Location{Type: "s3", Bucket: "Photos_Bucket", Region: "eu-west-1"}, good, true, "no_such_bucket"},
		{"s3 access point arn", s3check.Location{Type: "s3", Bucket: "arn:aws:s3:us-east-1:123456789012:accesspoint/x", Region: "us-east-1"}, good, true, "no_such_bucket"},
		{"s3 directory bucket", s3check.Location{Type: "s3", Bucket: "photos--use1-az4--x-s3", Region: "us-east-1"}, good, true, "no_such_bucket"},
		{"compat without endpoint", s3check.Location{Type: "s3_compatible", Bucket: "photos", Region: "us-east-1"}, good, true, "invalid_endpoint"},
		{"compat loopback http not allowed", compat(url, "photos", ""), good, false, "invalid_endpoint"},
		{"compat public http", compat("http://s3.example.com", "photos", ""), good, true, "invalid_endpoint"},
		{"compat bad region", s3check.Location{Type: "s3_compatible", Bucket: "photos", Region: "us_east 1", Endpoint: url}, good, true, "invalid_region"},
		{"compat bucket with slash", compat(url, "photos/../x", ""), good, true, "no_such_bucket"},
		{"no access key id", compat(url, "photos", ""), s3check.Keys{SecretAccessKey: secret}, true, "access_denied"},
		{"no secret", compat(url, "photos", ""), s3check.Keys{AccessKeyID: readerKey}, true, "access_denied"},
		{"header injection in key id", compat(url, "photos", ""), s3check.Keys{AccessKeyID: "AKIA\r\nX-Evil: 1", SecretAccessKey: secret}, true, "access_denied"},
		{"slash in key id", compat(url, "photos", ""), s3check.Keys{AccessKeyID: "AKIA/20250101", SecretAccessKey: secret}, true, "access_denied"},
		{"secret typed as endpoint userinfo", compat("https://"+readerKey+":"+url2secret()+"@s3.example.com", "photos", ""), good, true, "invalid_endpoint"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checker := s3check.New(s3check.Options{AllowLoopbackHTTP: tc.loopback})
			err := checker.CheckRead(context.Background(), tc.loc, tc.keys)
			f := assertSafe(t, err, tc.keys)
			if f.Reason != tc.wantReason {
				t.Fatalf("reason %q, want %q (%s)", f.Reason, tc.wantReason, f.Message)
			}
		})
	}
	if *count != 0 {
		t.Fatalf("%d requests made for invalid input", *count)
	}
}

// url2secret is the test secret as it would be typed into a URL.
func url2secret() string { return url.PathEscape(secret) }

func TestRedactsKeysTypedIntoOtherFields(t *testing.T) {
	fx := newBucket(t)
	checker := s3check.New(s3check.Options{AllowLoopbackHTTP: true})
	// The customer pasted the access key id as the bucket name.
	keys := s3check.Keys{AccessKeyID: readerKey, SecretAccessKey: secret}
	err := checker.CheckRead(context.Background(), compat(fx.url, readerKey, ""), keys)
	f := assertSafe(t, err, keys)
	if !strings.Contains(f.Message, "[redacted]") {
		t.Fatalf("message %q", f.Message)
	}
}

func TestConcurrentChecks(t *testing.T) {
	fx := newBucket(t)
	checker := s3check.New(s3check.Options{AllowLoopbackHTTP: true})
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := readerKey
			if i%2 == 1 {
				key = strangerK
			}
			errs[i] = checker.CheckRead(context.Background(), compat(fx.url, "photos", ""), s3check.Keys{AccessKeyID: key, SecretAccessKey: secret})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		var f *s3check.Failure
		if i%2 == 0 && err != nil || i%2 == 1 && (!errors.As(err, &f) || f.Reason != "access_denied") {
			t.Fatalf("check %d: %v", i, err)
		}
	}
	if fx.fake.Writes() != 0 {
		t.Fatal("writes")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestAmazonS3Request checks, without leaving the machine, the one request
// a type "s3" check sends: a virtual-hosted ListObjectsV2 to the bucket's
// regional endpoint, over https, signed for that region.
func TestAmazonS3Request(t *testing.T) {
	var mu sync.Mutex
	var seen []*http.Request
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		seen = append(seen, r)
		mu.Unlock()
		body := `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>photos</Name><KeyCount>0</KeyCount><MaxKeys>1</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>`
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/xml"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	})}
	checker := s3check.New(s3check.Options{HTTPClient: hc})
	loc := s3check.Location{Type: "s3", Bucket: "photos", Region: "eu-west-1", Prefix: "img/"}
	if err := checker.CheckRead(context.Background(), loc, s3check.Keys{AccessKeyID: readerKey, SecretAccessKey: secret}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 {
		t.Fatalf("%d requests", len(seen))
	}
	r := seen[0]
	q := r.URL.Query()
	if r.Method != http.MethodGet || r.URL.Scheme != "https" || r.URL.Host != "photos.s3.eu-west-1.amazonaws.com" ||
		q.Get("list-type") != "2" || q.Get("max-keys") != "1" || q.Get("prefix") != "img/" {
		t.Fatalf("unexpected request %s %s", r.Method, r.URL)
	}
	if !strings.Contains(r.Header.Get("Authorization"), "Credential="+readerKey+"/") ||
		!strings.Contains(r.Header.Get("Authorization"), "/eu-west-1/s3/aws4_request") {
		t.Fatalf("unexpected signature scope %q", r.Header.Get("Authorization"))
	}
}
