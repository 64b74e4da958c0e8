package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

// AccountExport is the profile in the export: as GET /v1/account shows it,
// with what that leaves out.
type AccountExport struct {
	AccountView
	Status     string     `json:"status"`
	VerifiedAt *time.Time `json:"verified_at"`
}

// AccountExporter is identity's profile section of an account's export,
// from the account item read with the session.
func (s *Store) AccountExporter() lifecycle.Exporter {
	return lifecycle.Exporter{Section: "account", Owner: lifecycleOwner,
		Export: func(_ context.Context, sub lifecycle.Subject) (any, error) {
			var a Account
			if err := attributevalue.UnmarshalMap(sub.Item, &a); err != nil {
				return nil, fmt.Errorf("decode account: %w", err)
			}
			v := AccountExport{AccountView: ViewAccount(&a, s.Now()), Status: a.Status}
			if a.VerifiedAt != nil {
				t := a.VerifiedAt.UTC()
				v.VerifiedAt = &t
			}
			return v, nil
		}}
}

// SessionsExporter is identity's sessions section of an account's export,
// the session the export is asked with marked current.
func (s *Store) SessionsExporter() lifecycle.Exporter {
	return lifecycle.Exporter{Section: "sessions", Owner: lifecycleOwner,
		Export: func(ctx context.Context, sub lifecycle.Subject) (any, error) {
			list, err := s.Sessions(ctx, sub.AccountID)
			if err != nil {
				return nil, err
			}
			return ViewSessions(list, sub.SessionID), nil
		}}
}
