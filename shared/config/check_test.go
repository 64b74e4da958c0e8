package config_test

import (
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/shared/config"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		value string
		want  string // the whole error after "invalid configuration: "; empty: none
	}{
		{"valid", "2026-01", ""},
		{"invalid", "2026#01", "NDA_VERSION: must be letters, digits, dots, dashes or underscores"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := config.New(env(map[string]string{"NDA_VERSION": tt.value}))
			v := r.String("NDA_VERSION", "")
			r.Check("NDA_VERSION", !strings.Contains(v, "#"), "must be letters, digits, dots, dashes or underscores")
			checkErr(t, r, tt.want)
		})
	}
}

func TestCheckIsReportedWithTheOtherErrors(t *testing.T) {
	r := config.New(env(map[string]string{"A": "secret-value"}))
	r.Required("MISSING")
	r.Check("A", false, "must be %s", "something else")
	err := r.Err()
	if err == nil {
		t.Fatal("no error")
	}
	want := "invalid configuration: MISSING: is required\nA: must be something else"
	if err.Error() != want {
		t.Errorf("Err() = %q, want %q", err, want)
	}
	if strings.Contains(err.Error(), "secret-value") {
		t.Error("the error shows the value")
	}
}
