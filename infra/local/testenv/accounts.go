package testenv

import (
	"context"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/plans"
)

// decoyHash is a well-formed argon2id hash no password matches.
const decoyHash = "$argon2id$v=19$m=19456,t=2,p=1$bm90LWEtcmVhbC1zYWx0$bm90LWEtcmVhbC1oYXNo"

// ActiveAccount creates an active standard account at now, exactly as
// signup and verification leave one (a pending account activated with a
// verification token issued for it), without hashing or email, and returns
// its id. Tests of functions other than auth use it to get an account fast.
func ActiveAccount(t testing.TB, store *identity.Store, now time.Time) string {
	t.Helper()
	ctx := context.Background()
	a := &identity.Account{ID: ids.New("acct"), Email: Email(t), Status: identity.StatusPending,
		CreatedAt: now}
	if err := store.CreatePending(ctx, a, now.Add(24*time.Hour), plans.Initial()); err != nil {
		t.Fatal(err)
	}
	value, err := store.IssueToken(ctx, identity.Token{Kind: identity.TokenVerifyEmail, AccountID: a.ID}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := store.LookupToken(ctx, identity.TokenVerifyEmail, value)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Activate(ctx, tok, a, decoyHash); err != nil {
		t.Fatal(err)
	}
	return a.ID
}
