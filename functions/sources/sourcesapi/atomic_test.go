package sourcesapi

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/sources"
)

// wantEvents fails unless the events since the last call are exactly want.
func wantEvents(t *testing.T, f *fixture, want ...string) {
	t.Helper()
	if got := f.ev.take(); !reflect.DeepEqual(got, want) {
		t.Fatalf("events\n  %q\nwant\n  %q", got, want)
	}
}

// reconcile runs the housekeeping pass and checks its report.
func reconcile(t *testing.T, f *fixture, want sources.ReconcileReport) {
	t.Helper()
	got, err := sources.Reconcile(context.Background(), f.store, f.vault, 100)
	if err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	if got != want {
		t.Fatalf("reconcile report %+v, want %+v", got, want)
	}
}

// onlyCreated returns the one secret name the vault was asked to create.
func onlyCreated(t *testing.T, f *fixture, acct string) string {
	t.Helper()
	names := f.sm.createdNames()
	if len(names) != 1 || !strings.HasPrefix(names[0], f.prefix+acct+"/src_") {
		t.Fatalf("secrets created: %q", names)
	}
	return names[0]
}

// TestCreateItemWriteFails: the item write fails after the secret was
// created; the secret is deleted and the intent cleared before the 500 is
// written, and nothing is left.
func TestCreateItemWriteFails(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acct, tok := f.account(t, plans.Standard)
	f.ev.take()
	f.db.transact.arm(1)
	r := f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody("Doomed", readerKey, f.secret(), nil)).
		want(t, http.StatusInternalServerError, "internal_error")
	if strings.Contains(r.problem.Detail, "injected") {
		t.Fatalf("the cause reached the client: %s", r.raw)
	}
	wantEvents(t, f, "put ok", "create secret ok", "transact failed", "delete secret ok", "delete item ok", "respond 500")
	f.mustNotExist(t, onlyCreated(t, f, acct))
	f.nothingStored(t, acct)
	if !strings.Contains(f.logs.String(), `"msg":"request failed"`) {
		t.Fatal("the failure was not logged")
	}
	// Nothing is left to reconcile, even long after.
	f.clock.Advance(sources.ReconcileGrace + time.Minute)
	reconcile(t, f, sources.ReconcileReport{})
	// And the customer can simply try again (having stepped up: the login
	// is long past the window).
	f.stepUp(t, tok)
	f.register(t, tok, "Retried", readerKey, f.secret())
	f.assertNoLeaks(t)
}

// TestCreateCrashBetweenSecretAndItem: the item write fails and so does the
// undo (as if the process died between the secret and the item); the intent
// survives, and the housekeeping pass removes the orphaned secret once the
// grace period is over, and only then.
func TestCreateCrashBetweenSecretAndItem(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acct, tok := f.account(t, plans.Standard)
	f.ev.take()
	f.db.transact.arm(1)
	f.sm.del.arm(1)
	secret := f.secret()
	f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody("Orphan", readerKey, secret, nil)).
		want(t, http.StatusInternalServerError, "internal_error")
	wantEvents(t, f, "put ok", "create secret ok", "transact failed", "delete secret failed", "respond 500")
	name := onlyCreated(t, f, acct)
	creds, _, ok := f.secretValue(t, name)
	if !ok || creds["secret_access_key"] != secret {
		t.Fatal("the orphaned secret is not there")
	}
	in := f.intents(t)
	if len(in) != 1 || in[0].SecretName != name || in[0].AccountID != acct || !strings.HasSuffix(name, "/"+in[0].SourceID) {
		t.Fatalf("intents %+v, want one for %s", in, name)
	}
	if n := len(f.storedSources(t, acct)); n != 0 || f.sourceCount(t, acct) != 0 {
		t.Fatalf("%d items stored, count %d", n, f.sourceCount(t, acct))
	}
	r := f.do(t, http.MethodGet, "/v1/sources", tok, nil).want(t, http.StatusOK, "")
	if len(r.json["sources"].([]any)) != 0 {
		t.Fatalf("the customer sees a half-made source: %s", r.raw)
	}

	// Within the grace period the pass leaves it alone (the request that
	// wrote it may still be running).
	f.clock.Advance(sources.ReconcileGrace - time.Second)
	reconcile(t, f, sources.ReconcileReport{})
	if _, _, ok := f.secretValue(t, name); !ok {
		t.Fatal("the pass removed a secret within the grace period")
	}
	f.clock.Advance(2 * time.Second)
	reconcile(t, f, sources.ReconcileReport{Examined: 1, SecretsRemoved: 1})
	f.mustNotExist(t, name)
	f.nothingStored(t, acct)
	// A second run has nothing to do.
	reconcile(t, f, sources.ReconcileReport{})
	f.assertNoLeaks(t)
}

// TestDeleteSecretFails: DELETE removes the item (the customer's source is
// gone and its place in the limit given back) but the secret cannot be
// deleted; the intent stays and the housekeeping pass deletes the secret.
func TestDeleteSecretFails(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acct, tok := f.account(t, plans.Standard)
	id := f.register(t, tok, "Going", readerKey, f.secret())
	arn := decodeSource(t, f.sourceItem(t, acct, id)).SecretARN
	f.ev.take()
	f.sm.del.arm(1)
	// The source is gone for the customer (its item is), so the answer is
	// 204; the secret's deletion is finished by housekeeping from the intent.
	f.do(t, http.MethodDelete, "/v1/sources/"+id, tok, nil).want(t, http.StatusNoContent, "")
	wantEvents(t, f, "put ok", "transact ok", "delete secret failed", "respond 204")
	if f.sourceItem(t, acct, id) != nil {
		t.Fatal("the item is still there")
	}
	if n := f.sourceCount(t, acct); n != 0 {
		t.Fatalf("source_count %d, want 0", n)
	}
	f.do(t, http.MethodGet, "/v1/sources/"+id, tok, nil).want(t, http.StatusNotFound, "source_not_found")
	if _, _, ok := f.secretValue(t, arn); !ok {
		t.Fatal("the secret is gone: nothing left to test")
	}
	in := f.intents(t)
	if len(in) != 1 || in[0].SecretName != f.secretName(acct, id) || in[0].SourceID != id {
		t.Fatalf("intents %+v, want one for %s", in, id)
	}
	reconcile(t, f, sources.ReconcileReport{})
	f.clock.Advance(sources.ReconcileGrace + time.Second)
	reconcile(t, f, sources.ReconcileReport{Examined: 1, SecretsRemoved: 1})
	f.mustNotExist(t, arn)
	f.nothingStored(t, acct)
	reconcile(t, f, sources.ReconcileReport{})
	f.assertNoLeaks(t)
}

// TestDeleteItemWriteFails: the item delete fails; the source, its secret
// and its count stay whole, and the intent is cleared.
func TestDeleteItemWriteFails(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acct, tok := f.account(t, plans.Standard)
	id := f.register(t, tok, "Staying", readerKey, f.secret())
	before := f.do(t, http.MethodGet, "/v1/sources/"+id, tok, nil).want(t, http.StatusOK, "").source(t)
	arn := decodeSource(t, f.sourceItem(t, acct, id)).SecretARN
	f.ev.take()
	f.db.transact.arm(1)
	f.do(t, http.MethodDelete, "/v1/sources/"+id, tok, nil).want(t, http.StatusInternalServerError, "internal_error")
	wantEvents(t, f, "put ok", "transact failed", "delete item ok", "respond 500")
	after := f.do(t, http.MethodGet, "/v1/sources/"+id, tok, nil).want(t, http.StatusOK, "").source(t)
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("source %v, was %v", after, before)
	}
	if _, _, ok := f.secretValue(t, arn); !ok {
		t.Fatal("the secret of a source that still exists was deleted")
	}
	if in := f.intents(t); len(in) != 0 || f.sourceCount(t, acct) != 1 {
		t.Fatalf("intents %d, count %d", len(in), f.sourceCount(t, acct))
	}
	f.do(t, http.MethodDelete, "/v1/sources/"+id, tok, nil).want(t, http.StatusNoContent, "")
	f.mustNotExist(t, arn)
}

// TestIntentWriteFails: when the intent cannot be written, no secret is
// ever created.
func TestIntentWriteFails(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acct, tok := f.account(t, plans.Standard)
	f.ev.take()
	f.db.put.arm(1)
	f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody("No intent", readerKey, f.secret(), nil)).
		want(t, http.StatusInternalServerError, "internal_error")
	wantEvents(t, f, "put failed", "respond 500")
	if n := f.sm.create.count(); n != 0 {
		t.Fatalf("%d secrets created without an intent", n)
	}
	f.nothingStored(t, acct)
}

// TestCreateSecretFails: Secrets Manager refuses; the intent is cleared
// (after deleting the secret in case the call had succeeded on the server
// before failing on the way back) and nothing is stored.
func TestCreateSecretFails(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acct, tok := f.account(t, plans.Standard)
	f.ev.take()
	f.sm.create.arm(1)
	f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody("No secret", readerKey, f.secret(), nil)).
		want(t, http.StatusInternalServerError, "internal_error")
	wantEvents(t, f, "put ok", "create secret failed", "delete secret ok", "delete item ok", "respond 500")
	f.mustNotExist(t, onlyCreated(t, f, acct))
	f.nothingStored(t, acct)
}

// TestPutCredentialsFails: a failed secret update leaves the source's hint
// and the secret's value as they were.
func TestPutCredentialsFails(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acct, tok := f.account(t, plans.Standard)
	secret := f.secret()
	id := f.register(t, tok, "Kept", readerKey, secret)
	before := f.do(t, http.MethodGet, "/v1/sources/"+id, tok, nil).want(t, http.StatusOK, "").source(t)
	f.sm.put.arm(1)
	f.do(t, http.MethodPut, "/v1/sources/"+id+"/credentials", tok,
		map[string]any{"access_key_id": readerKey2, "secret_access_key": f.secret()}).want(t, http.StatusInternalServerError, "internal_error")
	after := f.do(t, http.MethodGet, "/v1/sources/"+id, tok, nil).want(t, http.StatusOK, "").source(t)
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("source %v, was %v", after, before)
	}
	creds, _, _ := f.secretValue(t, f.secretName(acct, id))
	if creds["access_key_id"] != readerKey || creds["secret_access_key"] != secret {
		t.Fatal("the secret changed")
	}
	f.assertNoLeaks(t)
}

// TestReconcileKeepsLiveSecrets: an intent whose source exists (a DELETE that
// died right after writing its intent) is cleared, and the secret of the
// live source is kept.
func TestReconcileKeepsLiveSecrets(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acct, tok := f.account(t, plans.Standard)
	id := f.register(t, tok, "Live", readerKey, f.secret())
	if _, err := f.store.WriteIntent(context.Background(), acct, id, f.secretName(acct, id)); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(sources.ReconcileGrace + time.Second)
	reconcile(t, f, sources.ReconcileReport{Examined: 1, Kept: 1})
	if _, _, ok := f.secretValue(t, f.secretName(acct, id)); !ok {
		t.Fatal("the pass deleted a live source's secret")
	}
	if in := f.intents(t); len(in) != 0 {
		t.Fatalf("%d intents left", len(in))
	}
	f.do(t, http.MethodGet, "/v1/sources/"+id, tok, nil).want(t, http.StatusOK, "")
}

// TestVaultCreateIsIdempotent: a retried CreateSecret (same source, same
// keys) returns the same secret and never makes a second one.
func TestVaultCreateIsIdempotent(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acct, _ := f.account(t, plans.Standard)
	id := "src_" + strings.Repeat("a", 26)
	c := sources.Credentials{AccessKeyID: readerKey, SecretAccessKey: f.secret()}
	ctx := context.Background()
	arn1, err := f.vault.Create(ctx, acct, id, c)
	if err != nil {
		t.Fatal(err)
	}
	arn2, err := f.vault.Create(ctx, acct, id, c)
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if arn1 != arn2 {
		t.Fatalf("retry made %s, first %s", arn2, arn1)
	}
	if s := f.listSecrets(t, f.prefix); len(s) != 1 || aws.ToString(s[0].ARN) != arn1 {
		t.Fatalf("%d secrets after a retry", len(s))
	}
	if err := f.vault.Delete(ctx, arn1); err != nil {
		t.Fatal(err)
	}
	if err := f.vault.Delete(ctx, arn1); err != nil {
		t.Fatalf("deleting a deleted secret: %v", err)
	}
}

// TestPutCredentialsRacingDelete: a DELETE that completes while a PUT
// credentials of the same source is under way (before or after the new
// secret value is written) leaves nothing behind: no item, no secret, no
// intent. The PUT must then answer as for any source that does not exist,
// 404 source_not_found; an internal error (500, logged as a failure on our
// side) is wrong for an ordinary race between two of the customer's requests.
func TestPutCredentialsRacingDelete(t *testing.T) {
	for _, when := range []string{"before the secret is written", "after the secret is written"} {
		t.Run(when, func(t *testing.T) {
			f := newFixture(t, defaultLimits)
			acct, tok := f.account(t, plans.Standard)
			id := f.register(t, tok, "Racing", readerKey, f.secret())
			arn := decodeSource(t, f.sourceItem(t, acct, id)).SecretARN
			deleted := false
			del := func() {
				f.do(t, http.MethodDelete, "/v1/sources/"+id, tok, nil).want(t, http.StatusNoContent, "")
				deleted = true
			}
			f.sm.mu.Lock()
			if when == "before the secret is written" {
				f.sm.beforePut = del
			} else {
				f.sm.afterPut = del
			}
			f.sm.mu.Unlock()
			r := f.do(t, http.MethodPut, "/v1/sources/"+id+"/credentials", tok,
				map[string]any{"access_key_id": readerKey2, "secret_access_key": f.secret()})
			if !deleted {
				t.Fatal("the concurrent DELETE did not run")
			}
			// What must hold whatever the answer: nothing is left.
			f.mustNotExist(t, arn)
			f.nothingStored(t, acct)
			// The answer.
			if r.status != http.StatusNotFound || r.problem.Code != "source_not_found" {
				t.Errorf("PUT credentials racing a DELETE answered %d %q, want 404 source_not_found "+
					"(sourcesapi.go putCredentials: the errors of Vault.Put and Store.Verified for a source deleted meanwhile are not mapped to errNotFound)",
					r.status, r.problem.Code)
			}
			f.assertNoLeaks(t)
		})
	}
}

// TestConcurrentCredentialUpdatesKeepTheHintTrue: a second PUT credentials
// of one source while the first is between writing its secret value and
// recording its hint is refused (409 source_busy), so the source always
// shows the hint of the key its secret holds (the key the CDN uses): a
// customer who trusts a stale hint may revoke the key in use. (Found as a
// bug: the two writes were once unordered, and the last hint won.)
func TestConcurrentCredentialUpdatesKeepTheHintTrue(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acct, tok := f.account(t, plans.Standard)
	id := f.register(t, tok, "Contended", readerKey, f.secret())
	// The first PUT (key ...0002) writes its secret value; before it records
	// its hint, a second PUT (key ...0001) runs from start to end.
	second := f.secret()
	ran := false
	f.sm.mu.Lock()
	f.sm.afterPut = func() {
		f.do(t, http.MethodPut, "/v1/sources/"+id+"/credentials", tok,
			map[string]any{"access_key_id": readerKey, "secret_access_key": second}).want(t, http.StatusConflict, "source_busy")
		ran = true
	}
	f.sm.mu.Unlock()
	f.do(t, http.MethodPut, "/v1/sources/"+id+"/credentials", tok,
		map[string]any{"access_key_id": readerKey2, "secret_access_key": f.secret()}).want(t, http.StatusOK, "")
	if !ran {
		t.Fatal("the second PUT did not run")
	}
	creds, _, _ := f.secretValue(t, f.secretName(acct, id))
	shown := f.do(t, http.MethodGet, "/v1/sources/"+id, tok, nil).want(t, http.StatusOK, "").source(t)["access_key_id_hint"]
	if want := sources.KeyHint(creds["access_key_id"]); shown != want {
		t.Errorf("the source shows access_key_id_hint %q, but its secret holds the key ending %q", shown, want)
	}
	f.assertNoLeaks(t)
}

// TestConcurrentDeletes: several DELETEs of one source at once: exactly one
// 204, the others 404, and nothing is left.
func TestConcurrentDeletes(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acct, tok := f.account(t, plans.Standard)
	id := f.register(t, tok, "Deleted four times", readerKey, f.secret())
	statuses := make([]int, 4)
	var wg sync.WaitGroup
	for i := range statuses {
		wg.Go(func() { statuses[i] = f.do(t, http.MethodDelete, "/v1/sources/"+id, tok, nil).status })
	}
	wg.Wait()
	slices.Sort(statuses)
	if !slices.Equal(statuses, []int{http.StatusNoContent, http.StatusNotFound, http.StatusNotFound, http.StatusNotFound}) {
		t.Fatalf("statuses %v, want one 204 and three 404", statuses)
	}
	f.mustNotExist(t, f.secretName(acct, id))
	f.nothingStored(t, acct)
}
