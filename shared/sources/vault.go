package sources

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// Credentials are a source's keys. The secret key is redacted whenever the
// value is printed or logged; only Vault turns it into a secret's value.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
}

// String never shows the secret key.
func (c Credentials) String() string {
	return "access key …" + KeyHint(c.AccessKeyID) + ", secret key [REDACTED]"
}

// GoString never shows the secret key.
func (c Credentials) GoString() string { return c.String() }

// LogValue never logs the secret key.
func (c Credentials) LogValue() slog.Value { return slog.StringValue(c.String()) }

// secretValue is the JSON of a source's secret.
type secretValue struct {
	AccessKeyID     string `json:"access_key_id"`
	SecretAccessKey string `json:"secret_access_key"`
}

// SecretsManager is the part of the Secrets Manager API the vault uses.
type SecretsManager interface {
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	PutResourcePolicy(ctx context.Context, in *secretsmanager.PutResourcePolicyInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.PutResourcePolicyOutput, error)
}

var _ SecretsManager = (*secretsmanager.Client)(nil)

// Vault keeps each source's credentials in its own secret, named
// <prefix><account id>/<source id>, encrypted with the KMS key.
type Vault struct {
	sm       SecretsManager
	prefix   string // e.g. "atrium-prod/sources/"
	kmsKeyID string
	// policy is the resource policy Create gives every new secret; nil
	// for a vault that only reads or deletes (see WithPolicy).
	policy []byte
}

// NewVault returns a Vault. prefix must end in "/".
func NewVault(sm SecretsManager, prefix, kmsKeyID string) (*Vault, error) {
	if !strings.HasSuffix(prefix, "/") || len(prefix) < 2 {
		return nil, errors.New("sources: secret prefix must end in /")
	}
	return &Vault{sm: sm, prefix: prefix, kmsKeyID: kmsKeyID}, nil
}

// SecretName is the name of a source's secret.
func (v *Vault) SecretName(accountID, sourceID string) string {
	return v.prefix + accountID + "/" + sourceID
}

// Owns reports whether a secret name or ARN lies under the vault's prefix,
// so the internal function never reads a secret that is not a source's.
func (v *Vault) Owns(nameOrARN string) bool {
	name := nameOrARN
	if i := strings.Index(nameOrARN, ":secret:"); i >= 0 {
		name = nameOrARN[i+len(":secret:"):]
	}
	return strings.HasPrefix(name, v.prefix)
}

// SecretPolicy names the two roles the resource policy of a source secret
// trusts (P4). Both are role ARNs, arn:<partition>:iam::<account>:role/<name>,
// the ARN aws:PrincipalArn holds for a Lambda function's execution role.
type SecretPolicy struct {
	// ReaderRoleARN is the one role that may read a secret's value: the
	// internal credentials function's.
	ReaderRoleARN string
	// WriterRoleARN is the one role that may change a secret's value, its
	// settings (and with them its KMS key) or its resource policy: the
	// sources function's. Deleting a secret is left to IAM: the deletion
	// job and housekeeping delete source secrets.
	WriterRoleARN string
}

// roleARN is the shape of an IAM role's ARN, path included.
// Compiled on first use, not in a package initialiser: bounded repeats make
// compiling such an expression cost at every cold start (issue #17).
var roleARN = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/([!-~]+/)?[A-Za-z0-9+=,.@_-]{1,64}$`)
})

// IsRoleARN reports whether s is an IAM role's ARN without a wildcard
// (aws:PrincipalArn conditions treat "*" and "?" as wildcards).
func IsRoleARN(s string) bool {
	return len(s) <= 2048 && roleARN().MatchString(s) && !strings.ContainsAny(s, "*?")
}

// policyDocument and policyStatement are the JSON of a resource policy.
type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Principal string                       `json:"Principal"`
	Action    []string                     `json:"Action"`
	Resource  string                       `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition"`
}

// document is the resource policy of a source secret. It only denies (what
// roles may do is their IAM policies' and the key policy's business), to
// every principal of any account ("*"), the root user included:
// GetSecretValue unless the caller is the reader role, and any change to
// the secret's value, settings or policy unless it is the writer role.
// "Resource": "*" in a secret's policy is that secret.
func (p SecretPolicy) document() ([]byte, error) {
	if !IsRoleARN(p.ReaderRoleARN) || !IsRoleARN(p.WriterRoleARN) {
		return nil, errors.New("sources: the secret policy's roles must be IAM role ARNs")
	}
	if p.ReaderRoleARN == p.WriterRoleARN {
		return nil, errors.New("sources: the role that writes source secrets must not be the one that reads them")
	}
	allBut := func(role string) map[string]map[string]string {
		return map[string]map[string]string{"ArnNotEquals": {"aws:PrincipalArn": role}}
	}
	doc, err := json.Marshal(policyDocument{Version: "2012-10-17", Statement: []policyStatement{
		{
			Sid: "OnlyCredentialsRoleReads", Effect: "Deny", Principal: "*", Resource: "*",
			Action:    []string{"secretsmanager:GetSecretValue"},
			Condition: allBut(p.ReaderRoleARN),
		},
		{
			Sid: "OnlySourcesRoleChanges", Effect: "Deny", Principal: "*", Resource: "*",
			Action: []string{"secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret",
				"secretsmanager:PutResourcePolicy", "secretsmanager:DeleteResourcePolicy"},
			Condition: allBut(p.WriterRoleARN),
		},
	}})
	if err != nil {
		return nil, fmt.Errorf("encode secret policy: %w", err)
	}
	return doc, nil
}

// WithPolicy returns a copy of the vault whose Create gives every new secret
// the resource policy of p. The sources function's vault needs one; the
// vaults that only read or delete secrets do not.
func (v *Vault) WithPolicy(p SecretPolicy) (*Vault, error) {
	doc, err := p.document()
	if err != nil {
		return nil, err
	}
	c := *v
	c.policy = doc
	return &c, nil
}

// Create writes the source's first secret and returns its ARN. The client
// request token is derived from the source id, so a retry of this call can
// never create a second secret or a second version.
//
// With a policy (WithPolicy), the secret is given its resource policy
// right after it is created, with BlockPublicPolicy. If that fails, the
// secret is deleted (no recovery window) before the error returns; if the
// process dies in between, the caller's write-ahead intent (WriteIntent)
// has housekeeping delete the secret (Reconcile), for its source item was
// never written. Either way no source secret is left without its policy
// for longer than ReconcileGrace and one housekeeping interval.
func (v *Vault) Create(ctx context.Context, accountID, sourceID string, c Credentials) (string, error) {
	value, err := json.Marshal(secretValue(c))
	if err != nil {
		return "", fmt.Errorf("encode secret: %w", err)
	}
	out, err := v.sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name:               aws.String(v.SecretName(accountID, sourceID)),
		SecretString:       aws.String(string(value)),
		KmsKeyId:           aws.String(v.kmsKeyID),
		ClientRequestToken: aws.String(requestToken("create", sourceID)),
		Description:        aws.String("Atrium: storage credentials of one customer source"),
		Tags: []smtypes.Tag{
			{Key: aws.String("atrium:account"), Value: aws.String(accountID)},
			{Key: aws.String("atrium:source"), Value: aws.String(sourceID)},
		},
	})
	if err != nil {
		return "", fmt.Errorf("create secret: %w", err)
	}
	arn := aws.ToString(out.ARN)
	if v.policy == nil {
		return arn, nil
	}
	if _, err := v.sm.PutResourcePolicy(ctx, &secretsmanager.PutResourcePolicyInput{
		SecretId: aws.String(arn), ResourcePolicy: aws.String(string(v.policy)), BlockPublicPolicy: aws.Bool(true),
	}); err != nil {
		err = fmt.Errorf("put secret resource policy: %w", err)
		if derr := v.Delete(context.WithoutCancel(ctx), arn); derr != nil {
			return "", errors.Join(err, fmt.Errorf("take back the secret without its policy (housekeeping will retry): %w", derr))
		}
		return "", err
	}
	return arn, nil
}

// ErrSecretGone reports a secret deleted (or being deleted) meanwhile.
var ErrSecretGone = errors.New("source secret deleted")

// Put stores new credentials as a new version of the source's secret.
func (v *Vault) Put(ctx context.Context, secretARN string, c Credentials) error {
	value, err := json.Marshal(secretValue(c))
	if err != nil {
		return fmt.Errorf("encode secret: %w", err)
	}
	_, err = v.sm.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{
		SecretId: aws.String(secretARN), SecretString: aws.String(string(value)),
	})
	var nf *smtypes.ResourceNotFoundException
	var deleting *smtypes.InvalidRequestException
	if errors.As(err, &nf) || errors.As(err, &deleting) && strings.Contains(deleting.ErrorMessage(), "deletion") {
		return fmt.Errorf("%w: %w", ErrSecretGone, err)
	}
	if err != nil {
		return fmt.Errorf("put secret value: %w", err)
	}
	return nil
}

// Delete removes a secret at once, with no recovery window. A secret already
// gone is not an error.
func (v *Vault) Delete(ctx context.Context, nameOrARN string) error {
	_, err := v.sm.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{
		SecretId: aws.String(nameOrARN), ForceDeleteWithoutRecovery: aws.Bool(true),
	})
	var nf *smtypes.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("delete secret: %w", err)
	}
	return nil
}

// Read returns a source's credentials: for the internal credentials function only.
func (v *Vault) Read(ctx context.Context, secretARN string) (Credentials, error) {
	if !v.Owns(secretARN) {
		return Credentials{}, errors.New("sources: secret outside the sources prefix")
	}
	out, err := v.sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secretARN)})
	if err != nil {
		return Credentials{}, fmt.Errorf("get secret value: %w", err)
	}
	var sv secretValue
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &sv); err != nil {
		return Credentials{}, errors.New("sources: secret value is not the expected JSON") // never echo it
	}
	return Credentials(sv), nil
}

// requestToken derives a Secrets Manager client request token (32–64
// characters) from what the request is about.
func requestToken(op, id string) string {
	sum := sha256.Sum256([]byte(op + ":" + id))
	return hex.EncodeToString(sum[:18]) // 36 characters
}
