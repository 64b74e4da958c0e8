package secretsmanager_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sm "github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	local "github.com/atrium-cdn/atrium/infra/local/secretsmanager"
)

const (
	policyA = `{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}`
	policyB = `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"secretsmanager:DeleteSecret","Resource":"*"}}`
)

// TestResourcePolicy drives PutResourcePolicy, GetResourcePolicy and
// DeleteResourcePolicy through the real SDK client, each step reading the
// stored policy back with GetResourcePolicy.
func TestResourcePolicy(t *testing.T) {
	ctx := context.Background()
	c, srv, _ := newServer(t)
	created, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("p/one"), SecretString: aws.String("v")})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.ARN)
	partial := arn[:len(arn)-7] // the ARN less "-XXXXXX"

	put := func(id, policy string) error {
		_, err := c.PutResourcePolicy(ctx, &sm.PutResourcePolicyInput{SecretId: aws.String(id), ResourcePolicy: aws.String(policy), BlockPublicPolicy: aws.Bool(true)})
		return err
	}
	del := func(id string) error {
		_, err := c.DeleteResourcePolicy(ctx, &sm.DeleteResourcePolicyInput{SecretId: aws.String(id)})
		return err
	}
	steps := []struct {
		name string
		call func() error
		want string // the policy GetResourcePolicy returns afterwards, "" for none
	}{
		{"none at first", func() error { return nil }, ""},
		{"delete when there is none", func() error { return del("p/one") }, ""},
		{"put by name", func() error { return put("p/one", policyA) }, policyA},
		{"put again replaces it", func() error { return put(arn, policyB) }, policyB},
		{"put by partial ARN", func() error { return put(partial, policyA) }, policyA},
		{"delete by ARN", func() error { return del(arn) }, ""},
		{"put without BlockPublicPolicy", func() error {
			_, err := c.PutResourcePolicy(ctx, &sm.PutResourcePolicyInput{SecretId: aws.String("p/one"), ResourcePolicy: aws.String(policyB)})
			return err
		}, policyB},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if err := st.call(); err != nil {
				t.Fatal(err)
			}
			got, err := c.GetResourcePolicy(ctx, &sm.GetResourcePolicyInput{SecretId: aws.String("p/one")})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(got.ARN) != arn || aws.ToString(got.Name) != "p/one" {
				t.Errorf("GetResourcePolicy names %s %s, want %s p/one", aws.ToString(got.ARN), aws.ToString(got.Name), arn)
			}
			if st.want == "" && got.ResourcePolicy != nil {
				t.Errorf("ResourcePolicy = %q, want none", *got.ResourcePolicy)
			}
			if st.want != "" && aws.ToString(got.ResourcePolicy) != st.want {
				t.Errorf("ResourcePolicy = %q, want %q", aws.ToString(got.ResourcePolicy), st.want)
			}
			if snap := srv.Secrets()[0].ResourcePolicy; snap != st.want {
				t.Errorf("Secrets()[0].ResourcePolicy = %q, want %q", snap, st.want)
			}
		})
	}
}

func TestResourcePolicyErrors(t *testing.T) {
	ctx := context.Background()
	c, _, _ := newServer(t)
	for _, name := range []string{"exists", "doomed"} {
		if _, err := c.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("v")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutResourcePolicy(ctx, &sm.PutResourcePolicyInput{SecretId: aws.String("doomed"), ResourcePolicy: aws.String(policyA)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("doomed"), RecoveryWindowInDays: aws.Int64(7)}); err != nil {
		t.Fatal(err)
	}
	put := func(id, policy string) func() error {
		return func() error {
			_, err := c.PutResourcePolicy(ctx, &sm.PutResourcePolicyInput{SecretId: aws.String(id), ResourcePolicy: aws.String(policy)})
			return err
		}
	}
	notFound := as[*types.ResourceNotFoundException]
	param := as[*types.InvalidParameterException]
	request := as[*types.InvalidRequestException]
	malformed := as[*types.MalformedPolicyDocumentException]
	// A policy of exactly the largest size, padded inside its Sid.
	pad := func(n int) string {
		p := `{"Statement":[{"Sid":"","Effect":"Deny","Principal":"*","Action":"secretsmanager:*","Resource":"*"}]}`
		return strings.Replace(p, `"Sid":""`, `"Sid":"`+strings.Repeat("x", n-len(p))+`"`, 1)
	}
	// (A request without SecretId or ResourcePolicy never leaves the SDK.)
	tests := []struct {
		name string
		call func() error
		is   func(error) bool
	}{
		{"largest policy", put("exists", pad(20480)), func(err error) bool { return err == nil }},
		{"policy too long", put("exists", pad(20481)), param},
		{"empty policy", put("exists", ""), param},
		{"not JSON", put("exists", `{"Statement":`), malformed},
		{"not an object", put("exists", `["Statement"]`), malformed},
		{"null", put("exists", `null`), malformed},
		{"no Statement", put("exists", `{"Version":"2012-10-17"}`), malformed},
		{"null Statement", put("exists", `{"Statement":null}`), malformed},
		{"put on an unknown secret", put("nope", policyA), notFound},
		{"get of an unknown secret", func() error {
			_, err := c.GetResourcePolicy(ctx, &sm.GetResourcePolicyInput{SecretId: aws.String("nope")})
			return err
		}, notFound},
		{"delete of an unknown secret", func() error {
			_, err := c.DeleteResourcePolicy(ctx, &sm.DeleteResourcePolicyInput{SecretId: aws.String("nope")})
			return err
		}, notFound},
		{"put on a secret scheduled for deletion", put("doomed", policyB), request},
		{"delete on a secret scheduled for deletion", func() error {
			_, err := c.DeleteResourcePolicy(ctx, &sm.DeleteResourcePolicyInput{SecretId: aws.String("doomed")})
			return err
		}, request},
		{"get of a secret scheduled for deletion", func() error {
			out, err := c.GetResourcePolicy(ctx, &sm.GetResourcePolicyInput{SecretId: aws.String("doomed")})
			if err == nil && aws.ToString(out.ResourcePolicy) != policyA {
				t.Errorf("policy of a secret scheduled for deletion = %q, want the one it had", aws.ToString(out.ResourcePolicy))
			}
			return err
		}, func(err error) bool { return err == nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !tt.is(err) {
				t.Fatalf("error = %v (%T)", err, err)
			}
		})
	}
}

// TestResourcePolicyPersists: a policy is kept in the data file, and a
// forced delete takes it with the secret.
func TestResourcePolicyPersists(t *testing.T) {
	ctx := context.Background()
	opts := local.Options{DataFile: filepath.Join(t.TempDir(), "secrets.json")}
	srv1 := local.New(opts)
	hs := httptest.NewServer(srv1)
	c1 := newClient(hs.URL, aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"})
	for _, name := range []string{"kept", "dropped"} {
		if _, err := c1.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("v")}); err != nil {
			t.Fatal(err)
		}
		if _, err := c1.PutResourcePolicy(ctx, &sm.PutResourcePolicyInput{SecretId: aws.String(name), ResourcePolicy: aws.String(policyA)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c1.DeleteSecret(ctx, &sm.DeleteSecretInput{SecretId: aws.String("dropped"), ForceDeleteWithoutRecovery: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	hs.Close()

	c2 := start(t, local.New(opts))
	got, err := c2.GetResourcePolicy(ctx, &sm.GetResourcePolicyInput{SecretId: aws.String("kept")})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.ResourcePolicy) != policyA {
		t.Fatalf("policy after reload = %q, want %q", aws.ToString(got.ResourcePolicy), policyA)
	}
	if _, err := c2.CreateSecret(ctx, &sm.CreateSecretInput{Name: aws.String("dropped"), SecretString: aws.String("v")}); err != nil {
		t.Fatal(err)
	}
	got, err = c2.GetResourcePolicy(ctx, &sm.GetResourcePolicyInput{SecretId: aws.String("dropped")})
	if err != nil {
		t.Fatal(err)
	}
	if got.ResourcePolicy != nil {
		t.Fatalf("a secret recreated under a deleted one's name has policy %q; want none", *got.ResourcePolicy)
	}
}
