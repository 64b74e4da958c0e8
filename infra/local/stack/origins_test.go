package stack_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/infra/local/stack"
)

func TestParseOrigins(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"http://localhost:5173", []string{"http://localhost:5173"}, false},
		{" https://app.example.com , http://127.0.0.1:5173 ,", []string{"https://app.example.com", "http://127.0.0.1:5173"}, false},
		{"https://[::1]:8443", []string{"https://[::1]:8443"}, false},
		{"", nil, true},
		{" , ", nil, true},
		{"*", nil, true},
		{"https://app.example.com/", nil, true}, // a browser's Origin never ends in a slash
		{"https://app.example.com/dashboard", nil, true},
		{"https://APP.example.com", nil, true}, // nor has capitals
		{"app.example.com", nil, true},
		{"ftp://app.example.com", nil, true},
		{"https://user@app.example.com", nil, true},
		{"https://app.example.com?x=1", nil, true},
		{"https://app.example.com#x", nil, true},
		{"https://app.example.com?", nil, true},
		{"https://:443", nil, true},
		{"http://localhost:5173,https://", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := stack.ParseOrigins(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseOrigins(%q) error %v, want error: %v", tt.in, err, tt.wantErr)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseOrigins(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// One list of origins feeds both the HTTP API's CORS rules (the AllowedOrigins parameter the
// local gateway resolves) and the functions' ALLOWED_ORIGINS (the cookie's Origin check), as
// template.yaml wires both to the one parameter.
func TestOriginsAreOneSource(t *testing.T) {
	if got, want := stack.LocalDashboardOrigins(), []string{stack.LocalAppURL, "http://127.0.0.1:5173"}; !slices.Equal(got, want) {
		t.Errorf("LocalDashboardOrigins() = %q, want %q (the origin of the links in emails, under both loopback names)", got, want)
	}
	for _, origins := range [][]string{stack.LocalDashboardOrigins(), {"https://app.example.com"}} {
		s := &stack.Stack{Services: &stack.Services{}, Origins: origins}
		joined := strings.Join(origins, ",")
		if got := s.Parameters()["AllowedOrigins"]; got != joined {
			t.Errorf("AllowedOrigins parameter %q, want %q", got, joined)
		}
		if got := s.Env("auth")["ALLOWED_ORIGINS"]; got != joined {
			t.Errorf("ALLOWED_ORIGINS %q, want %q", got, joined)
		}
	}
}
