package sourcesapi

import (
	"context"
	"net/http"
	"testing"

	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/s3check"
)

// duringCheck runs fn while the service checks the keys: after the request
// was authenticated, before anything is stored.
type duringCheck struct {
	next ReadChecker
	fn   func(context.Context)
}

func (d *duringCheck) CheckRead(ctx context.Context, loc s3check.Location, keys s3check.Keys) error {
	d.fn(ctx)
	return d.next.CheckRead(ctx, loc, keys)
}

// TestRegistrationRacingDeletion: a registration whose account's deletion
// is accepted while it runs stores nothing (no source, no secret, no
// intent), and is answered as a request whose session has ended.
func TestRegistrationRacingDeletion(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acct, tok := f.account(t, plans.Standard)
	f.svc.Checker = &duringCheck{next: f.checker, fn: func(ctx context.Context) {
		a, err := f.accounts.Account(ctx, acct)
		if err != nil {
			t.Error(err)
			return
		}
		if _, created, err := deletion.NewStore(f.rawDB, f.stack.Tables["StateTable"], f.clock.Now).Accept(ctx, a); err != nil || !created {
			t.Errorf("accept deletion: %v %v", created, err)
		}
	}}
	r := f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody("Racing", readerKey, f.secret(), nil))
	r.want(t, http.StatusUnauthorized, "unauthenticated")
	if n := len(f.sm.createdNames()); n != 0 {
		t.Errorf("%d secrets created for an account being deleted", n)
	}
	f.nothingStored(t, acct)
	f.assertNoLeaks(t)
}
