package complianceapi

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/atrium-cdn/atrium/shared/emailaddr"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/web"
)

// NoticeBody is the body of POST /v1/dmca: every element of a takedown
// notice that 17 U.S.C. § 512(c)(3)(A) requires.
type NoticeBody struct {
	InfringingURL   string `json:"infringing_url"`
	OriginalURL     string `json:"original_url"`
	ComplainantName string `json:"complainant_name"`
	PostalAddress   string `json:"postal_address"`
	Telephone       string `json:"telephone"`
	Email           string `json:"email"`
	// GoodFaithStatement: a good-faith belief that the use is not
	// authorised by the owner, its agent or the law.
	GoodFaithStatement *bool `json:"good_faith_statement"`
	// AccuracyStatement: the information in the notice is accurate.
	AccuracyStatement *bool `json:"accuracy_statement"`
	// AuthorizedUnderPenaltyOfPerjury: under penalty of perjury, the
	// complainant is authorised to act for the owner.
	AuthorizedUnderPenaltyOfPerjury *bool  `json:"authorized_under_penalty_of_perjury"`
	Signature                       string `json:"signature"`
}

// Notice is a DMCA takedown notice as recorded. Every field but the id and
// the time is the complainant's personal data: none of it is ever logged.
type Notice struct {
	ID              string    `dynamodbav:"id"`
	ReceivedAt      time.Time `dynamodbav:"received_at"`
	InfringingURL   string    `dynamodbav:"infringing_url"`
	OriginalURL     string    `dynamodbav:"original_url"`
	ComplainantName string    `dynamodbav:"complainant_name"`
	PostalAddress   string    `dynamodbav:"postal_address"`
	Telephone       string    `dynamodbav:"telephone"`
	Email           string    `dynamodbav:"email"`
	// The three statements, each affirmed (true) or the notice is refused.
	GoodFaithStatement              bool   `dynamodbav:"good_faith_statement"`
	AccuracyStatement               bool   `dynamodbav:"accuracy_statement"`
	AuthorizedUnderPenaltyOfPerjury bool   `dynamodbav:"authorized_under_penalty_of_perjury"`
	Signature                       string `dynamodbav:"signature"`
}

// ParseNotice validates a takedown notice body and returns the notice
// (without id or time). Each missing or invalid element is named in the
// 400 problem. It needs no state, so the fuzzer calls it alone.
func ParseNotice(body []byte) (Notice, error) {
	var b NoticeBody
	var f fields
	if err := decode(body, &b, &f); err != nil {
		return Notice{}, err
	}
	n := Notice{
		InfringingURL:   f.url("infringing_url", b.InfringingURL),
		OriginalURL:     f.url("original_url", b.OriginalURL),
		ComplainantName: f.text("complainant_name", b.ComplainantName, MaxNameLength, false),
		PostalAddress:   f.text("postal_address", b.PostalAddress, MaxAddressLength, true),
		Telephone:       f.telephone("telephone", b.Telephone),
	}
	if !f.has("email") {
		addr, err := emailaddr.Normalize(b.Email)
		switch {
		case b.Email == "":
			f.add("email", "required", "is required")
		case err != nil:
			f.add("email", "invalid_email", fmt.Sprintf("must be an email address of at most %d characters", emailaddr.MaxLength))
		default:
			n.Email = addr
		}
	}
	f.mustBeTrue("good_faith_statement", b.GoodFaithStatement,
		"a statement that you have a good-faith belief that the use of the material is not authorised by the copyright owner, its agent or the law")
	f.mustBeTrue("accuracy_statement", b.AccuracyStatement, "a statement that the information in the notice is accurate")
	f.mustBeTrue("authorized_under_penalty_of_perjury", b.AuthorizedUnderPenaltyOfPerjury,
		"a statement, under penalty of perjury, that you are authorised to act on behalf of the owner of the right allegedly infringed")
	n.Signature = f.text("signature", b.Signature, MaxNameLength, false)
	if err := f.err(); err != nil {
		return Notice{}, err
	}
	n.GoodFaithStatement, n.AccuracyStatement, n.AuthorizedUnderPenaltyOfPerjury = true, true, true
	return n, nil
}

// NoticeKey is the key of a DMCA notice: a partition of its own, since a
// notice belongs to no account.
func NoticeKey(id string) statetable.Key { return statetable.Key{PK: "DMCA#" + id, SK: "DMCA"} }

// NoticeStore keeps DMCA notices for a retention period (DynamoDB TTL).
type NoticeStore struct {
	db        statetable.DynamoDB
	table     string
	retention time.Duration
	now       func() time.Time
}

// NewNoticeStore returns a NoticeStore over the state table; now may be nil.
func NewNoticeStore(db statetable.DynamoDB, table string, retention time.Duration, now func() time.Time) *NoticeStore {
	if now == nil {
		now = time.Now
	}
	return &NoticeStore{db: db, table: table, retention: retention, now: now}
}

// Now is the store's clock, in UTC.
func (s *NoticeStore) Now() time.Time { return s.now().UTC() }

// Add records a new notice (id and time set), to expire after the retention period.
func (s *NoticeStore) Add(ctx context.Context, n *Notice) error {
	item, err := attributevalue.MarshalMap(n)
	if err != nil {
		return fmt.Errorf("encode notice: %w", err)
	}
	for k, v := range NoticeKey(n.ID).AV() {
		item[k] = v
	}
	item[statetable.ExpiresAt] = statetable.Epoch(n.ReceivedAt.Add(s.retention))
	e, err := expression.NewBuilder().WithCondition(expression.AttributeNotExists(expression.Name(statetable.PK))).Build()
	if err != nil {
		return fmt.Errorf("build notice condition: %w", err)
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: item,
		ConditionExpression: e.Condition(), ExpressionAttributeNames: e.Names()}); err != nil {
		return fmt.Errorf("record notice %s: %w", n.ID, err)
	}
	return nil
}

// Remove deletes a notice (one whose email could not be sent).
func (s *NoticeStore) Remove(ctx context.Context, id string) error {
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String(s.table), Key: NoticeKey(id).AV()}); err != nil {
		return fmt.Errorf("remove notice %s: %w", id, err)
	}
	return nil
}

// Get reads a notice (nil when absent or expired).
func (s *NoticeStore) Get(ctx context.Context, id string) (*Notice, error) {
	var n Notice
	found, err := statetable.Get(ctx, s.db, s.table, NoticeKey(id), s.now(), &n)
	if err != nil || !found {
		return nil, err
	}
	return &n, nil
}

// NoticeMessage is what a complainant is told once the notice is recorded.
const NoticeMessage = "Your notice has been recorded and forwarded to our designated agent. " +
	"Atrium is an image CDN: it fetches, transforms and serves images from storage that each website's owner controls, " +
	"and hosts none itself. Removing the material from its source is what takes it down, so please also send your notice " +
	"to the owner of the website or to its hosting provider, who can remove it. We will review the notice and may contact " +
	"you at the email address you gave."

// NoticeReceipt is the answer of POST /v1/dmca.
type NoticeReceipt struct {
	Notice struct {
		ID         string    `json:"id"`
		ReceivedAt time.Time `json:"received_at"`
	} `json:"notice"`
	Message string `json:"message"`
}

// noticeEvent logs what became of a notice: its id (once it has one) and
// the outcome, never anything from the notice itself.
func (s *Service) noticeEvent(ctx context.Context, id, outcome string) {
	args := []any{"outcome", outcome}
	if id != "" {
		args = append(args, "notice_id", id)
	}
	s.Logger.InfoContext(ctx, "dmca_notice", args...)
}

func (s *Service) receiveNotice(w http.ResponseWriter, r *http.Request, limit web.Gate) error {
	ctx := r.Context()
	body, err := readJSON(r)
	if err != nil {
		s.noticeEvent(ctx, "", "unreadable")
		return err
	}
	n, err := ParseNotice(body)
	if err != nil {
		s.noticeEvent(ctx, "", "invalid")
		return err
	}
	// Counted once well formed: the limit bounds what is stored and
	// emailed, and a complainant correcting a form is not held back.
	if err := limit(r); err != nil {
		if web.CodeOf(err) == web.CodeRateLimited {
			s.noticeEvent(ctx, "", "rate_limited")
		}
		return err
	}
	n.ID, n.ReceivedAt = ids.New("dmca"), s.Notices.Now()
	if err := s.Notices.Add(ctx, &n); err != nil {
		return err
	}
	if err := s.Mail.Send(ctx, noticeMail(s.DMCAAgent, &n, s.Notices.retention)); err != nil {
		// Unsent, the notice would wait unseen: take it back and let the
		// complainant send it again.
		if rerr := s.Notices.Remove(ctx, n.ID); rerr != nil {
			s.Logger.ErrorContext(ctx, "unsent notice not removed", "notice_id", n.ID, "error", rerr)
		}
		s.noticeEvent(ctx, n.ID, "not_sent")
		return fmt.Errorf("send notice %s to the DMCA agent: %w", n.ID, err)
	}
	s.noticeEvent(ctx, n.ID, "recorded")
	var resp NoticeReceipt
	resp.Notice.ID, resp.Notice.ReceivedAt, resp.Message = n.ID, n.ReceivedAt, NoticeMessage
	web.WriteJSON(w, http.StatusCreated, resp)
	return nil
}
