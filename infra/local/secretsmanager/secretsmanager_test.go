package secretsmanager_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	local "github.com/atrium-cdn/atrium/infra/local/secretsmanager"
)

// clock is a settable clock for Options.Now, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// start serves srv over HTTP and returns a real SDK client pointed at it.
func start(t *testing.T, srv *local.Server, optFns ...func(*sm.Options)) *sm.Client {
	t.Helper()
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return newClient(hs.URL, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, optFns...)
}

func newClient(url string, creds aws.Credentials, optFns ...func(*sm.Options)) *sm.Client {
	cfg := aws.Config{
		Region:       "eu-west-3",
		Credentials:  credentials.NewStaticCredentialsProvider(creds.AccessKeyID, creds.SecretAccessKey, ""),
		BaseEndpoint: aws.String(url),
	}
	return sm.NewFromConfig(cfg, optFns...)
}

func newServer(t *testing.T) (*sm.Client, *local.Server, *clock) {
	t.Helper()
	clk := newClock()
	srv := local.New(local.Options{Now: clk.Now})
	return start(t, srv), srv, clk
}

// as reports whether err wraps an error of type T.
func as[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

func mustAs[T error](t *testing.T, err error) T {
	t.Helper()
	var target T
	if !errors.As(err, &target) {
		t.Fatalf("error = %v (%T), want a %T", err, err, target)
	}
	return target
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

const (
	tokenA = "aaaaaaaa-1111-4111-8111-aaaaaaaaaaaa"
	tokenB = "bbbbbbbb-2222-4222-8222-bbbbbbbbbbbb"
)

var arnRE = regexp.MustCompile(`^arn:aws:secretsmanager:us-east-1:000000000000:secret:([A-Za-z0-9/_+=.@-]+)-[A-Za-z0-9]{6}$`)

func TestCreateGetDescribe(t *testing.T) {
	ctx := context.Background()
	c, srv, clk := newServer(t)

	created, err := c.CreateSecret(ctx, &sm.CreateSecretInput{
		Name:         aws.String("atrium/src_123/credentials"),
		SecretString: aws.String(`{"secret_access_key":"xyz"}`),
		KmsKeyId:     aws.String("alias/atrium-sources"),
		Description:  aws.String("source credentials"),
		Tags:         []types.Tag{{Key: aws.String("account"), Value: aws.String("acct_1")}},
	})
	if err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	m := arnRE.FindStringSubmatch(aws.ToString(created.ARN))
	if m == nil || m[1] != "atrium/src_123/credentials" {
		t.Fatalf("ARN = %q, want arn:aws:secretsmanager:us-east-1:000000000000:secret:atrium/src_123/credentials-XXXXXX", aws.ToString(created.ARN))
	}
	if aws.ToString(created.Name) != "atrium/src_123/credentials" || aws.ToString(created.VersionId) == "" {
		t.Fatalf("CreateSecret output = %+v", created)
	}

	// SecretId accepts the name, the full ARN and a partial ARN.
	partial := strings.TrimSuffix(*created.ARN, (*created.ARN)[len(*created.ARN)-7:])
	for _, id := range []string{"atrium/src_123/credentials", *created.ARN, partial} {
		got, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String(id)})
		if err != nil {
			t.Fatalf("GetSecretValue(%q): %v", id, err)
		}
		if aws.ToString(got.SecretString) != `{"secret_access_key":"xyz"}` || got.SecretBinary != nil {
			t.Errorf("GetSecretValue(%q) value = %q / %v", id, aws.ToString(got.SecretString), got.SecretBinary)
		}
		if aws.ToString(got.ARN) != *created.ARN || aws.ToString(got.VersionId) != *created.VersionId ||
			!slices.Equal(got.VersionStages, []string{"AWSCURRENT"}) || !got.CreatedDate.Equal(clk.Now()) {
			t.Errorf("GetSecretValue(%q) = %+v", id, got)
		}
	}

	d, err := c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: created.ARN})
	if err != nil {
		t.Fatalf("DescribeSecret: %v", err)
	}
	if aws.ToString(d.Name) != "atrium/src_123/credentials" || aws.ToString(d.KmsKeyId) != "alias/atrium-sources" ||
		aws.ToString(d.Description) != "source credentials" || d.DeletedDate != nil ||
		!d.CreatedDate.Equal(clk.Now()) || d.LastAccessedDate == nil {
		t.Errorf("DescribeSecret = %+v", d)
	}
	if len(d.Tags) != 1 || aws.ToString(d.Tags[0].Key) != "account" || aws.ToString(d.Tags[0].Value) != "acct_1" {
		t.Errorf("DescribeSecret tags = %+v", d.Tags)
	}
	if want := map[string][]string{*created.VersionId: {"AWSCURRENT"}}; !reflect.DeepEqual(d.VersionIdsToStages, want) {
		t.Errorf("VersionIdsToStages = %v, want %v", d.VersionIdsToStages, want)
	}

	snap := srv.Secrets()
	if len(snap) != 1 || snap[0].ARN != *created.ARN || snap[0].KmsKeyID != "alias/atrium-sources" ||
		snap[0].Tags["account"] != "acct_1" || len(snap[0].Versions) != 1 ||
		snap[0].Versions[0].SecretString != `{"secret_access_key":"xyz"}` || snap[0].Deleted {
		t.Errorf("Secrets() = %+v", snap)
	}

	// Binary secrets round-trip as bytes.
	bin := []byte{0, 1, 2, 0xff, 'x'}
	if _, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("bin"), SecretBinary: bin}); err != nil {
		t.Fatalf("CreateSecret(binary): %v", err)
	}
	got, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("bin")})
	if err != nil || !bytes.Equal(got.SecretBinary, bin) || got.SecretString != nil {
		t.Fatalf("GetSecretValue(binary) = %+v, %v", got, err)
	}

	// A secret without a value has no AWSCURRENT version to read.
	if _, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("empty")}); err != nil {
		t.Fatalf("CreateSecret(no value): %v", err)
	}
	_, err = c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("empty")})
	mustAs[*types.ResourceNotFoundException](t, err)
}

func TestPutSecretValueMovesStages(t *testing.T) {
	ctx := context.Background()
	c, srv, _ := newServer(t)

	cr, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("s"), SecretString: aws.String("v1")})
	if err != nil {
		t.Fatal(err)
	}
	v1 := *cr.VersionId
	p2, err := c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("s"), SecretString: aws.String("v2")})
	if err != nil {
		t.Fatal(err)
	}
	v2 := *p2.VersionId
	if !slices.Equal(p2.VersionStages, []string{"AWSCURRENT"}) {
		t.Errorf("PutSecretValue stages = %v", p2.VersionStages)
	}
	p3, err := c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: cr.ARN, SecretBinary: []byte("v3")})
	if err != nil {
		t.Fatal(err)
	}
	v3 := *p3.VersionId

	d, err := c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("s")})
	if err != nil {
		t.Fatal(err)
	}
	// v1 lost every label, so it is not reported.
	if want := map[string][]string{v2: {"AWSPREVIOUS"}, v3: {"AWSCURRENT"}}; !reflect.DeepEqual(d.VersionIdsToStages, want) {
		t.Errorf("VersionIdsToStages = %v, want %v", d.VersionIdsToStages, want)
	}

	tests := []struct {
		name      string
		in        sm.GetSecretValueInput
		wantStr   string
		wantBin   string
		wantID    string
		wantError bool
	}{
		{name: "default is AWSCURRENT", in: sm.GetSecretValueInput{}, wantBin: "v3", wantID: v3},
		{name: "AWSPREVIOUS", in: sm.GetSecretValueInput{VersionStage: aws.String("AWSPREVIOUS")}, wantStr: "v2", wantID: v2},
		{name: "old version by id", in: sm.GetSecretValueInput{VersionId: aws.String(v1)}, wantStr: "v1", wantID: v1},
		{name: "id and matching stage", in: sm.GetSecretValueInput{VersionId: aws.String(v2), VersionStage: aws.String("AWSPREVIOUS")}, wantStr: "v2", wantID: v2},
		{name: "id and other stage", in: sm.GetSecretValueInput{VersionId: aws.String(v2), VersionStage: aws.String("AWSCURRENT")}, wantError: true},
		{name: "unknown id", in: sm.GetSecretValueInput{VersionId: aws.String(tokenB)}, wantError: true},
		{name: "unknown stage", in: sm.GetSecretValueInput{VersionStage: aws.String("AWSPENDING")}, wantError: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.SecretId = aws.String("s")
			got, err := c.GetSecretValue(ctx, &in)
			if tt.wantError {
				mustAs[*types.ResourceNotFoundException](t, err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(got.SecretString) != tt.wantStr || string(got.SecretBinary) != tt.wantBin || *got.VersionId != tt.wantID {
				t.Errorf("got %q/%q %s, want %q/%q %s", aws.ToString(got.SecretString), got.SecretBinary, *got.VersionId, tt.wantStr, tt.wantBin, tt.wantID)
			}
		})
	}

	// Explicit VersionStages: a pending version does not become current.
	p4, err := c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("s"), SecretString: aws.String("v4"), VersionStages: []string{"AWSPENDING"}})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("s")})
	if err != nil || *cur.VersionId != v3 {
		t.Fatalf("AWSCURRENT after a pending put = %+v, %v", cur, err)
	}
	pend, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("s"), VersionStage: aws.String("AWSPENDING")})
	if err != nil || *pend.VersionId != *p4.VersionId || *pend.SecretString != "v4" {
		t.Fatalf("AWSPENDING = %+v, %v", pend, err)
	}
	if n := len(srv.Secrets()[0].Versions); n != 4 {
		t.Errorf("stored versions = %d, want 4", n)
	}
}

func TestUpdateSecret(t *testing.T) {
	ctx := context.Background()
	c, srv, _ := newServer(t)
	cr, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("u"), SecretString: aws.String("one"), Description: aws.String("d1")})
	if err != nil {
		t.Fatal(err)
	}

	// Metadata only: no new version.
	up, err := c.UpdateSecret(ctx, &sm.UpdateSecretInput{SecretId: aws.String("u"), Description: aws.String("d2"), KmsKeyId: aws.String("arn:aws:kms:us-east-1:000000000000:key/k")})
	if err != nil {
		t.Fatal(err)
	}
	if up.VersionId != nil || aws.ToString(up.ARN) != *cr.ARN {
		t.Errorf("UpdateSecret(metadata) = %+v", up)
	}
	// New value: a new AWSCURRENT version.
	up, err = c.UpdateSecret(ctx, &sm.UpdateSecretInput{SecretId: aws.String("u"), SecretString: aws.String("two"), ClientRequestToken: aws.String(tokenA)})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(up.VersionId) != tokenA {
		t.Errorf("UpdateSecret VersionId = %v, want the ClientRequestToken", aws.ToString(up.VersionId))
	}
	got, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("u")})
	if err != nil || *got.SecretString != "two" {
		t.Fatalf("GetSecretValue after UpdateSecret = %+v, %v", got, err)
	}
	snap := srv.Secrets()[0]
	if snap.Description != "d2" || snap.KmsKeyID != "arn:aws:kms:us-east-1:000000000000:key/k" || len(snap.Versions) != 2 {
		t.Errorf("Secrets() = %+v", snap)
	}
	// Retried with the same token and value: nothing new.
	if _, err := c.UpdateSecret(ctx, &sm.UpdateSecretInput{SecretId: aws.String("u"), SecretString: aws.String("two"), ClientRequestToken: aws.String(tokenA)}); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Secrets()[0].Versions); n != 2 {
		t.Errorf("versions after a retried UpdateSecret = %d, want 2", n)
	}
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newServer(t)
	for _, name := range []string{"exists", "doomed"} {
		if _, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("v")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("doomed"), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	many := make([]types.Tag, 51)
	for i := range many {
		many[i] = types.Tag{Key: aws.String(fmt.Sprintf("k%d", i)), Value: aws.String("v")}
	}

	notFound := as[*types.ResourceNotFoundException]
	exists := as[*types.ResourceExistsException]
	param := as[*types.InvalidParameterException]
	request := as[*types.InvalidRequestException]
	nextToken := as[*types.InvalidNextTokenException]

	tests := []struct {
		name    string
		call    func() error
		is      func(error) bool
		message string
	}{
		{"get unknown", func() error {
			_, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("nope")})
			return err
		}, notFound, "Secrets Manager can't find the specified secret."},
		{"get by ARN of another account", func() error {
			_, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("arn:aws:secretsmanager:us-east-1:111111111111:secret:exists")})
			return err
		}, notFound, ""},
		{"describe unknown", func() error {
			_, err := c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("nope")})
			return err
		}, notFound, ""},
		{"put unknown", func() error {
			_, err := c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("nope"), SecretString: aws.String("v")})
			return err
		}, notFound, ""},
		{"delete unknown", func() error {
			_, err := c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("nope")})
			return err
		}, notFound, ""},
		{"create existing", func() error {
			_, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("exists"), SecretString: aws.String("v")})
			return err
		}, exists, "The operation failed because the secret exists already exists."},
		{"create scheduled for deletion", func() error {
			_, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("doomed"), SecretString: aws.String("v")})
			return err
		}, request, ""},
		{"get scheduled for deletion", func() error {
			_, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("doomed")})
			return err
		}, request, "You can't perform this operation on the secret because it was marked for deletion."},
		{"put scheduled for deletion", func() error {
			_, err := c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("doomed"), SecretString: aws.String("v")})
			return err
		}, request, ""},
		{"tag scheduled for deletion", func() error {
			_, err := c.TagResource(ctx, &sm.TagResourceInput{SecretId: aws.String("doomed"), Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
			return err
		}, request, ""},
		{"delete twice with a window", func() error {
			_, err := c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("doomed")})
			return err
		}, request, ""},
		{"invalid name", func() error {
			_, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("bad name!"), SecretString: aws.String("v")})
			return err
		}, param, ""},
		{"name too long", func() error {
			_, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String(strings.Repeat("n", 513)), SecretString: aws.String("v")})
			return err
		}, param, ""},
		{"string and binary", func() error {
			_, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("both"), SecretString: aws.String("v"), SecretBinary: []byte("v")})
			return err
		}, param, ""},
		{"secret string too large", func() error {
			_, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("big"), SecretString: aws.String(strings.Repeat("x", 65537))})
			return err
		}, param, ""},
		{"request body too large", func() error {
			_, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("huge"), SecretString: aws.String(strings.Repeat("x", 600<<10))})
			return err
		}, param, ""},
		{"short ClientRequestToken", func() error {
			_, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("tok"), SecretString: aws.String("v"), ClientRequestToken: aws.String("short")})
			return err
		}, param, ""},
		{"put without a value", func() error {
			_, err := c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("exists")})
			return err
		}, param, ""},
		{"force and window together", func() error {
			_, err := c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("exists"), ForceDeleteWithoutRecovery: aws.Bool(true), RecoveryWindowInDays: aws.Int64(7)})
			return err
		}, param, ""},
		{"window too short", func() error {
			_, err := c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("exists"), RecoveryWindowInDays: aws.Int64(6)})
			return err
		}, param, ""},
		{"window too long", func() error {
			_, err := c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("exists"), RecoveryWindowInDays: aws.Int64(31)})
			return err
		}, param, ""},
		{"too many tags", func() error {
			_, err := c.TagResource(ctx, &sm.TagResourceInput{SecretId: aws.String("exists"), Tags: many})
			return err
		}, param, ""},
		{"reserved tag key", func() error {
			_, err := c.TagResource(ctx, &sm.TagResourceInput{SecretId: aws.String("exists"), Tags: []types.Tag{{Key: aws.String("aws:x"), Value: aws.String("v")}}})
			return err
		}, param, ""},
		{"bad filter key", func() error {
			_, err := c.ListSecrets(ctx, &sm.ListSecretsInput{Filters: []types.Filter{{Key: "colour", Values: []string{"x"}}}})
			return err
		}, param, ""},
		{"MaxResults too large", func() error {
			_, err := c.ListSecrets(ctx, &sm.ListSecretsInput{MaxResults: aws.Int32(101)})
			return err
		}, param, ""},
		{"bad NextToken", func() error {
			_, err := c.ListSecrets(ctx, &sm.ListSecretsInput{NextToken: aws.String("not-a-token")})
			return err
		}, nextToken, ""},
		{"replication is refused", func() error {
			_, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("rep"), SecretString: aws.String("v"), AddReplicaRegions: []types.ReplicaRegionType{{Region: aws.String("eu-west-1")}}})
			return err
		}, request, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !tt.is(err) {
				t.Fatalf("error = %v (%T)", err, err)
			}
			if tt.message != "" {
				var ae smithy.APIError
				errors.As(err, &ae)
				if ae.ErrorMessage() != tt.message {
					t.Errorf("message = %q, want %q", ae.ErrorMessage(), tt.message)
				}
			}
		})
	}
}

func TestVersionQuota(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	srv := local.New(local.Options{Now: clk.Now})
	// LimitExceededException is on the SDK's list of throttling codes, so the
	// standard retryer would try twice more before giving up.
	c := start(t, srv, func(o *sm.Options) { o.RetryMaxAttempts = 1 })
	if _, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("q"), SecretString: aws.String("v0")}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 100; i++ {
		if _, err := c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("q"), SecretString: aws.String(fmt.Sprint("v", i))}); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	// 100 versions, all younger than 24 hours: the service keeps them all.
	_, err := c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("q"), SecretString: aws.String("v100")})
	mustAs[*types.LimitExceededException](t, err)

	clk.Advance(25 * time.Hour)
	if _, err := c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("q"), SecretString: aws.String("v100")}); err != nil {
		t.Fatalf("put after a day: %v", err)
	}
	vs := srv.Secrets()[0].Versions
	if len(vs) != 100 || vs[0].SecretString != "v1" || vs[99].SecretString != "v100" {
		t.Errorf("kept %d versions, %q..%q; want 100, v1..v100", len(vs), vs[0].SecretString, vs[len(vs)-1].SecretString)
	}
}

func TestProtocolErrors(t *testing.T) {
	ctx := context.Background()
	srv := local.New(local.Options{})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)

	// An operation the endpoint does not emulate: not modelled as an
	// exception, so the SDK returns a generic API error carrying the code.
	c := newClient(hs.URL, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"})
	_, err := c.ReplicateSecretToRegions(ctx, &sm.ReplicateSecretToRegionsInput{
		SecretId:          aws.String("x"),
		AddReplicaRegions: []types.ReplicaRegionType{{Region: aws.String("eu-west-1")}},
	})
	if code := apiCode(err); code != "UnknownOperationException" {
		t.Errorf("unemulated operation: error = %v, code %q", err, code)
	}

	// Anonymous credentials: the SDK sends no Authorization header.
	anon := sm.NewFromConfig(aws.Config{Region: "us-east-1", Credentials: aws.AnonymousCredentials{}, BaseEndpoint: aws.String(hs.URL)})
	_, err = anon.ListSecrets(ctx, &sm.ListSecretsInput{})
	if code := apiCode(err); code != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned request: error = %v, code %q", err, code)
	}
}

func TestMaximalSecretStringFitsTheBodyBound(t *testing.T) {
	ctx := context.Background()
	c, srv, _ := newServer(t)
	// Every byte of this value is escaped in JSON, doubling its size on the wire.
	val := strings.Repeat(`"`, local.MaxSecretBytes)
	if _, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("max"), SecretString: aws.String(val)}); err != nil {
		t.Fatalf("CreateSecret(65536 quotes): %v", err)
	}
	if got := srv.Secrets()[0].Versions[0].SecretString; got != val {
		t.Errorf("stored %d bytes, want %d", len(got), len(val))
	}
}

func TestClientRequestTokenIdempotency(t *testing.T) {
	ctx := context.Background()
	c, srv, _ := newServer(t)

	in := &sm.CreateSecretInput{Name: aws.String("idem"), SecretString: aws.String("v1"), ClientRequestToken: aws.String(tokenA)}
	first, err := c.CreateSecret(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if *first.VersionId != tokenA {
		t.Errorf("VersionId = %q, want the ClientRequestToken", *first.VersionId)
	}
	retry, err := c.CreateSecret(ctx, in)
	if err != nil {
		t.Fatalf("retried CreateSecret: %v", err)
	}
	if *retry.ARN != *first.ARN || *retry.VersionId != *first.VersionId || *retry.Name != *first.Name {
		t.Errorf("retry = %+v, want %+v", retry, first)
	}
	if snap := srv.Secrets(); len(snap) != 1 || len(snap[0].Versions) != 1 {
		t.Fatalf("after a retried create: %+v", snap)
	}

	// Same token, other value: refused.
	_, err = c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("idem"), SecretString: aws.String("other"), ClientRequestToken: aws.String(tokenA)})
	mustAs[*types.ResourceExistsException](t, err)
	// Other token (the SDK generates one), same value: the name is taken.
	_, err = c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("idem"), SecretString: aws.String("v1")})
	mustAs[*types.ResourceExistsException](t, err)

	put := &sm.PutSecretValueInput{SecretId: aws.String("idem"), SecretString: aws.String("v2"), ClientRequestToken: aws.String(tokenB)}
	p1, err := c.PutSecretValue(ctx, put)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := c.PutSecretValue(ctx, put)
	if err != nil {
		t.Fatalf("retried PutSecretValue: %v", err)
	}
	if *p1.VersionId != tokenB || *p2.VersionId != tokenB || !slices.Equal(p2.VersionStages, []string{"AWSCURRENT"}) {
		t.Errorf("put = %+v, retry = %+v", p1, p2)
	}
	if snap := srv.Secrets(); len(snap[0].Versions) != 2 {
		t.Fatalf("after a retried put: %d versions, want 2", len(snap[0].Versions))
	}
	_, err = c.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("idem"), SecretString: aws.String("v3"), ClientRequestToken: aws.String(tokenB)})
	mustAs[*types.ResourceExistsException](t, err)
	// The version kept its AWSPREVIOUS/AWSCURRENT labels through all that.
	got, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("idem"), VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil || *got.SecretString != "v1" {
		t.Fatalf("AWSPREVIOUS = %+v, %v", got, err)
	}
}

func TestConcurrentCreateOneWins(t *testing.T) {
	ctx := context.Background()
	c, srv, _ := newServer(t)
	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("race"), SecretString: aws.String(fmt.Sprint("value-", i))})
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case as[*types.ResourceExistsException](err):
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d creates succeeded, want exactly 1", wins)
	}
	if snap := srv.Secrets(); len(snap) != 1 || len(snap[0].Versions) != 1 {
		t.Errorf("Secrets() = %+v", snap)
	}
}

func TestDeleteForce(t *testing.T) {
	ctx := context.Background()
	c, srv, clk := newServer(t)
	cr, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("gone"), SecretString: aws.String("v")})
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: cr.ARN, ForceDeleteWithoutRecovery: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	if *out.ARN != *cr.ARN || *out.Name != "gone" || !out.DeletionDate.Equal(clk.Now()) {
		t.Errorf("DeleteSecret = %+v", out)
	}
	if snap := srv.Secrets(); len(snap) != 0 {
		t.Fatalf("still stored: %+v", snap)
	}
	_, err = c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("gone")})
	mustAs[*types.ResourceNotFoundException](t, err)
	_, err = c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: cr.ARN})
	mustAs[*types.ResourceNotFoundException](t, err)
	// As on AWS, forcing the delete of something already gone succeeds.
	if _, err := c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("gone"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Errorf("repeated forced delete: %v", err)
	}
	// The name is free again, with a new ARN.
	again, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("gone"), SecretString: aws.String("v")})
	if err != nil {
		t.Fatal(err)
	}
	if *again.ARN == *cr.ARN {
		t.Errorf("recreated secret reuses ARN %s", *again.ARN)
	}
	// The old ARN does not reach the new secret.
	_, err = c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: cr.ARN})
	mustAs[*types.ResourceNotFoundException](t, err)
}

func TestDeleteWithRecoveryWindowAndRestore(t *testing.T) {
	ctx := context.Background()
	c, srv, clk := newServer(t)
	if _, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("keep"), SecretString: aws.String("k")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("soft"), SecretString: aws.String("s")}); err != nil {
		t.Fatal(err)
	}
	out, err := c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("soft"), RecoveryWindowInDays: aws.Int64(7)})
	if err != nil {
		t.Fatal(err)
	}
	if want := clk.Now().Add(7 * 24 * time.Hour); !out.DeletionDate.Equal(want) {
		t.Errorf("DeletionDate = %v, want %v", out.DeletionDate, want)
	}
	_, err = c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("soft")})
	e := mustAs[*types.InvalidRequestException](t, err)
	if e.ErrorMessage() != "You can't perform this operation on the secret because it was marked for deletion." {
		t.Errorf("message = %q", e.ErrorMessage())
	}
	d, err := c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("soft")})
	if err != nil || d.DeletedDate == nil || !d.DeletedDate.Equal(clk.Now()) {
		t.Fatalf("DescribeSecret = %+v, %v", d, err)
	}
	names := func(include bool) []string {
		t.Helper()
		l, err := c.ListSecrets(ctx, &sm.ListSecretsInput{IncludePlannedDeletion: aws.Bool(include)})
		if err != nil {
			t.Fatal(err)
		}
		var ns []string
		for _, e := range l.SecretList {
			ns = append(ns, *e.Name)
		}
		return ns
	}
	if got := names(false); !slices.Equal(got, []string{"keep"}) {
		t.Errorf("ListSecrets = %v, want [keep]", got)
	}
	if got := names(true); !slices.Equal(got, []string{"keep", "soft"}) {
		t.Errorf("ListSecrets(IncludePlannedDeletion) = %v, want [keep soft]", got)
	}
	if snap := srv.Secrets(); len(snap) != 2 || !snap[1].Deleted || snap[1].Versions[0].SecretString != "s" {
		t.Errorf("Secrets() = %+v", snap)
	}

	if _, err := c.RestoreSecret(ctx, &sm.RestoreSecretInput{SecretId: aws.String("soft")}); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("soft")})
	if err != nil || *got.SecretString != "s" {
		t.Fatalf("after RestoreSecret: %+v, %v", got, err)
	}

	// Once the window has passed, the secret is gone for good.
	if _, err := c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("soft"), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(7*24*time.Hour + time.Second)
	_, err = c.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("soft")})
	mustAs[*types.ResourceNotFoundException](t, err)
	_, err = c.RestoreSecret(ctx, &sm.RestoreSecretInput{SecretId: aws.String("soft")})
	mustAs[*types.ResourceNotFoundException](t, err)
	if snap := srv.Secrets(); len(snap) != 1 || snap[0].Name != "keep" {
		t.Errorf("Secrets() after the window = %+v", snap)
	}
}

func TestListSecretsFiltersAndPagination(t *testing.T) {
	ctx := context.Background()
	c, _, clk := newServer(t)
	type fixture struct {
		name, env, desc string
	}
	fixtures := []fixture{
		{"app/a", "prod", "Alpha service"},
		{"app/b", "dev", ""},
		{"app/c", "prod", ""},
		{"other/d", "prod", "delta"},
		{"app/e", "", ""},
		{"app/f", "staging", ""},
		{"app/g", "prod", ""},
	}
	for _, f := range fixtures {
		in := &sm.CreateSecretInput{Name: aws.String(f.name), SecretString: aws.String("v")}
		if f.env != "" {
			in.Tags = []types.Tag{{Key: aws.String("env"), Value: aws.String(f.env)}}
		}
		if f.desc != "" {
			in.Description = aws.String(f.desc)
		}
		if _, err := c.CreateSecret(ctx, in); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
	}

	list := func(in sm.ListSecretsInput, pageSize int32) ([]string, int) {
		t.Helper()
		in.MaxResults = aws.Int32(pageSize)
		p := sm.NewListSecretsPaginator(c, &in)
		var got []string
		pages := 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, e := range out.SecretList {
				got = append(got, *e.Name)
			}
		}
		return got, pages
	}
	f := func(key types.FilterNameStringType, values ...string) types.Filter {
		return types.Filter{Key: key, Values: values}
	}

	tests := []struct {
		name  string
		in    sm.ListSecretsInput
		want  []string
		pages int // with a page size of 2
	}{
		{name: "all, by creation date", want: []string{"app/a", "app/b", "app/c", "other/d", "app/e", "app/f", "app/g"}, pages: 4},
		{name: "name prefix", in: sm.ListSecretsInput{Filters: []types.Filter{f("name", "app/")}}, want: []string{"app/a", "app/b", "app/c", "app/e", "app/f", "app/g"}, pages: 3},
		{name: "name prefix is case-sensitive", in: sm.ListSecretsInput{Filters: []types.Filter{f("name", "APP/")}}, want: nil, pages: 1},
		{name: "name is a prefix, not a substring", in: sm.ListSecretsInput{Filters: []types.Filter{f("name", "d")}}, want: nil, pages: 1},
		{name: "two name values are or-ed", in: sm.ListSecretsInput{Filters: []types.Filter{f("name", "app/a", "other/")}}, want: []string{"app/a", "other/d"}, pages: 1},
		{name: "tag-key", in: sm.ListSecretsInput{Filters: []types.Filter{f("tag-key", "env")}}, want: []string{"app/a", "app/b", "app/c", "other/d", "app/f", "app/g"}, pages: 3},
		{name: "tag-value", in: sm.ListSecretsInput{Filters: []types.Filter{f("tag-value", "prod")}}, want: []string{"app/a", "app/c", "other/d", "app/g"}, pages: 2},
		{name: "filters are and-ed", in: sm.ListSecretsInput{Filters: []types.Filter{f("name", "app/"), f("tag-value", "prod")}}, want: []string{"app/a", "app/c", "app/g"}, pages: 2},
		{name: "negation", in: sm.ListSecretsInput{Filters: []types.Filter{f("name", "app/"), f("tag-value", "!prod")}}, want: []string{"app/b", "app/e", "app/f"}, pages: 2},
		{name: "description is case-insensitive", in: sm.ListSecretsInput{Filters: []types.Filter{f("description", "alpha")}}, want: []string{"app/a"}, pages: 1},
		{name: "all", in: sm.ListSecretsInput{Filters: []types.Filter{f("all", "DELTA")}}, want: []string{"other/d"}, pages: 1},
		{name: "by name, descending", in: sm.ListSecretsInput{SortBy: types.SortByTypeName, SortOrder: types.SortOrderTypeDesc}, want: []string{"other/d", "app/g", "app/f", "app/e", "app/c", "app/b", "app/a"}, pages: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pages := list(tt.in, 2)
			if !slices.Equal(got, tt.want) || pages != tt.pages {
				t.Errorf("got %v in %d pages, want %v in %d", got, pages, tt.want, tt.pages)
			}
			// One big page gives the same answer.
			if all, _ := list(tt.in, 100); !slices.Equal(all, tt.want) {
				t.Errorf("one page: got %v, want %v", all, tt.want)
			}
		})
	}

	// A token only fits the sort it came from.
	out, err := c.ListSecrets(ctx, &sm.ListSecretsInput{MaxResults: aws.Int32(1)})
	if err != nil || out.NextToken == nil {
		t.Fatalf("ListSecrets = %+v, %v", out, err)
	}
	_, err = c.ListSecrets(ctx, &sm.ListSecretsInput{NextToken: out.NextToken, SortBy: types.SortByTypeName})
	mustAs[*types.InvalidNextTokenException](t, err)

	// Entries carry the metadata, never values.
	out, err = c.ListSecrets(ctx, &sm.ListSecretsInput{Filters: []types.Filter{f("name", "app/a")}})
	if err != nil || len(out.SecretList) != 1 {
		t.Fatalf("ListSecrets = %+v, %v", out, err)
	}
	e := out.SecretList[0]
	if aws.ToString(e.Description) != "Alpha service" || len(e.Tags) != 1 || len(e.SecretVersionsToStages) != 1 ||
		e.CreatedDate == nil || !arnRE.MatchString(aws.ToString(e.ARN)) {
		t.Errorf("entry = %+v", e)
	}
}

func TestTagUntag(t *testing.T) {
	ctx := context.Background()
	c, srv, _ := newServer(t)
	if _, err := c.CreateSecret(ctx, &sm.CreateSecretInput{
		Name: aws.String("t"), SecretString: aws.String("v"),
		Tags: []types.Tag{{Key: aws.String("a"), Value: aws.String("1")}},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.TagResource(ctx, &sm.TagResourceInput{SecretId: aws.String("t"), Tags: []types.Tag{
		{Key: aws.String("a"), Value: aws.String("2")},
		{Key: aws.String("b"), Value: aws.String("3")},
		{Key: aws.String("c"), Value: aws.String("")},
	}}); err != nil {
		t.Fatal(err)
	}
	if got, want := srv.Secrets()[0].Tags, map[string]string{"a": "2", "b": "3", "c": ""}; !reflect.DeepEqual(got, want) {
		t.Errorf("tags after TagResource = %v, want %v", got, want)
	}
	if _, err := c.UntagResource(ctx, &sm.UntagResourceInput{SecretId: aws.String("t"), TagKeys: []string{"a", "c", "missing"}}); err != nil {
		t.Fatal(err)
	}
	d, err := c.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("t")})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Tags) != 1 || *d.Tags[0].Key != "b" || *d.Tags[0].Value != "3" {
		t.Errorf("tags after UntagResource = %+v", d.Tags)
	}
	_, err = c.UntagResource(ctx, &sm.UntagResourceInput{SecretId: aws.String("nope"), TagKeys: []string{"a"}})
	mustAs[*types.ResourceNotFoundException](t, err)
}

func TestPersistenceRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "state")
	file := filepath.Join(dir, "secrets.json")
	clk := newClock()
	opts := local.Options{Region: "eu-west-3", AccountID: "123456789012", Now: clk.Now, DataFile: file}

	srv1, err := local.Open(opts)
	if err != nil {
		t.Fatalf("Open on a missing file: %v", err)
	}
	hs1 := httptest.NewServer(srv1)
	c1 := newClient(hs1.URL, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"})
	cr, err := c1.CreateSecret(ctx, &sm.CreateSecretInput{
		Name: aws.String("kept"), SecretString: aws.String("v1"), KmsKeyId: aws.String("alias/k"),
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("dev")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(*cr.ARN, "arn:aws:secretsmanager:eu-west-3:123456789012:secret:kept-") {
		t.Errorf("ARN = %s", *cr.ARN)
	}
	clk.Advance(time.Minute)
	if _, err := c1.PutSecretValue(ctx, &sm.PutSecretValueInput{SecretId: aws.String("kept"), SecretString: aws.String("v2")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("bin"), SecretBinary: []byte{0, 1, 2}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("bin"), RecoveryWindowInDays: aws.Int64(10)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("dropped"), SecretString: aws.String("x")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c1.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("dropped"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	before := srv1.Secrets()
	hs1.Close()

	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("data file mode = %v, want 0600", fi.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("data directory holds %d entries, want only the data file (no temporary files)", len(entries))
	}

	srv2 := local.New(opts)
	if after := srv2.Secrets(); !reflect.DeepEqual(after, before) {
		t.Fatalf("after reload:\n%+v\nwant\n%+v", after, before)
	}
	c2 := start(t, srv2)
	got, err := c2.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: cr.ARN})
	if err != nil || *got.SecretString != "v2" {
		t.Fatalf("GetSecretValue after reload = %+v, %v", got, err)
	}
	prev, err := c2.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("kept"), VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil || *prev.SecretString != "v1" {
		t.Fatalf("AWSPREVIOUS after reload = %+v, %v", prev, err)
	}
	_, err = c2.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("bin")})
	mustAs[*types.InvalidRequestException](t, err)
	_, err = c2.DescribeSecret(ctx, &sm.DescribeSecretInput{SecretId: aws.String("dropped")})
	mustAs[*types.ResourceNotFoundException](t, err)
	if _, err := c2.RestoreSecret(ctx, &sm.RestoreSecretInput{SecretId: aws.String("bin")}); err != nil {
		t.Fatal(err)
	}
	bin, err := c2.GetSecretValue(ctx, &sm.GetSecretValueInput{SecretId: aws.String("bin")})
	if err != nil || !bytes.Equal(bin.SecretBinary, []byte{0, 1, 2}) {
		t.Fatalf("binary after reload = %+v, %v", bin, err)
	}
}

func TestUnreadableDataFile(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "secrets.json")
	corrupt := []byte("{not json")
	if err := os.WriteFile(file, corrupt, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := local.Open(local.Options{DataFile: file}); err == nil {
		t.Fatal("Open accepted a corrupt data file")
	}
	c := start(t, local.New(local.Options{DataFile: file}), func(o *sm.Options) { o.RetryMaxAttempts = 1 })
	_, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("x"), SecretString: aws.String("v")})
	mustAs[*types.InternalServiceError](t, err)
	if got, _ := os.ReadFile(file); !bytes.Equal(got, corrupt) {
		t.Errorf("the corrupt data file was overwritten: %q", got)
	}
}
