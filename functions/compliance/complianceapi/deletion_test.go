package complianceapi

import (
	"errors"
	"net/http"
	"testing"

	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/deletion"
	deletionrunner "github.com/atrium-cdn/atrium/shared/deletion/runner"
)

// An account's NDA acceptances and requests live in its partition, so the
// account deletion (run as the deletion function runs it) removes them; a
// DMCA notice belongs to no account and stays for its retention period.
func TestAccountDeletionRemovesComplianceRecords(t *testing.T) {
	f := newFixture(t, nil)
	acct, token := f.account(t)
	_, otherToken := f.account(t)
	for _, tok := range []string{token, otherToken} {
		if w := f.call("POST", "/v1/compliance/nda", tok, ndaBody); w.Code != http.StatusCreated {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
		if w := f.call("POST", "/v1/compliance/requests", tok, bodyOf(compliance.TypePentestNotice, f.clock.Now())); w.Code != http.StatusCreated {
			t.Fatalf("%d %s", w.Code, w.Body)
		}
	}
	if w := f.call("POST", "/v1/dmca", "", noticeJSON(t, validNotice())); w.Code != http.StatusCreated {
		t.Fatalf("%d %s", w.Code, w.Body)
	}

	ctx := t.Context()
	env := f.stack.ColdstartEnv("deletion", f.logs, nil)
	env.Now = f.clock.Now
	b, err := coldstart.Load(ctx, "deletion", env)
	if err != nil {
		t.Fatal(err)
	}
	cfg := deletionrunner.ReadConfig(b)
	if err := b.Finish(); err != nil {
		t.Fatal(err)
	}
	runner, err := deletionrunner.New(ctx, b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.accounts.Account(ctx, acct)
	if err != nil {
		t.Fatal(err)
	}
	job, _, err := runner.Jobs.Accept(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if job, err = runner.Run(ctx, job.ID); err != nil || job.Status != deletion.StatusDone {
		t.Fatalf("deletion %+v, %v", job, err)
	}

	if rec, err := f.records.Records(ctx, acct); err != nil || len(rec.NDAs)+len(rec.Requests) != 0 {
		t.Errorf("left after the deletion: %+v, %v", rec, err)
	}
	if _, err := f.records.NDA(ctx, acct, "2026-01"); !errors.Is(err, compliance.ErrNotFound) {
		t.Errorf("NDA acceptance after the deletion: %v", err)
	}
	other := decodeAs[ListResponse](t, f.call("GET", "/v1/compliance/requests", otherToken, ""))
	if len(other.Requests) != 1 || other.NDA.Accepted == nil {
		t.Errorf("another account's records were touched: %+v", other)
	}
	if n := f.notices(t); len(n) != 1 {
		t.Errorf("%d DMCA notices after the deletion, want 1", len(n))
	}
}
