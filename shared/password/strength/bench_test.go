package strength

import (
	"strings"
	"testing"

	"github.com/trustelem/zxcvbn"
)

// BenchmarkStrength runs Strength and upstream zxcvbn side by side on a
// passphrase, a random password and the policy's worst case (64 bytes of
// dense l33t characters). Both have their dictionaries built beforehand.
func BenchmarkStrength(b *testing.B) {
	inputs := []string{"jane.doe@example.com", "jane.doe", "jane", "doe", "example.com", "example", "atrium"}
	cases := []struct{ name, pw string }{
		{"passphrase", "correct horse battery staple orbit"},
		{"random", "Xk9#vR2!mQ7$wL4&pZ8@tN5^bH3*cJ6%"},
		{"densel33t", strings.Repeat("4@8({[<369!|1705$+%2", 4)[:64]},
	}
	Strength("warm", inputs)
	for _, c := range cases {
		b.Run(c.name+"/ours", func(b *testing.B) {
			for b.Loop() {
				Strength(c.pw, inputs)
			}
		})
		b.Run(c.name+"/upstream", func(b *testing.B) {
			for b.Loop() {
				zxcvbn.PasswordStrength(c.pw, inputs)
			}
		})
	}
}
