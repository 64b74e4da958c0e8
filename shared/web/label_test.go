package web

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestLabel(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"plain", "phone", "phone", true},
		{"inner spaces kept", "my  phone", "my  phone", true},
		{"trimmed", "  phone\t", "phone", true},
		{"non-ASCII letters and symbols", "Téléphone ✓ 电话", "Téléphone ✓ 电话", true},
		{"markup is text", "<b>x</b>", "<b>x</b>", true},
		{"at the limit", strings.Repeat("é", 20), strings.Repeat("é", 20), true},
		{"over the limit", strings.Repeat("é", 21), strings.Repeat("é", 21), false},
		{"empty", "", "", false},
		{"only spaces", "   ", "", false},
		{"control character", "pho\x00ne", "pho\x00ne", false},
		{"escape sequence", "\x1b[31mred", "\x1b[31mred", false},
		{"inner line break", "pho\nne", "pho\nne", false},
		{"format character (bidi override)", "evil\u202egnp.exe", "evil\u202egnp.exe", false},
		{"zero-width joiner", "a\u200db", "a\u200db", false},
		{"no-break space inside", "my\u00a0phone", "my\u00a0phone", false},
		{"line separator", "a\u2028b", "a\u2028b", false},
		{"invalid UTF-8", "ph\xffone", "ph\xffone", false},
		{"replacement character written out", "a\ufffdb", "a\ufffdb", true},
		{"private use", "a\ue000b", "a\ue000b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Label(tt.in, 20)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("Label(%q, 20) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// FuzzLabel: an accepted label is trimmed, valid, within its bound, and
// every character printable; Label of it is itself.
func FuzzLabel(f *testing.F) {
	for _, s := range []string{"phone", " a ", "\u202e", "é\u200d", "\xff", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := Label(s, 64)
		if !ok {
			return
		}
		if got != strings.TrimSpace(got) || got == "" || !utf8.ValidString(got) || utf8.RuneCountInString(got) > 64 {
			t.Fatalf("Label(%q) accepted %q", s, got)
		}
		if strings.IndexFunc(got, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
			t.Fatalf("Label(%q) accepted %q with a character that is not printable", s, got)
		}
		if again, ok := Label(got, 64); !ok || again != got {
			t.Fatalf("Label(Label(%q)) = %q, %v", s, again, ok)
		}
	})
}
