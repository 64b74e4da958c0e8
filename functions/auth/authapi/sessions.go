package authapi

import (
	"net/http"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/web"
)

func (s *Service) handleListSessions(w http.ResponseWriter, r *http.Request) error {
	me := identity.SessionFrom(r.Context())
	all, err := s.store.Sessions(r.Context(), me.AccountID)
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, map[string]any{"sessions": identity.ViewSessions(all, me.ID)})
	return nil
}

func (s *Service) handleRevokeSession(w http.ResponseWriter, r *http.Request) error {
	me := identity.SessionFrom(r.Context())
	id := r.PathValue("id")
	notFound := web.CodeSessionNotFound.New()
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
