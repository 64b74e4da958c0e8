package cfn

import (
	"encoding/json"
	"testing"

	"github.com/atrium-cdn/atrium/shared/config"
)

// A first deployment needs no secret (issue #18): each operator secret's
// parameter is optional, and when it is empty the stack creates the secret
// with a value the functions recognise as a placeholder
// (config.IsPlaceholder), never with anything that would pass for a setting.
func TestRepositoryPlaceholderSecrets(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	for _, tc := range []struct{ param, resource, condition string }{
		{"StripeSecretArn", "StripeSecret", "CreateStripeSecret"},
		{"SmtpCredentialsSecretArn", "SmtpCredentialsSecret", "CreateSmtpSecret"},
	} {
		p, _ := tpl.Parameters[tc.param].(map[string]any)
		if d, ok := p["Default"]; !ok || d != "" {
			t.Errorf("%s: Default %v, want \"\" (optional)", tc.param, d)
		}
		want := map[string]any{"Fn::Equals": []any{map[string]any{"Ref": tc.param}, ""}}
		if got := text(tpl.Conditions[tc.condition]); got != text(want) {
			t.Errorf("Condition %s = %s, want %s", tc.condition, got, text(want))
		}
		r, ok := tpl.Resources[tc.resource]
		if !ok || r.Type != TypeSecret || r.Raw["Condition"] != tc.condition {
			t.Errorf("%s: %s with Condition %v, want an %s under %s", tc.resource, r.Type, r.Raw["Condition"], TypeSecret, tc.condition)
			continue
		}
		v, _ := r.Properties["SecretString"].(string)
		var m map[string]any
		if err := json.Unmarshal([]byte(v), &m); err != nil || !config.IsPlaceholder([]byte(v)) {
			t.Errorf("%s SecretString %q is not a JSON placeholder (%s): %v", tc.resource, v, config.PlaceholderKey, err)
		}
		if _, generated := r.Properties["GenerateSecretString"]; generated {
			t.Errorf("%s generates a value: the operator sets it", tc.resource)
		}
	}
}
