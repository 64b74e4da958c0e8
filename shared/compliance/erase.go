package compliance

import (
	"context"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// eraseCounters is the deletion step that erases the counters kept under
// pseudonyms (package throttle's step of that name); the NDA acceptances
// and requests, in the account's partition, go with the account itself.
const (
	eraseCounters = "counters"
	eraseAccount  = "account"
)

// Eraser is this package's part of an account's deletion: the counters of
// the account's compliance requests, under the account id's pseudonym.
func Eraser(limits *throttle.Store, keyer *pseudonym.Keyer) lifecycle.Eraser {
	return lifecycle.Eraser{Step: eraseCounters, Owner: lifecycleOwner,
		Erase: func(ctx context.Context, sub lifecycle.Subject, count lifecycle.Count) error {
			n, err := limits.ForgetClient(ctx, RateAction, keyer.Of(RateDomain, sub.AccountID))
			if err != nil {
				return err
			}
			return count("rate_counters", n)
		}}
}
