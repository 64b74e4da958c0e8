package authapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
)

// listedSession is one entry of GET /v1/sessions, decoded strictly.
type listedSession struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Current    bool      `json:"current"`
	// AMR: the factors that made it; ReauthenticatedAt: its last proof.
	AMR                 []string  `json:"amr"`
	ReauthenticatedAt   time.Time `json:"reauthenticated_at"`
	ReauthenticatedWith []string  `json:"reauthenticated_with"`
}

// sessListRaw lists the caller's sessions; it must answer 200. It returns
// the raw body and the entries, after checking that the body holds only
// {"sessions": [...]} and each entry exactly the eight documented fields.
func (f *fixture) sessListRaw(t testing.TB, bearer string) (string, []listedSession) {
	t.Helper()
	rec := f.pwSend(t, http.MethodGet, "/v1/sessions", "", bearer)
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /v1/sessions: %d %s", rec.Code, rec.Body)
	}
	raw := rec.Body.String()
	var shape map[string][]map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &shape); err != nil || len(shape) != 1 || shape["sessions"] == nil {
		t.Fatalf("body %s: want exactly {\"sessions\": [...]} (%v)", raw, err)
	}
	want := []string{"amr", "created_at", "current", "expires_at", "id", "last_used_at", "reauthenticated_at", "reauthenticated_with"}
	for _, entry := range shape["sessions"] {
		keys := make([]string, 0, len(entry))
		for k := range entry {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if !slices.Equal(keys, want) {
			t.Fatalf("a listed session has fields %v, want exactly %v", keys, want)
		}
	}
	var out struct {
		Sessions []listedSession `json:"sessions"`
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return raw, out.Sessions
}

// sessIDs returns the ids of listed sessions, sorted.
func sessIDs(list []listedSession) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		out = append(out, s.ID)
	}
	slices.Sort(out)
	return out
}

// sessIDsOf returns the session ids of tokens, sorted.
func sessIDsOf(tokens ...string) []string {
	out := make([]string, 0, len(tokens))
	for _, tok := range tokens {
		out = append(out, pwSessionID(tok))
	}
	slices.Sort(out)
	return out
}

// sessWantListed fails unless the caller's listing holds exactly the
// sessions of tokens, with the caller's own as the one current entry.
func (f *fixture) sessWantListed(t testing.TB, what, caller string, tokens ...string) []listedSession {
	t.Helper()
	_, list := f.sessListRaw(t, caller)
	if got, want := sessIDs(list), sessIDsOf(tokens...); !slices.Equal(got, want) {
		t.Fatalf("%s: listed %v, want %v", what, got, want)
	}
	current := 0
	for _, s := range list {
		if s.Current {
			current++
			if s.ID != pwSessionID(caller) {
				t.Fatalf("%s: %s is marked current, but the caller is %s", what, s.ID, pwSessionID(caller))
			}
		}
	}
	if current != 1 {
		t.Fatalf("%s: %d sessions marked current, want exactly 1", what, current)
	}
	return list
}

func TestListSessions(t *testing.T) {
	f := newFixture(t, io.Discard)
	email := testenv.Email(t)
	tokens := []string{f.activeAccount(t, email)}
	for range 2 {
		f.clock.Advance(90 * time.Second) // distinct creation times, oldest first
		tokens = append(tokens, f.pwMustLogin(t, email, strong))
	}
	other := f.activeAccount(t, testenv.Email(t))

	for i, caller := range tokens {
		list := f.sessWantListed(t, "caller "+pwSessionID(caller), caller, tokens...)
		for j, s := range list {
			if s.ID != pwSessionID(tokens[j]) {
				t.Fatalf("listed out of creation order: %v", sessIDs(list))
			}
			if s.Current != (j == i) {
				t.Fatalf("entry %d current = %v with caller %d", j, s.Current, i)
			}
			if s.ExpiresAt.Before(s.LastUsedAt) || s.LastUsedAt.Before(s.CreatedAt) {
				t.Fatalf("times out of order: %+v", s)
			}
			// The fixture's idle timeout (30 min) ends each session before
			// its lifetime (12 h): it expires 30 min after its last use.
			if want := s.LastUsedAt.Add(30 * time.Minute).Truncate(time.Second); !s.ExpiresAt.Equal(want) {
				t.Fatalf("%s expires at %v, want %v (last used %v)", s.ID, s.ExpiresAt, want, s.LastUsedAt)
			}
			for _, tm := range []time.Time{s.CreatedAt, s.LastUsedAt, s.ExpiresAt} {
				if tm.Location() != time.UTC {
					t.Fatalf("time %v is not in UTC", tm)
				}
			}
		}
	}
	if _, list := f.sessListRaw(t, other); len(list) != 1 || list[0].ID != pwSessionID(other) || !list[0].Current {
		t.Fatalf("another account lists %+v, want only its own session", list)
	}

	t.Run("never a token or its hash", func(t *testing.T) {
		raw, _ := f.sessListRaw(t, tokens[1])
		secrets := []string{"secret_hash", "SecretHash", "token"}
		for _, tok := range append(slices.Clone(tokens), other) {
			secrets = append(secrets, tok, pwSecret(tok), ids.Hash(pwSecret(tok)), pwSecret(tok)[:16])
		}
		secrets = append(secrets, pwSessionID(other), pwAccountID(other))
		for _, s := range secrets {
			if strings.Contains(raw, s) {
				t.Fatalf("the listing contains %q:\n%s", s, raw)
			}
		}
	})

	t.Run("needs a live session", func(t *testing.T) {
		for _, bearer := range []string{"", "garbage", pwAccountID(tokens[0]) + "." + pwSessionID(tokens[0]) + "." + strings.Repeat("x", 43)} {
			status, _, out := f.call(t, http.MethodGet, "/v1/sessions", "", "", bearer)
			pwWantProblem(t, "list with bearer "+bearer, status, out, http.StatusUnauthorized, "unauthenticated", nil)
		}
	})
}

func TestRevokeSession(t *testing.T) {
	f := newFixture(t, io.Discard)
	email := testenv.Email(t)
	a0 := f.activeAccount(t, email)
	a1, a2 := f.pwMustLogin(t, email, strong), f.pwMustLogin(t, email, strong)
	b := f.activeAccount(t, testenv.Email(t))
	del := func(bearer, id string) (int, map[string]any) {
		status, _, out := f.call(t, http.MethodDelete, "/v1/sessions/"+id, "", "", bearer)
		return status, out
	}

	t.Run("not found", func(t *testing.T) {
		for _, c := range []struct{ name, id string }{
			{"another account's session", pwSessionID(b)},
			{"unknown but well-formed", ids.New("sess")},
			{"an account id", pwAccountID(a1)},
			{"upper case", strings.ToUpper(pwSessionID(a2))},
			{"wrong prefix", "acct_" + strings.TrimPrefix(pwSessionID(a2), "sess_")},
			{"too short", pwSessionID(a2)[:20]},
			{"too long", pwSessionID(a2) + "a"},
			{"not an id", "not-a-session"},
			{"a whole token", a2},
			{"escaped slash", pwSessionID(a2) + "%2Fx"},
		} {
			t.Run(c.name, func(t *testing.T) {
				status, out := del(a1, c.id)
				pwWantProblem(t, c.name, status, out, http.StatusNotFound, "session_not_found", nil)
			})
		}
		f.pwWantSessions(t, "after the refusals", map[string]bool{a0: true, a1: true, a2: true, b: true})
	})

	t.Run("another account's session from its owner's view", func(t *testing.T) {
		// b tries a's session: also 404, and a's session lives on.
		status, out := del(b, pwSessionID(a0))
		pwWantProblem(t, "b deletes a0", status, out, http.StatusNotFound, "session_not_found", nil)
		f.pwWantSessions(t, "after b's attempt", map[string]bool{a0: true, b: true})
	})

	t.Run("own other session", func(t *testing.T) {
		rec := f.pwSend(t, http.MethodDelete, "/v1/sessions/"+pwSessionID(a2), "", a1)
		if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
			t.Fatalf("delete own other session: %d %s", rec.Code, rec.Body)
		}
		if c := rec.Header().Get("Set-Cookie"); c != "" {
			t.Fatalf("revoking another session touched the caller's cookie: %s", c)
		}
		f.pwWantSessions(t, "after revoking a2", map[string]bool{a2: false, a0: true, a1: true, b: true})
		status, out := del(a1, pwSessionID(a2))
		pwWantProblem(t, "revoke it again", status, out, http.StatusNotFound, "session_not_found", nil)
		f.sessWantListed(t, "after revoking a2", a1, a0, a1)
	})

	t.Run("own current session", func(t *testing.T) {
		rec := f.pwSend(t, http.MethodDelete, "/v1/sessions/"+pwSessionID(a1), "", a1)
		if rec.Code != http.StatusNoContent {
			t.Fatalf("delete own current session: %d %s", rec.Code, rec.Body)
		}
		if c := rec.Header().Get("Set-Cookie"); !strings.HasPrefix(c, identity.CookieName+"=;") || !strings.Contains(c, "Max-Age=0") {
			t.Fatalf("revoking the current session must clear the cookie, Set-Cookie: %q", c)
		}
		f.pwWantSessions(t, "after revoking a1", map[string]bool{a1: false, a0: true, b: true})
		f.sessWantListed(t, "after revoking a1", a0, a0)
	})
}

func TestRevokeOtherSessions(t *testing.T) {
	f := newFixture(t, io.Discard)
	email := testenv.Email(t)
	tokens := []string{f.activeAccount(t, email)}
	for range 3 {
		tokens = append(tokens, f.pwMustLogin(t, email, strong))
	}
	b := f.activeAccount(t, testenv.Email(t))
	caller := tokens[2]

	rec := f.pwSend(t, http.MethodDelete, "/v1/sessions", "", caller)
	if rec.Code != http.StatusNoContent || rec.Body.Len() != 0 {
		t.Fatalf("DELETE /v1/sessions: %d %s", rec.Code, rec.Body)
	}
	alive := map[string]bool{b: true}
	for _, tok := range tokens {
		alive[tok] = tok == caller
	}
	f.pwWantSessions(t, "after revoking the others", alive)
	f.sessWantListed(t, "after revoking the others", caller, caller)

	// Again, with nothing left to revoke: still 204, the caller still in.
	if rec := f.pwSend(t, http.MethodDelete, "/v1/sessions", "", caller); rec.Code != http.StatusNoContent {
		t.Fatalf("second DELETE /v1/sessions: %d %s", rec.Code, rec.Body)
	}
	f.sessWantListed(t, "after the second call", caller, caller)

	// A new login after the revocation is a new session, listed with the caller.
	later := f.pwMustLogin(t, email, strong)
	f.sessWantListed(t, "after a new login", caller, caller, later)

	status, _, out := f.call(t, http.MethodDelete, "/v1/sessions", "", "", tokens[0])
	pwWantProblem(t, "DELETE /v1/sessions with a revoked session", status, out, http.StatusUnauthorized, "unauthenticated", nil)
	status, _, out = f.call(t, http.MethodDelete, "/v1/sessions", "", "", "")
	pwWantProblem(t, "DELETE /v1/sessions without a session", status, out, http.StatusUnauthorized, "unauthenticated", nil)
}

// TestExpiredSessionsAreNotListed creates sessions with short idle timeouts
// and lifetimes straight in the store, so that the clock can pass them while
// the caller's own session (30 minutes idle, touched by every listing) lives.
// Finally the caller's own session idles out too: the next login lists
// only itself.
func TestExpiredSessionsAreNotListed(t *testing.T) {
	f := newFixture(t, io.Discard)
	ctx := context.Background()
	email := testenv.Email(t)
	caller := f.activeAccount(t, email)
	acct := pwAccountID(caller)
	start := f.clock.Now()

	short, shortTok, err := f.store.CreateSession(ctx, acct, identity.SessionPolicy{IdleTimeout: 5 * time.Minute, MaxLifetime: 12 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	brief, briefTok, err := f.store.CreateSession(ctx, acct, identity.SessionPolicy{IdleTimeout: time.Hour, MaxLifetime: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	list := f.sessWantListed(t, "at the start", caller, caller, shortTok, briefTok)
	for _, s := range list {
		var want time.Time
		switch s.ID {
		case short.ID:
			want = start.Add(5 * time.Minute)
		case brief.ID:
			want = start.Add(10 * time.Minute) // the lifetime ends before the idle timeout
		default:
			want = start.Add(30 * time.Minute)
		}
		if !s.ExpiresAt.Equal(want.Truncate(time.Second).UTC()) {
			t.Fatalf("%s expires at %v, want %v", s.ID, s.ExpiresAt, want.Truncate(time.Second).UTC())
		}
	}

	f.clock.Advance(6 * time.Minute) // past the short idle timeout
	f.sessWantListed(t, "after 6 minutes", caller, caller, briefTok)
	f.pwWantSessions(t, "after 6 minutes", map[string]bool{shortTok: false, briefTok: true})
	status, _, out := f.call(t, http.MethodDelete, "/v1/sessions/"+short.ID, "", "", caller)
	pwWantProblem(t, "revoke an idled-out session", status, out, http.StatusNotFound, "session_not_found", nil)

	// briefTok was used at 6 minutes; its lifetime still ends at 10.
	f.clock.Advance(5 * time.Minute)
	f.sessWantListed(t, "after 11 minutes", caller, caller)
	f.pwWantSessions(t, "after 11 minutes", map[string]bool{briefTok: false})

	// The caller was last used at 11 minutes: it idles out at 41.
	f.clock.Advance(31 * time.Minute)
	f.pwWantSessions(t, "after 42 minutes", map[string]bool{caller: false})
	next := f.pwMustLogin(t, email, strong)
	f.sessWantListed(t, "after a new login", next, next)
}
