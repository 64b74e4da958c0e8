// Package accountapi is the account function: the signed-in customer's own
// account and its request logs. The same handler runs in Lambda (functions/account) and in the
// local stack.
package accountapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/requestlog"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Routes are the API routes this function serves (template.yaml routes the same).
var Routes = []string{
	"GET /v1/account",
	"GET /v1/logs",
}

// New builds the account function from its environment.
func New(ctx context.Context, env coldstart.Env) (http.Handler, error) {
	b, err := coldstart.Load(ctx, "account", env)
	if err != nil {
		return nil, err
	}
	if err := b.Finish(); err != nil {
		return nil, err
	}
	rt := web.NewRouter(b.Logger)
	rt.Handle("GET /v1/account", b.Auth.Require(getAccount(b.Identity)))
	rt.Handle("GET /v1/logs", b.Auth.Require(listLogs(requestlog.NewReader(b.DynamoDB, b.RequestLogTable, b.Now), b.Now)))
	return b.Serve(rt), nil
}

func getAccount(store *identity.Store) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		sess := identity.SessionFrom(r.Context())
		acct, err := store.Account(r.Context(), sess.AccountID)
		if errors.Is(err, identity.ErrNotFound) || err == nil && acct.Status != identity.StatusActive {
			return web.Errorf(http.StatusUnauthorized, "unauthenticated", "Log in first: this route needs a valid session.")
		}
		if err != nil {
			return err
		}
		web.WriteJSON(w, http.StatusOK, identity.ViewAccount(acct, store.Now()))
		return nil
	}
}
