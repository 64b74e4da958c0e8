package fakes3_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/atrium-cdn/atrium/infra/local/fakes3"
)

const (
	readerKey = "AKIAREADER00000001"
	otherKey  = "AKIAOTHER000000002"
	// The fake does not verify signatures; any secret signs.
	anySecret = "not-a-real-secret-0123456789"
)

type fixture struct {
	fake *fakes3.Server
	url  string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	fake := fakes3.New()
	for _, b := range []string{"photos", "private"} {
		if err := fake.CreateBucket(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := fake.PutObject("photos", "cats/tom.jpg", []byte("meow")); err != nil {
		t.Fatal(err)
	}
	if err := fake.PutObject("private", "secret.txt", []byte("hidden")); err != nil {
		t.Fatal(err)
	}
	fake.Grant(readerKey, "photos", "missing-bucket")
	fake.Grant(otherKey, "elsewhere")
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	return fixture{fake: fake, url: srv.URL}
}

func client(url, akid string) *s3.Client {
	var creds aws.CredentialsProvider = aws.AnonymousCredentials{}
	if akid != "" {
		creds = credentials.NewStaticCredentialsProvider(akid, anySecret, "")
	}
	return s3.New(s3.Options{
		Region:                     "us-east-1",
		BaseEndpoint:               aws.String(url),
		UsePathStyle:               true,
		Credentials:                creds,
		RetryMaxAttempts:           1,
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// apiError returns the S3 error code and HTTP status of err ("" and 0 for nil).
func apiError(t *testing.T, err error) (string, int) {
	t.Helper()
	if err == nil {
		return "", 0
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("not an API error: %v", err)
	}
	var re *smithyhttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("no HTTP response in error: %v", err)
	}
	return ae.ErrorCode(), re.HTTPStatusCode()
}

func TestAccessThroughSDK(t *testing.T) {
	type op func(ctx context.Context, c *s3.Client) error
	list := func(bucket string) op {
		return func(ctx context.Context, c *s3.Client) error {
			out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(1)})
			if err == nil && (len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "cats/tom.jpg") {
				return errors.New("unexpected listing")
			}
			return err
		}
	}
	get := func(bucket, key, want string) op {
		return func(ctx context.Context, c *s3.Client) error {
			out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			if err != nil {
				return err
			}
			defer out.Body.Close()
			b, err := io.ReadAll(out.Body)
			if err == nil && string(b) != want {
				return errors.New("unexpected body " + string(b))
			}
			return err
		}
	}
	head := func(bucket, key string) op {
		return func(ctx context.Context, c *s3.Client) error {
			_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
			return err
		}
	}
	listBuckets := func(ctx context.Context, c *s3.Client) error {
		_, err := c.ListBuckets(ctx, &s3.ListBucketsInput{})
		return err
	}

	tests := []struct {
		name       string
		akid       string
		op         op
		wantCode   string
		wantStatus int
	}{
		{"granted key lists", readerKey, list("photos"), "", 0},
		{"granted key gets", readerKey, get("photos", "cats/tom.jpg", "meow"), "", 0},
		{"granted key heads", readerKey, head("photos", "cats/tom.jpg"), "", 0},
		{"granted key, missing object", readerKey, get("photos", "nope.jpg", ""), "NoSuchKey", 404},
		{"other key lists", otherKey, list("photos"), "AccessDenied", 403},
		{"other key gets", otherKey, get("photos", "cats/tom.jpg", ""), "AccessDenied", 403},
		{"never granted key", "AKIASTRANGER0000003", list("photos"), "AccessDenied", 403},
		{"granted key on another bucket", readerKey, list("private"), "AccessDenied", 403},
		{"granted key gets from another bucket", readerKey, get("private", "secret.txt", ""), "AccessDenied", 403},
		{"unknown bucket, granted key", readerKey, list("no-such-bucket"), "NoSuchBucket", 404},
		{"unknown bucket it was granted", readerKey, list("missing-bucket"), "NoSuchBucket", 404},
		{"unknown bucket, never granted key", "AKIASTRANGER0000003", list("no-such-bucket"), "AccessDenied", 403},
		{"no credentials", "", list("photos"), "AccessDenied", 403},
		{"list buckets is not a grant", readerKey, listBuckets, "AccessDenied", 403},
	}
	fx := newFixture(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := tc.op(ctx, client(fx.url, tc.akid))
			if tc.wantCode == "" {
				if err != nil {
					t.Fatalf("want success, got %v", err)
				}
				return
			}
			code, status := apiError(t, err)
			if code != tc.wantCode || status != tc.wantStatus {
				t.Fatalf("got %s/%d, want %s/%d (err %v)", code, status, tc.wantCode, tc.wantStatus, err)
			}
		})
	}
	if n := fx.fake.Writes(); n != 0 {
		t.Fatalf("reads counted as %d writes", n)
	}
}

func TestWritesAreCountedAndRefused(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	c := client(fx.url, readerKey)

	_, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("photos"), Key: aws.String("new.jpg"), Body: bytes.NewReader([]byte("x")),
	})
	if code, status := apiError(t, err); code != "AccessDenied" || status != 403 {
		t.Fatalf("PutObject by a read-only key: got %s/%d", code, status)
	}
	if n := fx.fake.Writes(); n != 1 {
		t.Fatalf("Writes() = %d after one PutObject attempt, want 1", n)
	}

	_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String("photos"), Key: aws.String("cats/tom.jpg")})
	if code, _ := apiError(t, err); code != "AccessDenied" {
		t.Fatalf("DeleteObject by a read-only key: got %s", code)
	}
	if n := fx.fake.Writes(); n != 2 {
		t.Fatalf("Writes() = %d, want 2", n)
	}

	// Nothing changed: the object is still there and nothing was added.
	out, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("photos")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 1 || aws.ToString(out.Contents[0].Key) != "cats/tom.jpg" {
		t.Fatalf("bucket changed: %+v", out.Contents)
	}
	// Reads do not move the counter.
	if n := fx.fake.Writes(); n != 2 {
		t.Fatalf("Writes() = %d after a read, want 2", n)
	}
}

func TestPresignedGet(t *testing.T) {
	fx := newFixture(t)
	presign := s3.NewPresignClient(client(fx.url, readerKey))
	req, err := presign.PresignGetObject(context.Background(), &s3.GetObjectInput{
		Bucket: aws.String("photos"), Key: aws.String("cats/tom.jpg"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(req.URL, anySecret) {
		t.Fatal("presigned URL holds the secret")
	}
	resp, err := http.Get(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "meow" {
		t.Fatalf("presigned GET: %d %q", resp.StatusCode, body)
	}
}

func TestRawRequestsWithoutCredentials(t *testing.T) {
	fx := newFixture(t)
	tests := []struct {
		name, method, path, auth string
	}{
		{"no header", http.MethodGet, "/photos?list-type=2", ""},
		{"no header, object", http.MethodGet, "/photos/cats/tom.jpg", ""},
		{"sigv2 header is not understood", http.MethodGet, "/photos", "AWS " + readerKey + ":c2ln"},
		{"malformed credential", http.MethodGet, "/photos", "AWS4-HMAC-SHA256 Credential=" + readerKey + ", Signature=00"},
		{"no header, put", http.MethodPut, "/photos/x", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, fx.url+tc.path, nil)
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct {
				XMLName xml.Name `xml:"Error"`
				Code    string
			}
			if err := xml.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatalf("error body is not S3 XML: %v", err)
			}
			if resp.StatusCode != 403 || e.Code != "AccessDenied" {
				t.Fatalf("got %d %s, want 403 AccessDenied", resp.StatusCode, e.Code)
			}
		})
	}
	if n := fx.fake.Writes(); n != 1 {
		t.Fatalf("Writes() = %d, want 1 (the unauthenticated PUT attempt)", n)
	}
}

func TestSetup(t *testing.T) {
	fake := fakes3.New()
	if err := fake.CreateBucket("ok-bucket"); err != nil {
		t.Fatal(err)
	}
	if err := fake.CreateBucket("ok-bucket"); err == nil {
		t.Fatal("second CreateBucket of the same name succeeded")
	}
	if err := fake.CreateBucket("Not_A_Bucket"); err == nil {
		t.Fatal("invalid bucket name accepted")
	}
	if err := fake.PutObject("absent", "k", nil); err == nil {
		t.Fatal("PutObject into a missing bucket succeeded")
	}
	if err := fake.PutObject("ok-bucket", "k", nil); err != nil {
		t.Fatal(err)
	}
	if n := fake.Writes(); n != 0 {
		t.Fatalf("setup counted as %d writes", n)
	}
}

func TestAccessKeyID(t *testing.T) {
	tests := []struct {
		name, auth, query, want string
		ok                      bool
	}{
		{"sigv4", "AWS4-HMAC-SHA256 Credential=AKID1/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abc", "", "AKID1", true},
		{"sigv4 no spaces", "AWS4-HMAC-SHA256 Credential=AKID1/20250101/us-east-1/s3/aws4_request,SignedHeaders=host,Signature=abc", "", "AKID1", true},
		{"sigv4a", "AWS4-ECDSA-P256-SHA256 Credential=AKID2/20250101/s3/aws4_request, SignedHeaders=host, Signature=abc", "", "AKID2", true},
		{"presigned", "", "X-Amz-Credential=AKID3%2F20250101%2Fus-east-1%2Fs3%2Faws4_request", "AKID3", true},
		{"empty key", "AWS4-HMAC-SHA256 Credential=/20250101/us-east-1/s3/aws4_request", "", "", false},
		{"nothing", "", "", "", false},
		{"garbage", "Bearer xyz", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/b?"+tc.query, nil)
			if tc.auth != "" {
				r.Header.Set("Authorization", tc.auth)
			}
			got, ok := fakes3.AccessKeyID(r)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("got %q %v, want %q %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}
