package complianceapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Bounds of the requests' dates.
const (
	// MaxPentestWindow is the longest pen test a notice may announce.
	MaxPentestWindow = 30 * 24 * time.Hour
	// MaxLeadTime bounds how far ahead a pen test may start or a
	// questionnaire be due.
	MaxLeadTime = 366 * 24 * time.Hour
)

// NDABody is the body of POST /v1/compliance/nda.
type NDABody struct {
	SignatoryName  string `json:"signatory_name"`
	SignatoryTitle string `json:"signatory_title"`
	Accept         *bool  `json:"accept"`
}

// ParseNDA validates an NDA acceptance body: the signatory's name and
// title, and accept: true. It needs no state, so the fuzzer calls it alone.
func ParseNDA(body []byte) (name, title string, err error) {
	var b NDABody
	var f fields
	if err := decode(body, &b, &f); err != nil {
		return "", "", err
	}
	name = f.text("signatory_name", b.SignatoryName, MaxNameLength, false)
	title = f.text("signatory_title", b.SignatoryTitle, MaxNameLength, false)
	f.mustBeTrue("accept", b.Accept, "accepting the NDA is what this request does")
	if err := f.err(); err != nil {
		return "", "", err
	}
	return name, title, nil
}

// RequestBody is the body of POST /v1/compliance/requests: a type and the
// fields of that type (pointers, so that a field given for another type is
// refused rather than ignored).
type RequestBody struct {
	Type        string  `json:"type"`
	Description *string `json:"description"`
	DueDate     *string `json:"due_date"`
	Scope       *string `json:"scope"`
	Start       *string `json:"start"`
	End         *string `json:"end"`
	ContactName *string `json:"contact_name"`
}

// fieldsOf are the fields each type takes besides type.
var fieldsOf = map[string][]string{
	compliance.TypeSOC2Report:            nil,
	compliance.TypePentestReport:         nil,
	compliance.TypeSecurityQuestionnaire: {"description", "due_date"},
	compliance.TypePentestNotice:         {"scope", "start", "end", "contact_name"},
}

// ParseRequest validates a compliance request body at now and returns the
// request it describes (without id, account or time). Every invalid field
// is named. It needs no state, so the fuzzer calls it alone.
func ParseRequest(body []byte, now time.Time) (compliance.Request, error) {
	var b RequestBody
	var f fields
	if err := decode(body, &b, &f); err != nil {
		return compliance.Request{}, err
	}
	now = now.UTC()
	req := compliance.Request{Type: b.Type}
	allowed, known := fieldsOf[b.Type]
	if !known {
		if !f.has("type") {
			f.add("type", "invalid_type", "must be one of "+strings.Join(compliance.TypeNames, ", "))
		}
		return compliance.Request{}, f.err()
	}
	given := map[string]bool{"description": b.Description != nil, "due_date": b.DueDate != nil, "scope": b.Scope != nil,
		"start": b.Start != nil, "end": b.End != nil, "contact_name": b.ContactName != nil}
	for _, name := range []string{"description", "due_date", "scope", "start", "end", "contact_name"} {
		if given[name] && !contains(allowed, name) {
			f.add(name, "not_allowed", "is not a field of a "+b.Type+" request")
		}
	}
	switch b.Type {
	case compliance.TypeSecurityQuestionnaire:
		req.Description = f.text("description", deref(b.Description), MaxLongTextLength, true)
		if b.DueDate != nil {
			req.DueDate = f.dueDate("due_date", *b.DueDate, now)
		}
	case compliance.TypePentestNotice:
		req.Scope = f.text("scope", deref(b.Scope), MaxLongTextLength, true)
		req.ContactName = f.text("contact_name", deref(b.ContactName), MaxNameLength, false)
		req.Start, req.End = f.window(deref(b.Start), deref(b.End), now)
	}
	if err := f.err(); err != nil {
		return compliance.Request{}, err
	}
	return req, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// dueDate checks a date (YYYY-MM-DD) after today and at most MaxLeadTime ahead.
func (f *fields) dueDate(field, v string, now time.Time) string {
	if f.has(field) {
		return ""
	}
	d, err := time.Parse(time.DateOnly, v)
	today := now.Truncate(24 * time.Hour)
	switch {
	case err != nil:
		f.add(field, "invalid_date", "must be a date such as 2026-03-31")
	case !d.After(today):
		f.add(field, "in_the_past", "must be after today (UTC)")
	case d.After(now.Add(MaxLeadTime)):
		f.add(field, "too_far_ahead", "must be at most a year ahead")
	default:
		return d.Format(time.DateOnly)
	}
	return ""
}

// instant parses a required RFC 3339 time.
func (f *fields) instant(field, v string) (time.Time, bool) {
	if f.has(field) {
		return time.Time{}, false
	}
	if v == "" {
		f.add(field, "required", "is required")
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339, v)
	if len(v) > maxTimeLength || err != nil {
		f.add(field, "invalid_time", "must be an RFC 3339 time such as 2026-03-31T09:00:00Z")
		return time.Time{}, false
	}
	return t.UTC(), true
}

// window checks a pen test's start and end: both in the future, the start
// at most MaxLeadTime ahead, the end after the start and at most
// MaxPentestWindow later.
func (f *fields) window(startText, endText string, now time.Time) (*time.Time, *time.Time) {
	start, okStart := f.instant("start", startText)
	end, okEnd := f.instant("end", endText)
	if okStart {
		switch {
		case !start.After(now):
			f.add("start", "in_the_past", "must be in the future")
			okStart = false
		case start.After(now.Add(MaxLeadTime)):
			f.add("start", "too_far_ahead", "must be at most a year ahead")
			okStart = false
		}
	}
	if okEnd {
		switch {
		case !end.After(now):
			f.add("end", "in_the_past", "must be in the future")
			okEnd = false
		case okStart && !end.After(start):
			f.add("end", "not_after_start", "must be after start")
			okEnd = false
		case okStart && end.Sub(start) > MaxPentestWindow:
			f.add("end", "window_too_long", "must be at most 30 days after start")
			okEnd = false
		}
	}
	if !okStart || !okEnd {
		return nil, nil
	}
	return &start, &end
}

func (s *Service) acceptNDA(w http.ResponseWriter, r *http.Request) error {
	body, err := readJSON(r)
	if err != nil {
		return err
	}
	name, title, err := ParseNDA(body)
	if err != nil {
		return err
	}
	ctx := r.Context()
	acct, err := s.account(ctx)
	if err != nil {
		return err
	}
	a, created, err := s.Records.AcceptNDA(ctx, compliance.NDAAcceptance{AccountID: acct.ID, Version: s.NDAVersion,
		AcceptedAt: s.Records.Now().Truncate(time.Millisecond), SignatoryName: name, SignatoryTitle: title})
	if errors.Is(err, compliance.ErrAccountNotActive) {
		return identity.ErrSessionEnded // its deletion was accepted while this request ran
	}
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		s.Logger.InfoContext(ctx, "nda_accepted", "account_id", acct.ID, "version", a.Version)
	}
	web.WriteJSON(w, status, map[string]compliance.NDAView{"nda": compliance.ViewNDA(a)})
	return nil
}

// premiumMessage says what premium includes and how to get it.
func premiumMessage(typ string) string {
	return fmt.Sprintf("A %s request needs the premium plan. Premium includes our SOC 2 report (under NDA), "+
		"our latest penetration-test results, answers to your security questionnaires and a higher limit on storage sources. "+
		`Upgrade with POST /v1/billing/checkout {"plan":"premium"}: requests work as soon as the plan changes. `+
		"Any plan may announce a pen test of its own systems (type pentest_notice).", typ)
}

func (s *Service) createRequest(w http.ResponseWriter, r *http.Request, limit web.Gate) error {
	body, err := readJSON(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	req, err := ParseRequest(body, s.Records.Now())
	if err != nil {
		return err
	}
	acct, err := s.account(ctx)
	if err != nil {
		return err
	}
	stored, err := plans.Of(identity.SessionFrom(ctx)) // read with the session
	if err != nil {
		return err
	}
	plan := stored.PlanAt(s.Records.Now())
	need := compliance.Types[req.Type]
	if need.Premium && plan != plans.Premium {
		s.Logger.InfoContext(ctx, "compliance_request", "account_id", acct.ID, "type", req.Type, "outcome", "premium_required")
		return web.CodePremiumRequired.Errorf("%s", premiumMessage(req.Type))
	}
	var nda *compliance.NDAAcceptance
	if need.NDA {
		nda, err = s.Records.NDA(ctx, acct.ID, s.NDAVersion)
		if errors.Is(err, compliance.ErrNotFound) {
			s.Logger.InfoContext(ctx, "compliance_request", "account_id", acct.ID, "type", req.Type, "outcome", "nda_required")
			return web.CodeNDARequired.Errorf(
				"The SOC 2 report is shared under NDA: accept the current NDA (version %s) with POST /v1/compliance/nda, then ask again.",
				s.NDAVersion)
		}
		if err != nil {
			return err
		}
		req.NDAVersion = nda.Version
	}
	if err := limit(r); err != nil {
		if web.CodeOf(err) == web.CodeRateLimited {
			s.Logger.InfoContext(ctx, "compliance_request", "account_id", acct.ID, "type", req.Type, "outcome", "rate_limited")
		}
		return err
	}
	req.ID, req.AccountID, req.Status = ids.New("creq"), acct.ID, compliance.StatusReceived
	req.CreatedAt = s.Records.Now().Truncate(time.Millisecond)
	if err := s.Records.AddRequest(ctx, &req); errors.Is(err, compliance.ErrAccountNotActive) {
		return identity.ErrSessionEnded // its deletion was accepted while this request ran
	} else if err != nil {
		return err
	}
	if err := s.Mail.Send(ctx, requestMail(s.AccountManager, &req, plan, nda)); err != nil {
		// Unsent, the request would wait unseen: take it back, so the
		// customer's retry is the only copy.
		if rerr := s.Records.RemoveRequest(ctx, &req); rerr != nil {
			s.Logger.ErrorContext(ctx, "unsent compliance request not removed", "account_id", acct.ID, "request_id", req.ID, "error", rerr)
		}
		return fmt.Errorf("send compliance request %s to the account manager: %w", req.ID, err)
	}
	s.Logger.InfoContext(ctx, "compliance_request", "account_id", acct.ID, "request_id", req.ID, "type", req.Type, "outcome", "received")
	web.WriteJSON(w, http.StatusCreated, map[string]compliance.RequestView{"request": compliance.ViewRequest(req)})
	return nil
}

// List bounds.
const (
	defaultListLimit = 50
	maxListLimit     = 100
)

// NDAState tells the dashboard whether the current NDA is accepted.
type NDAState struct {
	CurrentVersion string              `json:"current_version"`
	Accepted       *compliance.NDAView `json:"accepted"` // null until the current version is accepted
}

// cursorOrNull is a page's next cursor as the API shows it: null when
// there is no next page.
func cursorOrNull(next string) *string {
	if next == "" {
		return nil
	}
	return &next
}

// ListResponse is the answer of GET /v1/compliance/requests.
type ListResponse struct {
	Requests   []compliance.RequestView `json:"requests"`
	NextCursor *string                  `json:"next_cursor"` // null on the last page
	NDA        NDAState                 `json:"nda"`
}

// parseListQuery bounds the list's parameters: limit 1 to 100, cursor.
func parseListQuery(v map[string][]string) (limit int, cursor string, err error) {
	var f fields
	limit = defaultListLimit
	for name, vals := range v {
		switch {
		case name != "limit" && name != "cursor":
			if len(name) > 64 {
				name = "(a long name)"
			}
			f.add(name, "unknown_parameter", "is not a parameter of this route")
		case len(vals) > 1:
			f.add(name, "repeated", "may be given once")
		}
	}
	if vals := v["limit"]; len(vals) == 1 {
		n, err := strconv.Atoi(vals[0])
		if err != nil || n < 1 || n > maxListLimit {
			f.add("limit", "invalid_limit", fmt.Sprintf("must be a whole number from 1 to %d", maxListLimit))
		}
		limit = n
	}
	if vals := v["cursor"]; len(vals) == 1 {
		cursor = vals[0]
	}
	return limit, cursor, f.err()
}

func (s *Service) listRequests(w http.ResponseWriter, r *http.Request) error {
	if len(r.URL.RawQuery) > 512 {
		return web.Invalid(web.FieldError{Field: "query", Code: "too_long", Detail: "the query string must be at most 512 bytes"})
	}
	limit, cursor, err := parseListQuery(r.URL.Query())
	if err != nil {
		return err
	}
	ctx := r.Context()
	id := identity.SessionFrom(ctx).AccountID
	page, err := s.Records.Requests(ctx, id, limit, cursor)
	if errors.Is(err, compliance.ErrBadCursor) {
		return web.Invalid(web.FieldError{Field: "cursor", Code: "invalid_cursor", Detail: "must be a next_cursor from an earlier page"})
	}
	if err != nil {
		return err
	}
	resp := ListResponse{Requests: make([]compliance.RequestView, 0, len(page.Requests)), NextCursor: cursorOrNull(page.Next),
		NDA: NDAState{CurrentVersion: s.NDAVersion}}
	for _, req := range page.Requests {
		resp.Requests = append(resp.Requests, compliance.ViewRequest(req))
	}
	nda, err := s.Records.NDA(ctx, id, s.NDAVersion)
	switch {
	case err == nil:
		v := compliance.ViewNDA(*nda)
		resp.NDA.Accepted = &v
	case !errors.Is(err, compliance.ErrNotFound):
		return err
	}
	web.WriteJSON(w, http.StatusOK, resp)
	return nil
}

// account is the signed-in account, for its plan, as read with the session
// (which only an active account's authenticates).
func (s *Service) account(ctx context.Context) (*identity.Account, error) {
	return identity.SessionFrom(ctx).Account()
}

// readJSON reads a request's JSON body as web.DecodeJSON does (media type,
// size limit, one JSON value), for the pure parsers to check.
func readJSON(r *http.Request) ([]byte, error) {
	var raw json.RawMessage
	if err := web.DecodeJSON(r, &raw); err != nil {
		return nil, err
	}
	return raw, nil
}
