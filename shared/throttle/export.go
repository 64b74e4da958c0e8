package throttle

import (
	"context"
	"time"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
)

// FailuresExport is the consecutive failed logins of the account's address
// in the export.
type FailuresExport struct {
	Count         int       `json:"count"`
	LastFailureAt time.Time `json:"last_failure_at"`
	// LockNotified: the lock was announced (its email was due once).
	LockNotified bool `json:"lock_notified,omitempty"`
}

// Exporter is this package's section of an account's export: the
// failed-login counter of the account's address (found by the address's
// pseudonym), or null when there is none.
func (s *Store) Exporter(keyer *pseudonym.Keyer) lifecycle.Exporter {
	return lifecycle.Exporter{Section: "login_failures", Owner: lifecycleOwner,
		Export: func(ctx context.Context, sub lifecycle.Subject) (any, error) {
			f, err := s.LoginFailures(ctx, keyer.Of(pseudonym.EmailDomain, sub.Email))
			if err != nil || f.Count == 0 {
				return (*FailuresExport)(nil), err
			}
			return &FailuresExport{Count: f.Count, LastFailureAt: time.UnixMilli(f.LastMillis).UTC(), LockNotified: f.LockNotified}, nil
		}}
}
