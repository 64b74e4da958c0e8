package registry_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/functions/account/accountapi"

	"github.com/atrium-cdn/atrium/functions/compliance/complianceapi"
	"github.com/atrium-cdn/atrium/infra/registry"
	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/deletion/runner"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/lifecycle"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/passkeys"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/throttle"
)

// keptHeading is the README section whose table lists what is kept.
const keptHeading = "## What Atrium stores about a person, and for how long"

func all(t *testing.T) *lifecycle.Registry {
	t.Helper()
	r, err := registry.All()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDeletionErasesEveryKind: the deletion runner is the list of the
// owners' erasers, and each registered kind is erased by an eraser of its
// owner (or by the runner's last step, or by TTL, or is about no one);
// no eraser erases a kind nobody registered; and the steps are the ones a
// job records and its status shows (deletion.Steps).
func TestDeletionErasesEveryKind(t *testing.T) {
	r := all(t)
	erasers := runner.Erasers(runner.Parts{})
	if err := lifecycle.CheckErasers(r, erasers, deletion.StepAccount); err != nil {
		t.Error(err)
	}
	if got := (&runner.Runner{Erasers: erasers}).Steps(); !slices.Equal(got, deletion.Steps) {
		t.Errorf("the runner's steps %v are not the job's steps %v", got, deletion.Steps)
	}
	for _, k := range r.Kinds() {
		if k.Erasure != lifecycle.ErasedByTTL && k.Erasure != lifecycle.NotPersonal && !slices.Contains(deletion.Steps, k.Erasure) {
			t.Errorf("%s: erased by %q, which is no deletion step (%v)", k.Name, k.Erasure, deletion.Steps)
		}
	}

	// It fails when a kind is registered with an erasure no eraser carries
	// out, and when an eraser outlives the kinds it erased.
	widget := lifecycle.Kind{Name: "widget", Owner: "github.com/atrium-cdn/atrium/shared/widgets", Table: lifecycle.StateTable,
		Purpose: "a throwaway kind", Retention: lifecycle.Retention{Text: "while the account exists", Until: "account deletion"},
		Erasure: "widgets", Export: lifecycle.NotExported + "it is a throwaway kind of this test",
		Match: lifecycle.Under(identity.AccountPartition(""), "WIDGET#")}
	withWidget, err := lifecycle.New(append(registry.Owners(), []lifecycle.Kind{widget})...)
	if err != nil {
		t.Fatal(err)
	}
	if err := lifecycle.CheckErasers(withWidget, erasers, deletion.StepAccount); err == nil || !strings.Contains(err.Error(), `"widget"`) {
		t.Errorf("a kind no eraser erases was not named: %v", err)
	}
	stray := append(slices.Clone(erasers), lifecycle.Eraser{Step: "widgets", Owner: widget.Owner})
	if err := lifecycle.CheckErasers(r, stray, deletion.StepAccount); err == nil || !strings.Contains(err.Error(), `"widgets"`) {
		t.Errorf("an eraser of no registered kind was not named: %v", err)
	}
}

// TestExportShowsEveryKind: the export is the list of the owners'
// exporters, and each registered kind shown in a section is shown there by
// an exporter of its owner; no exporter fills a section no kind names.
func TestExportShowsEveryKind(t *testing.T) {
	r := all(t)
	exporters := accountapi.Exporters(accountapi.ExportParts{})
	if err := lifecycle.CheckExporters(r, exporters); err != nil {
		t.Error(err)
	}

	// It fails when a kind names a section no exporter fills, and when an
	// exporter fills a section of no kind.
	widget := lifecycle.Kind{Name: "widget", Owner: "github.com/atrium-cdn/atrium/shared/widgets", Table: lifecycle.StateTable,
		Purpose: "a throwaway kind", Retention: lifecycle.Retention{Text: "while the account exists", Until: "account deletion"},
		Erasure: deletion.StepAccount, Export: "widgets",
		Match: lifecycle.Under(identity.AccountPartition(""), "WIDGET#")}
	withWidget, err := lifecycle.New(append(registry.Owners(), []lifecycle.Kind{widget})...)
	if err != nil {
		t.Fatal(err)
	}
	if err := lifecycle.CheckExporters(withWidget, exporters); err == nil || !strings.Contains(err.Error(), `"widget"`) {
		t.Errorf("a kind no exporter shows was not named: %v", err)
	}
	stray := append(slices.Clone(exporters), lifecycle.Exporter{Section: "widgets", Owner: widget.Owner})
	if err := lifecycle.CheckExporters(r, stray); err == nil || !strings.Contains(err.Error(), `"widgets"`) {
		t.Errorf("an exporter of no registered kind was not named: %v", err)
	}
}

// TestREADMETableMatchesRegistry: the README's table of what is kept names
// every registered kind, and only registered kinds.
func TestREADMETableMatchesRegistry(t *testing.T) {
	r, text := all(t), readme(t)
	for _, p := range r.CheckTable(text, keptHeading) {
		t.Error(p)
	}

	// It fails when a kind is removed from the table...
	removed := strings.Replace(text, "<!-- kind: session -->", "<!-- no kind: removed -->", 1)
	if removed == text {
		t.Fatal("the README's table has no row of sessions")
	}
	if p := strings.Join(r.CheckTable(removed, keptHeading), "\n"); !strings.Contains(p, `"session"`) {
		t.Errorf("sessions removed from the README, and no problem named them: %q", p)
	}
	// ... and when a kind is added to the code but not to the table.
	totp := lifecycle.Kind{Name: "totp_secret", Owner: "github.com/atrium-cdn/atrium/shared/totp", Table: lifecycle.StateTable,
		Purpose: "a TOTP factor's seed", Retention: lifecycle.Retention{Text: "while the factor exists", Until: "its removal"},
		Erasure: "account", Export: lifecycle.Withheld + "a seed is a secret",
		Match: lifecycle.Under(identity.AccountPartition(""), "TOTP#")}
	withTOTP, err := lifecycle.New(append(registry.Owners(), []lifecycle.Kind{totp})...)
	if err != nil {
		t.Fatal(err)
	}
	if p := strings.Join(withTOTP.CheckTable(text, keptHeading), "\n"); !strings.Contains(p, `"totp_secret"`) {
		t.Errorf("a kind missing from the README was not named: %q", p)
	}
}

// TestKeysOfEachOwnerAreOfOneKind: keys built by the owners' own key
// builders are each of exactly the kind expected (the whole-API scan in
// infra/local/gateway proves it for what the code actually writes).
func TestKeysOfEachOwnerAreOfOneKind(t *testing.T) {
	r := all(t)
	const acct, hash = "acct_aaaaaaaaaaaaaaaaaaaaaaaaaa", "0123456789abcdef"
	state := map[string]statetable.Key{
		"account":                  identity.AccountKey(acct),
		"email_claim":              identity.EmailClaimKey("someone@example.com"),
		"session":                  identity.SessionKey(acct, "sess_x"),
		"token":                    identity.TokenKey("reset_password", hash),
		"token_pointer":            identity.TokenRefKey(acct, "verify_email", hash),
		"failed_login_counter":     throttle.FailureKey("login", "pseudonym"),
		"mail_cap":                 throttle.RateKey("mail-reset", "pseudonym"),
		"client_rate_counter":      throttle.RateKey("signup", "pseudonym"),
		"source":                   sources.SourceKey(acct, "src_x"),
		"source_intent":            sources.IntentKey(time.Now().UnixMilli(), "src_x"),
		"stripe_customer_link":     billing.StripeCustomerKey("cus_x"),
		"stripe_event":             billing.StripeEventKey("evt_x"),
		"nda_acceptance":           compliance.NDAKey(acct, "2024-01"),
		"compliance_request":       compliance.RequestKey(acct, time.Now(), "creq_x"),
		"compliance_rate_counter":  throttle.RateKey(compliance.RateAction, "pseudonym"),
		"dmca_notice":              complianceapi.NoticeKey("dmca_x"),
		"deletion_job":             deletion.JobKey("del_x"),
		"deletion_pending":         deletion.PendingKey(time.Now().UnixMilli(), "del_x"),
		"passkey":                  passkeys.CredentialKey(acct, "pkey_x"),
		"passkey_user":             passkeys.UserKey(acct),
		"passkey_handle":           passkeys.HandleKey("aGFuZGxl"),
		"passkey_credential_index": passkeys.CredentialIDKey([]byte("credential")),
		"passkey_challenge":        passkeys.AccountChallengeKey(acct, hash),
		"passkey_login_challenge":  passkeys.LoginChallengeKey(hash),
		"second_factor":            mfa.FactorKey(identity.AccountPartition(acct), "mfa_x"),
		"recovery_codes":           mfa.RecoveryKey(identity.AccountPartition(acct)),
		"mfa_challenge":            mfa.ChallengeKey(identity.AccountPartition(acct), "mfac_x"),
		"second_factor_failures":   mfa.FailuresKey(identity.AccountPartition(acct)),
	}
	for want, k := range state {
		if got, ok := r.Of(lifecycle.StateTable, k.PK, k.SK); !ok || got.Name != want {
			t.Errorf("%+v: kinds %v, want %s", k, names(r.Matching(lifecycle.StateTable, k.PK, k.SK)), want)
		}
	}
	outside := []struct {
		table         lifecycle.Table
		key, sk, want string
	}{
		{lifecycle.StateStream, identity.EmailClaimKey("a@example.com").PK, identity.EmailClaimKey("a@example.com").SK, "state_stream_record"},
		{lifecycle.SecretsManager, "atrium/sources/" + acct + "/src_bbbbbbbbbbbbbbbbbbbbbbbbbb", "", "source_secret"},
		{lifecycle.Stripe, "cus_PgafmB7WZ01zgk", "", "stripe_customer"},
	}
	for _, o := range outside {
		if got, ok := r.Of(o.table, o.key, o.sk); !ok || got.Name != o.want {
			t.Errorf("%s %s: kinds %v, want %s", o.table, o.key, names(r.Matching(o.table, o.key, o.sk)), o.want)
		}
	}
	seen := map[string]bool{"source_secret": true, "stripe_customer": true, "state_stream_record": true,
		// request-log kinds: shown by the whole-API scan
		"request_log": true, "anonymous_request_log": true, "request_log_watermark": true, "dmca_rate_counter": true}
	for name := range state {
		seen[name] = true
	}
	for _, k := range r.Kinds() {
		if !seen[k.Name] {
			t.Errorf("kind %s has no example key here", k.Name)
		}
	}
}

func names(kinds []lifecycle.Kind) []string {
	var out []string
	for _, k := range kinds {
		out = append(out, k.Name)
	}
	return out
}

// TestSlidingCountersSayTheirTTLMoves: a rate counter's item is rewritten,
// its expiry moved, by each request it counts, so its retention is told
// from the last request, in the registry and in the README's row.
func TestSlidingCountersSayTheirTTLMoves(t *testing.T) {
	r := all(t)
	text := readme(t)
	for _, name := range []string{"client_rate_counter", "mail_cap", "compliance_rate_counter", "dmca_rate_counter"} {
		k, ok := r.Kind(name)
		if !ok {
			t.Fatalf("no kind %s", name)
		}
		if !strings.Contains(k.Retention.Text, " after ") || !strings.Contains(k.Retention.Text, "last") {
			t.Errorf("%s: retention %q does not count from the last request", name, k.Retention.Text)
		}
		row := ""
		for line := range strings.Lines(text) {
			if strings.Contains(line, "<!-- kind: ") && strings.Contains(line, name) {
				row = line
			}
		}
		if !strings.Contains(row, "after the") || !strings.Contains(row, "last") {
			t.Errorf("%s: README row %q does not count from the last request", name, row)
		}
	}
}
