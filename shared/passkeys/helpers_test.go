package passkeys_test

import (
	"encoding/json"
	"strings"
)

func jsonOf(v any) ([]byte, error) { return json.Marshal(v) }

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
