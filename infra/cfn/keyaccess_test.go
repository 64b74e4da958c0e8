package cfn

import (
	"testing"
)

// The one kms:Decrypt allowed outside CredentialsFunction is Secrets
// Manager's key-access validation, and only in exactly that shape.
func TestKeyAccessValidationIsTheOnlyOtherDecrypt(t *testing.T) {
	key := map[string]any{"Fn::GetAtt": []any{SourcesKey, "Arn"}}
	via := map[string]any{"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}
	tests := []struct {
		name string
		s    Statement
		ok   bool
	}{
		{"validation only", Statement{Effect: "Allow", Actions: []string{"kms:Decrypt"}, Resources: []any{key},
			Condition: map[string]any{"StringEquals": map[string]any{"kms:ViaService": via,
				"kms:EncryptionContext:SecretVersionId": ValidateKeyAccessContext}}}, true},
		{"no encryption context", Statement{Effect: "Allow", Actions: []string{"kms:Decrypt"}, Resources: []any{key},
			Condition: map[string]any{"StringEquals": map[string]any{"kms:ViaService": via}}}, false},
		{"another version id", Statement{Effect: "Allow", Actions: []string{"kms:Decrypt"}, Resources: []any{key},
			Condition: map[string]any{"StringEquals": map[string]any{"kms:ViaService": via,
				"kms:EncryptionContext:SecretVersionId": "*"}}}, false},
		{"StringLike instead", Statement{Effect: "Allow", Actions: []string{"kms:Decrypt"}, Resources: []any{key},
			Condition: map[string]any{"StringLike": map[string]any{"kms:ViaService": via,
				"kms:EncryptionContext:SecretVersionId": ValidateKeyAccessContext}}}, false},
		{"an extra action", Statement{Effect: "Allow", Actions: []string{"kms:Decrypt", "kms:Encrypt"}, Resources: []any{key},
			Condition: map[string]any{"StringEquals": map[string]any{"kms:ViaService": via,
				"kms:EncryptionContext:SecretVersionId": ValidateKeyAccessContext}}}, false},
		{"another key", Statement{Effect: "Allow", Actions: []string{"kms:Decrypt"}, Resources: []any{"arn:aws:kms:us-east-1:1:key/x"},
			Condition: map[string]any{"StringEquals": map[string]any{"kms:ViaService": via,
				"kms:EncryptionContext:SecretVersionId": ValidateKeyAccessContext}}}, false},
	}
	for _, tt := range tests {
		if got := onlyValidatesKeyAccess(tt.s); got != tt.ok {
			t.Errorf("%s: onlyValidatesKeyAccess = %v, want %v", tt.name, got, tt.ok)
		}
	}
}
