// Package accountapi is the account function: the signed-in customer's own
// account, its request logs, and the export of everything held about it (P8). The same handler runs in Lambda (functions/account) and in the
// local stack.
package accountapi

import (
	"context"
	"net/http"

	"github.com/atrium-cdn/atrium/shared/billing"
	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/passkeys"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/throttle"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Routes are the API routes this function serves (template.yaml routes the same).
var Routes = []string{
	"GET /v1/account",
	"GET /v1/logs",
	"GET /v1/account/export",
}

// New builds the account function from its environment.
func New(ctx context.Context, env coldstart.Env) (http.Handler, error) {
	b, err := coldstart.Load(ctx, "account", env)
	if err != nil {
		return nil, err
	}
	// The export reads the failed-login counter, which is keyed by a
	// pseudonym of the address under this key (as the auth function keys it).
	keySecret := b.Config.Required("CLIENT_KEY_SECRET_ARN")
	if err := b.Finish(); err != nil {
		return nil, err
	}
	keyer, err := pseudonym.FromSecret(ctx, b.SecretJSON, keySecret)
	if err != nil {
		return nil, err
	}
	logs := requestlog.NewReader(b.DynamoDB, b.RequestLogTable, b.Now)
	ex := &exporter{db: b.DynamoDB, table: b.Table, logs: logs, logger: b.Logger, now: b.Now,
		sections: Exporters(ExportParts{Accounts: b.Identity, Billing: billing.NewStore(b.DynamoDB, b.Table, b.Now),
			Sources: sources.NewStore(b.DynamoDB, b.Table, b.Now),
			// Only LoginFailures is called, which the policy does not affect.
			Throttle: throttle.NewStore(b.DynamoDB, b.Table, throttle.DefaultPolicy(), b.Now), Keyer: keyer,
			Compliance: compliance.NewStore(b.DynamoDB, b.Table, b.Now), Logs: logs,
			Passkeys: passkeys.NewStore(b.DynamoDB, b.Table, b.Now),
			// Reads factors' names, kinds and dates only: no sealing key.
			MFA: mfa.NewStore(b.DynamoDB, b.Table, nil, b.Now), MFAThrottle: throttle.NewStore(b.DynamoDB, b.Table, throttle.DefaultPolicy(), b.Now)})}
	rt := web.NewRouter(b.Logger)
	rt.Handle("GET /v1/account", b.Auth.Require(getAccount(b.Identity)))
	rt.Handle("GET /v1/logs", b.Auth.Require(listLogs(logs, b.Now)))
	rt.Handle("GET /v1/account/export", b.Auth.Require(ex.export))
	return b.Serve(rt), nil
}

func getAccount(store *identity.Store) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		me := identity.SessionFrom(r.Context())
		acct, err := me.Account() // read with the session
		if err != nil {
			return err
		}
		plan, err := plans.Of(me) // the same item, the plan's part
		if err != nil {
			return err
		}
		web.WriteJSON(w, http.StatusOK, identity.ViewAccount(acct, plan.PlanAt(store.Now())))
		return nil
	}
}
