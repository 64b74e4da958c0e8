package passkeys

import (
	"context"
	"encoding/base64"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

// Export is the passkeys section of an account's export: the user handle
// the account's passkeys carry (empty before the first registration) and
// each passkey as the list shows it — never a public key.
type Export struct {
	UserHandle string    `json:"user_handle"`
	Passkeys   []Passkey `json:"passkeys"`
}

// Exporter is the passkeys' section of an account's export.
func Exporter(s *Store) lifecycle.Exporter {
	return lifecycle.Exporter{Section: ExportSection, Owner: lifecycleOwner,
		Export: func(ctx context.Context, sub lifecycle.Subject) (any, error) {
			h, err := s.ExistingHandle(ctx, sub.AccountID)
			if err != nil {
				return nil, err
			}
			list, err := s.List(ctx, sub.AccountID)
			if err != nil {
				return nil, err
			}
			out := Export{Passkeys: list}
			if h != nil {
				out.UserHandle = base64.RawURLEncoding.EncodeToString(h)
			}
			return out, nil
		}}
}
