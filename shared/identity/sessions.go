package identity

import (
	"context"
	"crypto/subtle"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/statetable"
)

// SessionPolicy bounds how long a session lives.
type SessionPolicy struct {
	IdleTimeout time.Duration // a session unused this long ends
	MaxLifetime time.Duration // a session ends this long after login, however used
}

// touchEvery limits how often a session's last use is written back.
const touchEvery = time.Minute

// Session is a login session as stored. The token itself is never stored:
// only the SHA-256 of its secret part.
type Session struct {
	ID         string    `dynamodbav:"id"`
	AccountID  string    `dynamodbav:"account_id"`
	SecretHash string    `dynamodbav:"secret_hash"`
	CreatedAt  time.Time `dynamodbav:"created_at"`
	LastUsedAt time.Time `dynamodbav:"last_used_at"`
	IdleUntil  int64     `dynamodbav:"idle_until"` // epoch seconds
	EndsAt     int64     `dynamodbav:"ends_at"`    // epoch seconds: the absolute lifetime
	// Methods are the factors that made the session ("password", then
	// "totp", "recovery_code" or "passkey"), an amr-like list (RFC 8176);
	// empty for a session made before they were recorded (a password).
	// They never change: a session made before a factor was enrolled is
	// not upgraded by the enrolment.
	Methods []string `dynamodbav:"amr,omitempty"`
	// ReauthAt and ReauthMethods are the last proof of a factor in the
	// session (its login, or a step-up since): the step-up rule reads them.
	ReauthAt      *time.Time `dynamodbav:"reauth_at,omitempty"`
	ReauthMethods []string   `dynamodbav:"reauth_amr,omitempty"`

	// account is the account item read with the session by Authenticate.
	account map[string]types.AttributeValue `dynamodbav:"-"`
}

// Account returns the account of a session that Authenticate returned, as
// read together with the session (so an authenticated handler need not
// read it again).
func (s *Session) Account() (*Account, error) {
	if s.account == nil {
		return nil, ErrNotFound
	}
	return accountFrom(s.account)
}

// DecodeAccount decodes the account item read with the session into dst:
// another owner's view of it (package plans', billing's, sources'), without
// a second read.
func (s *Session) DecodeAccount(dst any) error {
	if s.account == nil {
		return ErrNotFound
	}
	if err := attributevalue.UnmarshalMap(s.account, dst); err != nil {
		return fmt.Errorf("decode account: %w", err)
	}
	return nil
}

// AccountItem is the account item read with the session, as stored (nil
// when none was read), for callers that hand it to several owners.
func (s *Session) AccountItem() map[string]types.AttributeValue { return s.account }

// ExpiresAt is when the session ends unless used again.
func (s *Session) ExpiresAt() time.Time { return time.Unix(min(s.IdleUntil, s.EndsAt), 0).UTC() }

// Live reports whether the session may still be used at now.
func (s *Session) Live(now time.Time) bool {
	return now.Unix() < s.IdleUntil && now.Unix() < s.EndsAt
}

// A session token reads "<account id>.<session id>.<secret>": the ids find
// the item with one strongly consistent read, the secret proves possession.
func sessionToken(accountID, sessionID, secret string) string {
	return accountID + "." + sessionID + "." + secret
}

func parseSessionToken(tok string) (accountID, sessionID, secret string, ok bool) {
	if len(tok) > MaxTokenLength {
		return "", "", "", false
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || !ids.Valid("acct", parts[0]) || !ids.Valid("sess", parts[1]) || len(parts[2]) != 43 {
		return "", "", "", false
	}
	return parts[0], parts[1], parts[2], true
}

// CreateSession starts a session for the account and returns it with its
// token. The session is written only while the account is active, in one
// transaction with that check: a login or verification that races the
// acceptance of the account's deletion gets ErrNotFound and leaves no
// session behind for the deletion to miss. extra are other owners' writes
// made in the same transaction (a login clears its address's failures
// there); they must not fail a condition, as a failure reads ErrNotFound.
func (s *Store) CreateSession(ctx context.Context, accountID string, p SessionPolicy, extra ...types.TransactWriteItem) (*Session, string, error) {
	return s.CreateSessionWith(ctx, accountID, p, []string{MethodPassword}, extra...)
}

// MethodPassword is the password's name in a session's methods.
const MethodPassword = "password"

// CreateSessionWith is CreateSession for a login proven by methods (the
// password, then a second factor), which the session records as made by
// them and as its last proof.
func (s *Store) CreateSessionWith(ctx context.Context, accountID string, p SessionPolicy, methods []string, extra ...types.TransactWriteItem) (*Session, string, error) {
	now := s.Now()
	secret := ids.Secret()
	sess := &Session{
		ID: ids.New("sess"), AccountID: accountID, SecretHash: ids.Hash(secret),
		CreatedAt: now, LastUsedAt: now,
		IdleUntil: now.Add(p.IdleTimeout).Unix(), EndsAt: now.Add(p.MaxLifetime).Unix(),
		Methods: slices.Clone(methods), ReauthAt: &now, ReauthMethods: slices.Clone(methods),
	}
	item, err := attributevalue.MarshalMap(sess)
	if err != nil {
		return nil, "", fmt.Errorf("encode session: %w", err)
	}
	for k, v := range SessionKey(accountID, sess.ID).AV() {
		item[k] = v
	}
	item[statetable.ExpiresAt] = statetable.Epoch(sess.ExpiresAt())
	active, err := AccountIn(s.Name, accountID, StatusActive)
	if err != nil {
		return nil, "", err
	}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: append([]types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.Name), Item: item}}, active,
	}, extra...)})
	if statetable.IsConditionFailed(err) {
		return nil, "", ErrNotFound // gone, not yet verified, or being deleted
	}
	if err != nil {
		return nil, "", fmt.Errorf("put session: %w", err)
	}
	return sess, sessionToken(accountID, sess.ID, secret), nil
}

// Authenticate returns the live session the token belongs to, or ErrNotFound.
// It reads strongly consistently, so a revoked session fails on the very next
// request, and it moves the idle deadline forward at most once a minute.
func (s *Store) Authenticate(ctx context.Context, token string, p SessionPolicy) (*Session, error) {
	accountID, sessionID, secret, ok := parseSessionToken(token)
	if !ok {
		return nil, ErrNotFound
	}
	item, account, err := s.sessionAndAccount(ctx, accountID, sessionID)
	if err != nil {
		return nil, err
	}
	if item == nil || account == nil {
		return nil, ErrNotFound
	}
	if st, _ := account[attrStatus].(*types.AttributeValueMemberS); st == nil || st.Value != StatusActive {
		return nil, ErrNotFound // not verified, or being deleted
	}
	sess := Session{account: account}
	if err := attributevalue.UnmarshalMap(item, &sess); err != nil {
		return nil, fmt.Errorf("decode session: %w", err)
	}
	now := s.Now()
	if subtle.ConstantTimeCompare([]byte(sess.SecretHash), []byte(ids.Hash(secret))) != 1 || !sess.Live(now) {
		return nil, ErrNotFound
	}
	if now.Sub(sess.LastUsedAt) >= touchEvery {
		if err := s.touchSession(ctx, &sess, now, p); err != nil {
			return nil, err
		}
	}
	return &sess, nil
}

// sessionAndAccount reads the session item and its account item in one
// strongly consistent round trip, so that a session of an account being
// deleted stops working the moment the deletion is accepted, and the
// handler behind gets the account without reading it again.
func (s *Store) sessionAndAccount(ctx context.Context, accountID, sessionID string) (session, account map[string]types.AttributeValue, err error) {
	sessKey, acctKey := SessionKey(accountID, sessionID), AccountKey(accountID)
	keys := []map[string]types.AttributeValue{sessKey.AV(), acctKey.AV()}
	for attempt := 0; len(keys) > 0; attempt++ {
		if attempt == 5 {
			return nil, nil, fmt.Errorf("get session: keys still unprocessed after %d attempts", attempt)
		}
		if attempt > 0 { // throttled: back off a little before asking again
			time.Sleep(time.Duration(attempt) * 20 * time.Millisecond)
		}
		out, err := s.DB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{
			s.Name: {Keys: keys, ConsistentRead: aws.Bool(true)},
		}})
		if err != nil {
			return nil, nil, fmt.Errorf("get session: %w", err)
		}
		for _, it := range out.Responses[s.Name] {
			if sk, _ := it[statetable.SK].(*types.AttributeValueMemberS); sk != nil && sk.Value == acctKey.SK {
				account = it
			} else {
				session = it
			}
		}
		keys = out.UnprocessedKeys[s.Name].Keys
	}
	return session, account, nil
}

func (s *Store) touchSession(ctx context.Context, sess *Session, now time.Time, p SessionPolicy) error {
	sess.LastUsedAt = now
	sess.IdleUntil = now.Add(p.IdleTimeout).Unix()
	e, err := expression.NewBuilder().
		WithCondition(expression.AttributeExists(expression.Name(statetable.PK))).
		WithUpdate(expression.Set(expression.Name("last_used_at"), expression.Value(now.Format(time.RFC3339Nano))).
			Set(expression.Name("idle_until"), expression.Value(sess.IdleUntil)).
			Set(expression.Name(statetable.ExpiresAt), expression.Value(sess.ExpiresAt().Unix()))).Build()
	if err != nil {
		return fmt.Errorf("build touch expression: %w", err)
	}
	_, err = s.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.Name), Key: SessionKey(sess.AccountID, sess.ID).AV(),
		ConditionExpression: e.Condition(), UpdateExpression: e.Update(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values(),
	})
	if statetable.IsConditionFailed(err) {
		return ErrNotFound // revoked between the read and the touch
	}
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// MethodsOf is what made the session (a password, for one made before
// methods were recorded).
func (s *Session) MethodsOf() []string {
	if len(s.Methods) == 0 {
		return []string{MethodPassword}
	}
	return s.Methods
}

// LastProof is when the session last proved a factor, and with which:
// its login, or its latest step-up.
func (s *Session) LastProof() (time.Time, []string) {
	if s.ReauthAt == nil {
		return s.CreatedAt, s.MethodsOf()
	}
	if len(s.ReauthMethods) == 0 {
		return *s.ReauthAt, []string{MethodPassword}
	}
	return *s.ReauthAt, s.ReauthMethods
}

// RecordProof records a fresh proof of methods in the live session (a
// step-up): the step-up rule then counts from now. ErrNotFound when the
// session ended meanwhile.
func (s *Store) RecordProof(ctx context.Context, sess *Session, methods []string) (time.Time, error) {
	now := s.Now()
	e, err := expression.NewBuilder().
		WithCondition(expression.AttributeExists(expression.Name(statetable.PK))).
		WithUpdate(expression.Set(expression.Name("reauth_at"), expression.Value(now.Format(time.RFC3339Nano))).
			Set(expression.Name("reauth_amr"), expression.Value(methods))).Build()
	if err != nil {
		return time.Time{}, fmt.Errorf("build step-up expression: %w", err)
	}
	ok, err := statetable.ConditionalUpdate(ctx, s.DB, s.Name, SessionKey(sess.AccountID, sess.ID), e)
	if err != nil {
		return time.Time{}, fmt.Errorf("record step-up: %w", err)
	}
	if !ok {
		return time.Time{}, ErrNotFound
	}
	sess.ReauthAt, sess.ReauthMethods = &now, slices.Clone(methods)
	return now, nil
}

// RevokeSession ends a session at once. Revoking one already gone is not an error.
func (s *Store) RevokeSession(ctx context.Context, accountID, sessionID string) error {
	if _, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.Name), Key: SessionKey(accountID, sessionID).AV(),
	}); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// Sessions lists the account's live sessions, oldest first, with one
// strongly consistent query of the account's partition.
func (s *Store) Sessions(ctx context.Context, accountID string) ([]*Session, error) {
	now := s.Now()
	var out []*Session
	err := statetable.EachInPartition(ctx, s.DB, s.Name, AccountPartition(accountID), SessionPrefix, nil,
		func(item map[string]types.AttributeValue) error {
			var sess Session
			if err := attributevalue.UnmarshalMap(item, &sess); err != nil {
				return fmt.Errorf("decode session: %w", err)
			}
			if sess.Live(now) {
				out = append(out, &sess)
			}
			return nil
		})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b *Session) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// RevokeSessionIfExists ends one of the account's sessions and reports
// whether it was there (and live) to end.
func (s *Store) RevokeSessionIfExists(ctx context.Context, accountID, sessionID string) (bool, error) {
	out, err := s.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.Name), Key: SessionKey(accountID, sessionID).AV(),
		ReturnValues: types.ReturnValueAllOld,
	})
	if err != nil {
		return false, fmt.Errorf("delete session: %w", err)
	}
	if out.Attributes == nil {
		return false, nil
	}
	var sess Session
	if err := attributevalue.UnmarshalMap(out.Attributes, &sess); err != nil {
		return true, nil // deleted either way; liveness only decides the answer
	}
	return sess.Live(s.Now()), nil
}

// RevokeSessions ends every session of the account except keep (which may be
// ""), and returns how many it ended. Revoked sessions fail on the very next
// request: every request reads its session strongly consistently.
func (s *Store) RevokeSessions(ctx context.Context, accountID, keep string) (int, error) {
	n := 0
	err := statetable.EachInPartition(ctx, s.DB, s.Name, AccountPartition(accountID), SessionPrefix,
		[]string{statetable.SK}, func(item map[string]types.AttributeValue) error {
			var k struct {
				SK string `dynamodbav:"sk"`
			}
			if err := attributevalue.UnmarshalMap(item, &k); err != nil {
				return fmt.Errorf("decode session key: %w", err)
			}
			id := strings.TrimPrefix(k.SK, SessionPrefix)
			if id == keep {
				return nil
			}
			if err := s.RevokeSession(ctx, accountID, id); err != nil {
				return err
			}
			n++
			return nil
		})
	return n, err
}

// SessionView is a session as its owner sees it listed (GET /v1/sessions,
// the GDPR export): never its token, nor the token's hash.
type SessionView struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Current    bool      `json:"current"`
	// AMR are the factors that made the session; ReauthenticatedAt is its
	// last proof of a factor (its login or latest step-up).
	AMR                 []string  `json:"amr"`
	ReauthenticatedAt   time.Time `json:"reauthenticated_at"`
	ReauthenticatedWith []string  `json:"reauthenticated_with"`
}

// ViewSessions renders sessions for their owner; currentID marks the one
// the request came with.
func ViewSessions(list []*Session, currentID string) []SessionView {
	out := make([]SessionView, 0, len(list))
	for _, s := range list {
		at, with := s.LastProof()
		out = append(out, SessionView{ID: s.ID, CreatedAt: s.CreatedAt.UTC(), LastUsedAt: s.LastUsedAt.UTC(),
			ExpiresAt: s.ExpiresAt(), Current: s.ID == currentID, AMR: s.MethodsOf(), ReauthenticatedAt: at.UTC(),
			ReauthenticatedWith: with})
	}
	return out
}
