package accountapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/throttle"
	"github.com/atrium-cdn/atrium/shared/web"
)

// ExportFormat names the shape of the export document (P8).
const ExportFormat = "atrium-export-v1"

// Bounds of GET /v1/account/export.
const (
	// exportLogItems is the most request-log items one response carries.
	exportLogItems = 1000
	// exportLogPage is the most items asked of DynamoDB in one query (the
	// reader's page size, as GET /v1/logs allows).
	exportLogPage = 100
	// exportLogQueries bounds the queries of one response, so that many
	// expired items not yet swept (filtered out after DynamoDB's limit)
	// cannot keep a response going: the rest follows by next_cursor.
	exportLogQueries = 2 * exportLogItems / exportLogPage
	// maxExportQuery bounds the raw query string: one cursor (at most 128
	// bytes) and its name fit with room to spare.
	maxExportQuery = 256
	// cursorParam names the continuation of the request logs.
	cursorParam = "request_logs_cursor"
)

// coveredKinds are the kinds of item in an account's partition (the sort
// key up to its first "#") that the export accounts for: the profile,
// sessions and sources are itemised; the pointers to single-use tokens
// (which hold a token's hash) are declared in withheld. Any other kind
// found is named in other_records and logged, never silently left out.
var coveredKinds = []string{"ACCOUNT", kindOf(statetable.SessionPrefix), kindOf(statetable.SourcePrefix), kindOf(statetable.TokenRefPrefix),
	kindOf(compliance.NDAPrefix), kindOf(compliance.RequestPrefix)}

// heldElsewhere says, in plain English, what is held about the account
// outside the state and request-log tables.
var heldElsewhere = []string{
	"Stripe holds the billing email address, card details and invoices of a paying customer; " +
		"see and download them in Stripe's billing portal (POST /v1/billing/portal). Atrium never stores them.",
	"Our functions' log lines are kept in Amazon CloudWatch Logs for 90 days. They carry your account id " +
		"and request ids, never your email address, IP address, password or tokens.",
}

// withheld says what is held but never exported, and why.
var withheld = []string{
	"Your password is stored only as an argon2id hash, which is never exported.",
	"Session tokens are never stored; each session keeps only the SHA-256 of its token's secret, which is never exported.",
	"Each source's access key id and secret access key are kept encrypted in AWS Secrets Manager and are never exported; " +
		"only the last four characters of the access key id are shown.",
	"Email verification and password reset links are stored only as SHA-256 hashes (with a pointer in your account's records), " +
		"for at most 24 hours and 1 hour; they are never exported.",
	"The failed-login counter is stored under a keyed hash (pseudonym) of your email address, never the address itself.",
}

// accountExport is the profile as GET /v1/account shows it, with what that
// leaves out.
type accountExport struct {
	identity.AccountView
	Status     string     `json:"status"`
	VerifiedAt *time.Time `json:"verified_at"`
}

// billingExport is the billing state Atrium keeps (Stripe keeps the rest).
type billingExport struct {
	Plan                 string     `json:"plan"`
	SubscriptionStatus   string     `json:"subscription_status"`
	CurrentPeriodEnd     *time.Time `json:"current_period_end"`
	CancelAtPeriodEnd    bool       `json:"cancel_at_period_end"`
	GraceUntil           *time.Time `json:"grace_until"`
	StripeCustomerID     *string    `json:"stripe_customer_id"`
	StripeSubscriptionID *string    `json:"stripe_subscription_id"`
}

// sourceExport is a source's description: never its credentials.
type sourceExport struct {
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
	Verification    verificationExport `json:"verification"`
}

type verificationExport struct {
	Status    string    `json:"status"`
	CheckedAt time.Time `json:"checked_at"`
}

// failuresExport is the consecutive failed logins of the account's address.
type failuresExport struct {
	Count         int       `json:"count"`
	LastFailureAt time.Time `json:"last_failure_at"`
}

// requestLogsExport is up to exportLogItems request-log items, newest
// first, as GET /v1/logs shows them; NextCursor is set when more may remain.
type requestLogsExport struct {
	Items      []requestlog.Item `json:"items"`
	NextCursor *string           `json:"next_cursor"` // null once every item is exported
}

// otherRecord counts items of a kind the export does not render yet.
type otherRecord struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
	Note  string `json:"note"`
}

// exportDocument is the first response of GET /v1/account/export.
type exportDocument struct {
	Format        string                 `json:"format"`
	ExportedAt    time.Time              `json:"exported_at"`
	Account       accountExport          `json:"account"`
	Billing       billingExport          `json:"billing"`
	Sources       []sourceExport         `json:"sources"`
	Sessions      []identity.SessionView `json:"sessions"`
	LoginFailures *failuresExport        `json:"login_failures"`
	Compliance    complianceExport       `json:"compliance"`
	RequestLogs   requestLogsExport      `json:"request_logs"`
	OtherRecords  []otherRecord          `json:"other_records"`
	HeldElsewhere []string               `json:"held_elsewhere"`
	Withheld      []string               `json:"withheld"`
}

// complianceExport holds the NDA acceptances and compliance requests, as
// the compliance routes show them.
type complianceExport struct {
	NDAAcceptances []compliance.NDAView     `json:"nda_acceptances"`
	Requests       []compliance.RequestView `json:"requests"`
}

// exportContinuation is a later response: the next request logs only.
type exportContinuation struct {
	Format      string            `json:"format"`
	ExportedAt  time.Time         `json:"exported_at"`
	RequestLogs requestLogsExport `json:"request_logs"`
}

// exporter gathers everything held about an account. It only reads.
type exporter struct {
	db       statetable.DynamoDB // the state table, for the census of the partition
	table    string
	sessions *identity.Store
	sources  *sources.Store
	records  *compliance.Store
	throttle *throttle.Store
	keyer    *pseudonym.Keyer
	logs     *requestlog.Reader
	logger   *slog.Logger
	now      func() time.Time
}

// export answers GET /v1/account/export[?request_logs_cursor=…].
func (e *exporter) export(w http.ResponseWriter, r *http.Request) error {
	cursor, err := parseExportQuery(r.URL.RawQuery)
	if err != nil {
		return err
	}
	ctx := r.Context()
	me := identity.SessionFrom(ctx)
	now := e.now().UTC()
	var doc any
	if cursor != "" {
		logs, err := e.requestLogs(ctx, me.AccountID, cursor, now)
		if err != nil {
			return err
		}
		doc = exportContinuation{Format: ExportFormat, ExportedAt: now, RequestLogs: logs}
	} else {
		full, err := e.document(ctx, me, now)
		if err != nil {
			return err
		}
		doc = full
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="atrium-export-%s.json"`, me.AccountID))
	web.WriteJSON(w, http.StatusOK, doc)
	return nil
}

// document reads everything held about the caller's account.
func (e *exporter) document(ctx context.Context, me *identity.Session, now time.Time) (*exportDocument, error) {
	rec := &billing.Record{} // read with the session, which only an active account's authenticates
	if err := me.DecodeAccount(rec); err != nil {
		return nil, err
	}
	doc := &exportDocument{Format: ExportFormat, ExportedAt: now,
		Account: viewAccount(&rec.Account, now), Billing: viewBilling(rec, now),
		Sources: []sourceExport{}, Sessions: []identity.SessionView{}, OtherRecords: []otherRecord{},
		HeldElsewhere: heldElsewhere, Withheld: withheld}

	srcs, err := e.sources.List(ctx, me.AccountID)
	if err != nil {
		return nil, err
	}
	for _, s := range srcs {
		doc.Sources = append(doc.Sources, viewSource(s))
	}
	sessions, err := e.sessions.Sessions(ctx, me.AccountID)
	if err != nil {
		return nil, err
	}
	doc.Sessions = identity.ViewSessions(sessions, me.ID)
	// The counter is keyed by the pseudonym of the (normalised, as stored) address.
	f, err := e.throttle.LoginFailures(ctx, e.keyer.Of(pseudonym.EmailDomain, rec.Email))
	if err != nil {
		return nil, err
	}
	if f.Count > 0 {
		doc.LoginFailures = &failuresExport{Count: f.Count, LastFailureAt: time.UnixMilli(f.LastMillis).UTC()}
	}
	recs, err := e.records.Records(ctx, me.AccountID)
	if err != nil {
		return nil, err
	}
	doc.Compliance = complianceExport{NDAAcceptances: []compliance.NDAView{}, Requests: []compliance.RequestView{}}
	for _, a := range recs.NDAs {
		doc.Compliance.NDAAcceptances = append(doc.Compliance.NDAAcceptances, compliance.ViewNDA(a))
	}
	for _, r := range recs.Requests {
		doc.Compliance.Requests = append(doc.Compliance.Requests, compliance.ViewRequest(r))
	}
	if doc.RequestLogs, err = e.requestLogs(ctx, me.AccountID, "", now); err != nil {
		return nil, err
	}
	if doc.OtherRecords, err = e.otherRecords(ctx, me.AccountID); err != nil {
		return nil, err
	}
	return doc, nil
}

func viewAccount(a *identity.Account, now time.Time) accountExport {
	v := accountExport{AccountView: identity.ViewAccount(a, now), Status: a.Status}
	if a.VerifiedAt != nil {
		t := a.VerifiedAt.UTC()
		v.VerifiedAt = &t
	}
	return v
}

func viewBilling(rec *billing.Record, now time.Time) billingExport {
	v := billingExport{Plan: rec.PlanAt(now), SubscriptionStatus: rec.Status, CancelAtPeriodEnd: rec.CancelAtPeriodEnd}
	if v.SubscriptionStatus == "" {
		v.SubscriptionStatus = billing.StatusNone
	}
	epoch := func(sec int64) *time.Time {
		if sec <= 0 {
			return nil
		}
		t := time.Unix(sec, 0).UTC()
		return &t
	}
	v.CurrentPeriodEnd, v.GraceUntil = epoch(rec.CurrentPeriodEnd), epoch(rec.PlanGraceUntil)
	if rec.StripeCustomerID != "" {
		v.StripeCustomerID = aws.String(rec.StripeCustomerID)
	}
	if rec.SubscriptionID != "" {
		v.StripeSubscriptionID = aws.String(rec.SubscriptionID)
	}
	return v
}

func viewSource(s *sources.Source) sourceExport {
	return sourceExport{ID: s.ID, Name: s.Name, Type: s.Type, Bucket: s.Bucket, Region: s.Region, Prefix: s.Prefix,
		Endpoint: s.Endpoint, AccessKeyIDHint: s.AccessKeyHint, CreatedAt: s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC(),
		Verification: verificationExport{Status: s.Verification.Status, CheckedAt: s.Verification.CheckedAt.UTC()}}
}

// requestLogs reads up to exportLogItems of the account's live request
// logs, newest first, from the cursor on ("" for the newest), in pages of
// at most exportLogPage; it sets NextCursor when more may remain. The
// reader's key condition holds the caller's own partition: no cursor
// reaches another account's items.
func (e *exporter) requestLogs(ctx context.Context, accountID, cursor string, now time.Time) (requestLogsExport, error) {
	q := requestlog.ListQuery{AccountID: accountID, Cursor: cursor,
		// Nothing older is kept; nothing newer exists (a minute of clock skew allowed).
		Since: now.Add(-requestlog.Retention), Until: now.Add(time.Minute)}
	out := requestLogsExport{Items: []requestlog.Item{}}
	for range exportLogQueries {
		q.Limit = min(exportLogPage, exportLogItems-len(out.Items))
		page, err := e.logs.List(ctx, q)
		if errors.Is(err, requestlog.ErrBadCursor) {
			return out, badCursor()
		}
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, page.Items...)
		if page.Next == "" {
			return out, nil
		}
		q.Cursor = page.Next
		if len(out.Items) >= exportLogItems {
			break
		}
	}
	out.NextCursor = &q.Cursor // more may remain
	return out, nil
}

// otherRecords counts the items of the account's partition whose kind the
// export does not render, so that data a later feature keeps there is at
// least declared (and the gap logged) rather than silently left out. Only
// the sort keys and expiry times are read.
func (e *exporter) otherRecords(ctx context.Context, accountID string) ([]otherRecord, error) {
	counts := map[string]int{}
	err := statetable.EachInPartition(ctx, e.db, e.table, statetable.AccountPartition(accountID), "",
		[]string{statetable.SK, statetable.ExpiresAt}, func(item map[string]types.AttributeValue) error {
			if statetable.Expired(item, e.now()) {
				return nil // gone for every read; TTL removes it
			}
			var sk string
			if v, ok := item[statetable.SK].(*types.AttributeValueMemberS); ok {
				sk = v.Value
			}
			if kind := kindOf(sk); !slices.Contains(coveredKinds, kind) {
				counts[kind]++
			}
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("census of the account's items: %w", err)
	}
	out := []otherRecord{}
	for kind, n := range counts {
		out = append(out, otherRecord{Kind: kind, Count: n,
			Note: "Held in your account's records but not yet itemised by this export; ask support for its content."})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	if len(out) > 0 {
		e.logger.ErrorContext(ctx, "export does not itemise every kind of the account's items", "account_id", accountID,
			"kinds", len(out), "first_kind", out[0].Kind)
	}
	return out, nil
}

// kindOf is an item's kind: its sort key up to the first "#", reduced to
// the characters keys are made of (a kind is shown to the customer).
func kindOf(sk string) string {
	kind, _, _ := strings.Cut(sk, "#")
	kind = strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' {
			return r
		}
		return -1
	}, kind)
	if kind == "" || len(kind) > 40 {
		return "UNKNOWN"
	}
	return kind
}

// parseExportQuery accepts no parameter (the whole export) or one
// request_logs_cursor (the next request logs). The raw query is bounded
// before it is parsed; nothing of a bad value is echoed.
func parseExportQuery(raw string) (cursor string, err error) {
	if raw == "" {
		return "", nil
	}
	if len(raw) > maxExportQuery {
		return "", web.Invalid(web.FieldError{Field: cursorParam, Code: "query_too_long",
			Detail: fmt.Sprintf("the query string must be at most %d bytes", maxExportQuery)})
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return "", web.Invalid(web.FieldError{Field: cursorParam, Code: "malformed_query",
			Detail: "the query string must be well-formed (application/x-www-form-urlencoded)"})
	}
	var f []web.FieldError
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if name != cursorParam {
			f = append(f, web.FieldError{Field: name, Code: "unknown_parameter", Detail: "is not a parameter of this route"})
		} else if len(v[name]) > 1 {
			f = append(f, web.FieldError{Field: name, Code: "repeated", Detail: "may be given once"})
		}
	}
	if vals, ok := v[cursorParam]; ok && len(vals) == 1 {
		cursor = vals[0]
		if !validCursorShape(cursor) {
			f = append(f, badCursorField)
		}
	}
	if len(f) > 0 {
		return "", web.Invalid(f...)
	}
	return cursor, nil
}

var badCursorField = web.FieldError{Field: cursorParam, Code: "invalid_cursor",
	Detail: "must be a request_logs.next_cursor from an earlier export"}

func badCursor() error { return web.Invalid(badCursorField) }

// validCursorShape checks what a reader's cursor looks like (1 to 128
// characters of unpadded URL-safe base64); the reader checks the rest.
func validCursorShape(c string) bool {
	if c == "" || len(c) > 128 {
		return false
	}
	for _, r := range c {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
