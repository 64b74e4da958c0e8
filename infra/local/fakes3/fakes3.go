// Package fakes3 is the customer's bucket for tests and the local stack: an
// in-memory S3 server (github.com/johannesboyne/gofakes3 over its s3mem
// backend) that also decides access by access key id, the way a bucket
// policy for read-only keys would.
//
// # Access model
//
// The caller is identified by the access key id it claims: the Credential of
// a SigV4 (or SigV4a) Authorization header,
//
//	Authorization: AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/s3/aws4_request, ...
//
// or, for presigned URLs, the X-Amz-Credential query parameter. The signature
// itself is NOT verified: any secret key passes. This server proves which
// requests a client makes and with which key, not that the client can sign;
// a test that needs "wrong secret" behaviour should use a key that was never
// granted.
//
// A key granted a bucket (Grant) may read it: list, get and head, the two
// permissions s3:ListBucket and s3:GetObject. Everything else is refused with
// 403 AccessDenied in S3's XML error format:
//   - a request without credentials,
//   - a key that was never granted anything,
//   - a granted key on a bucket it was not granted,
//   - any request that would change something (PUT, POST, DELETE) and
//     bucket-less requests such as ListBuckets.
//
// A granted key naming a bucket that does not exist gets gofakes3's own
// 404 NoSuchBucket, as real S3 answers a key that has the permission.
//
// Only path-style addressing (http://host/bucket/key, the SDK's
// UsePathStyle) is served.
//
// The setup methods (CreateBucket, PutObject) write to the backend directly
// and never pass through the access check or the Writes counter.
package fakes3

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is an in-memory S3 endpoint with per-key read grants. It is an
// http.Handler: serve it with httptest.NewServer or any http.Server.
// The zero value is not usable; call New.
type Server struct {
	backend *s3mem.Backend
	faker   http.Handler

	mu     sync.Mutex
	grants map[string]map[string]bool // access key id -> bucket -> granted
	writes int
	reqID  uint64
}

// New returns an empty server: no buckets, no grants.
func New() *Server {
	backend := s3mem.New()
	faker := gofakes3.New(backend,
		gofakes3.WithAutoBucket(false),
		gofakes3.WithoutVersioning(),
	)
	return &Server{
		backend: backend,
		faker:   faker.Server(),
		grants:  make(map[string]map[string]bool),
	}
}

// CreateBucket creates an empty bucket. The name must follow S3's bucket
// naming rules.
func (s *Server) CreateBucket(name string) error {
	if err := gofakes3.ValidateBucketName(name); err != nil {
		return fmt.Errorf("fakes3: create bucket %q: %w", name, err)
	}
	if err := s.backend.CreateBucket(name); err != nil {
		return fmt.Errorf("fakes3: create bucket %q: %w", name, err)
	}
	return nil
}

// PutObject stores body under key in an existing bucket.
func (s *Server) PutObject(bucket, key string, body []byte) error {
	if key == "" || len(key) > gofakes3.KeySizeLimit {
		return fmt.Errorf("fakes3: put object: key must be 1 to %d bytes", gofakes3.KeySizeLimit)
	}
	meta := map[string]string{
		"Content-Type":  "application/octet-stream",
		"Last-Modified": time.Now().UTC().Format(http.TimeFormat),
	}
	if _, err := s.backend.PutObject(bucket, key, meta, bytes.NewReader(body), int64(len(body)), nil); err != nil {
		return fmt.Errorf("fakes3: put object %q in %q: %w", key, bucket, err)
	}
	return nil
}

// Grant lets accessKeyID read (list and get) the named buckets, in addition
// to any it was granted before. The buckets need not exist yet. Any other
// key, or this key on another bucket, gets 403 AccessDenied.
func (s *Server) Grant(accessKeyID string, buckets ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.grants[accessKeyID]
	if g == nil {
		g = make(map[string]bool)
		s.grants[accessKeyID] = g
	}
	for _, b := range buckets {
		g[b] = true
	}
}

// Writes reports how many requests that would change something (PUT, POST
// or DELETE) reached the server over HTTP, whatever their key and whether or
// not they were allowed (with read-only grants they never are). A test
// asserts it stays 0 to prove a flow never tries to write.
func (s *Server) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// ServeHTTP checks the caller's access key id against the grants, then hands
// allowed requests to gofakes3.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	write := isWrite(r.Method)
	akid, hasKey := AccessKeyID(r)
	bucket := bucketOf(r)

	s.mu.Lock()
	if write {
		s.writes++
	}
	granted := hasKey && s.grants[akid][bucket]
	knownKey := hasKey && len(s.grants[akid]) > 0
	s.reqID++
	id := s.reqID
	s.mu.Unlock()

	switch {
	case !hasKey, bucket == "", write:
		s.deny(w, r, id)
	case granted:
		s.faker.ServeHTTP(w, r)
	case knownKey && !s.bucketExists(bucket):
		// A key with permissions learns that a bucket does not exist, as on S3.
		s.faker.ServeHTTP(w, r)
	default:
		s.deny(w, r, id)
	}
}

func (s *Server) bucketExists(name string) bool {
	ok, err := s.backend.BucketExists(name)
	return err == nil && ok
}

// isWrite reports whether a request with this method could change anything.
func isWrite(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	default: // PUT, POST, DELETE, PATCH and anything unknown
		return true
	}
}

// bucketOf returns the bucket named by a path-style request, exactly as
// gofakes3 splits the path when it routes, so the bucket checked is the
// bucket served.
func bucketOf(r *http.Request) string {
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucket, _, _ := strings.Cut(path, "/")
	return bucket
}

// AccessKeyID returns the access key id a request claims, from a SigV4 or
// SigV4a Authorization header or from a presigned URL's X-Amz-Credential
// query parameter. It does not verify the signature.
func AccessKeyID(r *http.Request) (string, bool) {
	if auth := r.Header.Get("Authorization"); auth != "" {
		return credentialFromAuthorization(auth)
	}
	if cred := r.URL.Query().Get("X-Amz-Credential"); cred != "" {
		return akidFromCredential(cred)
	}
	return "", false
}

// credentialFromAuthorization parses
// "AWS4-HMAC-SHA256 Credential=AKID/date/region/s3/aws4_request, SignedHeaders=..., Signature=...".
func credentialFromAuthorization(auth string) (string, bool) {
	alg, params, ok := strings.Cut(strings.TrimSpace(auth), " ")
	if !ok || !strings.HasPrefix(alg, "AWS4-") {
		return "", false
	}
	for _, p := range strings.Split(params, ",") {
		name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && name == "Credential" {
			return akidFromCredential(value)
		}
	}
	return "", false
}

// akidFromCredential takes the access key id out of a credential scope:
// "AKID/date/region/service/aws4_request" (SigV4) or
// "AKID/date/service/aws4_request" (SigV4a, whose regions travel in a header).
func akidFromCredential(cred string) (string, bool) {
	parts := strings.Split(cred, "/")
	if (len(parts) != 5 && len(parts) != 4) || parts[0] == "" || parts[len(parts)-1] != "aws4_request" {
		return "", false
	}
	return parts[0], true
}

// deny answers 403 AccessDenied in S3's XML error format.
func (s *Server) deny(w http.ResponseWriter, r *http.Request, id uint64) {
	reqID := fmt.Sprintf("FAKES3%010d", id)
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("x-amz-request-id", reqID)
	h.Set("Server", "AmazonS3")
	w.WriteHeader(http.StatusForbidden)
	if r.Method == http.MethodHead {
		return
	}
	body, _ := xml.Marshal(&gofakes3.ErrorResponse{
		Code:      "AccessDenied",
		Message:   "Access Denied",
		RequestID: reqID,
	})
	_, _ = w.Write([]byte(xml.Header))
	_, _ = w.Write(body)
}
