package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/statetable"
)

// Account statuses.
const (
	StatusPending = "pending" // signed up, address not yet verified
	StatusActive  = "active"
	// StatusDeleting: the account's deletion was accepted; it can no longer
	// log in or use a session, and a deletion job is removing its data.
	StatusDeleting = "deleting"
)

// The attributes of the account item identity owns. The item also holds
// other owners' attributes (the plan, package plans; the billing state,
// package billing; the source count, package sources), which they decode
// from the item themselves (DecodeAccount) and write with their own
// expressions.
const (
	attrStatus     = "status"
	attrVerifiedAt = "verified_at"
)

// Account is a customer account's profile as stored: identity's attributes
// of the account item.
type Account struct {
	ID         string     `dynamodbav:"id"`
	Email      string     `dynamodbav:"email"`
	Status     string     `dynamodbav:"status"`
	CreatedAt  time.Time  `dynamodbav:"created_at"`
	VerifiedAt *time.Time `dynamodbav:"verified_at,omitempty"`

	// item is the whole account item the account was read from, for the
	// other owners' views of it.
	item map[string]types.AttributeValue `dynamodbav:"-"`
}

// DecodeAccount decodes the account item this account was read from into
// dst: another owner's view of the same item (package plans', billing's,
// sources'), without a second read. An account that was not read from the
// table has no item: ErrNotFound.
func (a *Account) DecodeAccount(dst any) error {
	if a.item == nil {
		return ErrNotFound
	}
	if err := attributevalue.UnmarshalMap(a.item, dst); err != nil {
		return fmt.Errorf("decode account: %w", err)
	}
	return nil
}

// accountFrom decodes identity's view of an account item, keeping the item.
func accountFrom(item map[string]types.AttributeValue) (*Account, error) {
	var a Account
	if err := attributevalue.UnmarshalMap(item, &a); err != nil {
		return nil, fmt.Errorf("decode account: %w", err)
	}
	a.item = item
	return &a, nil
}

// rawItem decodes a whole item as it is, for accountFrom.
type rawItem map[string]types.AttributeValue

func (r *rawItem) UnmarshalDynamoDBAttributeValue(av types.AttributeValue) error {
	m, ok := av.(*types.AttributeValueMemberM)
	if !ok {
		return fmt.Errorf("decode item: %T is not an item", av)
	}
	*r = m.Value
	return nil
}

// AccountStatusIn is the condition that the account item exists with one
// of the statuses: other owners write "only for an active account" on the
// account item with it (sources' count, billing's customer link).
func AccountStatusIn(status string, more ...string) expression.ConditionBuilder {
	in := make([]expression.OperandBuilder, 0, len(more))
	for _, st := range more {
		in = append(in, expression.Value(st))
	}
	return expression.Name(attrStatus).In(expression.Value(status), in...)
}

// Credential is the login record of an address: the email claim item, which
// reserves the address for one account and holds what a login checks (the
// password hash and the account's status), so a login reads one item.
// The password hash lives here and nowhere else.
type Credential struct {
	Email        string `dynamodbav:"-"`
	AccountID    string `dynamodbav:"account_id"`
	PasswordHash string `dynamodbav:"password_hash"`
	Status       string `dynamodbav:"status"`
	// PasswordSetMillis is when the password was last reset or changed:
	// reset links issued before then no longer work.
	PasswordSetMillis int64 `dynamodbav:"password_set_ms,omitempty"`
	// NotifyNextLogin asks for a "new sign-in" email at the next login (set
	// when a reset ends a lockout).
	NotifyNextLogin bool `dynamodbav:"notify_next_login,omitempty"`
}

// ErrEmailClaimed reports that the address already belongs to an account.
var ErrEmailClaimed = fmt.Errorf("email address already claimed")

// Credential returns the login record of the (normalised) address, or
// ErrNotFound. Expired claims (of abandoned signups) count as none.
func (s *Store) Credential(ctx context.Context, email string) (*Credential, error) {
	c := &Credential{Email: email}
	found, err := s.Get(ctx, EmailClaimKey(email), c)
	if err != nil {
		return nil, fmt.Errorf("email claim: %w", err)
	}
	if !found {
		return nil, ErrNotFound
	}
	return c, nil
}

// Account returns the account with the id, or ErrNotFound (also for a pending
// account whose time to verify has run out). The account keeps the item it
// was read from, for the other owners' views of it (DecodeAccount).
func (s *Store) Account(ctx context.Context, id string) (*Account, error) {
	var item rawItem
	found, err := s.Get(ctx, AccountKey(id), &item)
	if err != nil {
		return nil, fmt.Errorf("account: %w", err)
	}
	if !found {
		return nil, ErrNotFound
	}
	return accountFrom(item)
}

// notClaimedOrExpired is the condition under which an address may be claimed.
func notClaimedOrExpired(now time.Time) expression.ConditionBuilder {
	return expression.AttributeNotExists(expression.Name(statetable.PK)).
		Or(expression.Name(statetable.ExpiresAt).LessThanEqual(expression.Value(now.Unix())))
}

// CreatePending creates a pending account and claims its address, both
// expiring at until unless the address is verified first. The claim holds no
// password: a pending address cannot log in, and the person who opens a
// verification link chooses the password then. It fails with ErrEmailClaimed when a live claim exists:
// one transaction with conditions, so concurrent signups of one address
// create one account. with are other owners' attributes of the new account
// item (package plans' Initial).
func (s *Store) CreatePending(ctx context.Context, a *Account, until time.Time, with ...map[string]types.AttributeValue) error {
	now := s.Now()
	item, err := attributevalue.MarshalMap(a)
	if err != nil {
		return fmt.Errorf("encode account: %w", err)
	}
	for _, attrs := range with {
		for k, v := range attrs {
			if _, taken := item[k]; taken {
				return fmt.Errorf("encode account: attribute %s given twice", k)
			}
			item[k] = v
		}
	}
	for k, v := range AccountKey(a.ID).AV() {
		item[k] = v
	}
	item[statetable.ExpiresAt] = statetable.Epoch(until)
	claim, err := attributevalue.MarshalMap(struct {
		AccountID string `dynamodbav:"account_id"`
		Status    string `dynamodbav:"status"`
	}{a.ID, StatusPending})
	if err != nil {
		return fmt.Errorf("encode email claim: %w", err)
	}
	for k, v := range EmailClaimKey(a.Email).AV() {
		claim[k] = v
	}
	claim[statetable.ExpiresAt] = statetable.Epoch(until)

	claimCond, err := expression.NewBuilder().WithCondition(notClaimedOrExpired(now)).Build()
	if err != nil {
		return fmt.Errorf("build claim condition: %w", err)
	}
	newCond, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(statetable.PK))).Build()
	if err != nil {
		return fmt.Errorf("build account condition: %w", err)
	}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String(s.Name), Item: claim,
			ConditionExpression: claimCond.Condition(), ExpressionAttributeNames: claimCond.Names(), ExpressionAttributeValues: claimCond.Values()}},
		{Put: &types.Put{TableName: aws.String(s.Name), Item: item,
			ConditionExpression: newCond.Condition(), ExpressionAttributeNames: newCond.Names()}},
	}})
	if statetable.IsConditionFailed(err) {
		return ErrEmailClaimed
	}
	if err != nil {
		return fmt.Errorf("create pending account: %w", err)
	}
	return nil
}

// ExtendPending moves the expiry of a pending account and its claim to until,
// so a repeated signup gives the person the full time to verify again.
func (s *Store) ExtendPending(ctx context.Context, a *Account, until time.Time) error {
	pending, err := expression.NewBuilder().
		WithCondition(expression.Name(attrStatus).Equal(expression.Value(StatusPending))).
		WithUpdate(expression.Set(expression.Name(statetable.ExpiresAt), expression.Value(until.Unix()))).Build()
	if err != nil {
		return fmt.Errorf("build extend expression: %w", err)
	}
	owned, err := expression.NewBuilder().
		WithCondition(expression.Name("account_id").Equal(expression.Value(a.ID)).
			And(expression.Name("status").Equal(expression.Value(StatusPending)))).
		WithUpdate(expression.Set(expression.Name(statetable.ExpiresAt), expression.Value(until.Unix()))).Build()
	if err != nil {
		return fmt.Errorf("build extend expression: %w", err)
	}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: statetable.Update(s.Name, AccountKey(a.ID), pending)},
		{Update: statetable.Update(s.Name, EmailClaimKey(a.Email), owned)},
	}})
	if statetable.IsConditionFailed(err) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("extend pending account: %w", err)
	}
	return nil
}

// AccountIn is the item of a caller's transaction (in table) that holds only
// while the account exists with one of statuses: other packages write
// "only for an active account" with it, so that nothing lands in the
// partition of an account whose deletion has begun. A failed check cancels
// the transaction with a condition failure.
func AccountIn(table, accountID string, statuses ...string) (types.TransactWriteItem, error) {
	if len(statuses) == 0 {
		return types.TransactWriteItem{}, fmt.Errorf("account check: no status given")
	}
	e, err := expression.NewBuilder().WithCondition(AccountStatusIn(statuses[0], statuses[1:]...)).Build()
	if err != nil {
		return types.TransactWriteItem{}, fmt.Errorf("build account condition: %w", err)
	}
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{TableName: aws.String(table),
		Key: AccountKey(accountID).AV(), ConditionExpression: e.Condition(),
		ExpressionAttributeNames: e.Names(), ExpressionAttributeValues: e.Values()}}, nil
}

// ErrTokenUsed reports a verification whose token or account no longer qualifies.
var ErrTokenUsed = fmt.Errorf("token already used, expired, or its account already verified")

// Activate verifies the pending account acct (as its caller read it, the
// token's account) in one transaction: the token is consumed, the account
// becomes active with passwordHash (of the password the person who opened
// the link chose), and the claim and account stop expiring. A token for an
// account that is no longer pending fails with ErrTokenUsed.
func (s *Store) Activate(ctx context.Context, t *Token, acct *Account, passwordHash string) (*Account, error) {
	if acct.ID != t.AccountID {
		return nil, fmt.Errorf("activate: the token is not the account's")
	}
	now := s.Now()
	acctExpr, err := expression.NewBuilder().
		WithCondition(expression.Name(attrStatus).Equal(expression.Value(StatusPending)).
			And(expression.Name(statetable.ExpiresAt).GreaterThan(expression.Value(now.Unix())))).
		WithUpdate(expression.Set(expression.Name(attrStatus), expression.Value(StatusActive)).
			Set(expression.Name(attrVerifiedAt), expression.Value(now.Format(time.RFC3339Nano))).
			Remove(expression.Name(statetable.ExpiresAt))).Build()
	if err != nil {
		return nil, fmt.Errorf("build activate expression: %w", err)
	}
	claimExpr, err := expression.NewBuilder().
		WithCondition(expression.Name("account_id").Equal(expression.Value(t.AccountID))).
		WithUpdate(expression.Set(expression.Name("status"), expression.Value(StatusActive)).
			Set(expression.Name("password_hash"), expression.Value(passwordHash)).
			Remove(expression.Name(statetable.ExpiresAt))).Build()
	if err != nil {
		return nil, fmt.Errorf("build claim expression: %w", err)
	}
	consume, err := s.consumeToken(t)
	if err != nil {
		return nil, err
	}
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		consume,
		{Update: statetable.Update(s.Name, AccountKey(t.AccountID), acctExpr)},
		{Update: statetable.Update(s.Name, EmailClaimKey(acct.Email), claimExpr)},
	}})
	if statetable.IsConditionFailed(err) {
		return nil, ErrTokenUsed
	}
	if err != nil {
		return nil, fmt.Errorf("activate account: %w", err)
	}
	active := *acct
	active.Status, active.VerifiedAt = StatusActive, &now
	return &active, nil
}

// ReplacePasswordHash swaps the address's stored hash for a new one only if
// the stored hash is still old (compare-and-swap), so a concurrent change is
// never lost. It reports whether the swap happened. changed says the password
// itself changed (not just its hash's parameters): reset links issued before
// then stop working.
func (s *Store) ReplacePasswordHash(ctx context.Context, email, old, next string, changed bool) (bool, error) {
	update := expression.Set(expression.Name("password_hash"), expression.Value(next))
	if changed {
		update = update.Set(expression.Name("password_set_ms"), expression.Value(s.Now().UnixMilli()))
	}
	e, err := expression.NewBuilder().
		WithCondition(expression.Name("password_hash").Equal(expression.Value(old))).
		WithUpdate(update).Build()
	if err != nil {
		return false, fmt.Errorf("build rehash expression: %w", err)
	}
	swapped, err := statetable.ConditionalUpdate(ctx, s.DB, s.Name, EmailClaimKey(email), e)
	if err != nil {
		return false, fmt.Errorf("replace password hash: %w", err)
	}
	return swapped, nil
}

// AccountView is an account as the API shows it.
type AccountView struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	Plan          string    `json:"plan"`
	EmailVerified bool      `json:"email_verified"`
	CreatedAt     time.Time `json:"created_at"`
}

// ViewAccount renders an account for the API, with plan, the plan in force
// (package plans' PlanAt of the same account item).
func ViewAccount(a *Account, plan string) AccountView {
	return AccountView{ID: a.ID, Email: a.Email, Plan: plan, EmailVerified: a.Status == StatusActive,
		CreatedAt: a.CreatedAt.UTC()}
}

// SetPassword sets the password hash of the account's address from a
// single-use token (a reset link): the token is consumed, the hash replaced,
// and any extra items (clearing the lockout) written, all in one transaction.
// It fails with ErrTokenUsed if the token is gone, the account no longer
// active, or the password was reset or changed after the token was issued.
// notifyNextLogin asks for a "new sign-in" email at the next login.
func (s *Store) SetPassword(ctx context.Context, t *Token, email, passwordHash string, notifyNextLogin bool, extra ...types.TransactWriteItem) error {
	consume, err := s.consumeToken(t)
	if err != nil {
		return err
	}
	update := expression.Set(expression.Name("password_hash"), expression.Value(passwordHash)).
		Set(expression.Name("password_set_ms"), expression.Value(s.Now().UnixMilli()))
	if notifyNextLogin {
		update = update.Set(expression.Name("notify_next_login"), expression.Value(true))
	}
	e, err := expression.NewBuilder().
		WithCondition(expression.Name("account_id").Equal(expression.Value(t.AccountID)).
			And(expression.Name("status").Equal(expression.Value(StatusActive))).
			And(expression.AttributeNotExists(expression.Name("password_set_ms")).
				Or(expression.Name("password_set_ms").LessThan(expression.Value(t.IssuedMillis))))).
		WithUpdate(update).Build()
	if err != nil {
		return fmt.Errorf("build password update: %w", err)
	}
	items := append([]types.TransactWriteItem{consume, {Update: statetable.Update(s.Name, EmailClaimKey(email), e)}}, extra...)
	_, err = s.DB.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if statetable.IsConditionFailed(err) {
		return ErrTokenUsed
	}
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// ClearLoginNotice removes the request for a "new sign-in" email once sent.
// It changes only the claim of an active account: a claim deleted meanwhile
// (the account's deletion finished) is never recreated as a key-only item,
// and one being deleted is left to the deletion. Either way there is nothing
// to clear, which is not an error.
func (s *Store) ClearLoginNotice(ctx context.Context, email string) error {
	e, err := expression.NewBuilder().
		WithCondition(expression.AttributeExists(expression.Name(statetable.PK)).
			And(expression.Name("status").Equal(expression.Value(StatusActive)))).
		WithUpdate(expression.Remove(expression.Name("notify_next_login"))).Build()
	if err != nil {
		return fmt.Errorf("build notice update: %w", err)
	}
	if _, err := statetable.ConditionalUpdate(ctx, s.DB, s.Name, EmailClaimKey(email), e); err != nil {
		return fmt.Errorf("clear login notice: %w", err)
	}
	return nil
}

// AccountRead is the read of an account item as one of the reads a caller
// makes together (statetable.GetMany); Account decodes its answer.
type AccountRead struct {
	statetable.Read
	item rawItem
}

// ReadAccount prepares the read of the account id's item.
func ReadAccount(id string) *AccountRead {
	r := &AccountRead{}
	r.Key, r.Into = AccountKey(id), &r.item
	return r
}

// Account is the account read: ErrNotFound when it was absent or expired.
func (r *AccountRead) Account() (*Account, error) {
	if !r.Found {
		return nil, ErrNotFound
	}
	return accountFrom(r.item)
}
