package compliance_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
)

// newStore is a Store over fresh tables in DynamoDB Local, on a test clock,
// with the identity store of the same tables (records belong to accounts).
func newStore(t *testing.T) (*compliance.Store, *testenv.Clock, *identity.Store) {
	t.Helper()
	st := testenv.NewStack(t)
	// Now, not a fixed date: the accounts' verification tokens must not
	// be past their TTL, which DynamoDB Local may act on.
	clock := testenv.NewClock(time.Now().UTC().Truncate(time.Second))
	db := stack.DynamoDBClient(st.DynamoDBEndpoint)
	return compliance.NewStore(db, st.Tables["StateTable"], clock.Now), clock, identity.NewStore(db, st.Tables["StateTable"], clock.Now)
}

// activeAccount is a new active account of the store's tables.
func activeAccount(t *testing.T, accounts *identity.Store, clock *testenv.Clock) string {
	t.Helper()
	return testenv.ActiveAccount(t, accounts, clock.Now())
}

func TestAcceptNDAKeepsTheFirst(t *testing.T) {
	s, clock, accounts := newStore(t)
	ctx := t.Context()
	acct := activeAccount(t, accounts, clock)
	if _, err := s.NDA(ctx, acct, "2026-01"); !errors.Is(err, compliance.ErrNotFound) {
		t.Fatalf("before: %v", err)
	}
	first := compliance.NDAAcceptance{AccountID: acct, Version: "2026-01", AcceptedAt: clock.Now(), SignatoryName: "Grace", SignatoryTitle: "CISO"}
	got, created, err := s.AcceptNDA(ctx, first)
	if err != nil || !created || got != first {
		t.Fatalf("%+v %v %v", got, created, err)
	}
	clock.Advance(time.Hour)
	second := compliance.NDAAcceptance{AccountID: acct, Version: "2026-01", AcceptedAt: clock.Now(), SignatoryName: "Other", SignatoryTitle: "CTO"}
	got, created, err = s.AcceptNDA(ctx, second)
	if err != nil || created || got != first {
		t.Fatalf("again: %+v %v %v", got, created, err)
	}
	if _, err := s.NDA(ctx, acct, "2027-01"); !errors.Is(err, compliance.ErrNotFound) {
		t.Errorf("another version: %v", err)
	}
	if _, err := s.NDA(ctx, ids.New("acct"), "2026-01"); !errors.Is(err, compliance.ErrNotFound) {
		t.Errorf("another account: %v", err)
	}
}

func TestRequestsNewestFirstInPages(t *testing.T) {
	s, clock, accounts := newStore(t)
	ctx := t.Context()
	acct, other := activeAccount(t, accounts, clock), activeAccount(t, accounts, clock)
	var made []string
	for i := range 7 {
		clock.Advance(time.Second)
		r := &compliance.Request{ID: ids.New("creq"), AccountID: acct, Type: compliance.TypePentestReport,
			Status: compliance.StatusReceived, CreatedAt: clock.Now()}
		if i == 3 {
			start, end := clock.Now().Add(time.Hour), clock.Now().Add(2*time.Hour)
			r.Type, r.Scope, r.Start, r.End, r.ContactName = compliance.TypePentestNotice, "scope", &start, &end, "Ada"
		}
		if err := s.AddRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
		made = append([]string{r.ID}, made...)
	}
	if err := s.AddRequest(ctx, &compliance.Request{ID: ids.New("creq"), AccountID: other, Type: compliance.TypeSOC2Report,
		Status: compliance.StatusReceived, CreatedAt: clock.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 3, 7, 100} {
		var got []string
		cursor, pages := "", 0
		for {
			page, err := s.Requests(ctx, acct, limit, cursor)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, r := range page.Requests {
				got = append(got, r.ID)
				if r.Type == compliance.TypePentestNotice && (r.Start == nil || r.End == nil || r.ContactName != "Ada") {
					t.Errorf("notice read back as %+v", r)
				}
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		if wantPages := (7 + limit - 1) / limit; !slices.Equal(got, made) || pages != wantPages {
			t.Errorf("limit %d: %d pages of %v, want %d of %v", limit, pages, got, wantPages, made)
		}
	}
	for _, bad := range []string{"x", "bm90LWEtY3Vyc29y", "Q09NUExJQU5DRSMx"} {
		if _, err := s.Requests(ctx, acct, 10, bad); !errors.Is(err, compliance.ErrBadCursor) {
			t.Errorf("cursor %q: %v", bad, err)
		}
	}
	rec, err := s.Records(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.Requests) != 7 || rec.Requests[0].ID != made[6] || len(rec.NDAs) != 0 {
		t.Errorf("records %+v", rec)
	}
	for _, v := range []string{"2025-07", "2026-01"} {
		if _, _, err := s.AcceptNDA(ctx, compliance.NDAAcceptance{AccountID: acct, Version: v, AcceptedAt: clock.Now(),
			SignatoryName: "Grace", SignatoryTitle: "CISO"}); err != nil {
			t.Fatal(err)
		}
	}
	if rec, err := s.Records(ctx, acct); err != nil || len(rec.NDAs) != 2 || rec.NDAs[0].Version != "2025-07" || len(rec.Requests) != 7 {
		t.Errorf("records with NDAs: %+v, %v", rec, err)
	}
	// Removing a request leaves the others.
	if err := s.RemoveRequest(ctx, &rec.Requests[0]); err != nil {
		t.Fatal(err)
	}
	if page, _ := s.Requests(ctx, acct, 100, ""); len(page.Requests) != 6 {
		t.Errorf("%d left after removing one", len(page.Requests))
	}
}
