package sources_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	localsm "github.com/atrium-cdn/atrium/infra/local/secretsmanager"
	"github.com/atrium-cdn/atrium/shared/sources"
)

const (
	readerRole = "arn:aws:iam::123456789012:role/atrium-test-CredentialsRole-AbC"
	writerRole = "arn:aws:iam::123456789012:role/atrium-test-SourcesRole-XyZ"
	otherRole  = "arn:aws:iam::123456789012:role/atrium-test-DeletionRole-QrS"
	rootUser   = "arn:aws:iam::123456789012:root"
	testKey    = "arn:aws:kms:us-east-1:123456789012:key/atrium-test"
	secretKey  = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" // AWS's documentation example, not a credential
)

var testPolicy = sources.SecretPolicy{ReaderRoleARN: readerRole, WriterRoleARN: writerRole}

// recordingSM is the vault's Secrets Manager client: it notes each call and
// its PutResourcePolicy input, and fails PutResourcePolicy (ending the
// caller's context, cancel, as it does) and DeleteSecret on demand.
type recordingSM struct {
	sources.SecretsManager
	failPolicy, failDelete error
	cancel                 context.CancelFunc

	mu     sync.Mutex
	calls  []string
	policy *secretsmanager.PutResourcePolicyInput
}

func (r *recordingSM) note(call string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, call)
}

func (r *recordingSM) CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	r.note("CreateSecret")
	return r.SecretsManager.CreateSecret(ctx, in, opts...)
}

func (r *recordingSM) PutResourcePolicy(ctx context.Context, in *secretsmanager.PutResourcePolicyInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutResourcePolicyOutput, error) {
	r.note("PutResourcePolicy")
	r.mu.Lock()
	r.policy = in
	r.mu.Unlock()
	if r.failPolicy != nil {
		if r.cancel != nil {
			r.cancel()
		}
		return nil, r.failPolicy
	}
	return r.SecretsManager.PutResourcePolicy(ctx, in, opts...)
}

func (r *recordingSM) DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
	r.note("DeleteSecret")
	if r.failDelete != nil {
		return nil, r.failDelete
	}
	return r.SecretsManager.DeleteSecret(ctx, in, opts...)
}

// newLocalSM serves a local Secrets Manager and returns the real SDK client
// pointed at it, wrapped for recording.
func newLocalSM(t *testing.T) (*secretsmanager.Client, *recordingSM, *localsm.Server) {
	t.Helper()
	srv := localsm.New(localsm.Options{AccountID: "123456789012"})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	client := secretsmanager.New(secretsmanager.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(hs.URL),
		Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
	})
	return client, &recordingSM{SecretsManager: client}, srv
}

func newPolicyVault(t *testing.T, sm sources.SecretsManager) *sources.Vault {
	t.Helper()
	v, err := sources.NewVault(sm, "atrium-test/sources/", testKey)
	if err != nil {
		t.Fatal(err)
	}
	if v, err = v.WithPolicy(testPolicy); err != nil {
		t.Fatal(err)
	}
	return v
}

// policyDoc is a resource policy as IAM reads it: Principal, Action and
// Resource may each be a string or a list.
type policyDoc struct {
	Version   string
	Statement []struct {
		Effect    string
		Principal any
		Action    any
		Resource  any
		Condition map[string]map[string]any
	}
}

func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			s, _ := e.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// denied evaluates the policy's Deny statements for one request, as IAM
// would: whether a call of action on the secret by principal is refused
// whatever the caller's own policies allow. It understands only what a
// source secret's policy may use, and fails the test on anything else.
func denied(t *testing.T, doc policyDoc, action, principal string) bool {
	t.Helper()
	refused := false
	for _, st := range doc.Statement {
		if st.Effect != "Deny" {
			t.Fatalf("statement with Effect %q: a source secret's policy only denies", st.Effect)
		}
		if p, ok := st.Principal.(string); !ok || p != "*" {
			t.Fatalf("Principal %v: want \"*\", every principal of every account", st.Principal)
		}
		if r := strs(st.Resource); !slices.Equal(r, []string{"*"}) {
			t.Fatalf("Resource %v: want \"*\", the secret itself", st.Resource)
		}
		if !slices.Contains(strs(st.Action), action) {
			continue
		}
		applies := true
		for op, keys := range st.Condition {
			for key, v := range keys {
				if op != "ArnNotEquals" || key != "aws:PrincipalArn" {
					t.Fatalf("condition %s %s: not one a source secret's policy uses", op, key)
				}
				if slices.Contains(strs(v), principal) {
					applies = false
				}
			}
		}
		refused = refused || applies
	}
	return refused
}

// TestCreatePutsResourcePolicy: the secret Create makes carries, read back
// with GetResourcePolicy, a policy that refuses its value to everyone but
// the reader role, and any change to it to everyone but the writer role,
// while letting anyone IAM allows delete it (the deletion job and
// housekeeping do).
func TestCreatePutsResourcePolicy(t *testing.T) {
	ctx := t.Context()
	client, rec, _ := newLocalSM(t)
	vault := newPolicyVault(t, rec)
	arn, err := vault.Create(ctx, "acct_1", "src_1", sources.Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: secretKey})
	if err != nil {
		t.Fatal(err)
	}
	// A retried Create (same source) finds the secret and puts the policy again.
	again, err := vault.Create(ctx, "acct_1", "src_1", sources.Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: secretKey})
	if err != nil || again != arn {
		t.Fatalf("retried Create = %q, %v; want %q", again, err, arn)
	}
	if want := []string{"CreateSecret", "PutResourcePolicy", "CreateSecret", "PutResourcePolicy"}; !slices.Equal(rec.calls, want) {
		t.Errorf("calls = %v, want %v", rec.calls, want)
	}
	if in := rec.policy; in == nil || !aws.ToBool(in.BlockPublicPolicy) || aws.ToString(in.SecretId) != arn {
		t.Errorf("PutResourcePolicy SecretId %q, BlockPublicPolicy %v; want %q, true", aws.ToString(in.SecretId), aws.ToBool(in.BlockPublicPolicy), arn)
	}

	out, err := client.GetResourcePolicy(ctx, &secretsmanager.GetResourcePolicyInput{SecretId: aws.String(arn)})
	if err != nil {
		t.Fatal(err)
	}
	var doc policyDoc
	if err := json.Unmarshal([]byte(aws.ToString(out.ResourcePolicy)), &doc); err != nil {
		t.Fatalf("the secret's policy is not JSON: %v: %q", err, aws.ToString(out.ResourcePolicy))
	}
	if doc.Version != "2012-10-17" || len(doc.Statement) == 0 {
		t.Fatalf("policy = %+v", doc)
	}
	const sm = "secretsmanager:"
	tests := []struct {
		action, principal string
		denied            bool
	}{
		{sm + "GetSecretValue", readerRole, false},
		{sm + "GetSecretValue", writerRole, true},
		{sm + "GetSecretValue", otherRole, true},
		{sm + "GetSecretValue", rootUser, true},
		{sm + "PutSecretValue", writerRole, false}, // PUT /v1/sources/{id}/credentials
		{sm + "PutSecretValue", readerRole, true},
		{sm + "PutSecretValue", rootUser, true},
		{sm + "UpdateSecret", writerRole, false},
		{sm + "UpdateSecret", otherRole, true}, // it could move the secret to another key
		{sm + "PutResourcePolicy", writerRole, false},
		{sm + "PutResourcePolicy", readerRole, true},
		{sm + "PutResourcePolicy", rootUser, true},
		{sm + "DeleteResourcePolicy", writerRole, false},
		{sm + "DeleteResourcePolicy", otherRole, true},
		{sm + "DeleteSecret", otherRole, false}, // the deletion job and housekeeping
		{sm + "DeleteSecret", writerRole, false},
		{sm + "DescribeSecret", otherRole, false},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.action, sm)+" by "+tt.principal[strings.LastIndex(tt.principal, ":")+1:], func(t *testing.T) {
			if got := denied(t, doc, tt.action, tt.principal); got != tt.denied {
				t.Errorf("denied = %v, want %v", got, tt.denied)
			}
		})
	}
}

// TestCreateWhenThePolicyFails: a secret whose policy could not be put is
// deleted before Create returns; if that fails too, both errors say so (the
// caller's intent has housekeeping delete it). No error holds the secret key.
func TestCreateWhenThePolicyFails(t *testing.T) {
	errPolicy := errors.New("injected: PutResourcePolicy failed")
	errDelete := errors.New("injected: DeleteSecret failed")
	tests := []struct {
		name       string
		failDelete error
		wantErrs   []error
		secretLeft bool
	}{
		{name: "secret taken back", wantErrs: []error{errPolicy}},
		{name: "taking it back fails too", failDelete: errDelete, wantErrs: []error{errPolicy, errDelete}, secretLeft: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, rec, srv := newLocalSM(t)
			// The request's context ends as the policy fails (a client gone,
			// a timeout): the secret is taken back all the same.
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			rec.failPolicy, rec.failDelete, rec.cancel = errPolicy, tt.failDelete, cancel
			vault := newPolicyVault(t, rec)
			arn, err := vault.Create(ctx, "acct_1", "src_2", sources.Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: secretKey})
			if err == nil || arn != "" {
				t.Fatalf("Create = %q, %v; want an error", arn, err)
			}
			for _, want := range tt.wantErrs {
				if !errors.Is(err, want) {
					t.Errorf("error %v does not wrap %v", err, want)
				}
			}
			if strings.Contains(err.Error(), secretKey) {
				t.Errorf("error shows the secret key: %v", err)
			}
			if want := []string{"CreateSecret", "PutResourcePolicy", "DeleteSecret"}; !slices.Equal(rec.calls, want) {
				t.Errorf("calls = %v, want %v", rec.calls, want)
			}
			if left := len(srv.Secrets()); (left > 0) != tt.secretLeft {
				t.Errorf("%d secrets left, want any: %v", left, tt.secretLeft)
			}
		})
	}
}

// TestVaultWithoutPolicy: a vault that only reads or deletes has no policy to
// put, and its Create puts none.
func TestVaultWithoutPolicy(t *testing.T) {
	_, rec, srv := newLocalSM(t)
	vault, err := sources.NewVault(rec, "atrium-test/sources/", testKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vault.Create(t.Context(), "acct_1", "src_3", sources.Credentials{AccessKeyID: "AKIAEXAMPLE", SecretAccessKey: secretKey}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"CreateSecret"}; !slices.Equal(rec.calls, want) {
		t.Errorf("calls = %v, want %v", rec.calls, want)
	}
	if s := srv.Secrets(); len(s) != 1 || s[0].ResourcePolicy != "" {
		t.Errorf("secrets = %d, policy %q; want one, without a policy", len(s), s[0].ResourcePolicy)
	}
}

func TestWithPolicyRefuses(t *testing.T) {
	vault, err := sources.NewVault(nil, "atrium-test/sources/", testKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		policy sources.SecretPolicy
		ok     bool
	}{
		{"both roles", testPolicy, true},
		{"roles with paths, another partition", sources.SecretPolicy{
			ReaderRoleARN: "arn:aws-us-gov:iam::123456789012:role/service-role/atrium/credentials",
			WriterRoleARN: "arn:aws-us-gov:iam::123456789012:role/service-role/atrium/sources"}, true},
		{"no reader", sources.SecretPolicy{WriterRoleARN: writerRole}, false},
		{"no writer", sources.SecretPolicy{ReaderRoleARN: readerRole}, false},
		{"one role for both", sources.SecretPolicy{ReaderRoleARN: readerRole, WriterRoleARN: readerRole}, false},
		{"reader is a user", sources.SecretPolicy{ReaderRoleARN: "arn:aws:iam::123456789012:user/alice", WriterRoleARN: writerRole}, false},
		{"reader is the account", sources.SecretPolicy{ReaderRoleARN: rootUser, WriterRoleARN: writerRole}, false},
		{"reader is a session", sources.SecretPolicy{ReaderRoleARN: "arn:aws:sts::123456789012:assumed-role/credentials/fn", WriterRoleARN: writerRole}, false},
		{"wildcard in the name", sources.SecretPolicy{ReaderRoleARN: "arn:aws:iam::123456789012:role/atrium-*", WriterRoleARN: writerRole}, false},
		{"wildcard in the path", sources.SecretPolicy{ReaderRoleARN: readerRole, WriterRoleARN: "arn:aws:iam::123456789012:role/*/sources"}, false},
		{"wildcard account", sources.SecretPolicy{ReaderRoleARN: "arn:aws:iam::*:role/credentials", WriterRoleARN: writerRole}, false},
		{"space", sources.SecretPolicy{ReaderRoleARN: readerRole + " ", WriterRoleARN: writerRole}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := vault.WithPolicy(tt.policy)
			if (err == nil) != tt.ok || (v != nil) != tt.ok {
				t.Errorf("WithPolicy = %v, %v; want ok %v", v, err, tt.ok)
			}
			if ok := sources.IsRoleARN(tt.policy.ReaderRoleARN) && sources.IsRoleARN(tt.policy.WriterRoleARN) &&
				tt.policy.ReaderRoleARN != tt.policy.WriterRoleARN; ok != tt.ok {
				t.Errorf("IsRoleARN of both roles, and they differ: %v, want %v", ok, tt.ok)
			}
		})
	}
}
