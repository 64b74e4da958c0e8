package s3check

import (
	"errors"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// maxEndpointLen bounds the endpoint before it is parsed.
const maxEndpointLen = 1024

// ValidateEndpoint applies the endpoint rules to an s3_compatible endpoint,
// without any network call, so request validation can refuse a bad endpoint
// before anything else happens:
//
//   - the form is scheme://host[:port], with an optional trailing "/":
//     no user name or password, no path, no query, no fragment;
//   - the scheme is https; http is accepted only when allowLoopbackHTTP is
//     set (local mode) and the host is a loopback address or "localhost";
//   - the host is a DNS name or an IP address; an IP address must be a
//     public one (never private, loopback, link-local, multicast or
//     otherwise reserved), except loopback in local mode.
//
// The last rule goes beyond "https only": the checker connects to whatever
// the customer names from inside our network, so internal addresses are
// refused here for literals and again at connect time for names that
// resolve to them (see Options.HTTPClient).
//
// The error is a *Failure with Reason "invalid_endpoint". Its message never
// repeats the endpoint, which may hold credentials typed into the wrong field.
func ValidateEndpoint(endpoint string, allowLoopbackHTTP bool) error {
	_, err := parseEndpoint(endpoint, allowLoopbackHTTP)
	return err
}

// parseEndpoint validates endpoint and returns it in canonical form
// (no trailing slash).
func parseEndpoint(endpoint string, allowLoopbackHTTP bool) (string, error) {
	bad := func(msg string) (string, error) {
		return "", &Failure{Reason: ReasonInvalidEndpoint, Message: "The endpoint " + msg + "."}
	}
	if endpoint == "" {
		return bad("is required for s3_compatible storage: give its address as https://host[:port]")
	}
	if len(endpoint) > maxEndpointLen {
		return bad("is too long")
	}
	for i := 0; i < len(endpoint); i++ {
		if c := endpoint[i]; c <= ' ' || c >= 0x7f {
			return bad("must not contain spaces, control or non-ASCII characters")
		}
	}
	if strings.ContainsAny(endpoint, "?#") {
		return bad("must not contain a query or a fragment: give only https://host[:port]")
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return bad("is not a valid URL: give it as https://host[:port]")
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return bad("must use https")
	}
	if u.User != nil {
		return bad("must not contain a user name or password: keys go in their own fields")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return bad("must not contain a query or a fragment: give only https://host[:port]")
	}
	if u.Path != "" && u.Path != "/" {
		return bad("must not contain a path: give only https://host[:port]")
	}
	host := u.Hostname()
	if host == "" {
		return bad("must name a host")
	}
	if p := u.Port(); p != "" || strings.HasSuffix(u.Host, ":") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return bad("has an invalid port")
		}
	}

	loopback := false
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Zone() != "" {
			return bad("must not contain an IPv6 zone")
		}
		ip = ip.Unmap()
		loopback = ip.IsLoopback()
		if !loopback && !isPublic(ip) {
			return bad("must be a public address, not a private or reserved one")
		}
	} else {
		if strings.HasPrefix(u.Host, "[") {
			return bad("has an invalid IPv6 address")
		}
		if !validHostname(host) {
			return bad("has an invalid host name")
		}
		loopback = strings.EqualFold(host, "localhost")
	}
	if loopback && !allowLoopbackHTTP {
		return bad("must be a public address, not this machine")
	}
	if u.Scheme == "http" && !loopback {
		return bad("must use https")
	}
	return u.Scheme + "://" + u.Host, nil
}

// validHostname reports whether h is a plausible DNS name: labels of letters,
// digits and hyphens, and a last label that starts with a letter, which rules
// out the numeric forms some resolvers read as IPv4 addresses ("127.1",
// "0x7f000001").
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	labels := strings.Split(h, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	last := labels[len(labels)-1][0]
	return last >= 'a' && last <= 'z' || last >= 'A' && last <= 'Z'
}

// globalUnicast6 is the only IPv6 space IANA has allocated for global
// unicast. Everything outside it is refused: besides loopback, link-local,
// unique-local and multicast, that covers every form that embeds an IPv4
// address outside 2000::/3 (IPv4-compatible ::a.b.c.d, IPv4-translated
// ::ffff:0:a.b.c.d, NAT64 64:ff9b::/96 and 64:ff9b:1::/48), which some stacks
// and gateways route to that IPv4 address, so "::7f00:1" may reach
// 127.0.0.1 and "::a9fe:a9fe" the metadata service at 169.254.169.254.
// IPv4-mapped addresses (::ffff:a.b.c.d) are the one embedding judged by
// their IPv4 address, since that is the address a dual-stack socket dials.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// reserved lists ranges that are not reachable public unicast space, beyond
// what netip's predicates and the 2000::/3 rule cover.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("192.88.99.0/24"),  // deprecated 6to4 relay anycast
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and broadcast
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments, among them Teredo (2001::/32, embeds IPv4) and benchmarking
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4: embeds IPv4
	netip.MustParsePrefix("3fff::/20"),       // documentation
}

// isPublic reports whether ip is public unicast address space. An
// IPv4-mapped address is judged by its IPv4 address; any other IPv6 address
// that embeds an IPv4 address is refused (see globalUnicast6 and reserved).
func isPublic(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || !ip.IsGlobalUnicast() || ip.IsPrivate() || ip.IsLoopback() ||
		ip.IsLinkLocalUnicast() || ip.IsMulticast() || ip.IsUnspecified() {
		return false
	}
	if ip.Is6() && !globalUnicast6.Contains(ip) {
		return false
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// errBlockedAddress is returned by the dialer when a host resolved to an
// address the checker never connects to.
var errBlockedAddress = errors.New("s3check: refusing to connect to a non-public address")

// dialGuard is a net.Dialer Control function: it runs after name resolution,
// on the address actually dialled, so a public-looking name that resolves
// (or is re-pointed) to an internal address is still refused.
func dialGuard(allowLoopback bool) func(network, address string, _ syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return errBlockedAddress
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return errBlockedAddress
		}
		ip = ip.Unmap()
		if isPublic(ip) || allowLoopback && ip.IsLoopback() {
			return nil
		}
		return errBlockedAddress
	}
}
