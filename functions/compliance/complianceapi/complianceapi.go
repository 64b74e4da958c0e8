// Package complianceapi is the compliance function: an account's NDA
// acceptance and its compliance requests (SOC 2 report, pen-test results,
// security questionnaires for premium accounts; pen-test notices for every
// account; P9), and the public intake of DMCA takedown notices (P10). The
// same handler runs in Lambda (functions/compliance) and in the local stack.
package complianceapi

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"regexp"
	"sync"
	"time"

	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/compliance"
	"github.com/atrium-cdn/atrium/shared/config"
	"github.com/atrium-cdn/atrium/shared/emailaddr"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/mail"
	"github.com/atrium-cdn/atrium/shared/pseudonym"
	"github.com/atrium-cdn/atrium/shared/throttle"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Routes are the API routes this function serves (template.yaml routes the same).
var Routes = []string{
	"POST /v1/compliance/nda",
	"POST /v1/compliance/requests",
	"GET /v1/compliance/requests",
	"POST /v1/dmca",
}

// Defaults and bounds of the configuration.
const (
	DefaultNDAVersion = "2026-01"
	// DefaultDMCARetention is how long a DMCA notice is kept: three years.
	DefaultDMCARetention = 3 * 365 * 24 * time.Hour
	MinDMCARetention     = 30 * 24 * time.Hour
	MaxDMCARetention     = 10 * 365 * 24 * time.Hour
	DefaultDMCARateLimit = 5 // notices per client address per minute
)

// DefaultRequestLimit bounds the compliance requests one account may make
// (each is an email to the account manager): 20 an hour.
var DefaultRequestLimit = compliance.RequestLimit

// ndaVersionPattern keeps a version usable in a sort key and an email.
var ndaVersionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)

// Service holds the compliance function's dependencies.
type Service struct {
	Records    *compliance.Store
	Notices    *NoticeStore
	Throttle   *throttle.Store
	Keyer      *pseudonym.Keyer // pseudonyms of client addresses and account ids, for the rate limits
	Mail       mail.Sender
	Logger     *slog.Logger
	NDAVersion string // the NDA version in force
	// AccountManager receives compliance requests; DMCAAgent receives DMCA notices.
	AccountManager, DMCAAgent string
	// DMCALimit bounds the notices per client address; RequestLimit the
	// compliance requests per account.
	DMCALimit, RequestLimit throttle.Limit
}

// New builds the compliance function from its environment.
func New(ctx context.Context, env coldstart.Env) (http.Handler, error) {
	b, err := coldstart.Load(ctx, "compliance", env)
	if err != nil {
		return nil, err
	}
	r := b.Config
	manager := emailSetting(r, "ACCOUNT_MANAGER_EMAIL")
	agent := emailSetting(r, "DMCA_EMAIL")
	version := r.String("NDA_VERSION", DefaultNDAVersion)
	r.Check("NDA_VERSION", ndaVersionPattern.MatchString(version),
		"must be 1 to 32 letters, digits, dots, dashes or underscores, starting with a letter or digit")
	retention := r.Duration("DMCA_RETENTION", DefaultDMCARetention, MinDMCARetention, MaxDMCARetention)
	dmcaMax := r.Int("RATE_LIMIT_DMCA", DefaultDMCARateLimit, 1, 1000)
	smtp := mail.ReadSettings(r)
	keySecret := r.Required("CLIENT_KEY_SECRET_ARN")
	if err := b.Finish(); err != nil {
		return nil, err
	}
	// The two secrets are read at once (a round trip each, the longest
	// part of a cold start); their errors are taken in the order they
	// always were.
	var (
		sender          *mail.SMTP
		keyer           *pseudonym.Keyer
		sendErr, keyErr error
		reads           sync.WaitGroup
	)
	reads.Go(func() { sender, sendErr = smtp.Open(ctx, b.SecretJSON) })
	reads.Go(func() { keyer, keyErr = pseudonym.FromSecret(ctx, b.SecretJSON, keySecret) })
	reads.Wait()
	if nc, ok := config.AsNotConfigured(sendErr); ok {
		// Every request and notice is delivered by email: nothing is
		// accepted until the SMTP login is set.
		return b.NotConfigured(nc), nil
	}
	if err := cmp.Or(sendErr, keyErr); err != nil {
		return nil, err
	}
	s := &Service{
		Records:  compliance.NewStore(b.DynamoDB, b.Table, b.Now),
		Notices:  NewNoticeStore(b.DynamoDB, b.Table, retention, b.Now),
		Throttle: throttle.NewStore(b.DynamoDB, b.Table, throttle.DefaultPolicy(), b.Now),
		Keyer:    keyer, Mail: sender, Logger: b.Logger, NDAVersion: version,
		AccountManager: manager, DMCAAgent: agent,
		DMCALimit: throttle.Limit{Max: dmcaMax, Window: time.Minute}, RequestLimit: DefaultRequestLimit,
	}
	return b.Serve(s.Routes(b.Auth)), nil
}

// emailSetting reads a required email address.
func emailSetting(r *config.Reader, name string) string {
	v := r.Required(name)
	if v == "" {
		return ""
	}
	addr, err := emailaddr.Normalize(v)
	r.Check(name, err == nil, "must be an email address")
	return addr
}

// Routes returns the function's router: the compliance routes behind auth,
// the DMCA intake public. A limited route names its limit here; its handler
// counts the request once it is valid.
func (s *Service) Routes(auth *identity.Authenticator) *web.Router {
	rt := web.NewRouter(s.Logger)
	rt.Handle("POST /v1/compliance/nda", auth.Require(s.acceptNDA))
	// Per account; counted once the request is valid and its plan and NDA
	// allow it, so a refusal for either does not use up the allowance.
	rt.Handle("POST /v1/compliance/requests", auth.Require(web.Limited(
		s.Throttle.Gate(compliance.RateAction, s.RequestLimit, s.accountSubject, "compliance requests from this account"),
		s.createRequest)))
	rt.Handle("GET /v1/compliance/requests", auth.Require(s.listRequests))
	// Per client address; counted once the notice is well formed, so a
	// complainant correcting a form is not held back.
	rt.Handle("POST /v1/dmca", web.Limited(
		s.Throttle.Gate(dmcaRateAction, s.DMCALimit, s.clientSubject, "notices from your network"),
		s.receiveNotice))
	return rt
}

// accountSubject is the pseudonym a signed-in request's account is counted
// under.
func (s *Service) accountSubject(r *http.Request) string {
	return s.Keyer.Of(compliance.RateDomain, identity.SessionFrom(r.Context()).AccountID)
}

// clientSubject is the pseudonym of the address a request came from.
func (s *Service) clientSubject(r *http.Request) string {
	return s.Keyer.Of(pseudonym.ClientDomain, pseudonym.ClientIP(r))
}
