package pseudonym

import (
	"net/http/httptest"
	"testing"
)

// TestClientIP: an IPv6 client counts as its /64 (one subscriber's block),
// so the per-client limits cannot be dodged by walking through the
// addresses of one network; IPv4, in either form, counts per address.
func TestClientIP(t *testing.T) {
	tests := []struct{ remote, want string }{
		{"192.0.2.7:4000", "192.0.2.7"},
		{"[::ffff:192.0.2.7]:4000", "192.0.2.7"},
		{"[2001:db8:1:2:3:4:5:6]:4000", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff:ffff:ffff:ffff]:4000", "2001:db8:1:2::/64"},
		{"[2001:db8:1:3::1]:4000", "2001:db8:1:3::/64"},
		{"2001:db8:1:2::9", "2001:db8:1:2::/64"}, // no port
		{"not an address", "unknown"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tt.remote
		if got := ClientIP(r); got != tt.want {
			t.Errorf("ClientIP(%q) = %q, want %q", tt.remote, got, tt.want)
		}
	}
}
