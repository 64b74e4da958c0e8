package s3check

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestDialGuard(t *testing.T) {
	tests := []struct {
		addr     string
		loopback bool
		ok       bool
	}{
		{"8.8.8.8:443", false, true},
		{"[2606:4700:4700::1111]:443", false, true},
		{"127.0.0.1:9000", false, false},
		{"127.0.0.1:9000", true, true},
		{"[::1]:9000", true, true},
		{"[::1]:9000", false, false},
		{"[::ffff:127.0.0.1]:80", false, false},
		{"10.1.2.3:443", true, false},
		{"169.254.169.254:80", true, false},
		{"[fd00:ec2::254]:80", true, false},
		{"[fe80::1%eth0]:80", true, false},
		{"100.100.100.200:80", false, false},
		{"0.0.0.0:80", true, false},
		{"not-an-address", true, false},
	}
	for _, tc := range tests {
		err := dialGuard(tc.loopback)("tcp", tc.addr, nil)
		if (err == nil) != tc.ok {
			t.Errorf("dialGuard(loopback=%v)(%q) = %v, want ok=%v", tc.loopback, tc.addr, err, tc.ok)
		}
	}
}

// A host that passes validation but is dialled at a refused address (as a
// public name resolving to an internal one would be) fails as
// invalid_endpoint, and no request is made.
func TestDialGuardInCheck(t *testing.T) {
	var hit atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit.Store(true) }))
	defer srv.Close()
	c := New(Options{AllowLoopbackHTTP: true})
	c.httpClient = limitedClient{newHTTPClient(false)} // validation allows loopback, the dialer does not
	err := c.CheckRead(context.Background(),
		Location{Type: TypeS3Compatible, Bucket: "photos", Endpoint: srv.URL},
		Keys{AccessKeyID: "AKIAEXAMPLE000000001", SecretAccessKey: "secret-secret-secret"})
	var f *Failure
	if !errors.As(err, &f) || f.Reason != ReasonInvalidEndpoint || !strings.Contains(f.Message, "private or reserved") {
		t.Fatalf("got %v", err)
	}
	if hit.Load() {
		t.Fatal("the refused address was reached")
	}
}

func TestNoRedirects(t *testing.T) {
	var reached atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Store(true) }))
	defer target.Close()
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.RequestURI(), http.StatusFound)
	}))
	defer redirector.Close()
	c := New(Options{AllowLoopbackHTTP: true})
	err := c.CheckRead(context.Background(),
		Location{Type: TypeS3Compatible, Bucket: "photos", Endpoint: redirector.URL},
		Keys{AccessKeyID: "AKIAEXAMPLE000000001", SecretAccessKey: "secret-secret-secret"})
	var f *Failure
	if !errors.As(err, &f) || f.Reason != ReasonUnreachable {
		t.Fatalf("got %v", err)
	}
	if reached.Load() {
		t.Fatal("redirect followed")
	}
}

func TestDefaultTimeout(t *testing.T) {
	if c := New(Options{}); c.timeout != DefaultTimeout {
		t.Fatalf("timeout %s", c.timeout)
	}
}
