package credentialsfn_test

import (
	"errors"
	"testing"

	"github.com/atrium-cdn/atrium/functions/credentials/credentialsfn"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// The function's one refusal belongs to the stores' not-found family and
// says what it always said; it is not the sources store's own sentinel.
func TestErrNotFoundIsTheFamilys(t *testing.T) {
	err := credentialsfn.ErrNotFound
	if !errors.Is(err, statetable.ErrNotFound) || errors.Is(err, sources.ErrNotFound) || err.Error() != "source not found" {
		t.Fatalf("%v: is statetable.ErrNotFound %v, is sources.ErrNotFound %v",
			err, errors.Is(err, statetable.ErrNotFound), errors.Is(err, sources.ErrNotFound))
	}
}
