package throttle

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
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
			rates := 0
			for _, kind := range MailKinds {
				n, err := s.ForgetClient(ctx, kind, subject)
				if err != nil {
					return err
				}
				rates += n
			}
			if err := count("rate_counters", rates); err != nil {
				return err
			}
			out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table),
				Key: FailureKey("login", subject).AV(), ReturnValues: types.ReturnValueAllOld})
			if err != nil {
				return fmt.Errorf("delete failed-login counter: %w", err)
			}
			if out.Attributes == nil {
				return nil
			}
			return count("login_failure_records", 1)
		}}
}
