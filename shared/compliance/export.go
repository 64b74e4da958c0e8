package compliance

import (
	"context"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

// Export holds the NDA acceptances and compliance requests in the export,
// as the compliance routes show them.
type Export struct {
	NDAAcceptances []NDAView     `json:"nda_acceptances"`
	Requests       []RequestView `json:"requests"`
}

// Exporter is this package's section of an account's export.
func Exporter(store *Store) lifecycle.Exporter {
	return lifecycle.Exporter{Section: "compliance", Owner: lifecycleOwner,
		Export: func(ctx context.Context, sub lifecycle.Subject) (any, error) {
			recs, err := store.Records(ctx, sub.AccountID)
			if err != nil {
				return nil, err
			}
			out := Export{NDAAcceptances: []NDAView{}, Requests: []RequestView{}}
			for _, a := range recs.NDAs {
				out.NDAAcceptances = append(out.NDAAcceptances, ViewNDA(a))
			}
			for _, r := range recs.Requests {
				out.Requests = append(out.Requests, ViewRequest(r))
			}
			return out, nil
		}}
}
