package deletionapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
)

func TestStatusCarriesTheJobOnAndShowsTheReceipt(t *testing.T) {
	st := testenv.NewStack(t)
	env := st.Env("deletion")
	logs := &testenv.LogBuffer{}
	h, err := New(context.Background(), st.ColdstartEnv("deletion", logs, nil))
	if err != nil {
		t.Fatal(err)
	}
	db := stack.DynamoDBClient(st.DynamoDBEndpoint)
	accounts := identity.NewStore(db, env["STATE_TABLE"], nil)
	id := testenv.ActiveAccount(t, accounts, time.Now())
	acct, err := accounts.Account(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	job, _, err := deletion.NewStore(db, env["STATE_TABLE"], nil).Accept(context.Background(), acct)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, map[string]any) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		var out map[string]any
		_ = json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	status, out := get("/v1/account/deletion/" + job.ID)
	d, _ := out["deletion"].(map[string]any)
	if status != http.StatusOK || d["status"] != "done" || d["account_digest"] != deletion.Digest(job.ID, id, acct.Email) {
		t.Fatalf("%d %v", status, out)
	}
	deleted, _ := d["deleted"].(map[string]any)
	if deleted["account"] != float64(1) || deleted["email_claim"] != float64(1) {
		t.Errorf("receipt %v", deleted)
	}
	raw, _ := json.Marshal(out)
	for _, secret := range []string{id, acct.Email, "lease"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the receipt shows %q: %s", secret, raw)
		}
	}
	for _, path := range []string{"/v1/account/deletion/del_aaaaaaaaaaaaaaaaaaaaaaaaaa", "/v1/account/deletion/x", "/v1/account/deletion/" + id} {
		if status, out := get(path); status != http.StatusNotFound || out["code"] != "deletion_not_found" {
			t.Errorf("%s: %d %v", path, status, out)
		}
	}
	if _, err := accounts.Account(context.Background(), id); err == nil {
		t.Error("the account is still there")
	}
}
