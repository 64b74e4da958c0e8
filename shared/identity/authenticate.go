package identity

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/atrium-cdn/atrium/shared/web"
)

// CookieName is the session cookie. The __Host- prefix makes browsers insist
// on Secure, Path=/ and no Domain, so no sibling host can set or read it.
const CookieName = "__Host-atrium_session"

// Authenticator checks the session of every request to an authenticated route.
type Authenticator struct {
	store   *Store
	policy  SessionPolicy
	origins map[string]bool
}

// NewAuthenticator accepts sessions from store under policy. allowedOrigins
// are the dashboard origins allowed to make cookie-authenticated unsafe requests.
func NewAuthenticator(store *Store, policy SessionPolicy, allowedOrigins []string) *Authenticator {
	o := make(map[string]bool, len(allowedOrigins))
	for _, s := range allowedOrigins {
		o[strings.TrimRight(s, "/")] = true
	}
	return &Authenticator{store: store, policy: policy, origins: o}
}

// Policy is the session policy the authenticator enforces.
func (a *Authenticator) Policy() SessionPolicy { return a.policy }

type sessionKey struct{}

// SessionFrom returns the authenticated session of a request that passed Require.
func SessionFrom(ctx context.Context) *Session {
	s, _ := ctx.Value(sessionKey{}).(*Session)
	return s
}

// TokenFrom returns the session token a request carries (Authorization:
// Bearer first, then the cookie) and whether it came from the cookie.
func TokenFrom(r *http.Request) (token string, fromCookie bool) {
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, tok, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(tok), false
		}
		return "", false
	}
	if c, err := r.Cookie(CookieName); err == nil {
		return c.Value, true
	}
	return "", false
}

// ErrSessionEnded is the answer to a request without a live session, and to
// one whose account's deletion was accepted while it ran (its session ended
// with it): 401 unauthenticated.
var ErrSessionEnded = web.CodeUnauthenticated.New()

// Require runs next only for a request with a live session, which next finds
// with SessionFrom. A cookie-authenticated unsafe request must also come from
// an allowed Origin (cross-site request forgery defence).
func (a *Authenticator) Require(next web.HandlerFunc) web.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		token, fromCookie := TokenFrom(r)
		if token == "" {
			return ErrSessionEnded
		}
		if fromCookie && !safeMethod(r.Method) && !a.origins[r.Header.Get("Origin")] {
			return web.CodeOriginNotAllowed.New()
		}
		sess, err := a.store.Authenticate(r.Context(), token, a.policy)
		if errors.Is(err, ErrNotFound) {
			if fromCookie {
				ClearSessionCookie(w)
			}
			return ErrSessionEnded
		}
		if err != nil {
			return err
		}
		web.SetAccountID(r.Context(), sess.AccountID)
		return next(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	}
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// SetSessionCookie hands the browser the session token in an HttpOnly,
// Secure, SameSite=Lax cookie that lasts no longer than the session.
func SetSessionCookie(w http.ResponseWriter, token string, expires time.Time) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: token, Path: "/", Expires: expires,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	})
}

// ClearSessionCookie tells the browser to drop the session cookie.
func ClearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	})
}
