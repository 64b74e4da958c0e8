package authapi

import (
	"context"
	"net/http"
	"time"

	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/web"
)

// DeleteAccountRequest is the body of DELETE /v1/account.
type DeleteAccountRequest struct {
	Password string `json:"password"`
}

// DeletionView is an accepted deletion as DELETE /v1/account answers it.
type DeletionView struct {
	ID          string    `json:"id"`
	Status      string    `json:"status"`
	RequestedAt time.Time `json:"requested_at"`
	// StatusURL is where to follow it, without a session (every session
	// has ended).
	StatusURL string `json:"status_url"`
}

// DeleteAccount accepts the deletion of the signed-in account once its
// password is confirmed (under the same failure counting as login): from
// then on the account cannot log in and none of its sessions works. The
// address gets a confirmation, the last email it gets from this account. A
// second request while the deletion runs returns the same deletion.
func (s *Service) DeleteAccount(ctx context.Context, sess *identity.Session, pass string) (*deletion.Job, error) {
	acct, err := sess.Account() // read with the session
	if err != nil {
		return nil, err
	}
	if err := s.requireStepUpFor(ctx, sess); err != nil {
		return nil, err
	}
	if _, err := s.confirmPassword(ctx, "account_deletion", acct, pass); err != nil {
		return nil, err
	}
	job, created, err := s.deletions.Accept(ctx, acct)
	if err != nil {
		return nil, err
	}
	if !created {
		s.event(ctx, "account_deletion", "success", "already_accepted", acct.ID, "deletion_id", job.ID)
		return job, nil
	}
	s.event(ctx, "account_deletion", "success", "accepted", acct.ID, "deletion_id", job.ID)
	if err := s.send(ctx, deletionAcceptedMail(acct.Email, s.appURL, job.ID)); err != nil {
		// The deletion stands; only the courtesy email failed.
		s.logger.WarnContext(ctx, "deletion confirmation not sent", "account_id", acct.ID, "deletion_id", job.ID, "error", err)
	}
	return job, nil
}

func (s *Service) handleDeleteAccount(w http.ResponseWriter, r *http.Request) error {
	var req DeleteAccountRequest
	if err := web.DecodeJSON(r, &req); err != nil {
		return err
	}
	if fields := s.passwordShape("password", req.Password); len(fields) > 0 {
		return web.Invalid(fields...)
	}
	job, err := s.DeleteAccount(r.Context(), identity.SessionFrom(r.Context()), req.Password)
	if err != nil {
		return s.problem(err, "password")
	}
	identity.ClearSessionCookie(w)
	web.WriteJSON(w, http.StatusAccepted, map[string]DeletionView{"deletion": {ID: job.ID, Status: job.Status,
		RequestedAt: job.RequestedAt.UTC(), StatusURL: "/v1/account/deletion/" + job.ID}})
	return nil
}
