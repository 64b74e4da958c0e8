package throttle

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// eraseCounters is the deletion step that erases the counters kept under
// pseudonyms: this package's, and those other owners keep through it.
const eraseCounters = "counters"

// Eraser is this package's part of an account's deletion: the email caps'
// counters and the failed-login counter of the account's address, found by
// the address's pseudonym. Once the account item (and with it the address)
// is gone they cannot be found, and their TTL ends them.
func (s *Store) Eraser(keyer *pseudonym.Keyer) lifecycle.Eraser {
	return lifecycle.Eraser{Step: eraseCounters, Owner: lifecycleOwner,
		Erase: func(ctx context.Context, sub lifecycle.Subject, count lifecycle.Count) error {
			if sub.Email == "" {
				return nil
			}
			subject := keyer.Of(pseudonym.EmailDomain, sub.Email)
			// The five counters are independent: deleted at once, each
			// reporting whether it existed.
			keys := make([]statetable.Key, 0, len(MailKinds)+1)
			for _, kind := range MailKinds {
				keys = append(keys, RateKey(kind, subject))
			}
			keys = append(keys, FailureKey("login", subject))
			existed := make([]bool, len(keys))
			errs := make([]error, len(keys))
			var wg sync.WaitGroup
			for i, k := range keys {
				wg.Go(func() {
					out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table),
						Key: k.AV(), ReturnValues: types.ReturnValueAllOld})
					if err != nil {
						errs[i] = fmt.Errorf("delete counter: %w", err)
						return
					}
					existed[i] = out.Attributes != nil
				})
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				return err
			}
			rates, failures := 0, 0
			for i, ok := range existed {
				switch {
				case !ok:
				case i < len(MailKinds):
					rates++
				default:
					failures++
				}
			}
			if err := count("rate_counters", rates); err != nil {
				return err
			}
			if failures == 0 {
				return nil
			}
			return count("login_failure_records", failures)
		}}
}
