package s3check_test

import (
	"errors"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/shared/s3check"
)

func TestValidateEndpoint(t *testing.T) {
	tests := []struct {
		endpoint string
		loopback bool
		ok       bool
	}{
		{"https://s3.example.com", false, true},
		{"https://s3.example.com/", false, true},
		{"https://s3.example.com:9000", false, true},
		{"https://minio", false, true},
		{"HTTPS://S3.Example.COM", false, true},
		{"https://8.8.8.8", false, true},
		{"https://[2606:4700:4700::1111]:443", false, true},
		{"https://s3.example.com", true, true},

		{"http://127.0.0.1:9000", true, true},
		{"http://127.0.0.1:9000", false, false},
		{"http://127.8.9.10", true, true},
		{"http://localhost:9000", true, true},
		{"http://LOCALHOST:9000", true, true},
		{"http://localhost:9000", false, false},
		{"http://[::1]:9000", true, true},
		{"http://[::1]:9000", false, false},
		{"http://[::ffff:127.0.0.1]:9000", true, true},
		{"https://127.0.0.1:9000", true, true},
		{"https://127.0.0.1:9000", false, false},
		{"https://localhost", false, false},

		{"http://s3.example.com", false, false},
		{"http://s3.example.com", true, false},
		{"http://8.8.8.8", true, false},
		{"http://127.0.0.1.nip.io", true, false},
		{"http://localhost.example.com", true, false},
		{"http://127.1:9000", true, false},
		{"http://0x7f000001", true, false},
		{"https://0x7f000001", false, false},

		{"https://user:hunter2@s3.example.com", false, false},
		{"https://user@s3.example.com", false, false},
		{"http://user:hunter2@127.0.0.1:9000", true, false},
		{"https://s3.example.com?x=1", false, false},
		{"https://s3.example.com/?", false, false},
		{"https://s3.example.com#frag", false, false},
		{"https://s3.example.com/#", false, false},
		{"https://s3.example.com/bucket", false, false},
		{"https://", false, false},
		{"https://:443", false, false},
		{"https://s3.example.com:", false, false},
		{"https://s3.example.com:0", false, false},
		{"https://s3.example.com:65536", false, false},
		{"https://s3.example.com:http", false, false},
		{"https://s3 .example.com", false, false},
		{"https://s3.exa_mple.com", false, false},
		{"https://-s3.example.com", false, false},
		{"https://s3..example.com", false, false},
		{"https://s3.example.com.", false, false},
		{"https://%73%33.example.com", false, false},
		{"https://bücher.example", false, false},
		{"https://[fe80::1%25eth0]", false, false},
		{"https://[::1", false, false},

		{"https://10.0.0.1", false, false},
		{"https://192.168.1.1", false, false},
		{"https://172.16.0.1", false, false},
		{"https://169.254.169.254", false, false},
		{"https://169.254.169.254", true, false},
		{"https://100.64.0.1", false, false},
		{"https://0.0.0.0", true, false},
		{"https://[::]", true, false},
		{"https://[fd00:ec2::254]", false, false},
		{"https://[::ffff:10.0.0.1]", false, false},
		{"https://[::7f00:1]", false, false},
		{"http://[::7f00:1]:9000", true, false},
		{"https://[::ffff:0:7f00:1]", false, false},
		{"https://[::a9fe:a9fe]", false, false},
		{"https://224.0.0.1", false, false},
		{"https://255.255.255.255", false, false},

		{"", false, false},
		{"ftp://", false, false},
		{"ftp://s3.example.com", false, false},
		{"file:///etc/passwd", false, false},
		{"s3.example.com", false, false},
		{"//s3.example.com", false, false},
		{"https:s3.example.com", false, false},
		{"javascript:alert(1)", false, false},
		{"not a url", false, false},
		{"https://\x00", false, false},
		{"https://s3.example.com/\r\nHost: evil", false, false},
		{"https://" + strings.Repeat("a", 2000) + ".com", false, false},
	}
	for _, tc := range tests {
		err := s3check.ValidateEndpoint(tc.endpoint, tc.loopback)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateEndpoint(%q, loopback=%v) = %v, want ok=%v", tc.endpoint, tc.loopback, err, tc.ok)
			continue
		}
		if err != nil {
			var f *s3check.Failure
			if !errors.As(err, &f) || f.Reason != "invalid_endpoint" || f.Message == "" {
				t.Errorf("ValidateEndpoint(%q): error %#v is not an invalid_endpoint Failure", tc.endpoint, err)
			}
			if strings.Contains(tc.endpoint, "hunter2") && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("ValidateEndpoint(%q): message repeats the userinfo: %v", tc.endpoint, err)
			}
		}
	}
}

func FuzzValidateEndpoint(f *testing.F) {
	for _, s := range []string{
		"https://s3.example.com", "https://s3.example.com:9000/", "http://127.0.0.1:9000",
		"http://localhost:9000", "http://[::1]:9000", "https://user:hunter2@host", "https://h?x#y",
		"ftp://", "https://10.0.0.1", "http://[::ffff:127.0.0.1]", "https://[fe80::1%25eth0]",
		"http://127.1", "https://%6c%6f%63%61%6c%68%6f%73%74", "", "https://", "://", "http:///",
		"https://[::7f00:1]", "http://[::7f00:1]", "https://[::ffff:0:7f00:1]", "https://[::a9fe:a9fe]",
		"https://[64:ff9b::a9fe:a9fe]", "https://[2002:a9fe:a9fe::1]", "https://[2001:0:7f00:1::]",
		"https://[::ffff:169.254.169.254]", "https://[2606:4700:4700::1111]",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, endpoint string, loopback bool) {
		err := s3check.ValidateEndpoint(endpoint, loopback)
		if err != nil {
			var fl *s3check.Failure
			if !errors.As(err, &fl) || fl.Reason != "invalid_endpoint" {
				t.Fatalf("error %#v is not an invalid_endpoint Failure", err)
			}
			return
		}
		u, perr := url.Parse(endpoint)
		if perr != nil {
			t.Fatalf("accepted %q, which does not parse: %v", endpoint, perr)
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			t.Fatalf("accepted %q with userinfo, query, fragment, path or no host", endpoint)
		}
		switch u.Scheme {
		case "https":
			host := u.Hostname()
			if ip, err := netip.ParseAddr(host); err == nil {
				ip = ip.Unmap()
				if !loopback && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified()) {
					t.Fatalf("accepted non-public https address %q", endpoint)
				}
				// An IPv6 literal outside 2000::/3 is never public (the
				// IPv4-compatible and -translated forms among them).
				if ip.Is6() && !ip.IsLoopback() && !netip.MustParsePrefix("2000::/3").Contains(ip) {
					t.Fatalf("accepted IPv6 address %q outside global unicast space", endpoint)
				}
			}
		case "http":
			if !loopback {
				t.Fatalf("accepted http %q without loopback mode", endpoint)
			}
			host := u.Hostname()
			ip, err := netip.ParseAddr(host)
			if !strings.EqualFold(host, "localhost") && (err != nil || !ip.Unmap().IsLoopback()) {
				t.Fatalf("accepted http on non-loopback host %q", endpoint)
			}
		default:
			t.Fatalf("accepted scheme %q in %q", u.Scheme, endpoint)
		}
	})
}
