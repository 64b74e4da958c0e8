package mfa

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/web"
)

// DefaultStepUpWindow is how recent a proof of a factor must be for a
// sensitive change (STEP_UP_WINDOW).
const DefaultStepUpWindow = 5 * time.Minute

// OtherFactors reports which second-factor methods an account has beyond
// this package's (shared/passkeys: "passkey" when it has a passkey).
type OtherFactors func(ctx context.Context, accountID string) ([]string, error)

// StepUp is the rule of sensitive changes (adding or removing a factor,
// new recovery codes, changing the password, deleting the account,
// changing a source's keys): the session must have proved a factor within
// Window; and, when the account has an active second factor, that proof
// must have included one. So a session made with the password alone (one
// made before the first factor was enrolled, say) must step up with a
// second factor first; it is never upgraded silently.
type StepUp struct {
	store  *Store
	window time.Duration
	others []OtherFactors
}

// NewStepUp returns the rule with its window (DefaultStepUpWindow when
// zero) over the account's factors in store and others.
func NewStepUp(store *Store, window time.Duration, others ...OtherFactors) *StepUp {
	if window <= 0 {
		window = DefaultStepUpWindow
	}
	return &StepUp{store: store, window: window, others: others}
}

// Window is how recent a proof must be.
func (g *StepUp) Window() time.Duration { return g.window }

// ErrStepUpRequired reports a session whose last proof is too old or too
// weak for the change asked.
var ErrStepUpRequired = errors.New("mfa: step-up required")

// Methods returns the second-factor methods the account has active
// ("totp", "recovery_code" while codes are left, and others').
func (g *StepUp) Methods(ctx context.Context, accountID string) ([]string, error) {
	return g.store.Methods(ctx, accountID, g.others...)
}

// Methods returns the account's active second-factor methods: "totp" when
// it has an active TOTP factor, "recovery_code" while it has unused codes,
// and those others report (MethodsOf, from reads made here; the recovery
// codes are read only when there is a factor).
func (s *Store) Methods(ctx context.Context, accountID string, others ...OtherFactors) ([]string, error) {
	list, err := s.Factors(ctx, accountID)
	if err != nil {
		return nil, err
	}
	var more []string
	for _, o := range others {
		m, err := o(ctx, accountID)
		if err != nil {
			return nil, err
		}
		more = append(more, m...)
	}
	left := 0
	if len(MethodsOf(list, more, 0)) > 0 {
		if left, err = s.RecoveryLeft(ctx, accountID); err != nil {
			return nil, err
		}
	}
	return MethodsOf(list, more, left), nil
}

// MethodsOf is the one rule of an account's active second-factor methods,
// from what was read: "totp" when one of its factors is an active TOTP
// factor, the others' methods (passkeys), and "recovery_code" when it has
// one of those and unused recovery codes (recoveryLeft).
func MethodsOf(factors []*Factor, others []string, recoveryLeft int) []string {
	var out []string
	if len(Active(factors)) > 0 {
		out = append(out, MethodTOTP)
	}
	out = append(out, others...)
	if len(out) > 0 && recoveryLeft > 0 {
		out = append(out, MethodRecoveryCode)
	}
	return out
}

// Fresh checks the session against the rule: nil, ErrStepUpRequired, or
// a failure to read the account's factors (read only when the last proof
// was the password alone).
func (g *StepUp) Fresh(ctx context.Context, sess *identity.Session) error {
	at, methods := sess.LastProof()
	if g.store.Now().Sub(at) > g.window {
		return ErrStepUpRequired
	}
	if slices.ContainsFunc(methods, SecondFactor) {
		return nil
	}
	has, err := g.Methods(ctx, sess.AccountID)
	if err != nil {
		return err
	}
	if len(has) > 0 {
		return ErrStepUpRequired
	}
	return nil
}

// Require runs next only for a session that passes Fresh (behind
// identity's Require); otherwise 403 step_up_required.
func (g *StepUp) Require(next web.HandlerFunc) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		err := g.Fresh(r.Context(), identity.SessionFrom(r.Context()))
		if errors.Is(err, ErrStepUpRequired) {
			return web.CodeStepUpRequired.New()
		}
		if err != nil {
			return err
		}
		return next(w, r)
	}
}
