package authapi

import (
	"net/http"
	"time"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/web"
)

// SessionInfo is a session as its owner sees it listed: never its token,
// nor the token's hash.
type SessionInfo struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Current    bool      `json:"current"`
}

func (s *Service) handleListSessions(w http.ResponseWriter, r *http.Request) error {
	me := identity.SessionFrom(r.Context())
	all, err := s.store.Sessions(r.Context(), me.AccountID)
	if err != nil {
		return err
	}
	out := make([]SessionInfo, 0, len(all))
	for _, sess := range all {
		out = append(out, SessionInfo{ID: sess.ID, CreatedAt: sess.CreatedAt.UTC(), LastUsedAt: sess.LastUsedAt.UTC(),
			ExpiresAt: sess.ExpiresAt(), Current: sess.ID == me.ID})
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"sessions": out})
	return nil
}

func (s *Service) handleRevokeSession(w http.ResponseWriter, r *http.Request) error {
	me := identity.SessionFrom(r.Context())
	id := r.PathValue("id")
	notFound := web.Errorf(http.StatusNotFound, "session_not_found", "You have no session with that id.")
	if !ids.Valid("sess", id) {
		return notFound
	}
	// The key holds the caller's own account id: another account's session
	// id is simply not found.
	found, err := s.store.RevokeSessionIfExists(r.Context(), me.AccountID, id)
	if err != nil {
		return err
	}
	if !found {
		return notFound
	}
	s.event(r.Context(), "session_revoke", "success", "", me.AccountID, "session_id", id)
	if id == me.ID {
		identity.ClearSessionCookie(w)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handleRevokeOtherSessions(w http.ResponseWriter, r *http.Request) error {
	me := identity.SessionFrom(r.Context())
	n, err := s.store.RevokeSessions(r.Context(), me.AccountID, me.ID)
	if err != nil {
		return err
	}
	s.event(r.Context(), "session_revoke", "success", "all_others", me.AccountID, "sessions_revoked", n)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
