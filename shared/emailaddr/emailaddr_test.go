package emailaddr

import (
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	long := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 58) + ".com" // 255 octets
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Jane.Doe@Example.COM", "jane.doe@example.com", true},
		{"  jane@example.com \n", "jane@example.com", true},
		{"j+tag@mail.example.co.uk", "j+tag@mail.example.co.uk", true},
		{"o'brien@example.ie", "o'brien@example.ie", true},
		{"x@xn--bcher-kva.xn--p1ai", "x@xn--bcher-kva.xn--p1ai", true},
		{"a@b.co", "a@b.co", true},
		{"", "", false},
		{"plain", "", false},
		{"@example.com", "", false},
		{"jane@", "", false},
		{"jane@localhost", "", false},
		{"jane@example.c", "", false},
		{"jane@example.123", "", false},
		{".jane@example.com", "", false},
		{"jane.@example.com", "", false},
		{"ja..ne@example.com", "", false},
		{"jane doe@example.com", "", false},
		{`"jane"@example.com`, "", false},
		{"Jane <jane@example.com>", "", false},
		{"jane@exa_mple.com", "", false},
		{"jane@-example.com", "", false},
		{"jane@example-.com", "", false},
		{"jane@example..com", "", false},
		{"jane@[127.0.0.1]", "", false},
		{"jané@example.com", "", false},
		{"jane@example.com\x00", "", false},
		{strings.Repeat("a", 65) + "@example.com", "", false},
		{"a@" + strings.Repeat("b", 64) + ".com", "", false},
		{long, "", false},
		{long[1:], long[1:], true}, // 254 octets
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParts(t *testing.T) {
	got := strings.Join(Parts("jane.doe+cdn@mail.example.com"), ",")
	want := "jane.doe+cdn,jane,doe,cdn,mail,example"
	if got != want {
		t.Fatalf("Parts = %q, want %q", got, want)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"jane@example.com", "J@X.IO", "a..b@c.d", "@", "x@y", "\xff@example.com", strings.Repeat("a", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := Normalize(s)
		if err != nil {
			if strings.Contains(err.Error(), "@") {
				t.Fatalf("error message leaks input: %v", err)
			}
			return
		}
		if len(got) > MaxLength || strings.ToLower(got) != got || strings.Count(got, "@") != 1 {
			t.Fatalf("Normalize(%q) = %q breaks an invariant", s, got)
		}
		again, err := Normalize(got)
		if err != nil || again != got {
			t.Fatalf("Normalize is not idempotent on %q: %q, %v", got, again, err)
		}
	})
}
