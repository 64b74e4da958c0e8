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

// TestIPv6Forms covers every IPv6 form that embeds an IPv4 address, and the
// other non-global IPv6 ranges, through both guards: the endpoint literal
// (ValidateEndpoint) and the address actually dialled (dialGuard). An
// IPv4-mapped address is judged by its IPv4 address; every other embedding
// is refused whatever the IPv4 address, public or not.
func TestIPv6Forms(t *testing.T) {
	tests := []struct {
		name string
		addr string
		ok   bool // public, in either mode
		// loopbackOK: allowed in local mode only (a loopback address).
		loopbackOK bool
	}{
		{"global unicast", "2606:4700:4700::1111", true, false},
		{"global unicast in 2001::/16", "2001:4860:4860::8888", true, false},

		{"IPv4-mapped public", "::ffff:8.8.8.8", true, false},
		{"IPv4-mapped loopback", "::ffff:127.0.0.1", false, true},
		{"IPv4-mapped metadata", "::ffff:169.254.169.254", false, false},
		{"IPv4-mapped private", "::ffff:10.0.0.1", false, false},
		{"IPv4-mapped hex form of loopback", "::ffff:7f00:1", false, true},

		{"IPv4-compatible loopback", "::7f00:1", false, false},
		{"IPv4-compatible loopback, dotted", "::127.0.0.1", false, false},
		{"IPv4-compatible metadata", "::a9fe:a9fe", false, false},
		{"IPv4-compatible private", "::a00:1", false, false},
		{"IPv4-compatible public", "::808:808", false, false},

		{"IPv4-translated loopback", "::ffff:0:7f00:1", false, false},
		{"IPv4-translated metadata", "::ffff:0:a9fe:a9fe", false, false},
		{"IPv4-translated public", "::ffff:0:808:808", false, false},

		{"NAT64 loopback", "64:ff9b::7f00:1", false, false},
		{"NAT64 metadata", "64:ff9b::169.254.169.254", false, false},
		{"NAT64 public", "64:ff9b::808:808", false, false},
		{"local-use NAT64", "64:ff9b:1::a9fe:a9fe", false, false},

		{"6to4 of loopback", "2002:7f00:1::1", false, false},
		{"6to4 of metadata", "2002:a9fe:a9fe::1", false, false},
		{"6to4 of public", "2002:808:808::1", false, false},

		{"Teredo", "2001:0:4136:e378:8000:63bf:3fff:fdd2", false, false},
		{"Teredo embedding loopback", "2001:0:7f00:1::", false, false},
		{"benchmarking", "2001:2::1", false, false},
		{"ORCHIDv2", "2001:20::1", false, false},

		{"loopback", "::1", false, true},
		{"unspecified", "::", false, false},
		{"discard", "100::1", false, false},
		{"documentation 2001:db8::/32", "2001:db8::1", false, false},
		{"documentation 3fff::/20", "3fff::1", false, false},
		{"unique local", "fd00:ec2::254", false, false},
		{"link-local", "fe80::1", false, false},
		{"deprecated site-local", "fec0::1", false, false},
		{"multicast", "ff02::1", false, false},
		{"SRv6 SIDs", "5f00::1", false, false},
		{"unallocated", "4000::1", false, false},
		{"unallocated low", "1::1", false, false},
	}
	for _, tc := range tests {
		for _, local := range []bool{false, true} {
			want := tc.ok || local && tc.loopbackOK
			endpoint := "https://[" + tc.addr + "]"
			if err := ValidateEndpoint(endpoint, local); (err == nil) != want {
				t.Errorf("%s: ValidateEndpoint(%q, loopback=%v) = %v, want ok=%v", tc.name, endpoint, local, err, want)
			}
			dialled := "[" + tc.addr + "]:443"
			if err := dialGuard(local)("tcp6", dialled, nil); (err == nil) != want {
				t.Errorf("%s: dialGuard(loopback=%v)(%q) = %v, want ok=%v", tc.name, local, dialled, err, want)
			}
		}
	}
}
