package passkeys

import (
	"context"
	"time"

	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// Enrolled is ["passkey"] for an account with a passkey (mfa.OtherFactors).
func (s *Store) Enrolled(ctx context.Context, accountID string) ([]string, error) {
	has, err := s.Has(ctx, accountID)
	if err != nil || !has {
		return nil, err
	}
	return []string{mfa.MethodPasskey}, nil
}

// Factors are the second-factor kinds beyond package mfa's own (TOTP and
// recovery codes), as mfa.OtherFactors: the passkeys. It is the one list
// of them: the auth function's login, step-up and factor list, and every
// other function's step-up (NewStepUp), take it, so that none of them
// counts an account whose only factor is a passkey as having none.
func (s *Store) Factors() []mfa.OtherFactors {
	return []mfa.OtherFactors{s.Enrolled}
}

// NewStepUp is the step-up rule (mfa.StepUp) over every kind of second
// factor an account can have, for a function that only checks step-ups
// (no sealing key): window is STEP_UP_WINDOW (mfa.DefaultStepUpWindow
// when zero).
func NewStepUp(db statetable.DynamoDB, table string, now func() time.Time, window time.Duration) *mfa.StepUp {
	return mfa.NewStepUp(mfa.NewStore(db, table, nil, now), window, NewStore(db, table, now).Factors()...)
}

// EnrolledRead is the read of the account's WebAuthn user item as one of
// the reads a caller makes together (statetable.GetMany); Methods is
// Enrolled's answer from it.
type EnrolledRead struct {
	statetable.Read
	u userItem
}

// ReadEnrolled prepares the read behind Enrolled.
func ReadEnrolled(accountID string) *EnrolledRead {
	r := &EnrolledRead{}
	r.Key, r.Into = UserKey(accountID), &r.u
	return r
}

// Methods is ["passkey"] when the read found a passkey (Enrolled).
func (r *EnrolledRead) Methods() []string {
	if !r.Found || r.u.Count == 0 {
		return nil
	}
	return []string{mfa.MethodPasskey}
}
