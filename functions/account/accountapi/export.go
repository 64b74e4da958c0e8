package accountapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/passkeys"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/throttle"
	"github.com/atrium-cdn/atrium/shared/web"
)

// ExportFormat names the shape of the export document (P8).
const ExportFormat = "atrium-export-v1"

// Bounds of GET /v1/account/export's query.
const (
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
var coveredKinds = []string{"ACCOUNT", kindOf(identity.SessionPrefix), kindOf(sources.SourcePrefix), kindOf(identity.TokenRefPrefix),
	kindOf(compliance.NDAPrefix), kindOf(compliance.RequestPrefix), kindOf(mfa.Prefix),
	kindOf(passkeys.CredentialPrefix), kindOf(passkeys.UserSK), kindOf(passkeys.ChallengePrefix)}

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
	"Each passkey's public key is kept to check its signatures and is not exported; the challenges of passkey " +
		"ceremonies (random, single use) are kept at most 5 minutes and are not exported.",
	"Each authenticator app's secret is kept sealed (AES-256-GCM, under a key only the sign-in function can read) and is never exported; " +
		"recovery codes are kept only as SHA-256 hashes and sign-ins waiting for a second factor only as a token's hash, for five minutes.",
}

// otherRecord counts items of a kind the export does not render yet.
type otherRecord struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
	Note  string `json:"note"`
}

// exportContinuation is a later response: the next request logs only.
type exportContinuation struct {
	Format      string            `json:"format"`
	ExportedAt  time.Time         `json:"exported_at"`
	RequestLogs requestlog.Export `json:"request_logs"`
}

// ExportParts are the stores the owners' exporters read through.
type ExportParts struct {
	Accounts   *identity.Store
	Billing    *billing.Store
	Sources    *sources.Store
	Throttle   *throttle.Store
	Keyer      *pseudonym.Keyer // the failed-login counter is kept under the address's pseudonym
	Compliance *compliance.Store
	Passkeys   *passkeys.Store
	Logs       *requestlog.Reader
	// MFA and MFAThrottle read the second factors and their failure count.
	MFA         *mfa.Store
	MFAThrottle *throttle.Store
}

// Exporters lists the owners' sections of the export, in the document's
// order. A test checks that every registered kind's Export section is
// filled here by an exporter of its owner (lifecycle.CheckExporters).
func Exporters(p ExportParts) []lifecycle.Exporter {
	return []lifecycle.Exporter{
		p.Accounts.AccountExporter(),
		billing.Exporter(p.Billing),
		sources.Exporter(p.Sources),
		p.Accounts.SessionsExporter(),
		passkeys.Exporter(p.Passkeys),
		p.Throttle.Exporter(p.Keyer),
		mfa.Exporter(p.MFA, p.MFAThrottle),
		compliance.Exporter(p.Compliance),
		p.Logs.Exporter(),
	}
}

// exporter gathers everything held about an account. It only reads.
type exporter struct {
	db       statetable.DynamoDB // the state table, for the census of the partition
	table    string
	sections []lifecycle.Exporter
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
		logs, err := e.logs.Export(ctx, me.AccountID, cursor)
		if err != nil {
			return exportError(err)
		}
		doc = exportContinuation{Format: ExportFormat, ExportedAt: now, RequestLogs: logs}
	} else {
		full, err := e.document(ctx, me, now)
		if err != nil {
			return exportError(err)
		}
		doc = full
	}
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="atrium-export-%s.json"`, me.AccountID))
	web.WriteJSON(w, http.StatusOK, doc)
	return nil
}

// exportError answers a cursor the reader does not recognise as a bad
// parameter.
func exportError(err error) error {
	if errors.Is(err, requestlog.ErrBadCursor) {
		return badCursor()
	}
	return err
}

// document reads everything held about the caller's account: each owner's
// section in turn, then what no section shows (other_records), what is held
// elsewhere and what is withheld. The account item was read with the
// session, which only an active account's authenticates.
func (e *exporter) document(ctx context.Context, me *identity.Session, now time.Time) (*orderedObject, error) {
	item := me.AccountItem()
	if item == nil {
		return nil, identity.ErrNotFound
	}
	var a identity.Account
	if err := attributevalue.UnmarshalMap(item, &a); err != nil {
		return nil, fmt.Errorf("decode account: %w", err)
	}
	sub := lifecycle.Subject{AccountID: me.AccountID, Email: a.Email, Item: item, SessionID: me.ID}
	doc := &orderedObject{}
	doc.add("format", ExportFormat)
	doc.add("exported_at", now)
	for _, sec := range e.sections {
		v, err := sec.Export(ctx, sub)
		if err != nil {
			return nil, fmt.Errorf("export %s: %w", sec.Section, err)
		}
		doc.add(sec.Section, v)
	}
	other, err := e.otherRecords(ctx, me.AccountID)
	if err != nil {
		return nil, err
	}
	doc.add("other_records", other)
	doc.add("held_elsewhere", heldElsewhere)
	doc.add("withheld", withheld)
	return doc, nil
}

// orderedObject is a JSON object whose members keep the order they were
// added in (a map would sort them), so the export reads top-down.
type orderedObject struct {
	names  []string
	values []any
}

func (o *orderedObject) add(name string, v any) {
	o.names, o.values = append(o.names, name), append(o.values, v)
}

// MarshalJSON writes the members in order.
func (o *orderedObject) MarshalJSON() ([]byte, error) {
	buf := []byte{'{'}
	for i, name := range o.names {
		if i > 0 {
			buf = append(buf, ',')
		}
		k, err := json.Marshal(name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(o.values[i])
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", name, err)
		}
		buf = append(append(append(buf, k...), ':'), v...)
	}
	return append(buf, '}'), nil
}

// otherRecords counts the items of the account's partition whose kind the
// export does not render, so that data a later feature keeps there is at
// least declared (and the gap logged) rather than silently left out. Only
// the sort keys and expiry times are read.
func (e *exporter) otherRecords(ctx context.Context, accountID string) ([]otherRecord, error) {
	counts := map[string]int{}
	err := statetable.EachInPartition(ctx, e.db, e.table, identity.AccountPartition(accountID), "",
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
