package statetable_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// TestOneNotFoundFamily: every store's not-found error is
// statetable.ErrNotFound, keeps its own message, and is no other store's.
func TestOneNotFoundFamily(t *testing.T) {
	stores := []struct {
		name    string
		err     error
		message string
	}{
		{"identity", identity.ErrNotFound, "not found"},
		{"compliance", compliance.ErrNotFound, "compliance record not found"},
		{"sources", sources.ErrNotFound, "source not found"},
		{"deletion", deletion.ErrNotFound, "deletion not found"},
		{"a store of its own", statetable.NotFound("widget not found"), "widget not found"},
	}
	for i, s := range stores {
		wrapped := fmt.Errorf("read it: %w", s.err)
		if !errors.Is(s.err, statetable.ErrNotFound) || !errors.Is(wrapped, statetable.ErrNotFound) || !errors.Is(wrapped, s.err) {
			t.Errorf("%s: %v is not statetable.ErrNotFound", s.name, s.err)
		}
		if s.err.Error() != s.message {
			t.Errorf("%s: message %q, want %q as before", s.name, s.err.Error(), s.message)
		}
		for j, other := range stores {
			if i != j && errors.Is(s.err, other.err) {
				t.Errorf("%s's not-found is also %s's", s.name, other.name)
			}
		}
	}
	if errors.Is(statetable.ErrNotFound, identity.ErrNotFound) {
		t.Error("the family's root is one store's own not-found")
	}
}
