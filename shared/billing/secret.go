package billing

import (
	"errors"
	"strings"
)

// Secret is the value of the Stripe secret in Secrets Manager (JSON):
//
//	{"secret_key": "sk_live_...", "webhook_secrets": ["whsec_...", "whsec_..."]}
//
// Two webhook signing secrets are accepted at once so that the endpoint's
// secret can be rolled without losing events; one is enough.
type Secret struct {
	SecretKey      string   `json:"secret_key"`
	WebhookSecrets []string `json:"webhook_secrets"`
}

// Check reports what is wrong with the secret, without repeating any of it.
// needWebhook says the caller verifies webhooks.
func (s *Secret) Check(needWebhook bool) error {
	var problems []string
	if !strings.HasPrefix(s.SecretKey, "sk_") && !strings.HasPrefix(s.SecretKey, "rk_") {
		problems = append(problems, `"secret_key" must be a Stripe secret or restricted key (sk_... or rk_...)`)
	}
	if needWebhook {
		if len(s.WebhookSecrets) == 0 || len(s.WebhookSecrets) > 2 {
			problems = append(problems, `"webhook_secrets" must hold one or two signing secrets`)
		}
		for _, w := range s.WebhookSecrets {
			if !strings.HasPrefix(w, "whsec_") || len(w) < len("whsec_")+16 {
				problems = append(problems, `every webhook secret must be an endpoint signing secret (whsec_...)`)
				break
			}
		}
	}
	if len(problems) > 0 {
		return errors.New("Stripe secret: " + strings.Join(problems, "; "))
	}
	return nil
}
