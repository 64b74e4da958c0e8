package sourcesapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/logging"
	"github.com/atrium-cdn/atrium/shared/mfa"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/s3check"
	"github.com/atrium-cdn/atrium/shared/sources"
	"github.com/atrium-cdn/atrium/shared/statetable"
	"github.com/atrium-cdn/atrium/shared/web"
)

// The fuzz targets drive every request body two ways: straight through
// web.DecodeJSONBytes and the package's validation, and through the whole
// handler (web.Wrap, the router, the session check, DecodeJSON, validation)
// over an in-memory table, so that no valid body ever reaches the network or
// Secrets Manager: a valid registration meets a limit of zero (409), a valid
// PATCH or PUT an unknown source (404).

// memDB is an in-memory table with just what the fuzzed paths read: items by
// key. Any other operation fails, so a path that starts writing shows up as
// a 500.
type memDB struct {
	mu    sync.Mutex
	items map[string]map[string]ddbtypes.AttributeValue
	// setup lets the fixture's own transaction (starting the session) put
	// its items; once the fuzzing starts, every transaction fails.
	setup bool
}

var errStub = errors.New("memDB: operation not supported")

func memKey(k map[string]ddbtypes.AttributeValue) string {
	pk, _ := k[statetable.PK].(*ddbtypes.AttributeValueMemberS)
	sk, _ := k[statetable.SK].(*ddbtypes.AttributeValueMemberS)
	if pk == nil || sk == nil {
		return ""
	}
	return pk.Value + "\x00" + sk.Value
}

func (m *memDB) GetItem(_ context.Context, in *dynamodb.GetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &dynamodb.GetItemOutput{Item: m.items[memKey(in.Key)]}, nil
}

func (m *memDB) BatchGetItem(_ context.Context, in *dynamodb.BatchGetItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := &dynamodb.BatchGetItemOutput{Responses: map[string][]map[string]ddbtypes.AttributeValue{}}
	for table, ka := range in.RequestItems {
		for _, k := range ka.Keys {
			if it := m.items[memKey(k)]; it != nil {
				out.Responses[table] = append(out.Responses[table], it)
			}
		}
	}
	return out, nil
}

func (m *memDB) BatchWriteItem(context.Context, *dynamodb.BatchWriteItemInput, ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	return nil, errStub
}

func (m *memDB) PutItem(_ context.Context, in *dynamodb.PutItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.items[memKey(in.Item)] = in.Item
	return &dynamodb.PutItemOutput{}, nil
}

func (m *memDB) UpdateItem(_ context.Context, in *dynamodb.UpdateItemInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.items[memKey(in.Key)] == nil {
		// Every update of a source is conditional on the item existing.
		return nil, &ddbtypes.ConditionalCheckFailedException{}
	}
	return nil, errStub
}

func (m *memDB) DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return nil, errStub
}

func (m *memDB) Query(context.Context, *dynamodb.QueryInput, ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	return nil, errStub
}

func (m *memDB) TransactWriteItems(_ context.Context, in *dynamodb.TransactWriteItemsInput, _ ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.setup {
		return nil, errStub
	}
	for _, it := range in.TransactItems {
		if it.Put != nil {
			m.items[memKey(it.Put.Item)] = it.Put.Item
		}
	}
	return &dynamodb.TransactWriteItemsOutput{}, nil
}

// refusingChecker fails the fuzz run if a read check is ever asked for.
type refusingChecker struct{ calls int }

func (c *refusingChecker) CheckRead(context.Context, s3check.Location, s3check.Keys) error {
	c.calls++
	return &s3check.Failure{Reason: s3check.ReasonUnreachable, Message: "fuzz: no network"}
}

// resettableBuffer collects one request's log lines.
type resettableBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *resettableBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *resettableBuffer) take() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := bytes.Clone(b.buf.Bytes())
	b.buf.Reset()
	return out
}

// fuzzService is the handler over memDB, with a session and an account.
type fuzzService struct {
	handler http.Handler
	token   string
	checker *refusingChecker
	logs    *resettableBuffer
	unknown string // a well-formed source id that does not exist
}

func newFuzzService(t testing.TB) *fuzzService {
	t.Helper()
	db := &memDB{items: map[string]map[string]ddbtypes.AttributeValue{}}
	fixed := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	now := func() time.Time { return fixed }
	accounts := identity.NewStore(db, "fuzz", now)
	acct := identity.Account{ID: ids.New("acct"), Email: "fuzz@example.com", Status: identity.StatusActive,
		CreatedAt: fixed}
	item, err := attributevalue.MarshalMap(acct)
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(item, plans.Initial())
	for k, v := range identity.AccountKey(acct.ID).AV() {
		item[k] = v
	}
	db.items[memKey(item)] = item
	auth := identity.NewAuthenticator(accounts, identity.SessionPolicy{IdleTimeout: time.Hour, MaxLifetime: 24 * time.Hour}, nil)
	db.setup = true
	// Made with a second factor, so the step-up rule of PUT …/credentials
	// passes without reading the account's factors (memDB has no Query).
	_, token, err := accounts.CreateSessionWith(context.Background(), acct.ID, auth.Policy(), []string{mfa.MethodPassword, mfa.MethodTOTP})
	db.setup = false
	if err != nil {
		t.Fatal(err)
	}
	vault, err := sources.NewVault(nil, "fuzz/sources/", "fuzz-key")
	if err != nil {
		t.Fatal(err)
	}
	fs := &fuzzService{token: token, checker: &refusingChecker{}, logs: &resettableBuffer{}, unknown: ids.New("src")}
	logger := logging.New(fs.logs, slog.LevelDebug)
	svc := &Service{Store: sources.NewStore(db, "fuzz", now), Vault: vault, Checker: fs.checker,
		Limits: Limits{Standard: 0, Premium: 0}, Logger: logger,
		StepUp: mfa.NewStepUp(mfa.NewStore(db, "fuzz", nil, now), mfa.DefaultStepUpWindow)}
	fs.handler = web.Wrap(svc.Handler(auth), web.Options{Logger: logger, Function: "sources"})
	return fs
}

// serve sends body to the route and returns the status and the problem
// document, if any.
func (fs *fuzzService) serve(t *testing.T, method, path string, body []byte) (int, *web.Problem) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+fs.token)
	rec := httptest.NewRecorder()
	fs.handler.ServeHTTP(rec, req)
	if fs.checker.calls != 0 {
		t.Fatalf("%q: the fuzzed handler reached the read check", body)
	}
	checkLogs(t, body, fs.logs.take(), rec.Code)
	if rec.Code < 400 {
		return rec.Code, nil
	}
	var p web.Problem
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil || p.Status != rec.Code || p.Code == "" || p.Detail == "" ||
		p.Type != web.ProblemBase+p.Code || p.RequestID == "" {
		t.Fatalf("%q: %d answered with a malformed problem (%v): %+v", body, rec.Code, err, p)
	}
	return rec.Code, &p
}

// logKeys are the only keys a log line of a refused request may hold: the
// access line. Anything else (an error's text, a field) would be a place
// where the body could show up.
var logKeys = []string{"code", "function", "latency_ms", "level", "method", "msg", "request_id", "route", "status", "time"}

func checkLogs(t *testing.T, body, logs []byte, status int) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("%q: log line is not JSON: %s", body, sc.Text())
		}
		keys := make([]string, 0, len(line))
		for k := range line {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if line["msg"] != "request" || !reflect.DeepEqual(keys, logKeys) || line["status"] != float64(status) {
			t.Fatalf("%q: unexpected log line %s", body, sc.Text())
		}
		n++
	}
	if n != 1 {
		t.Fatalf("%q: %d log lines, want the one access line:\n%s", body, n, logs)
	}
}

// refusal is what a client sees of an error, without the request id.
type refusal struct {
	Status  int              `json:"status"`
	Code    string           `json:"code"`
	Message string           `json:"detail"`
	Fields  []web.FieldError `json:"errors,omitempty"`
}

func (r refusal) json() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// asRefusal checks that err is a client error: a *web.Error with status 400,
// a code, a message and complete field errors.
func asRefusal(t *testing.T, body []byte, err error) refusal {
	t.Helper()
	var e *web.Error
	if !errors.As(err, &e) {
		t.Fatalf("%q: error %T %v is not a *web.Error", body, err, err)
	}
	if e.Status != http.StatusBadRequest || e.Code == "" || e.Message == "" || e.Cause != nil && e.Code != "malformed_json" {
		t.Fatalf("%q: refusal %#v", body, e)
	}
	for _, fe := range e.Fields {
		if fe.Code == "" || fe.Detail == "" || fe.Field == "" && fe.Code != "unknown_field" {
			t.Fatalf("%q: incomplete field error %#v", body, fe)
		}
	}
	return refusal{Status: e.Status, Code: string(e.Code), Message: e.Message, Fields: e.Fields}
}

// decoderMessages are every message the JSON decoder's refusals carry: fixed
// text, and a byte offset. A refusal of the decoder that matches them and
// names only fields the client sent cannot hold any value the client sent.
var decoderMessages = regexp.MustCompile(`^(The request body is empty; send a JSON object\.|` +
	`The request body must be a JSON object\.|The request body must hold exactly one JSON object\.|` +
	`The request body is not valid JSON \(at byte [0-9]+\)\.|The request body ends too early\.|` +
	`The request has invalid fields\.|The request body is not valid JSON\.|` +
	`The request body is not valid UTF-8 \(at byte [0-9]+\)\.|` +
	`The request body repeats a name within one object \(at byte [0-9]+\); send each field once\.|` +
	`The request body escapes an unpaired UTF-16 surrogate \(at byte [0-9]+\), which is not valid Unicode\.)$`)

// unknownDetail is the detail of an unknown field: fixed text, and for a
// key that is a field's name in another case, that field's name.
var unknownDetail = regexp.MustCompile(`^is not a field of this request(: field names are case-sensitive \(did you mean "([a-z_]+)"\?\))?$`)

var typeDetails = regexp.MustCompile(`^must be (a string|a boolean|a number|an array|an object|a value of another type)$`)

// checkDecoderRefusal checks a refusal of web.DecodeJSONBytes: fixed
// messages only, wrong types named by the request's own fields.
func checkDecoderRefusal(t *testing.T, body []byte, r refusal, fields []string) {
	t.Helper()
	if !decoderMessages.MatchString(r.Message) {
		t.Fatalf("%q: decoder message %q", body, r.Message)
	}
	for _, fe := range r.Fields {
		switch fe.Code {
		case "unknown_field":
			m := unknownDetail.FindStringSubmatch(fe.Detail)
			if m == nil || m[2] != "" && (!slices.Contains(fields, m[2]) || !strings.EqualFold(m[2], fe.Field)) {
				t.Fatalf("%q: field error %+v", body, fe)
			}
		case "wrong_type":
			if !slices.Contains(fields, fe.Field) || !typeDetails.MatchString(fe.Detail) {
				t.Fatalf("%q: field error %+v", body, fe)
			}
		default:
			t.Fatalf("%q: decoder field error %+v", body, fe)
		}
	}
}

// validationCodes are the field errors validation may give, by field.
var validationCodes = map[string][]string{
	"name":              {"invalid_name", "required"},
	"type":              {"invalid_type"},
	"bucket":            {"invalid_bucket"},
	"region":            {"invalid_region"},
	"endpoint":          {"required", "invalid_endpoint", "not_allowed"},
	"prefix":            {"invalid_prefix"},
	"access_key_id":     {"invalid_access_key_id"},
	"secret_access_key": {"invalid_secret_access_key"},
}

func checkValidationRefusal(t *testing.T, body []byte, r refusal) {
	t.Helper()
	if r.Code != "validation_failed" || r.Message != "The request has invalid fields." || len(r.Fields) == 0 {
		t.Fatalf("%q: validation refusal %+v", body, r)
	}
	for _, fe := range r.Fields {
		if !slices.Contains(validationCodes[fe.Field], fe.Code) {
			t.Fatalf("%q: validation field error %+v", body, fe)
		}
	}
}

// neutral returns a string as long as s, of the same validity as a secret
// key, sharing no character with s: printable ASCII becomes another
// printable character, anything else another character of its kind and size.
func neutral(s string) string {
	var b strings.Builder
	for _, r := range s {
		alt := func(x, y rune) rune {
			if r == x {
				return y
			}
			return x
		}
		switch {
		case r > ' ' && r <= '~':
			b.WriteRune(alt('Z', 'Y'))
		case r < utf8.RuneSelf:
			b.WriteRune(alt(' ', '\t'))
		case utf8.RuneLen(r) == 2:
			b.WriteRune(alt('é', 'ß'))
		case utf8.RuneLen(r) == 3:
			b.WriteRune(alt('€', '₤'))
		default:
			b.WriteRune(alt('😀', '😁'))
		}
	}
	return b.String()
}

// checkSecretIndependent proves that a validation refusal says nothing about
// the secret key beyond whether it is valid: validating the same request with
// the secret replaced by a neutral one of the same validity gives the same
// refusal. In particular the refusal's JSON holds the secret (of 8 bytes or
// more) only where the neutral request's does too, i.e. by coincidence with
// fixed text.
func checkSecretIndependent(t *testing.T, body []byte, secret string, got refusal, validate func(secret string) error) {
	t.Helper()
	n := neutral(secret)
	if len(n) != len(secret) || (secret != "" && n == secret) {
		t.Fatalf("neutral(%q) = %q", secret, n)
	}
	var other refusal
	if err := validate(n); err != nil {
		other = asRefusal(t, body, err)
	}
	if got.json() != other.json() {
		t.Fatalf("%q: the refusal depends on the secret key's content:\n%s\nwith a neutral secret:\n%s", body, got.json(), other.json())
	}
	if len(secret) >= 8 {
		for _, form := range forms(secret) {
			if strings.Contains(got.json(), form) && !strings.Contains(other.json(), form) {
				t.Fatalf("%q: the refusal holds the secret key: %s", body, got.json())
			}
		}
	}
}

// maxBody is the handler's body limit.
const maxBody = web.DefaultMaxBody

var createFields = []string{"name", "type", "bucket", "region", "prefix", "endpoint", "access_key_id", "secret_access_key"}

func FuzzCreateRequest(f *testing.F) {
	for _, s := range []string{
		`{"name":"Photos","type":"s3_compatible","bucket":"cdn-images","region":"us-east-1","endpoint":"https://storage.example.com","access_key_id":"ReaderKey00000001","secret_access_key":"Sk~fuzz-secret!001"}`,
		`{"name":"Photos","type":"s3","bucket":"cdn-images","region":"eu-west-1","prefix":"images/","access_key_id":"AKIAIOSFODNN7EXAMPLE","secret_access_key":"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}`,
		`{"name":"P","type":"s3_compatible","bucket":"cdn-images","region":"auto","endpoint":"http://127.0.0.1:9000","access_key_id":"ReaderKey00000001","secret_access_key":"has a space in it"}`,
		`{"name":"P","type":"s3","bucket":"cdn-images","region":"us-east-1","endpoint":"https://x.example.com","access_key_id":"ReaderKey00000001","secret_access_key":"Sk~endpoint-for-s3"}`,
		`{"name":"","type":"","bucket":"","region":"","access_key_id":"","secret_access_key":""}`,
		`{"name":"x","secret_access_key":"Sk~unknown-follows!","extra":1}`,
		`{"secret_access_key":"Sk~first-value!","secret_access_key":"Sk~second-value!"}`,
		`{"SECRET_ACCESS_KEY":"Sk~case-folded-key!","Name":"x"}`,
		`{"secret_access_key":12345678901}`,
		`{"secret_access_key":"Sk~\u0000nul-inside!"}`,
		`{"secret_access_key":"\ud800\udc00-surrogates-ok"}`,
		"{\"secret_access_key\":\"\xff\xfe-invalid-utf8\"}",
		`{"prefix":null,"endpoint":null}`,
		`{"prefix":["a"],"endpoint":{"a":1}}`,
		`{"bucket":"a..b","region":"US","endpoint":"https://user:pw@10.0.0.1/path?q#f"}`,
		`{"endpoint":"https://[::1]:443","type":"s3_compatible"}`,
		`{"name":"` + strings.Repeat("n", 120) + `","prefix":"` + strings.Repeat("p", 1100) + `"}`,
		`{"secret_access_key":"` + strings.Repeat("S", 300) + `"}`,
		`{"name":"x"`, `{"name":"x"}{}`, `{"name":"x"}]`, `[]`, `null`, ``, `"Sk~a-string-body!"`, `{}`,
		`{"secret_access_key":"Sk~trailing-garbage!"} x`,
		"\xef\xbb\xbf{}",
		`{"name":"P","type":"s3","bucket":"cdn-images","region":"eu-west-1","prefix":"../../etc","access_key_id":"AKIAIOSFODNN7EXAMPLE","secret_access_key":"Sk~prefix-traversal!"}`,
		`{"name":"P","type":"s3","bucket":"cdn-images","region":"eu-west-1","prefix":"a/%2e%2e/b/","access_key_id":"AKIAIOSFODNN7EXAMPLE","secret_access_key":"Sk~prefix-encoded!"}`,
		`{"prefix":"/abs/"}`, `{"prefix":"a\\b"}`, `{"prefix":"a//b"}`, `{"prefix":"a/./b"}`, `{"prefix":"a\u202eb/"}`,
		`{"Prefix":"images/","prefix":"images/"}`, `{"prefix":"a/","prefix":"../"}`,
	} {
		f.Add([]byte(s))
	}
	fs := newFuzzService(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var req CreateRequest
		var direct *refusal
		if err := web.DecodeJSONBytes(body, &req); err != nil {
			r := asRefusal(t, body, err)
			checkDecoderRefusal(t, body, r, createFields)
			direct = &r
		} else {
			for _, loopback := range []bool{true, false} {
				validate := func(secret string) error {
					c := req
					c.SecretAccessKey = secret
					_, err := validateCreate(&c, loopback)
					return err
				}
				var r refusal
				if err := validate(req.SecretAccessKey); err != nil {
					r = asRefusal(t, body, err)
					checkValidationRefusal(t, body, r)
					if !loopback {
						direct = &r
					}
				} else if req.Prefix != nil {
					checkPrefixAccepted(t, body, *req.Prefix)
				}
				checkSecretIndependent(t, body, req.SecretAccessKey, r, validate)
			}
		}

		status, p := fs.serve(t, http.MethodPost, "/v1/sources", body)
		switch {
		case len(body) > maxBody:
			if status != http.StatusRequestEntityTooLarge || p.Code != "body_too_large" {
				t.Fatalf("%d bytes: %d %+v", len(body), status, p)
			}
		case direct != nil:
			if got := (refusal{Status: status, Code: p.Code, Message: p.Detail, Fields: p.Errors}); got.json() != direct.json() {
				t.Fatalf("%q: the handler refused with\n%s\nvalidation with\n%s", body, got.json(), direct.json())
			}
		default:
			if status != http.StatusConflict || p.Code != "source_limit_reached" {
				t.Fatalf("%q: a valid body got %d %+v, want the limit's 409", body, status, p)
			}
		}
	})
}

var credentialFields = []string{"access_key_id", "secret_access_key"}

func FuzzCredentialsRequest(f *testing.F) {
	for _, s := range []string{
		`{"access_key_id":"ReaderKey00000002","secret_access_key":"Sk~fuzz-secret!002"}`,
		`{"access_key_id":"short","secret_access_key":"has a space"}`,
		`{"access_key_id":"ReaderKey00000002"}`,
		`{"secret_access_key":"Sk~only-the-secret!"}`,
		`{"access_key_id":"ReaderKey00000002","secret_access_key":"Sk~x!","name":"x"}`,
		`{"access_key_id":1,"secret_access_key":true}`,
		`{"Access_Key_Id":"ReaderKey00000002","SECRET_ACCESS_KEY":"Sk~folded!0001"}`,
		`{"secret_access_key":"` + strings.Repeat("~", 257) + `"}`,
		`{"secret_access_key":"Sk~é-accent!"}`, `{}`, `null`, `{`, `{"a":1}{"b":2}`,
	} {
		f.Add([]byte(s))
	}
	fs := newFuzzService(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var req CredentialsRequest
		var direct *refusal
		if err := web.DecodeJSONBytes(body, &req); err != nil {
			r := asRefusal(t, body, err)
			checkDecoderRefusal(t, body, r, credentialFields)
			direct = &r
		} else {
			validate := func(secret string) error {
				if f := validKeys(req.AccessKeyID, secret); len(f) > 0 {
					return web.Invalid(f...)
				}
				return nil
			}
			var r refusal
			if err := validate(req.SecretAccessKey); err != nil {
				r = asRefusal(t, body, err)
				checkValidationRefusal(t, body, r)
				direct = &r
			}
			checkSecretIndependent(t, body, req.SecretAccessKey, r, validate)
		}

		status, p := fs.serve(t, http.MethodPut, "/v1/sources/"+fs.unknown+"/credentials", body)
		switch {
		case len(body) > maxBody:
			if status != http.StatusRequestEntityTooLarge || p.Code != "body_too_large" {
				t.Fatalf("%d bytes: %d %+v", len(body), status, p)
			}
		case direct != nil:
			if got := (refusal{Status: status, Code: p.Code, Message: p.Detail, Fields: p.Errors}); got.json() != direct.json() {
				t.Fatalf("%q: the handler refused with\n%s\nvalidation with\n%s", body, got.json(), direct.json())
			}
		default:
			if status != http.StatusNotFound || p.Code != "source_not_found" {
				t.Fatalf("%q: valid keys for an unknown source got %d %+v", body, status, p)
			}
		}
	})
}

var patchFields = []string{"name", "prefix"}

func FuzzPatchRequest(f *testing.F) {
	for _, s := range []string{
		`{"name":"Renamed"}`, `{"prefix":"images/"}`, `{"name":"R","prefix":""}`,
		`{}`, `{"name":null}`, `{"name":"","prefix":"\n"}`, `{"name":"   "}`,
		`{"name":"` + strings.Repeat("é", 101) + `"}`, `{"prefix":"` + strings.Repeat("p", 1025) + `"}`,
		`{"name":1}`, `{"bucket":"other"}`, `{"name":"x","name":"\u0007"}`, `null`, `[]`, `{"name":"x"`,
		"{\"name\":\"\xff\"}",
		`{"prefix":"../../etc"}`, `{"prefix":".."}`, `{"prefix":"./"}`, `{"prefix":"a/../b"}`, `{"prefix":"/"}`,
		`{"prefix":"/etc/"}`, `{"prefix":"a\\..\\b"}`, `{"prefix":"a//"}`, `{"prefix":"%2E%2e/"}`, `{"prefix":"a%2fb/"}`,
		`{"prefix":"a\u0000b"}`, `{"prefix":"a\u200bb/"}`, `{"prefix":"\ud800/"}`, "{\"prefix\":\"a\xc0\xafb\"}",
		`{"prefix":"...","name":"x"}`, `{"prefix":"a..b/c.d/"}`, `{"prefix":"photos/2024/"}`,
		`{"Prefix":"../"}`, `{"prefix":"ok/","prefix":"../"}`,
	} {
		f.Add([]byte(s))
	}
	fs := newFuzzService(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		var req PatchRequest
		wantValid := false
		if err := web.DecodeJSONBytes(body, &req); err != nil {
			checkDecoderRefusal(t, body, asRefusal(t, body, err), patchFields)
		} else {
			// The package's own checks of each field.
			var fe []web.FieldError
			if req.Name != nil {
				fe = append(fe, validName(*req.Name)...)
			}
			if req.Prefix != nil {
				fe = append(fe, validPrefix(*req.Prefix)...)
			}
			wantValid = len(fe) == 0 && (req.Name != nil || req.Prefix != nil)
			if wantValid && req.Prefix != nil {
				checkPrefixAccepted(t, body, *req.Prefix)
			}
		}

		status, p := fs.serve(t, http.MethodPatch, "/v1/sources/"+fs.unknown, body)
		switch {
		case len(body) > maxBody:
			if status != http.StatusRequestEntityTooLarge || p.Code != "body_too_large" {
				t.Fatalf("%d bytes: %d %+v", len(body), status, p)
			}
		case wantValid:
			if status != http.StatusNotFound || p.Code != "source_not_found" {
				t.Fatalf("%q: a valid PATCH of an unknown source got %d %+v", body, status, p)
			}
		default:
			if status != http.StatusBadRequest {
				t.Fatalf("%q: an invalid PATCH got %d %+v", body, status, p)
			}
			r := refusal{Status: status, Code: p.Code, Message: p.Detail, Fields: p.Errors}
			if r.Code == "validation_failed" && r.Message == "The request has invalid fields." &&
				!slices.ContainsFunc(r.Fields, func(fe web.FieldError) bool { return fe.Code == "unknown_field" || fe.Code == "wrong_type" }) {
				checkValidationRefusal(t, body, r)
			} else {
				checkDecoderRefusal(t, body, r, patchFields)
			}
		}
	})
}

// checkPrefixAccepted fails unless an accepted prefix is folder names joined
// by "/": valid UTF-8, no leading "/", no empty, "." or ".." folder name
// (percent-encoded or not), no backslash, no control character.
func checkPrefixAccepted(t *testing.T, body []byte, p string) {
	t.Helper()
	if p == "" {
		return
	}
	if len(p) > 1024 || !utf8.ValidString(p) || strings.HasPrefix(p, "/") || strings.Contains(p, `\`) ||
		strings.ContainsFunc(p, unicode.IsControl) {
		t.Fatalf("%q: accepted prefix %q", body, p)
	}
	for _, seg := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		decoded, err := url.PathUnescape(seg)
		if err != nil {
			decoded = seg
		}
		if seg == "" || seg == "." || seg == ".." || decoded == "." || decoded == ".." || strings.ContainsAny(decoded, `/\`) {
			t.Fatalf("%q: accepted prefix %q with folder name %q", body, p, seg)
		}
	}
}

// TestFuzzHelpers checks the helpers the fuzz targets rely on.
func TestFuzzHelpers(t *testing.T) {
	for _, s := range []string{"", "Sk~abc!", "Z", "ZY", "has a space\t", "é€😀", "\x7f\x00"} {
		n := neutral(s)
		if len(n) != len(s) {
			t.Errorf("neutral(%q) = %q: length changed", s, n)
		}
		a, b := []rune(s), []rune(n)
		for i := range a {
			if i >= len(b) || a[i] == b[i] {
				t.Errorf("neutral(%q) = %q keeps the character at %d", s, n, i)
			}
		}
		if (len(validKeys(readerKey, s)) == 0) != (len(validKeys(readerKey, n)) == 0) {
			t.Errorf("neutral(%q) = %q changed validity", s, n)
		}
	}
	// The service behind the fuzz targets answers as they expect.
	fs := newFuzzService(t)
	valid := `{"name":"P","type":"s3_compatible","bucket":"cdn-images","region":"us-east-1","endpoint":"https://storage.example.com","access_key_id":"ReaderKey00000001","secret_access_key":"Sk~fuzz-secret!001"}`
	if status, p := fs.serve(t, http.MethodPost, "/v1/sources", []byte(valid)); status != http.StatusConflict || p.Code != "source_limit_reached" {
		t.Fatalf("valid create: %d %+v", status, p)
	}
	if status, p := fs.serve(t, http.MethodPatch, "/v1/sources/"+fs.unknown, []byte(`{"name":"x"}`)); status != http.StatusNotFound || p.Code != "source_not_found" {
		t.Fatalf("valid patch: %d %+v", status, p)
	}
}
