// Package ceremony carries out passkey ceremonies (registration, second
// factor and step-up, passwordless login) with
// github.com/go-webauthn/webauthn, over the passkeys package passkeys
// stores. Only the auth function links it (and go-webauthn with it): see
// package passkeys.
package ceremony

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/passkeys"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// Config is the relying party.
type Config struct {
	// RPID is the relying party id: the dashboard's registrable domain or a
	// suffix of its host ("example.com", "localhost").
	RPID string
	// RPName is shown by authenticators ("Atrium").
	RPName string
	// Origins are the exact origins the browser may report
	// (scheme://host[:port]), each on RPID or a subdomain of it.
	Origins []string
	// ChallengeTTL is how long a ceremony may take (DefaultChallengeTTL when zero).
	ChallengeTTL time.Duration
	// MaxPerAccount caps an account's passkeys (DefaultMaxPerAccount when zero).
	MaxPerAccount int
}

// Validate reports what is wrong with the configuration.
func (c Config) Validate() error {
	var errs []error
	if err := protocol.ValidateRPID(c.RPID); err != nil || c.RPID != strings.ToLower(c.RPID) {
		errs = append(errs, fmt.Errorf("relying party id %q is not a lower-case domain name", c.RPID))
	}
	if len(c.Origins) == 0 {
		errs = append(errs, errors.New("no origin"))
	}
	for _, o := range c.Origins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && !(u.Scheme == "http" && u.Hostname() == "localhost")) ||
			o != u.Scheme+"://"+strings.ToLower(u.Host) {
			errs = append(errs, fmt.Errorf("origin %q: want https://host[:port] (http only for localhost), no path or trailing slash", o))
			continue
		}
		if h := u.Hostname(); h != c.RPID && !strings.HasSuffix(h, "."+c.RPID) {
			errs = append(errs, fmt.Errorf("origin %q is not on the relying party id %q or a subdomain of it", o, c.RPID))
		}
	}
	return errors.Join(errs...)
}

// Service carries out passkey ceremonies and keeps the passkeys.
type Service struct {
	*passkeys.Store
	wa  *webauthn.WebAuthn
	cfg Config
}

// New returns a Service over the state table; now may be nil (time.Now).
func New(db statetable.DynamoDB, table string, now func() time.Time, cfg Config) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	if cfg.ChallengeTTL <= 0 {
		cfg.ChallengeTTL = passkeys.DefaultChallengeTTL
	}
	if cfg.MaxPerAccount <= 0 {
		cfg.MaxPerAccount = passkeys.DefaultMaxPerAccount
	}
	if cfg.RPName == "" {
		cfg.RPName = "Atrium"
	}
	yes := true
	wa, err := webauthn.New(&webauthn.Config{
		RPID: cfg.RPID, RPDisplayName: cfg.RPName, RPOrigins: slices.Clone(cfg.Origins),
		AttestationPreference: protocol.PreferNoAttestation,
		// Every passkey is discoverable and verifies its user, so that one
		// credential serves as a second factor and as a passwordless login.
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementRequired, RequireResidentKey: &yes,
			UserVerification: protocol.VerificationRequired,
		},
		// What the browser is told; the challenge's own expiry is enforced here.
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: cfg.ChallengeTTL, TimeoutUVD: cfg.ChallengeTTL},
			Registration: webauthn.TimeoutConfig{Timeout: cfg.ChallengeTTL, TimeoutUVD: cfg.ChallengeTTL},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkeys: %w", err)
	}
	return &Service{Store: passkeys.NewStore(db, table, now), wa: wa, cfg: cfg}, nil
}

// Config is the service's configuration, defaults applied.
func (s *Service) Config() Config { return s.cfg }

// Account is whom a registration is for.
type Account struct {
	ID    string
	Email string // shown by the authenticator as the account's name
}

// webauthnCredential is a stored passkey as go-webauthn sees it.
func webauthnCredential(r *passkeys.Record) webauthn.Credential {
	tr := make([]protocol.AuthenticatorTransport, len(r.Transports))
	for i, t := range r.Transports {
		tr[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{ID: r.CredentialID, PublicKey: r.PublicKey, AttestationFormat: r.AttestationFormat,
		Transport: tr,
		Flags: webauthn.CredentialFlags{UserPresent: r.UserPresent, UserVerified: r.UserVerified,
			BackupEligible: r.BackupEligible, BackupState: r.BackupState},
		Authenticator: webauthn.Authenticator{AAGUID: r.AAGUID, SignCount: r.SignCount}}
}

// user is an account as go-webauthn sees it.
type user struct {
	handle []byte
	name   string
	creds  []webauthn.Credential
}

func (u *user) WebAuthnID() []byte                         { return u.handle }
func (u *user) WebAuthnName() string                       { return u.name }
func (u *user) WebAuthnDisplayName() string                { return u.name }
func (u *user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// challengeItem is a ceremony's challenge as stored.
type challengeItem struct {
	Purpose   string `dynamodbav:"purpose"`
	AccountID string `dynamodbav:"account_id,omitempty"`
	Binding   string `dynamodbav:"binding,omitempty"`
	Session   string `dynamodbav:"session"` // webauthn.SessionData, JSON
	ExpiresAt int64  `dynamodbav:"expires_at"`
}

func challengeHash(challenge string) string {
	sum := sha256.Sum256([]byte(challenge))
	return hex.EncodeToString(sum[:])
}

// challengeKey is where a ceremony's challenge lives: in the account's
// partition, or (a passwordless login) in its own.
func challengeKey(accountID, challenge string) statetable.Key {
	if accountID == "" {
		return passkeys.LoginChallengeKey(challengeHash(challenge))
	}
	return passkeys.AccountChallengeKey(accountID, challengeHash(challenge))
}

// saveChallenge stores a ceremony's session data until it expires.
func (s *Service) saveChallenge(ctx context.Context, purpose, accountID, binding string, sd *webauthn.SessionData) error {
	data, err := json.Marshal(sd)
	if err != nil {
		return fmt.Errorf("encode ceremony: %w", err)
	}
	item, err := attributevalue.MarshalMap(challengeItem{Purpose: purpose, AccountID: accountID, Binding: binding,
		Session: string(data), ExpiresAt: s.Now().Add(s.cfg.ChallengeTTL).Unix()})
	if err != nil {
		return fmt.Errorf("encode challenge: %w", err)
	}
	passkeys.Maps(item, challengeKey(accountID, sd.Challenge))
	if _, err := s.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.Name), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(pk)")}); err != nil {
		return fmt.Errorf("put challenge: %w", err)
	}
	return nil
}

// consumeChallenge takes a ceremony's challenge, once: a conditional delete
// that succeeds only for a live challenge of this purpose and binding. Of
// two finishes of one ceremony, sequential or concurrent, one gets it.
func (s *Service) consumeChallenge(ctx context.Context, purpose, accountID, binding, challenge string) (*webauthn.SessionData, error) {
	if challenge == "" || len(challenge) > 512 {
		return nil, passkeys.Reject(passkeys.ReasonChallenge, errors.New("no challenge"))
	}
	cond := expression.AttributeExists(expression.Name(statetable.PK)).
		And(expression.Name("purpose").Equal(expression.Value(purpose))).
		And(expression.Name(statetable.ExpiresAt).GreaterThan(expression.Value(s.Now().Unix())))
	if binding != "" {
		cond = cond.And(expression.Name("binding").Equal(expression.Value(binding)))
	}
	e, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return nil, fmt.Errorf("build challenge condition: %w", err)
	}
	out, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.Name),
		Key: challengeKey(accountID, challenge).AV(), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
		ReturnValues: types.ReturnValueAllOld})
	if statetable.IsConditionFailed(err) {
		return nil, passkeys.Reject(passkeys.ReasonChallenge, errors.New("unknown, expired, used or of another ceremony"))
	}
	if err != nil {
		return nil, fmt.Errorf("consume challenge: %w", err)
	}
	var c challengeItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &c); err != nil {
		return nil, fmt.Errorf("decode challenge: %w", err)
	}
	var sd webauthn.SessionData
	if err := json.Unmarshal([]byte(c.Session), &sd); err != nil {
		return nil, fmt.Errorf("decode ceremony: %w", err)
	}
	if sd.Challenge != challenge { // the key is its hash; a collision is not a match
		return nil, passkeys.Reject(passkeys.ReasonChallenge, errors.New("challenge mismatch"))
	}
	return &sd, nil
}

// BeginRegistration starts adding a passkey to the account, within the
// session binding: the options for navigator.credentials.create(). The
// account's passkeys are excluded (an authenticator holding one says so).
func (s *Service) BeginRegistration(ctx context.Context, acct Account, binding string) (*protocol.CredentialCreation, error) {
	handle, err := s.HandleOf(ctx, acct.ID)
	if err != nil {
		return nil, err
	}
	recs, err := s.Records(ctx, acct.ID)
	if err != nil {
		return nil, err
	}
	if len(recs) >= s.cfg.MaxPerAccount {
		return nil, passkeys.ErrLimit
	}
	u := &user{handle: handle, name: acct.Email}
	var exclude []protocol.CredentialDescriptor
	for _, r := range recs {
		c := webauthnCredential(r)
		exclude = append(exclude, c.Descriptor())
	}
	creation, sd, err := s.wa.BeginRegistration(u, webauthn.WithExclusions(exclude),
		webauthn.WithCredentialParameters(webauthn.CredentialParametersRecommendedL3()))
	if err != nil {
		return nil, fmt.Errorf("begin registration: %w", err)
	}
	if err := s.saveChallenge(ctx, passkeys.PurposeRegister, acct.ID, binding, sd); err != nil {
		return nil, err
	}
	return creation, nil
}

// parseCreation parses a registration's credential JSON.
func parseCreation(credential []byte) (*protocol.ParsedCredentialCreationData, error) {
	if len(credential) > passkeys.MaxCredentialJSON {
		return nil, passkeys.Reject(passkeys.ReasonMalformed, errors.New("credential too large"))
	}
	p, err := protocol.ParseCredentialCreationResponseBytes(credential)
	if err != nil {
		return nil, passkeys.Reject(passkeys.ReasonMalformed, protocolError(err))
	}
	return p, nil
}

// parseAssertion parses an assertion's credential JSON.
func parseAssertion(credential []byte) (*protocol.ParsedCredentialAssertionData, error) {
	if len(credential) > passkeys.MaxCredentialJSON {
		return nil, passkeys.Reject(passkeys.ReasonMalformed, errors.New("credential too large"))
	}
	p, err := protocol.ParseCredentialRequestResponseBytes(credential)
	if err != nil {
		return nil, passkeys.Reject(passkeys.ReasonMalformed, protocolError(err))
	}
	return p, nil
}

// protocolError keeps a go-webauthn error's type and details (which name
// the check that failed) and drops its info (which can echo what the
// client sent).
func protocolError(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %s", pe.Type, pe.Details)
	}
	return errors.New("invalid credential")
}

// FinishRegistration verifies the browser's answer to BeginRegistration
// (the same account and binding) and stores the passkey under name.
func (s *Service) FinishRegistration(ctx context.Context, acct Account, binding, name string, credential []byte) (*passkeys.Passkey, error) {
	parsed, err := parseCreation(credential)
	if err != nil {
		return nil, err
	}
	sd, err := s.consumeChallenge(ctx, passkeys.PurposeRegister, acct.ID, binding, parsed.Response.CollectedClientData.Challenge)
	if err != nil {
		return nil, err
	}
	handle, err := s.HandleOf(ctx, acct.ID)
	if err != nil {
		return nil, err
	}
	cred, err := s.wa.CreateCredential(&user{handle: handle, name: acct.Email}, *sd, parsed)
	if err != nil {
		return nil, passkeys.Reject(passkeys.ReasonVerify, protocolError(err))
	}
	recs, err := s.Records(ctx, acct.ID)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if string(r.CredentialID) == string(cred.ID) {
			return nil, passkeys.Reject(passkeys.ReasonDuplicate, errors.New("credential registered already"))
		}
	}
	now := s.Now()
	rec := &passkeys.Record{ID: ids.New(passkeys.IDPrefix), AccountID: acct.ID, Name: name, CredentialID: cred.ID, PublicKey: cred.PublicKey,
		AAGUID: cred.Authenticator.AAGUID, AttestationFormat: cred.AttestationFormat, SignCount: cred.Authenticator.SignCount,
		UserPresent: cred.Flags.UserPresent, UserVerified: cred.Flags.UserVerified,
		BackupEligible: cred.Flags.BackupEligible, BackupState: cred.Flags.BackupState, CreatedAt: now}
	for _, t := range cred.Transport {
		if len(rec.Transports) < 8 && len(t) <= 32 {
			rec.Transports = append(rec.Transports, string(t))
		}
	}
	item, err := attributevalue.MarshalMap(rec)
	if err != nil {
		return nil, fmt.Errorf("encode passkey: %w", err)
	}
	passkeys.Maps(item, passkeys.CredentialKey(acct.ID, rec.ID))
	count, err := expression.NewBuilder().
		WithCondition(expression.Name("handle").Equal(expression.Value(base64.RawURLEncoding.EncodeToString(handle))).
			And(expression.Name("count").LessThan(expression.Value(s.cfg.MaxPerAccount)))).
		WithUpdate(expression.Add(expression.Name("count"), expression.Value(1))).Build()
	if err != nil {
		return nil, fmt.Errorf("build passkey count: %w", err)
	}
	active, err := identity.AccountIn(s.Name, acct.ID, identity.StatusActive)
	if err != nil {
		return nil, err
	}
	index := map[string]types.AttributeValue{
		"account_id": &types.AttributeValueMemberS{Value: acct.ID},
		"passkey_id": &types.AttributeValueMemberS{Value: rec.ID},
	}
	passkeys.Maps(index, passkeys.CredentialIDKey(cred.ID))
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.Name), Item: item, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: statetable.Update(s.Name, passkeys.UserKey(acct.ID), count)},
		active,
		// The credential id, once across all accounts (WebAuthn §7.1 step 26).
		{Put: &types.Put{TableName: aws.String(s.Name), Item: index, ConditionExpression: aws.String("attribute_not_exists(pk)")}},
	}})
	if failed, ok := statetable.CancelledByCondition(err); ok {
		switch {
		case failed[2]:
			return nil, passkeys.ErrAccount
		case failed[3]:
			return nil, passkeys.Reject(passkeys.ReasonDuplicate, errors.New("credential id registered already"))
		case failed[1]:
			return nil, passkeys.ErrLimit
		}
		return nil, fmt.Errorf("put passkey: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("put passkey: %w", err)
	}
	v := rec.View()
	return &v, nil
}

// BeginFactor starts authenticating the account with one of its passkeys
// as a second factor or a step-up: the options for
// navigator.credentials.get(), naming the account's passkeys, with user
// verification required (every passkey was registered verifying its
// user, so this costs no authenticator anything, and a step-up with a
// passkey then proves the person, not only the device).
func (s *Service) BeginFactor(ctx context.Context, accountID string) (*protocol.CredentialAssertion, error) {
	handle, err := s.ExistingHandle(ctx, accountID)
	if err != nil {
		return nil, err
	}
	recs, err := s.Records(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 || handle == nil {
		return nil, passkeys.ErrNoPasskeys
	}
	u := &user{handle: handle}
	for _, r := range recs {
		u.creds = append(u.creds, webauthnCredential(r))
	}
	assertion, sd, err := s.wa.BeginLogin(u, webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("begin assertion: %w", err)
	}
	if err := s.saveChallenge(ctx, passkeys.PurposeFactor, accountID, "", sd); err != nil {
		return nil, err
	}
	return assertion, nil
}

// VerifyFactor verifies the browser's answer to BeginFactor for the
// account: the challenge is consumed at once (single use), the assertion
// verified, and the write that records the passkey's use (its counter,
// compare-and-swap on the counter as read, its backup state, its last
// use) returned for the caller's transaction, which commits it with the
// login's or the step-up's own writes. A failed check is a Rejection.
func (s *Service) VerifyFactor(ctx context.Context, accountID string, credential []byte) (*passkeys.Passkey, types.TransactWriteItem, error) {
	parsed, err := parseAssertion(credential)
	if err != nil {
		return nil, types.TransactWriteItem{}, err
	}
	sd, err := s.consumeChallenge(ctx, passkeys.PurposeFactor, accountID, "", parsed.Response.CollectedClientData.Challenge)
	if err != nil {
		return nil, types.TransactWriteItem{}, err
	}
	handle, err := s.ExistingHandle(ctx, accountID)
	if err != nil {
		return nil, types.TransactWriteItem{}, err
	}
	if handle == nil {
		return nil, types.TransactWriteItem{}, passkeys.Reject(passkeys.ReasonUnknown, errors.New("the account has no passkey"))
	}
	recs, err := s.Records(ctx, accountID)
	if err != nil {
		return nil, types.TransactWriteItem{}, err
	}
	u := &user{handle: handle}
	for _, r := range recs {
		u.creds = append(u.creds, webauthnCredential(r))
	}
	cred, err := s.wa.ValidateLogin(u, *sd, parsed)
	if err != nil {
		return nil, types.TransactWriteItem{}, s.assertionError(err)
	}
	pk, update, err := s.use(ctx, accountID, recs, cred)
	if err != nil {
		return nil, types.TransactWriteItem{}, err
	}
	return &pk.Passkey, types.TransactWriteItem{Update: update}, nil
}

// assertionError classifies a failed assertion.
func (s *Service) assertionError(err error) error {
	var unknown *protocol.ErrorUnknownCredential
	if errors.As(err, &unknown) {
		return passkeys.Reject(passkeys.ReasonUnknown, protocolError(err))
	}
	var pe *protocol.Error
	if errors.As(err, &pe) && strings.Contains(pe.Details, "find the credential") {
		return passkeys.Reject(passkeys.ReasonUnknown, protocolError(err))
	}
	return passkeys.Reject(passkeys.ReasonVerify, protocolError(err))
}

// BeginLogin starts a passwordless login: options for
// navigator.credentials.get() that name no account and no credential
// (the authenticator offers its discoverable passkeys for the RP ID), with
// user verification required. Nothing in them depends on any account.
func (s *Service) BeginLogin(ctx context.Context) (*protocol.CredentialAssertion, error) {
	assertion, sd, err := s.wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, fmt.Errorf("begin login: %w", err)
	}
	if err := s.saveChallenge(ctx, passkeys.PurposeLogin, "", "", sd); err != nil {
		return nil, err
	}
	return assertion, nil
}

// FinishLogin verifies a passwordless login's answer: the account is the
// one whose user handle the authenticator returned, and the credential
// must be one of that account's passkeys. It returns the account's id and
// the passkey used.
func (s *Service) FinishLogin(ctx context.Context, credential []byte) (string, *passkeys.Passkey, error) {
	parsed, err := parseAssertion(credential)
	if err != nil {
		return "", nil, err
	}
	sd, err := s.consumeChallenge(ctx, passkeys.PurposeLogin, "", "", parsed.Response.CollectedClientData.Challenge)
	if err != nil {
		return "", nil, err
	}
	var (
		accountID string
		recs      []*passkeys.Record
		lookupErr error
	)
	handler := func(_, userHandle []byte) (webauthn.User, error) {
		if len(userHandle) != passkeys.HandleBytes {
			lookupErr = passkeys.Reject(passkeys.ReasonUnknown, errors.New("user handle of no account"))
			return nil, lookupErr
		}
		id, found, err := s.AccountOfHandle(ctx, userHandle)
		if err != nil {
			lookupErr = err
			return nil, lookupErr
		}
		if !found {
			lookupErr = passkeys.Reject(passkeys.ReasonUnknown, errors.New("user handle of no account"))
			return nil, lookupErr
		}
		accountID = id
		if recs, err = s.Records(ctx, accountID); err != nil {
			lookupErr = err
			return nil, err
		}
		u := &user{handle: userHandle}
		for _, r := range recs {
			u.creds = append(u.creds, webauthnCredential(r))
		}
		return u, nil
	}
	_, cred, err := s.wa.ValidatePasskeyLogin(handler, *sd, parsed)
	if lookupErr != nil {
		return "", nil, lookupErr
	}
	if err != nil {
		return "", nil, s.assertionError(err)
	}
	pk, update, err := s.use(ctx, accountID, recs, cred)
	if err != nil {
		return "", nil, err
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: update.TableName, Key: update.Key,
		ConditionExpression: update.ConditionExpression, UpdateExpression: update.UpdateExpression,
		ExpressionAttributeNames: update.ExpressionAttributeNames, ExpressionAttributeValues: update.ExpressionAttributeValues})
	if statetable.IsConditionFailed(err) {
		// Another assertion moved the counter (or the passkey was removed) meanwhile.
		if pk.signCount != 0 {
			s.flagRegression(ctx, accountID, pk.ID, s.Now())
		}
		return "", nil, passkeys.Reject(passkeys.ReasonSignCount, errors.New("counter moved meanwhile"))
	}
	if err != nil {
		return "", nil, fmt.Errorf("record passkey use: %w", err)
	}
	return accountID, &pk.Passkey, nil
}

// usedPasskey is a passkey as a verified assertion left it, with the
// counter it reported.
type usedPasskey struct {
	passkeys.Passkey
	signCount uint32
}

// use checks a verified assertion of cred, one of recs, and returns the
// write that records it: a signature counter that did not increase (when
// either is non-zero) is refused and flagged on the passkey (a possible
// clone; WebAuthn §6.1.1 leaves it to the RP, and Atrium fails closed).
// Otherwise the write sets the counter, the backup state and the last use
// on condition that the counter is still as read, so that two assertions
// carrying the same counter cannot both pass.
func (s *Service) use(ctx context.Context, accountID string, recs []*passkeys.Record, cred *webauthn.Credential) (*usedPasskey, *types.Update, error) {
	var rec *passkeys.Record
	for _, r := range recs {
		if string(r.CredentialID) == string(cred.ID) {
			rec = r
		}
	}
	if rec == nil {
		return nil, nil, passkeys.Reject(passkeys.ReasonUnknown, errors.New("credential not found after validation"))
	}
	now := s.Now()
	if cred.Authenticator.CloneWarning {
		s.flagRegression(ctx, accountID, rec.ID, now)
		return nil, nil, passkeys.Reject(passkeys.ReasonSignCount, fmt.Errorf("counter %d not above %d", cred.Authenticator.SignCount, rec.SignCount))
	}
	e, err := expression.NewBuilder().
		WithCondition(expression.Name("sign_count").Equal(expression.Value(rec.SignCount))).
		WithUpdate(expression.Set(expression.Name("sign_count"), expression.Value(cred.Authenticator.SignCount)).
			Set(expression.Name("backup_state"), expression.Value(cred.Flags.BackupState)).
			Set(expression.Name("user_verified"), expression.Value(cred.Flags.UserVerified || rec.UserVerified)).
			Set(expression.Name("last_used_at"), expression.Value(now.Format(time.RFC3339Nano)))).Build()
	if err != nil {
		return nil, nil, fmt.Errorf("build passkey use: %w", err)
	}
	rec.SignCount, rec.BackupState, rec.LastUsedAt = cred.Authenticator.SignCount, cred.Flags.BackupState, &now
	return &usedPasskey{Passkey: rec.View(), signCount: rec.SignCount},
		statetable.Update(s.Name, passkeys.CredentialKey(accountID, rec.ID), e), nil
}

// flagRegression marks a passkey whose counter went backwards (best
// effort: the assertion is refused either way).
func (s *Service) flagRegression(ctx context.Context, accountID, id string, now time.Time) {
	e, err := expression.NewBuilder().
		WithCondition(expression.AttributeExists(expression.Name(statetable.PK))).
		WithUpdate(expression.Set(expression.Name("sign_count_regressed_at"), expression.Value(now.Format(time.RFC3339Nano)))).Build()
	if err == nil {
		_, _ = statetable.ConditionalUpdate(ctx, s.DB, s.Name, passkeys.CredentialKey(accountID, id), e)
	}
}
