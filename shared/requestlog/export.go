package requestlog

import (
	"context"
	"time"

	"github.com/atrium-cdn/atrium/shared/lifecycle"
)

// Bounds of the request logs in an account's export.
const (
	// ExportItems is the most request-log items one export response carries.
	ExportItems = 1000
	// exportPage is the most items asked of DynamoDB in one query (the
	// reader's page size, as GET /v1/logs allows).
	exportPage = 100
	// exportQueries bounds the queries of one response, so that many
	// expired items not yet swept (filtered out after DynamoDB's limit)
	// cannot keep a response going: the rest follows by NextCursor.
	exportQueries = 2 * ExportItems / exportPage
)

// Export is up to ExportItems request-log items, newest first, as GET
// /v1/logs shows them; NextCursor is set when more may remain, and null
// once every item is exported.
type Export struct {
	Items      []Item  `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

// Export reads up to ExportItems of the account's live request logs,
// newest first, from the cursor on ("" for the newest), in pages of at
// most exportPage; it sets NextCursor when more may remain. A cursor that
// is not the reader's is ErrBadCursor. The key condition holds the
// account's own partition: no cursor reaches another account's items.
func (r *Reader) Export(ctx context.Context, accountID, cursor string) (Export, error) {
	now := r.now().UTC()
	q := ListQuery{AccountID: accountID, Cursor: cursor,
		// Nothing older is kept; nothing newer exists (a minute of clock skew allowed).
		Since: now.Add(-Retention), Until: now.Add(time.Minute)}
	out := Export{Items: []Item{}}
	for range exportQueries {
		q.Limit = min(exportPage, ExportItems-len(out.Items))
		page, err := r.List(ctx, q)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, page.Items...)
		if page.Next == "" {
			return out, nil
		}
		q.Cursor = page.Next
		if len(out.Items) >= ExportItems {
			break
		}
	}
	out.NextCursor = &q.Cursor // more may remain
	return out, nil
}

// Exporter is this package's section of an account's export: the newest
// ExportItems request logs (the rest follow by the export's cursor).
func (r *Reader) Exporter() lifecycle.Exporter {
	return lifecycle.Exporter{Section: "request_logs", Owner: lifecycleOwner,
		Export: func(ctx context.Context, sub lifecycle.Subject) (any, error) {
			return r.Export(ctx, sub.AccountID, "")
		}}
}
