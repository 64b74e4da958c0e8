// Package s3check answers one question before a source is stored: can these
// keys read that bucket? (promise P5: registration checks read access and
// never writes to the bucket).
//
// A check sends exactly one request, ListObjectsV2 with MaxKeys=1 under the
// source's prefix, signed with the customer's keys, and nothing else: no
// write, no HeadBucket, no GetBucketLocation, no S3 Express CreateSession.
//
// The keys go nowhere but into that request's signature (promise P3): the
// package logs nothing, a *Failure never holds the underlying SDK error,
// and its message never contains the secret key nor the access key id in
// full (only its last four characters).
package s3check

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Storage types.
const (
	TypeS3           = "s3"
	TypeS3Compatible = "s3_compatible"
)

// Failure reasons: stable, machine-readable.
const (
	ReasonAccessDenied    = "access_denied"
	ReasonNoSuchBucket    = "no_such_bucket"
	ReasonUnreachable     = "unreachable"
	ReasonInvalidEndpoint = "invalid_endpoint"
	ReasonInvalidRegion   = "invalid_region"
)

// DefaultTimeout bounds a whole check when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// defaultCompatibleRegion signs for s3_compatible storage given no region;
// most S3-compatible servers accept it.
const defaultCompatibleRegion = "us-east-1"

// maxResponseBytes bounds any response body the checker reads; a one-key
// listing is a few hundred bytes.
const maxResponseBytes = 1 << 20

// Location is where a source's objects live.
type Location struct {
	Type     string // "s3" or "s3_compatible"
	Bucket   string
	Region   string // required for s3; "us-east-1" when empty for s3_compatible
	Prefix   string // may be ""
	Endpoint string // s3_compatible only: https://host[:port]; http only on a loopback host when AllowLoopbackHTTP
}

// Keys are the customer's credentials for the bucket.
type Keys struct{ AccessKeyID, SecretAccessKey string }

// Options configure a Checker.
type Options struct {
	// Timeout bounds the whole check (connection, retry and answer);
	// DefaultTimeout when zero or negative.
	Timeout time.Duration
	// AllowLoopbackHTTP is local mode: http://127.0.0.1:port (or localhost,
	// or [::1]) endpoints are accepted and loopback addresses may be dialled.
	AllowLoopbackHTTP bool
	// HTTPClient, when set, sends the request as is. When nil the checker
	// uses its own client, which refuses to connect to non-public addresses
	// (loopback allowed in local mode) whatever a host name resolves to,
	// follows no redirects and ignores proxy environment variables.
	HTTPClient *http.Client
}

// Checker checks read access. Build it once (it holds the connection pool)
// and share it: it is safe for concurrent use.
type Checker struct {
	timeout           time.Duration
	allowLoopbackHTTP bool
	httpClient        s3.HTTPClient
}

// New returns a Checker.
func New(o Options) *Checker {
	c := &Checker{timeout: o.Timeout, allowLoopbackHTTP: o.AllowLoopbackHTTP}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = newHTTPClient(o.AllowLoopbackHTTP)
	}
	c.httpClient = limitedClient{hc}
	return c
}

// Failure says why a check failed. Message is safe to show the customer.
type Failure struct {
	// Reason is one of the Reason constants.
	Reason string
	// Message says what failed and what to check. It never contains the
	// secret key nor the access key id in full.
	Message string
}

// Error returns the reason and the message.
func (f *Failure) Error() string { return "s3check: " + f.Reason + ": " + f.Message }

// CheckRead lists at most one object (ListObjectsV2, MaxKeys=1, under the
// prefix) with the given keys, and does nothing else. It returns nil when
// the keys can read the bucket, otherwise a *Failure.
func (c *Checker) CheckRead(ctx context.Context, loc Location, keys Keys) error {
	if f := c.check(ctx, loc, keys); f != nil {
		f.Message = redact(f.Message, keys)
		return f
	}
	return nil
}

func (c *Checker) check(ctx context.Context, loc Location, keys Keys) *Failure {
	t, f := c.validate(loc, keys)
	if f != nil {
		return f
	}

	opts := s3.Options{
		Region:                      t.region,
		Credentials:                 credentials.NewStaticCredentialsProvider(keys.AccessKeyID, keys.SecretAccessKey, ""),
		HTTPClient:                  c.httpClient,
		UsePathStyle:                loc.Type == TypeS3Compatible,
		RequestChecksumCalculation:  aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation:  aws.ResponseChecksumValidationWhenRequired,
		DisableS3ExpressSessionAuth: aws.Bool(true),
		Logger:                      logging.Nop{},
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 2 // one retry, for a transient 5xx or reset connection
			o.MaxBackoff = 300 * time.Millisecond
		}),
	}
	if t.endpoint != "" {
		opts.BaseEndpoint = aws.String(t.endpoint)
	}
	client := s3.New(opts)

	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	in := &s3.ListObjectsV2Input{Bucket: aws.String(loc.Bucket), MaxKeys: aws.Int32(1)}
	if loc.Prefix != "" {
		in.Prefix = aws.String(loc.Prefix)
	}
	_, err := client.ListObjectsV2(cctx, in)
	if err == nil {
		return nil
	}
	return c.classify(err, ctx, cctx, t, loc, keys)
}

// target is a validated location.
type target struct {
	region   string
	endpoint string // canonical; "" for AWS S3
	where    string // for messages: ` in region "r"` or ` at host h`
}

// locator names what, besides the bucket name, decides which bucket is meant.
func (t target) locator() string {
	if t.endpoint != "" {
		return "endpoint"
	}
	return "region"
}

// Compiled on first use, not in a package initialiser: bounded repeats make
// compiling such an expression cost at every cold start (issue #17).
var (
	awsRegionRe    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`) })
	otherRegionRe  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`) })
	awsBucketRe    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`) })
	otherBucketRe  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`) })
	ipLikeBucketRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$`) })
)

func (c *Checker) validate(loc Location, keys Keys) (target, *Failure) {
	var t target
	switch loc.Type {
	case TypeS3:
		if loc.Endpoint != "" {
			return t, &Failure{ReasonInvalidEndpoint, "An endpoint is only used with type s3_compatible; leave it empty for Amazon S3."}
		}
		if !awsRegionRe().MatchString(loc.Region) {
			return t, &Failure{ReasonInvalidRegion, "The region must be the bucket's AWS region, such as eu-west-1."}
		}
		t.region = loc.Region
		t.where = fmt.Sprintf(" in region %q", loc.Region)
		if !validAWSBucket(loc.Bucket) {
			return t, &Failure{ReasonNoSuchBucket, "The bucket name is not a valid Amazon S3 bucket name (3 to 63 lowercase letters, digits, dots and hyphens; directory buckets and access points are not supported). Check the bucket name."}
		}
	case TypeS3Compatible:
		ep, err := parseEndpoint(loc.Endpoint, c.allowLoopbackHTTP)
		if err != nil {
			var f *Failure
			errors.As(err, &f)
			return t, f
		}
		t.endpoint = ep
		t.region = loc.Region
		if t.region == "" {
			t.region = defaultCompatibleRegion
		}
		if !otherRegionRe().MatchString(t.region) {
			return t, &Failure{ReasonInvalidRegion, "The region must be a single word of letters, digits and hyphens, such as us-east-1 or auto."}
		}
		t.where = " at " + strings.TrimPrefix(strings.TrimPrefix(ep, "https://"), "http://")
		if !otherBucketRe().MatchString(loc.Bucket) || len(loc.Bucket) < 3 {
			return t, &Failure{ReasonNoSuchBucket, "The bucket name is not valid (3 to 255 letters, digits, dots, hyphens and underscores). Check the bucket name."}
		}
	default:
		return t, &Failure{ReasonInvalidEndpoint, `The storage type must be "s3" or "s3_compatible".`}
	}
	if !validAccessKeyID(keys.AccessKeyID) {
		return t, &Failure{ReasonAccessDenied, "The access key id is missing or malformed: it must be 3 to 128 characters without spaces, slashes or commas. Check that you copied it correctly."}
	}
	if keys.SecretAccessKey == "" || len(keys.SecretAccessKey) > 1024 {
		return t, &Failure{ReasonAccessDenied, "The secret access key is missing or too long. Check that you copied it correctly."}
	}
	return t, nil
}

// validAWSBucket applies the general purpose bucket naming rules, and refuses
// names that the SDK would route elsewhere (directory buckets, access point
// and Object Lambda aliases).
func validAWSBucket(b string) bool {
	if !awsBucketRe().MatchString(b) || strings.Contains(b, "..") || ipLikeBucketRe().MatchString(b) {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(b, p) {
			return false
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", "--x-s3", ".mrap", "--table-s3"} {
		if strings.HasSuffix(b, s) {
			return false
		}
	}
	return true
}

// validAccessKeyID accepts printable ASCII without the characters that
// would break the Credential field of the Authorization header.
func validAccessKeyID(id string) bool {
	if len(id) < 3 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if c <= ' ' || c >= 0x7f || c == '/' || c == ',' {
			return false
		}
	}
	return true
}

// keyHint names the access key id by its last four characters, when that is
// a small part of it.
func keyHint(id string) string {
	if len(id) < 12 {
		return "the access key id"
	}
	return "the access key id ending in " + id[len(id)-4:]
}

var safeCodeRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z]{1,64}$`) })

// classify maps the SDK's error to a Failure. It reads codes, statuses and
// error types only; the SDK error's text is never copied.
func (c *Checker) classify(err error, parent, cctx context.Context, t target, loc Location, keys Keys) *Failure {
	bucket := fmt.Sprintf("bucket %q%s", loc.Bucket, t.where)
	hint := keyHint(keys.AccessKeyID)
	grant := " Check that the key is active and that its policy allows s3:ListBucket on the bucket and s3:GetObject on its objects."

	if errors.Is(err, errBlockedAddress) {
		return &Failure{ReasonInvalidEndpoint, "The endpoint's host resolves to a private or reserved address, which we never connect to. Give a public address."}
	}
	if errors.Is(err, errResponseTooLarge) {
		return &Failure{ReasonUnreachable, fmt.Sprintf("The storage%s answered with an unexpectedly large response. Check that the endpoint is an S3-compatible API.", t.where)}
	}

	status := 0
	var header http.Header
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil && re.Response.Response != nil {
		status = re.HTTPStatusCode()
		header = re.Response.Header
	}
	wrongRegion := func() *Failure {
		msg := fmt.Sprintf("The %s could not be read because it is not in that region.", bucket)
		if r := header.Get("X-Amz-Bucket-Region"); r != "" && otherRegionRe().MatchString(r) && r != t.region {
			msg = fmt.Sprintf("The %s could not be read: the storage says the bucket is in region %q.", bucket, r)
		}
		return &Failure{ReasonInvalidRegion, msg + " Check the region."}
	}

	code := ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch code {
	case "AccessDenied", "AllAccessDisabled", "AccountProblem":
		return &Failure{ReasonAccessDenied, fmt.Sprintf("Listing %s with %s was refused.%s", bucket, hint, grant)}
	case "InvalidAccessKeyId", "InvalidToken", "ExpiredToken", "TokenRefreshRequired":
		return &Failure{ReasonAccessDenied, fmt.Sprintf("The storage%s does not recognise %s. Check that you copied the access key id correctly and that the key is active.", t.where, hint)}
	case "SignatureDoesNotMatch":
		return &Failure{ReasonAccessDenied, fmt.Sprintf("The secret access key does not match %s. Check that you copied the secret access key correctly.", hint)}
	case "NoSuchBucket":
		return &Failure{ReasonNoSuchBucket, fmt.Sprintf("The %s does not exist. Check the bucket name and the %s.", bucket, t.locator())}
	case "PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException", "InvalidRegion":
		return wrongRegion()
	case "RequestTimeTooSkewed":
		return &Failure{ReasonUnreachable, fmt.Sprintf("The storage%s refused the request because its clock and ours disagree. Check the storage server's clock.", t.where)}
	}
	switch {
	case status == http.StatusMovedPermanently, status == http.StatusTemporaryRedirect,
		status == http.StatusBadRequest && header.Get("X-Amz-Bucket-Region") != "":
		return wrongRegion()
	case status == http.StatusUnauthorized, status == http.StatusForbidden:
		return &Failure{ReasonAccessDenied, fmt.Sprintf("Listing %s with %s was refused.%s", bucket, hint, grant)}
	case status == http.StatusNotFound:
		return &Failure{ReasonNoSuchBucket, fmt.Sprintf("The %s was not found. Check the bucket name and the %s.", bucket, t.locator())}
	case status != 0:
		detail := fmt.Sprintf("HTTP %d", status)
		if safeCodeRe().MatchString(code) && code != "UnknownError" {
			detail += ", " + code
		}
		return &Failure{ReasonUnreachable, fmt.Sprintf("The storage answered listing %s with an unexpected error (%s). Check that the endpoint is an S3-compatible API and try again.", bucket, detail)}
	}

	// No answer at all.
	if parent.Err() != nil {
		return &Failure{ReasonUnreachable, "The check was interrupted before the storage answered. Try again."}
	}
	if errors.Is(cctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) {
		return &Failure{ReasonUnreachable, fmt.Sprintf("The storage%s did not answer within %s. Check the endpoint and that the storage is reachable from the internet.", t.where, c.timeout)}
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return &Failure{ReasonUnreachable, fmt.Sprintf("The storage%s could not be found (DNS). Check the %s.", t.where, t.locator())}
	}
	var (
		verifyErr *tls.CertificateVerificationError
		unknownCA x509.UnknownAuthorityError
		hostErr   x509.HostnameError
		certErr   x509.CertificateInvalidError
	)
	if errors.As(err, &verifyErr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr) || errors.As(err, &certErr) {
		return &Failure{ReasonUnreachable, fmt.Sprintf("The storage%s presented a TLS certificate we do not trust (expired, self-signed, or for another host). Check the endpoint's certificate.", t.where)}
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return &Failure{ReasonUnreachable, fmt.Sprintf("The storage%s refused the connection. Check the endpoint's host and port.", t.where)}
	}
	return &Failure{ReasonUnreachable, fmt.Sprintf("Could not connect to the storage%s. Check the endpoint and that the storage is reachable from the internet.", t.where)}
}

// redact removes the keys from a message, whatever put them there (a bucket
// name or an endpoint typed into the wrong field).
func redact(msg string, keys Keys) string {
	for _, s := range []string{keys.SecretAccessKey, keys.AccessKeyID} {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return msg
}

// newHTTPClient is the checker's own client: no proxy, no redirects, and a
// dialer that refuses non-public addresses after name resolution.
func newHTTPClient(allowLoopback bool) *http.Client {
	dialer := &net.Dialer{
		Timeout:   DefaultTimeout,
		KeepAlive: 30 * time.Second,
		Control:   dialGuard(allowLoopback),
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                  nil,
			DialContext:            dialer.DialContext,
			ForceAttemptHTTP2:      true,
			MaxIdleConns:           64,
			MaxIdleConnsPerHost:    2,
			IdleConnTimeout:        60 * time.Second,
			TLSHandshakeTimeout:    DefaultTimeout,
			ExpectContinueTimeout:  time.Second,
			MaxResponseHeaderBytes: 64 << 10,
			TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

var errResponseTooLarge = errors.New("s3check: response body too large")

// limitedClient caps every response body at maxResponseBytes.
type limitedClient struct{ inner s3.HTTPClient }

func (l limitedClient) Do(r *http.Request) (*http.Response, error) {
	resp, err := l.inner.Do(r)
	if err != nil || resp == nil || resp.Body == nil {
		return resp, err
	}
	resp.Body = &limitedBody{rc: resp.Body, left: maxResponseBytes}
	return resp, nil
}

type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// At the limit: one byte more means the body is too large.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, errResponseTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }
