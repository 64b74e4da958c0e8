package config

import "testing"

func TestIsPlaceholder(t *testing.T) {
	for v, want := range map[string]bool{
		`{"atrium_placeholder": "NOT CONFIGURED", "secret_key": ""}`: true,
		`{"atrium_placeholder": true}`:                               true, // marked, whatever the marker holds
		`{"atrium_placeholder": ""}`:                                 false,
		`{"secret_key": "sk_live_x", "webhook_secrets": []}`:         false,
		`not json`:               false,
		`["atrium_placeholder"]`: false,
	} {
		if got := IsPlaceholder([]byte(v)); got != want {
			t.Errorf("IsPlaceholder(%s) = %v, want %v", v, got, want)
		}
	}
}
