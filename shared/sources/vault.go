package sources

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"

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
}

var _ SecretsManager = (*secretsmanager.Client)(nil)

// Vault keeps each source's credentials in its own secret, named
// <prefix><account id>/<source id>, encrypted with the KMS key.
type Vault struct {
	sm       SecretsManager
	prefix   string // e.g. "atrium-prod/sources/"
	kmsKeyID string
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

// Create writes the source's first secret and returns its ARN. The client
// request token is derived from the source id, so a retry of this call can
// never create a second secret or a second version.
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
	return aws.ToString(out.ARN), nil
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
