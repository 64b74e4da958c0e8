package sources

import (
	"context"
	"time"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

// Export is a source as the export shows it: its description, never its
// credentials (only the access key id's last four characters).
type Export struct {
	ID              string             `json:"id"`
	Name            string             `json:"name"`
	Type            string             `json:"type"`
	Bucket          string             `json:"bucket"`
	Region          string             `json:"region"`
	Prefix          string             `json:"prefix"`
	Endpoint        string             `json:"endpoint"`
	AccessKeyIDHint string             `json:"access_key_id_hint"`
	CreatedAt       time.Time          `json:"created_at"`
	UpdatedAt       time.Time          `json:"updated_at"`
	Verification    VerificationExport `json:"verification"`
}

// VerificationExport is a source's last read check in the export.
type VerificationExport struct {
	Status    string    `json:"status"`
	CheckedAt time.Time `json:"checked_at"`
}

// Exporter is this package's section of an account's export: every source.
func Exporter(store *Store) lifecycle.Exporter {
	return lifecycle.Exporter{Section: "sources", Owner: lifecycleOwner,
		Export: func(ctx context.Context, sub lifecycle.Subject) (any, error) {
			list, err := store.List(ctx, sub.AccountID)
			if err != nil {
				return nil, err
			}
			out := make([]Export, 0, len(list))
			for _, s := range list {
				out = append(out, Export{ID: s.ID, Name: s.Name, Type: s.Type, Bucket: s.Bucket, Region: s.Region,
					Prefix: s.Prefix, Endpoint: s.Endpoint, AccessKeyIDHint: s.AccessKeyHint,
					CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC(),
					Verification: VerificationExport{Status: s.Verification.Status, CheckedAt: s.Verification.CheckedAt.UTC()}})
			}
			return out, nil
		}}
}
