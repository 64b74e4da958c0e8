package breached

import (
	"context"
	"crypto/sha1" // #nosec G505 -- the Pwned Passwords API is keyed by SHA-1; this is a lookup, not password storage
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

const (
	// DefaultBaseURL is the public Pwned Passwords API.
	DefaultBaseURL = "https://api.pwnedpasswords.com"
	// DefaultTimeout bounds one check unless Options.Timeout says otherwise.
	DefaultTimeout = 2 * time.Second
	// MinTimeout and MaxTimeout bound Options.Timeout. Below MinTimeout
	// almost every check would fail; above MaxTimeout a slow service would
	// hold a signup for longer than anyone waits.
	MinTimeout = 100 * time.Millisecond
	MaxTimeout = 10 * time.Second
	// DefaultUserAgent identifies us to the service, which asks for one.
	DefaultUserAgent = "atrium-password-check"
	// MaxResponseBytes bounds the answer that is read. A real padded answer
	// is about 40 KB (800 to 1,000 lines of 40 bytes or so).
	MaxResponseBytes = 2 << 20
	// maxUserAgentLen bounds Options.UserAgent.
	maxUserAgentLen = 256
)

// ErrUnavailable is wrapped by every error that reports a failure of the
// service: transport error, timeout, status other than 200, oversized or
// malformed answer.
var ErrUnavailable = errors.New("breached-password service unavailable")

// Kinds of failure, wrapped alongside ErrUnavailable. Unexported: callers
// decide on ErrUnavailable alone; the message tells operators which one.
var (
	errTimeout   = errors.New("timed out")
	errTransport = errors.New("request failed")
	errStatus    = errors.New("unexpected HTTP status")
	errTooLarge  = fmt.Errorf("response larger than %d bytes", MaxResponseBytes)
	errMalformed = errors.New("malformed response")
)

// Options configure a Checker. The zero value is valid: it checks against
// the public API, fails open and reports failures nowhere.
type Options struct {
	// BaseURL is the service root; the range endpoint is
	// BaseURL + "/range/" + 5 hex characters. It must use https, or http
	// on a loopback host (for tests and local stacks). Default
	// DefaultBaseURL.
	BaseURL string
	// Timeout bounds each check, from sending the request to reading the
	// last byte of the answer, within [MinTimeout, MaxTimeout]. Default
	// DefaultTimeout. The caller's context deadline applies too.
	Timeout time.Duration
	// FailClosed decides what a failure of the service means: true, Breached
	// returns an error wrapping ErrUnavailable (the caller refuses the
	// password for now); false, the password is treated as not breached.
	FailClosed bool
	// MinCount is how many times a suffix must be listed to count as
	// breached. Default 1; entries with count 0 (padding) never count.
	MinCount int
	// HTTPClient sends the requests. Default: a client with Timeout that
	// follows no redirect. A client supplied here is used as is (its
	// redirect policy included); Timeout still applies through the context.
	HTTPClient *http.Client
	// UserAgent is sent with every request; printable ASCII, at most 256
	// bytes. Default DefaultUserAgent.
	UserAgent string
	// OnFailure, when set, is called with every failure of the service, in
	// both modes, before Breached returns. In fail-open mode it is the only
	// trace of a failure. It must be safe for concurrent use; the error
	// wraps ErrUnavailable and is safe to log.
	OnFailure func(error)
}

// Checker reports whether a password appears in known breaches. It is safe
// for concurrent use; build one per process and reuse it, so that
// connections to the service are reused too.
type Checker struct {
	rangeURL   string // BaseURL + "/range/"
	timeout    time.Duration
	failClosed bool
	minCount   int64
	client     *http.Client
	userAgent  string
	onFailure  func(error)
}

// New validates o and returns a Checker. It makes no request.
func New(o Options) (*Checker, error) {
	base := o.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	rangeURL, err := rangeEndpoint(base)
	if err != nil {
		return nil, err
	}

	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	if timeout < MinTimeout || timeout > MaxTimeout {
		return nil, fmt.Errorf("breached: Timeout %v is outside [%v, %v]", o.Timeout, MinTimeout, MaxTimeout)
	}

	minCount := o.MinCount
	if minCount < 0 {
		return nil, fmt.Errorf("breached: MinCount %d is negative", o.MinCount)
	}
	if minCount == 0 {
		minCount = 1
	}

	ua := o.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	if len(ua) > maxUserAgentLen {
		return nil, fmt.Errorf("breached: UserAgent is longer than %d bytes", maxUserAgentLen)
	}
	for i := range len(ua) {
		if ua[i] < ' ' || ua[i] > '~' {
			return nil, errors.New("breached: UserAgent must be printable ASCII")
		}
	}

	client := o.HTTPClient
	if client == nil {
		client = defaultClient(timeout)
	}

	return &Checker{
		rangeURL:   rangeURL,
		timeout:    timeout,
		failClosed: o.FailClosed,
		minCount:   int64(minCount),
		client:     client,
		userAgent:  ua,
		onFailure:  o.OnFailure,
	}, nil
}

// rangeEndpoint validates a base URL and returns it with "/range/" appended.
func rangeEndpoint(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", errors.New("breached: BaseURL is not a URL")
	}
	switch {
	case u.Opaque != "" || u.Host == "" || u.Hostname() == "":
		return "", errors.New("breached: BaseURL must be an absolute URL with a host")
	case u.User != nil:
		return "", errors.New("breached: BaseURL must not carry credentials")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.RawFragment != "":
		return "", errors.New("breached: BaseURL must not have a query or fragment")
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	case u.Scheme == "http":
		return "", errors.New("breached: BaseURL must use https (http only on a loopback host)")
	default:
		return "", errors.New("breached: BaseURL must use https")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u.String() + "/range/", nil
}

// isLoopback reports whether host names this machine: "localhost" or a
// loopback IP address. Other names are refused, since they could resolve
// anywhere.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// defaultClient follows no redirect (a 3xx is a failure, like any other
// status than 200) and bounds response headers.
func defaultClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxResponseHeaderBytes = 64 << 10
	return &http.Client{
		Transport: t,
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// Breached reports whether password is listed in known breaches at least
// MinCount times.
//
// It returns (true, nil) when listed, (false, nil) when not. When the
// service fails, it calls OnFailure and returns (false, err) with err
// wrapping ErrUnavailable in fail-closed mode, (false, nil) in fail-open
// mode. When ctx ends first, it returns (false, err) with err wrapping
// ctx.Err(), in both modes.
func (c *Checker) Breached(ctx context.Context, password string) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("breached: check abandoned: %w", err)
	}

	sum := sha1.Sum([]byte(password)) // #nosec G401 -- the API's key, not a password hash
	var hexSum [40]byte
	hex.Encode(hexSum[:], sum[:])
	var want suffix
	for i := range hexSum {
		hexSum[i], _ = upperHex(hexSum[i])
	}
	prefix := string(hexSum[:prefixLen])
	copy(want[:], hexSum[prefixLen:])
	clear(sum[:])
	clear(hexSum[:])

	count, err := c.lookup(ctx, prefix, want)
	clear(want[:])
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return false, fmt.Errorf("breached: check abandoned: %w", ctxErr)
		}
		if c.onFailure != nil {
			c.onFailure(err)
		}
		if c.failClosed {
			return false, err
		}
		return false, nil
	}
	return count >= c.minCount, nil
}

// lookup fetches the range for prefix and returns the count listed for
// want. Every error it returns wraps ErrUnavailable and one failure kind.
func (c *Checker) lookup(parent context.Context, prefix string, want suffix) (int64, error) {
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.rangeURL+prefix, nil)
	if err != nil {
		// rangeURL was validated by New and prefix is hex: unreachable, but
		// the error would carry the URL, so only its kind is kept.
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, errTransport)
	}
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("Add-Padding", "true")

	resp, err := c.client.Do(req)
	if err != nil {
		return 0, transportFailure(ctx, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%w: %w %d", ErrUnavailable, errStatus, resp.StatusCode)
	}
	if resp.ContentLength > MaxResponseBytes {
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, errTooLarge)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return 0, transportFailure(ctx, err)
	}
	if len(body) > MaxResponseBytes {
		return 0, fmt.Errorf("%w: %w", ErrUnavailable, errTooLarge)
	}
	count, err := lookupRange(body, want)
	if err != nil {
		return 0, fmt.Errorf("%w: %w: %w", ErrUnavailable, errMalformed, err)
	}
	return count, nil
}

// transportFailure classifies an error from sending the request or reading
// the answer. The *url.Error wrapper is dropped: it names the URL, and so
// the hash prefix.
func transportFailure(ctx context.Context, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("%w: %w: %w", ErrUnavailable, errTimeout, err)
	}
	return fmt.Errorf("%w: %w: %w", ErrUnavailable, errTransport, err)
}
