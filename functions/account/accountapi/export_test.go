package accountapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/passkeys"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/throttle"
	"github.com/atrium-cdn/atrium/shared/web"
)

// The export document as a client decodes it; decoding refuses any other
// member, so a member added (or leaked) fails the tests until it is here.
type (
	exportDoc struct {
		Format     string         `json:"format"`
		ExportedAt time.Time      `json:"exported_at"`
		Account    *exportAccount `json:"account"`
		Billing    *exportBilling `json:"billing"`
		Sources    []exportSource `json:"sources"`
		Sessions   []exportSess   `json:"sessions"`
		Passkeys   *struct {
			UserHandle string             `json:"user_handle"`
			Passkeys   []passkeys.Passkey `json:"passkeys"`
		} `json:"passkeys"`
		LoginFailures *struct {
			Count         int       `json:"count"`
			LastFailureAt time.Time `json:"last_failure_at"`
		} `json:"login_failures"`
		RequestLogs *struct {
			Items      []requestlog.Item `json:"items"`
			NextCursor string            `json:"next_cursor"`
		} `json:"request_logs"`
		Compliance *struct {
			NDAAcceptances []compliance.NDAView     `json:"nda_acceptances"`
			Requests       []compliance.RequestView `json:"requests"`
		} `json:"compliance"`
		SecondFactors *mfa.ExportView `json:"second_factors"`
		OtherRecords  []otherRecord   `json:"other_records"`
		HeldElsewhere []string        `json:"held_elsewhere"`
		Withheld      []string        `json:"withheld"`
	}
	exportAccount struct {
		ID            string     `json:"id"`
		Email         string     `json:"email"`
		Plan          string     `json:"plan"`
		Status        string     `json:"status"`
		EmailVerified bool       `json:"email_verified"`
		CreatedAt     time.Time  `json:"created_at"`
		VerifiedAt    *time.Time `json:"verified_at"`
	}
	exportBilling struct {
		Plan                 string     `json:"plan"`
		SubscriptionStatus   string     `json:"subscription_status"`
		CurrentPeriodEnd     *time.Time `json:"current_period_end"`
		CancelAtPeriodEnd    bool       `json:"cancel_at_period_end"`
		GraceUntil           *time.Time `json:"grace_until"`
		StripeCustomerID     *string    `json:"stripe_customer_id"`
		StripeSubscriptionID *string    `json:"stripe_subscription_id"`
	}
	exportSource struct {
		ID              string    `json:"id"`
		Name            string    `json:"name"`
		Type            string    `json:"type"`
		Bucket          string    `json:"bucket"`
		Region          string    `json:"region"`
		Prefix          string    `json:"prefix"`
		Endpoint        string    `json:"endpoint"`
		AccessKeyIDHint string    `json:"access_key_id_hint"`
		CreatedAt       time.Time `json:"created_at"`
		UpdatedAt       time.Time `json:"updated_at"`
		Verification    struct {
			Status    string    `json:"status"`
			CheckedAt time.Time `json:"checked_at"`
		} `json:"verification"`
	}
	exportSess struct {
		ID         string    `json:"id"`
		CreatedAt  time.Time `json:"created_at"`
		LastUsedAt time.Time `json:"last_used_at"`
		ExpiresAt  time.Time `json:"expires_at"`
		Current    bool      `json:"current"`
		// The factors that made it, and its last proof of one.
		AMR                 []string  `json:"amr"`
		ReauthenticatedAt   time.Time `json:"reauthenticated_at"`
		ReauthenticatedWith []string  `json:"reauthenticated_with"`
	}
)

// exported is one 200 answer of GET /v1/account/export.
type exported struct {
	raw  []byte
	doc  exportDoc
	full bool // the first response (the whole document), not a continuation
}

// export calls GET /v1/account/export?query with the token and decodes a
// 200 strictly: the first response must have every member of the document,
// a continuation only format, exported_at and request_logs.
func (f *fixture) export(t *testing.T, query, token string) exported {
	t.Helper()
	defer f.clock.Advance(time.Second)
	target := "/v1/account/export"
	if query != "" {
		target += "?" + query
	}
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET %s: %d: %s", target, rec.Code, rec.Body)
	}
	acct := strings.SplitN(token, ".", 2)[0]
	for h, want := range map[string]string{
		"Content-Type":        "application/json",
		"Content-Disposition": `attachment; filename="atrium-export-` + acct + `.json"`,
		"Cache-Control":       "no-store",
	} {
		if got := rec.Header().Get(h); got != want {
			t.Errorf("GET %s: %s %q, want %q", target, h, got, want)
		}
	}
	e := exported{raw: rec.Body.Bytes()}
	dec := json.NewDecoder(bytes.NewReader(e.raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e.doc); err != nil {
		t.Fatalf("GET %s: body does not decode: %v: %s", target, err, e.raw)
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(e.raw, &members); err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(func(yield func(string) bool) {
		for k := range members {
			if !yield(k) {
				return
			}
		}
	})
	e.full = query == ""
	want := []string{"exported_at", "format", "request_logs"}
	if e.full {
		want = []string{"account", "billing", "compliance", "exported_at", "format", "held_elsewhere", "login_failures",
			"other_records", "passkeys", "request_logs", "second_factors", "sessions", "sources", "withheld"}
	}
	if !slices.Equal(got, want) {
		t.Errorf("GET %s: members %v, want %v", target, got, want)
	}
	if e.doc.Format != "atrium-export-v1" || !e.doc.ExportedAt.Equal(f.clock.Now().UTC()) || e.doc.RequestLogs == nil || e.doc.RequestLogs.Items == nil {
		t.Errorf("GET %s: format %q, exported_at %v (now %v), request_logs %v", target, e.doc.Format, e.doc.ExportedAt, f.clock.Now(), e.doc.RequestLogs)
	}
	if e.full && (e.doc.Sources == nil || e.doc.Sessions == nil || e.doc.OtherRecords == nil) {
		t.Errorf("GET %s: sources, sessions and other_records must be arrays, even empty: %s", target, e.raw)
	}
	return e
}

// exportAll follows next_cursor from the first response and returns every
// request-log item, in order, and the responses.
func (f *fixture) exportAll(t *testing.T, token string) (items []requestlog.Item, pages []exported) {
	t.Helper()
	query := ""
	for {
		e := f.export(t, query, token)
		pages = append(pages, e)
		if n := len(e.doc.RequestLogs.Items); n > 1000 {
			t.Errorf("response %d holds %d request-log items; at most 1000", len(pages), n)
		}
		items = append(items, e.doc.RequestLogs.Items...)
		next := e.doc.RequestLogs.NextCursor
		if next == "" {
			return items, pages
		}
		if len(pages) > 20 {
			t.Fatal("more than 20 responses")
		}
		query = "request_logs_cursor=" + next
	}
}

// person is an account with every kind of data the export covers, and the
// secrets that must never appear in an export.
type person struct {
	id, email         string
	token, token2     string // two live sessions; token is the exporter's
	sessionIDs        []string
	sourceIDs         []string
	customerID, subID string
	complianceID      string   // one compliance request (after an NDA acceptance)
	requestIDs        []string // live request-log items, newest first
	hidden            []string // request ids stored but expired or too old: never exported
	secrets           []string // never in any export, nor in a log line
}

// exportDeps are the stores and keys a test writes an account's data with,
// the way the other functions write it.
type exportDeps struct {
	billing  *billing.Store
	sources  *sources.Store
	vault    *sources.Vault
	throttle *throttle.Store
	keyer    *pseudonym.Keyer
	key      string // the pseudonym key itself
	table    string
}

func (f *fixture) exportDeps(t *testing.T) *exportDeps {
	t.Helper()
	ctx := context.Background()
	env := f.stack.Env("account")
	sm := stack.SecretsManagerClient(f.stack.SecretsManagerEndpoint)
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(env["CLIENT_KEY_SECRET_ARN"])})
	if err != nil {
		t.Fatal(err)
	}
	var key struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal([]byte(aws.ToString(out.SecretString)), &key); err != nil {
		t.Fatal(err)
	}
	keyer, err := pseudonym.New([]byte(key.Key))
	if err != nil {
		t.Fatal(err)
	}
	vault, err := sources.NewVault(sm, env["SOURCES_SECRET_PREFIX"], stack.LocalSourcesKeyARN)
	if err != nil {
		t.Fatal(err)
	}
	table := env["STATE_TABLE"]
	return &exportDeps{billing: billing.NewStore(f.db, table, f.clock.Now), sources: sources.NewStore(f.db, table, f.clock.Now),
		vault: vault, throttle: throttle.NewStore(f.db, table, throttle.DefaultPolicy(), f.clock.Now),
		keyer: keyer, key: key.Key, table: table}
}

// fullAccount creates an active account with a distinctive password hash,
// two sessions, two sources (secrets in Secrets Manager), a Stripe customer
// in a failed-payment grace period, three failed logins, an outstanding
// reset link and request logs (some expired or too old to be shown).
func (f *fixture) fullAccount(t *testing.T, d *exportDeps, tag string) *person {
	t.Helper()
	ctx := context.Background()
	p := &person{}
	p.id, p.token = f.account(t)
	acct, err := f.accounts.Account(ctx, p.id)
	if err != nil {
		t.Fatal(err)
	}
	p.email = acct.Email
	cred, err := f.accounts.Credential(ctx, p.email)
	if err != nil {
		t.Fatal(err)
	}
	hash := "$argon2id$v=19$m=19456,t=2,p=1$" + tag + "SaltSaltSalt$" + tag + "HashHashHashHashHash"
	if ok, err := f.accounts.ReplacePasswordHash(ctx, p.email, cred.PasswordHash, hash, true); err != nil || !ok {
		t.Fatalf("set the password hash: %v %v", ok, err)
	}
	p.secrets = append(p.secrets, hash, tag+"HashHashHashHashHash", p.token, strings.SplitN(p.token, ".", 3)[2])

	_, p.token2, err = f.accounts.CreateSession(ctx, p.id, sessionPolicy)
	if err != nil {
		t.Fatal(err)
	}
	p.secrets = append(p.secrets, p.token2, strings.SplitN(p.token2, ".", 3)[2])
	// The stored hashes of the session secrets.
	err = statetable.EachInPartition(ctx, f.db, d.table, identity.AccountPartition(p.id), identity.SessionPrefix, nil,
		func(item map[string]types.AttributeValue) error {
			var s identity.Session
			if err := attributevalue.UnmarshalMap(item, &s); err != nil {
				return err
			}
			p.sessionIDs = append(p.sessionIDs, s.ID)
			p.secrets = append(p.secrets, s.SecretHash)
			return nil
		})
	if err != nil || len(p.sessionIDs) != 2 {
		t.Fatalf("sessions %v: %v", p.sessionIDs, err)
	}

	reset, err := f.accounts.IssueToken(ctx, identity.Token{Kind: identity.TokenResetPassword, AccountID: p.id}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	p.secrets = append(p.secrets, reset, ids.Hash(reset))

	for i, typ := range []string{sources.TypeS3, sources.TypeS3Compatible} {
		keyID := fmt.Sprintf("%sKeyId%02d00000000%d", tag, i, 7+i)
		secretKey := fmt.Sprintf("%sSecretAccessKey%d-0123456789abcdefghijklmnop", tag, i)
		now := f.clock.Now()
		src := &sources.Source{ID: ids.New("src"), AccountID: p.id, Name: fmt.Sprintf("%s images %d", tag, i), Type: typ,
			Bucket: "bucket-" + strings.ToLower(tag), Region: "eu-west-1", Prefix: "img/", AccessKeyHint: sources.KeyHint(keyID),
			CreatedAt: now, UpdatedAt: now, Verification: sources.Verification{Status: "verified", CheckedAt: now}}
		if typ == sources.TypeS3Compatible {
			src.Region, src.Endpoint = "auto", "https://"+strings.ToLower(tag)+".r2.example.com"
		}
		intent, err := d.sources.WriteIntent(ctx, p.id, src.ID, d.vault.SecretName(p.id, src.ID))
		if err != nil {
			t.Fatal(err)
		}
		if src.SecretARN, err = d.vault.Create(ctx, p.id, src.ID, sources.Credentials{AccessKeyID: keyID, SecretAccessKey: secretKey}); err != nil {
			t.Fatal(err)
		}
		if err := d.sources.Create(ctx, src, 3, intent); err != nil {
			t.Fatal(err)
		}
		p.sourceIDs = append(p.sourceIDs, src.ID)
		p.secrets = append(p.secrets, keyID, secretKey, src.SecretARN)
		f.clock.Advance(time.Second)
	}

	p.customerID, p.subID = "cus_"+tag+"Customer", "sub_"+tag+"Subscription"
	if err := d.billing.Link(ctx, p.id, p.customerID); err != nil {
		t.Fatal(err)
	}
	st := billing.State{Plan: plans.Premium, Status: "past_due", SubscriptionID: p.subID,
		CurrentPeriodEnd: f.clock.Now().Add(20 * 24 * time.Hour).Unix(), CancelAtPeriodEnd: true, PastDue: true}
	if ok, err := d.billing.Apply(ctx, p.id, p.customerID, st, f.clock.Now().UnixMilli(), f.clock.Now().Add(7*24*time.Hour)); err != nil || !ok {
		t.Fatalf("apply billing state: %v %v", ok, err)
	}

	records := compliance.NewStore(f.db, d.table, f.clock.Now)
	if _, _, err := records.AcceptNDA(ctx, compliance.NDAAcceptance{AccountID: p.id, Version: "2026-01",
		AcceptedAt: f.clock.Now(), SignatoryName: "Signer " + tag, SignatoryTitle: "CISO"}); err != nil {
		t.Fatal(err)
	}
	req := &compliance.Request{ID: ids.New("creq"), AccountID: p.id, Type: "soc2_report", Status: "received",
		CreatedAt: f.clock.Now(), NDAVersion: "2026-01"}
	if err := records.AddRequest(ctx, req); err != nil {
		t.Fatal(err)
	}
	p.complianceID = req.ID

	for range 3 {
		if _, _, err := d.throttle.TakeAttempt(ctx, d.keyer.Of("email", p.email)); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(time.Second)
	}

	// Request logs: three live items (an error among them), one expired and
	// one older than 90 days, both still stored.
	now := f.clock.Now()
	for _, l := range []struct {
		age          time.Duration
		status       int
		code         string
		expired, old bool
	}{
		{age: time.Hour, status: 200},                                // newest
		{age: 2 * time.Hour, status: 200},                            //
		{age: 3 * time.Hour, status: 400, code: "validation_failed"}, // oldest live
		{age: 89 * 24 * time.Hour, status: 200, expired: true},
		{age: 91 * 24 * time.Hour, status: 200, old: true},
	} {
		c := web.Completed{AccountID: p.id, RequestID: ids.New("req"), Function: "account", Method: "GET",
			Route: "GET /v1/account", Status: l.status, Code: l.code}
		it := requestlog.NewItem(c, now.Add(-l.age))
		if l.expired {
			it.ExpiresAt = now.Unix() - 1 // recorded 89 days ago, expired all the same
		}
		f.putLog(t, it)
		if l.expired || l.old {
			p.hidden = append(p.hidden, c.RequestID) // stored, never shown
		} else {
			p.requestIDs = append(p.requestIDs, c.RequestID)
		}
	}
	return p
}

// TestExportHoldsEverythingAndNoSecret: the export of an account with every
// kind of data holds each of them exactly, and neither the raw response
// nor any log line holds a password hash, token, session hash, reset link,
// secret key, full access key id, secret ARN or the pseudonym key; another
// account's data never appears.
func TestExportHoldsEverythingAndNoSecret(t *testing.T) {
	f := newFixture(t)
	d := f.exportDeps(t)
	a := f.fullAccount(t, d, "Alpha")
	b := f.fullAccount(t, d, "Bravo")
	for _, p := range []*person{a, b} {
		p.secrets = append(p.secrets, d.key, d.keyer.Of("email", p.email))
	}
	// Names of stored attributes that hold secrets, or that the export renders otherwise.
	storedNames := []string{"secret_hash", "password_hash", "secret_access_key", "secret_arn", "SecretHash", "PasswordHash",
		"$argon2id$", "idle_until", "ends_at", "TOKENREF"}
	for _, tt := range []struct {
		name      string
		me, other *person
	}{{"first account", a, b}, {"second account", b, a}} {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.me
			now := f.clock.Now().UTC()
			e := f.export(t, "", p.token)
			doc := e.doc

			acct, err := f.accounts.Account(context.Background(), p.id)
			if err != nil {
				t.Fatal(err)
			}
			if got := doc.Account; got == nil || got.ID != p.id || got.Email != p.email || got.Plan != "premium" || got.Status != "active" ||
				!got.EmailVerified || !got.CreatedAt.Equal(acct.CreatedAt) || got.VerifiedAt == nil || acct.VerifiedAt == nil ||
				!got.VerifiedAt.Equal(*acct.VerifiedAt) {
				t.Errorf("account %+v, want %+v", got, acct)
			}

			rec, err := d.billing.Record(context.Background(), p.id)
			if err != nil {
				t.Fatal(err)
			}
			bl := doc.Billing
			if bl == nil || bl.Plan != "premium" || bl.SubscriptionStatus != "past_due" || !bl.CancelAtPeriodEnd ||
				bl.CurrentPeriodEnd == nil || bl.CurrentPeriodEnd.Unix() != rec.CurrentPeriodEnd ||
				bl.GraceUntil == nil || bl.GraceUntil.Unix() != rec.PlanGraceUntil ||
				aws.ToString(bl.StripeCustomerID) != p.customerID || aws.ToString(bl.StripeSubscriptionID) != p.subID {
				t.Errorf("billing %+v, want premium past_due with period end, grace, %s and %s", bl, p.customerID, p.subID)
			}

			stored, err := d.sources.List(context.Background(), p.id)
			if err != nil {
				t.Fatal(err)
			}
			if len(doc.Sources) != 2 || len(stored) != 2 {
				t.Fatalf("sources %+v, want the two stored", doc.Sources)
			}
			for i, s := range doc.Sources {
				w := stored[i]
				if s.ID != p.sourceIDs[i] || s.ID != w.ID || s.Name != w.Name || s.Type != w.Type || s.Bucket != w.Bucket ||
					s.Region != w.Region || s.Prefix != w.Prefix || s.Endpoint != w.Endpoint || s.AccessKeyIDHint != w.AccessKeyHint ||
					len(s.AccessKeyIDHint) != 4 || !s.CreatedAt.Equal(w.CreatedAt) || !s.UpdatedAt.Equal(w.UpdatedAt) ||
					s.Verification.Status != "verified" || !s.Verification.CheckedAt.Equal(w.Verification.CheckedAt) {
					t.Errorf("source %d: %+v, want %+v", i, s, w)
				}
			}

			var sessIDs []string
			current := 0
			for _, s := range doc.Sessions {
				sessIDs = append(sessIDs, s.ID)
				if s.Current {
					current++
					if !strings.Contains(p.token, "."+s.ID+".") {
						t.Errorf("session %s is marked current; the export used %s", s.ID, strings.SplitN(p.token, ".", 3)[1])
					}
				}
				if s.CreatedAt.IsZero() || s.LastUsedAt.Before(s.CreatedAt) || !s.ExpiresAt.After(now) {
					t.Errorf("session %+v: times out of order", s)
				}
			}
			if !sameSet(sessIDs, p.sessionIDs) || current != 1 {
				t.Errorf("sessions %v (%d current), want %v with one current", sessIDs, current, p.sessionIDs)
			}

			if lf := doc.LoginFailures; lf == nil || lf.Count != 3 || lf.LastFailureAt.IsZero() || lf.LastFailureAt.After(now) {
				t.Errorf("login_failures %+v, want 3 with the last one's time", lf)
			}

			var reqIDs []string
			for _, it := range doc.RequestLogs.Items {
				reqIDs = append(reqIDs, it.RequestID)
			}
			if !slices.Equal(reqIDs, p.requestIDs) || doc.RequestLogs.NextCursor != "" {
				t.Errorf("request logs %v (next %q), want %v and no next_cursor", reqIDs, doc.RequestLogs.NextCursor, p.requestIDs)
			}
			for i, it := range doc.RequestLogs.Items {
				if it.Function != "account" || it.Route != "/v1/account" || it.Status != map[bool]int{true: 400, false: 200}[i == 2] ||
					it.Time == "" {
					t.Errorf("request-log item %+v", it)
				}
			}

			if c := doc.Compliance; c == nil || len(c.NDAAcceptances) != 1 || c.NDAAcceptances[0].SignatoryTitle != "CISO" ||
				len(c.Requests) != 1 || c.Requests[0].ID != p.complianceID || c.Requests[0].Type != "soc2_report" {
				t.Errorf("compliance %+v, want the NDA acceptance and the request %s", c, p.complianceID)
			}
			if len(doc.OtherRecords) != 0 || len(doc.HeldElsewhere) < 2 || len(doc.Withheld) == 0 {
				t.Errorf("other_records %v, held_elsewhere %v, withheld %v", doc.OtherRecords, doc.HeldElsewhere, doc.Withheld)
			}
			notes := strings.Join(doc.HeldElsewhere, " ")
			for _, w := range []string{"Stripe", "billing portal", "CloudWatch", "90 days", "account id", "never your email"} {
				if !strings.Contains(notes, w) {
					t.Errorf("held_elsewhere does not mention %q: %q", w, notes)
				}
			}

			// Nothing secret, nothing of the other account.
			forbidden := slices.Concat(p.secrets, p.hidden, storedNames, tt.other.secrets,
				[]string{tt.other.id, tt.other.email, tt.other.customerID, tt.other.subID},
				tt.other.sessionIDs, tt.other.sourceIDs, tt.other.requestIDs)
			for _, s := range forbidden {
				if strings.Contains(string(e.raw), s) {
					t.Errorf("the export holds %q", s)
				}
			}
		})
	}
	logs := f.logs.String()
	for _, p := range []*person{a, b} {
		for _, s := range append(slices.Clone(p.secrets), p.email) {
			if strings.Contains(logs, s) {
				t.Errorf("a log line holds %q", s)
			}
		}
	}
}

// putLogs writes request-log items in batches of 25.
func (f *fixture) putLogs(t *testing.T, items []requestlog.Item) {
	t.Helper()
	for batch := range slices.Chunk(items, 25) {
		var reqs []types.WriteRequest
		for _, it := range batch {
			av, err := attributevalue.MarshalMap(it)
			if err != nil {
				t.Fatal(err)
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: av}})
		}
		in := map[string][]types.WriteRequest{f.logTable: reqs}
		for len(in) > 0 {
			out, err := f.db.BatchWriteItem(context.Background(), &dynamodb.BatchWriteItemInput{RequestItems: in})
			if err != nil {
				t.Fatal(err)
			}
			in = out.UnprocessedItems
		}
	}
}

// TestExportPagesRequestLogs: an account's live request logs come 1000 at
// most per response, newest first; following next_cursor returns every one
// exactly once, no expired item, and nothing of another account, whose own
// items interleave in time.
func TestExportPagesRequestLogs(t *testing.T) {
	f := newFixture(t)
	other, _ := f.account(t)
	for _, tt := range []struct {
		name      string
		live      int
		responses int // at most
	}{
		{"none", 0, 1},
		{"a few", 7, 1},
		{"one short of a response", 999, 1},
		{"exactly a response", 1000, 2},
		{"one more than a response", 1001, 2},
		{"more than two responses", 2100, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			acct, tok := f.account(t)
			now := f.clock.Now()
			var items []requestlog.Item
			var want []string // newest first
			c := web.Completed{Function: "account", Method: "GET", Route: "GET /v1/account", Status: 200}
			for i := 0; len(want) < tt.live; i++ {
				at := now.Add(-time.Duration(i+1) * time.Minute)
				c.AccountID, c.RequestID = acct, ids.New("req")
				it := requestlog.NewItem(c, at)
				if i%51 == 50 {
					it.ExpiresAt = now.Unix() - 1 // after every 50 live items one expired, still stored: skipped
				} else {
					want = append(want, c.RequestID)
				}
				items = append(items, it)
				c.AccountID, c.RequestID = other, ids.New("req")
				items = append(items, requestlog.NewItem(c, at.Add(time.Millisecond)))
			}
			f.putLogs(t, items)
			got, pages := f.exportAll(t, tok)
			var ids []string
			for _, it := range got {
				ids = append(ids, it.RequestID)
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("%d items, want %d newest first (first difference at %d)", len(ids), len(want), firstDiff(ids, want))
			}
			if len(pages) > tt.responses {
				t.Errorf("%d responses for %d items, want at most %d", len(pages), len(want), tt.responses)
			}
			for i, pg := range pages[:len(pages)-1] {
				if n := len(pg.doc.RequestLogs.Items); n != 1000 {
					t.Errorf("response %d with a next_cursor holds %d items, want 1000", i+1, n)
				}
			}
			if !pages[0].full || pages[0].doc.Account == nil || pages[0].doc.Account.ID != acct {
				t.Errorf("the first response is not the whole document of %s", acct)
			}
			for _, pg := range pages[1:] {
				if pg.full || pg.doc.Account != nil || pg.doc.Sources != nil || pg.doc.Sessions != nil {
					t.Errorf("a continuation holds more than the request logs: %.200s", pg.raw)
				}
			}
		})
	}
}

// flipLast changes the last character of a token's secret.
func flipLast(tok string) string {
	b := []byte(tok)
	if b[len(b)-1] == 'A' {
		b[len(b)-1] = 'B'
	} else {
		b[len(b)-1] = 'A'
	}
	return string(b)
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestExportRefusals: without a live session the export is 401 and shows
// nothing; a bad query is a 400 validation_failed naming the parameter,
// never echoing the value; a cursor older than anything kept is the end.
func TestExportRefusals(t *testing.T) {
	f := newFixture(t)
	acct, tok := f.account(t)
	now := f.clock.Now()
	cursorAt := func(at time.Time) string {
		return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%013d#req_x", at.UnixMilli()))
	}
	tests := []struct {
		name, query, token string
		status             int
		code, field, fcode string
	}{
		{name: "no credentials", status: 401, code: "unauthenticated"},
		{name: "garbage token", token: "not-a-token", status: 401, code: "unauthenticated"},
		{name: "token with its secret changed", token: flipLast(tok), status: 401, code: "unauthenticated"},
		{name: "cursor garbage", query: "request_logs_cursor=%21%21garbage%21%21", token: tok, status: 400, code: "validation_failed",
			field: "request_logs_cursor", fcode: "invalid_cursor"},
		{name: "cursor empty", query: "request_logs_cursor=", token: tok, status: 400, code: "validation_failed",
			field: "request_logs_cursor", fcode: "invalid_cursor"},
		{name: "cursor padded", query: "request_logs_cursor=AAAA%3D%3D", token: tok, status: 400, code: "validation_failed",
			field: "request_logs_cursor", fcode: "invalid_cursor"},
		{name: "cursor of 129 characters", query: "request_logs_cursor=" + strings.Repeat("A", 129), token: tok, status: 400,
			code: "validation_failed", field: "request_logs_cursor", fcode: "invalid_cursor"},
		{name: "cursor base64 of text", query: "request_logs_cursor=" + base64.RawURLEncoding.EncodeToString([]byte("hello garbage")),
			token: tok, status: 400, code: "validation_failed", field: "request_logs_cursor", fcode: "invalid_cursor"},
		{name: "cursor of another key shape", query: "request_logs_cursor=" + base64.RawURLEncoding.EncodeToString([]byte("ACCOUNT#"+acct)),
			token: tok, status: 400, code: "validation_failed", field: "request_logs_cursor", fcode: "invalid_cursor"},
		{name: "cursor from the future", query: "request_logs_cursor=" + cursorAt(now.Add(time.Hour)), token: tok, status: 400,
			code: "validation_failed", field: "request_logs_cursor", fcode: "invalid_cursor"},
		{name: "cursor older than anything kept is the end", query: "request_logs_cursor=" + cursorAt(now.Add(-100*24*time.Hour)),
			token: tok, status: 200},
		{name: "cursor repeated", query: "request_logs_cursor=" + cursorAt(now) + "&request_logs_cursor=" + cursorAt(now), token: tok,
			status: 400, code: "validation_failed", field: "request_logs_cursor", fcode: "repeated"},
		{name: "cursor of GET /v1/logs's name", query: "cursor=" + cursorAt(now), token: tok, status: 400, code: "validation_failed",
			field: "cursor", fcode: "unknown_parameter"},
		{name: "unknown parameter", query: "format=csv", token: tok, status: 400, code: "validation_failed",
			field: "format", fcode: "unknown_parameter"},
		{name: "names are case-sensitive", query: "Request_Logs_Cursor=" + cursorAt(now), token: tok, status: 400,
			code: "validation_failed", field: "Request_Logs_Cursor", fcode: "unknown_parameter"},
		{name: "malformed query", query: "request_logs_cursor=%zzgarbage", token: tok, status: 400, code: "validation_failed",
			field: "request_logs_cursor", fcode: "malformed_query"},
		{name: "query of 257 bytes", query: "request_logs_cursor=" + strings.Repeat("A", 237), token: tok, status: 400,
			code: "validation_failed", field: "request_logs_cursor", fcode: "query_too_long"},
		{name: "query of 10000 bytes", query: "request_logs_cursor=" + strings.Repeat("A", 10000), token: tok, status: 400,
			code: "validation_failed", field: "request_logs_cursor", fcode: "query_too_long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "/v1/account/export"
			if tt.query != "" {
				target += "?" + tt.query
			}
			if tt.status == http.StatusOK {
				e := f.export(t, tt.query, tt.token)
				if len(e.doc.RequestLogs.Items) != 0 || e.doc.RequestLogs.NextCursor != "" {
					t.Errorf("request logs %+v, want none and no next_cursor", e.doc.RequestLogs)
				}
				return
			}
			r := f.do(t, http.MethodGet, target, tt.token).want(t, tt.status, tt.code)
			if tt.field != "" && detailOf(r.problem.Errors, tt.field, tt.fcode) == "" {
				t.Errorf("errors %+v, want field %q code %q with a detail", r.problem.Errors, tt.field, tt.fcode)
			}
			for _, s := range []string{"garbage", "AAAAAAAAAAAAAAAAAAAA", acct + ".", "hello"} {
				if strings.Contains(string(r.raw), s) {
					t.Errorf("the problem echoes %q: %s", s, r.raw)
				}
			}
		})
	}
	t.Run("wrong method", func(t *testing.T) {
		f.do(t, http.MethodPost, "/v1/account/export", tok).want(t, http.StatusMethodNotAllowed, "method_not_allowed")
	})
	t.Run("account gone, session left", func(t *testing.T) {
		gone, goneTok := f.account(t)
		if _, err := f.db.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: aws.String(f.stack.Tables["StateTable"]),
			Key: identity.AccountKey(gone).AV()}); err != nil {
			t.Fatal(err)
		}
		f.do(t, http.MethodGet, "/v1/account/export", goneTok).want(t, http.StatusUnauthorized, "unauthenticated")
	})
}

// TestExportDeclaresOtherRecords: an item of a kind the export does not
// itemise, in the account's partition, is declared by kind and count only
// (none of its attributes), and the gap is logged; another account's is not.
func TestExportDeclaresOtherRecords(t *testing.T) {
	f := newFixture(t)
	acct, tok := f.account(t)
	other, otherTok := f.account(t)
	table := f.stack.Tables["StateTable"]
	for _, it := range []struct{ pk, sk string }{
		{identity.AccountPartition(acct), "FUTURE_FEATURE#one"},
		{identity.AccountPartition(acct), "FUTURE_FEATURE#two"},
		{identity.AccountPartition(acct), "lower-case kind"},
		{identity.AccountPartition(other), "ELSEWHERE#x"},
	} {
		if _, err := f.db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: it.pk}, "sk": &types.AttributeValueMemberS{Value: it.sk},
			"value": &types.AttributeValueMemberS{Value: "confidential-attribute-value"},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	e := f.export(t, "", tok)
	var got []otherRecord
	for _, o := range e.doc.OtherRecords {
		if o.Note == "" {
			t.Errorf("other record %+v without a note", o)
		}
		o.Note = ""
		got = append(got, o)
	}
	if want := []otherRecord{{Kind: "FUTURE_FEATURE", Count: 2}, {Kind: "UNKNOWN", Count: 1}}; !reflect.DeepEqual(got, want) {
		t.Errorf("other_records %+v, want %+v", got, want)
	}
	for _, s := range []string{"confidential-attribute-value", "#one", "ELSEWHERE", "lower-case"} {
		if strings.Contains(string(e.raw), s) {
			t.Errorf("the export holds %q", s)
		}
	}
	if !strings.Contains(f.logs.String(), "export does not itemise every kind") {
		t.Error("the gap was not logged")
	}
	if o := f.export(t, "", otherTok).doc.OtherRecords; len(o) != 1 || o[0].Kind != "ELSEWHERE" {
		t.Errorf("the other account's other_records %+v, want its ELSEWHERE only", o)
	}
}

// TestExportCoversEveryStoredAttribute is a tripwire for "whatever later
// features store": every attribute of the items the export reads is either
// exported or deliberately withheld here. A new attribute fails this test
// until it is added to the export (or, for a secret, to withheld below and
// to the document's withheld notes).
func TestExportCoversEveryStoredAttribute(t *testing.T) {
	tests := []struct {
		item     any
		exported []string // attributes the export shows (some under another name)
		withheld []string // attributes it leaves out, and why
	}{
		{identity.Account{}, []string{"id", "email", "status", "created_at", "verified_at"}, nil},
		{plans.Stored{}, []string{"plan", "plan_grace_until"}, nil},
		{billing.Record{},
			[]string{"stripe_customer_id", "billing_status", "billing_subscription_id", "billing_period_end", "billing_cancel_at_period_end"},
			[]string{"billing_synced_ms"}}, // bookkeeping of webhook order, about Stripe's clock not the person
		{sources.Usage{}, nil, []string{"source_count"}}, // the sources themselves are listed
		{sources.Source{},
			[]string{"id", "name", "type", "bucket", "region", "prefix", "endpoint", "access_key_id_hint", "created_at", "updated_at", "verification"},
			// the account is the exporter's; the ARN names Atrium's secret, no
			// data of the customer's; credentials_lock is a transient marker
			// held while new keys are put into the secret (a lock's token)
			[]string{"account_id", "secret_arn", "credentials_lock"}},
		{sources.Verification{}, []string{"status", "checked_at"}, nil},
		{identity.Session{},
			// expires_at = min(idle_until, ends_at); amr, reauth_at and
			// reauth_amr as amr, reauthenticated_at and reauthenticated_with
			[]string{"id", "created_at", "last_used_at", "idle_until", "ends_at", "amr", "reauth_at", "reauth_amr"},
			[]string{"account_id", "secret_hash"}}, // a secret
		{mfa.Factor{},
			[]string{"id", "kind", "name", "status", "created_at", "confirmed_at", "last_used_at"},
			// the account is the exporter's; the last step is bookkeeping of replays;
			// the sealed secret and its key's version are withheld (a secret); the session
			// id and wrong-code count are the bookkeeping of the enrolment's
			// confirmation (which session may confirm it, how many wrong codes it took)
			[]string{"account_id", "last_step", "sealed_secret", "key_version", "session_id", "wrong_codes"}},
		{mfa.RecoverySet{}, []string{"hashes", "generated_at"}, nil}, // hashes as their count, "left"
		{throttle.Failures{}, []string{"failures", "last_failure_ms", "lock_notified"}, nil},
		{requestlog.Item{},
			[]string{"request_id", "function", "method", "route", "status", "code", "latency_ms", "time"},
			[]string{"pk", "sk", "expires_at", "expiry_shard"}}, // keys and the sweep's index
	}
	for _, tt := range tests {
		typ := reflect.TypeOf(tt.item)
		t.Run(typ.String(), func(t *testing.T) {
			var got []string
			for i := range typ.NumField() {
				fd := typ.Field(i)
				if fd.Anonymous {
					continue // an embedded view (identity.Account, plans.Stored in billing.Record) is checked on its own
				}
				name, _, _ := strings.Cut(fd.Tag.Get("dynamodbav"), ",")
				if name == "-" {
					continue
				}
				if name == "" {
					name = fd.Name
				}
				got = append(got, name)
			}
			if want := slices.Concat(tt.exported, tt.withheld); !sameSet(got, want) {
				t.Errorf("%s stores %v; the export accounts for %v: add the new attribute to the export (export.go) or withhold it here",
					typ, slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want)))
			}
		})
	}
}
