package identity

import (
	"context"
	"time"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/plans"
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
			a, err := accountFrom(sub.Item)
			if err != nil {
				return nil, err
			}
			plan, err := plans.Of(a)
			if err != nil {
				return nil, err
			}
			v := AccountExport{AccountView: ViewAccount(a, plan.PlanAt(s.Now())), Status: a.Status}
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
