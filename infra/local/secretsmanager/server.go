package secretsmanager

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Limits applied to every request. They follow the service's documented
// quotas where there is one.
const (
	// MaxRequestBytes bounds a request body. A 65536-byte SecretString can
	// legitimately grow to several times that once JSON-escaped, so the bound
	// is set above the worst case for one maximal value rather than at it.
	MaxRequestBytes = 512 << 10
	// MaxSecretBytes bounds SecretString and SecretBinary, as the service does.
	MaxSecretBytes = 65536

	maxNameLen        = 512
	maxSecretIDLen    = 2048
	maxDescriptionLen = 2048
	maxKmsKeyIDLen    = 2048
	minTokenLen       = 32
	maxTokenLen       = 64
	maxStageLen       = 256
	maxStages         = 20
	maxTagKeyLen      = 128
	maxTagValueLen    = 256
	maxTags           = 50
	maxVersions       = 100
	versionKeepWindow = 24 * time.Hour
	maxFilters        = 10
	maxFilterValues   = 10
	maxFilterValueLen = 512
	maxNextTokenLen   = 4096
	defaultMaxResults = 100
	maxMaxResults     = 100
	minRecoveryDays   = 7
	maxRecoveryDays   = 30
	defaultRecovery   = 30
)

const (
	targetPrefix   = "secretsmanager."
	jsonContent    = "application/x-amz-json-1.1"
	stageCurrent   = "AWSCURRENT"
	stagePrevious  = "AWSPREVIOUS"
	defaultRegion  = "us-east-1"
	defaultAccount = "000000000000"
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// Region is used in ARNs. Default "us-east-1".
	Region string
	// AccountID is used in ARNs. Default "000000000000".
	AccountID string
	// Now is the clock, used for dates and for ending recovery windows.
	// Default time.Now.
	Now func() time.Time
	// DataFile, if set, is a JSON file the state is loaded from when the
	// Server is created and saved to after every change (atomically: a
	// temporary file in the same directory, then a rename; mode 0600), so a
	// local stack keeps its data between restarts. It holds secret values in
	// plaintext.
	DataFile string
}

// Server is an in-memory Secrets Manager endpoint; it implements
// http.Handler. It is safe for concurrent use.
type Server struct {
	region   string
	account  string
	now      func() time.Time
	dataFile string
	// broken is set when DataFile could not be loaded; every request is then
	// refused so that the file is never overwritten with an empty state.
	broken error

	mu      sync.Mutex
	secrets map[string]*secret // by name; includes secrets scheduled for deletion
	seq     uint64             // creation counter, a stable tie-break for listing
}

// New returns a Server configured by opts. If opts.DataFile is set but
// cannot be read or parsed, the returned Server answers every request with
// InternalServiceError (HTTP 500) explaining why, and never writes the file;
// use Open to get that error at start-up instead.
func New(opts Options) *Server {
	s, err := Open(opts)
	if err != nil {
		s.broken = err
	}
	return s
}

// Open is New, but reports a DataFile that cannot be loaded as an error.
// The returned Server is never nil; after an error it refuses every request.
func Open(opts Options) (*Server, error) {
	s := &Server{
		region:   opts.Region,
		account:  opts.AccountID,
		now:      opts.Now,
		dataFile: opts.DataFile,
		secrets:  make(map[string]*secret),
	}
	if s.region == "" {
		s.region = defaultRegion
	}
	if s.account == "" {
		s.account = defaultAccount
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.dataFile != "" {
		if err := s.load(); err != nil {
			s.secrets = make(map[string]*secret)
			return s, err
		}
	}
	return s, nil
}

// apiError is an error answer: an HTTP status and the service's exception
// type and message.
type apiError struct {
	status int
	typ    string
	msg    string
}

func (e *apiError) Error() string { return e.typ + ": " + e.msg }

func newErr(typ, msg string) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: typ, msg: msg}
}

// The exception types this endpoint answers with. All but the protocol-level
// ones are modelled by the service, so the SDK returns them as typed errors.
const (
	excNotFound       = "ResourceNotFoundException"
	excExists         = "ResourceExistsException"
	excInvalidParam   = "InvalidParameterException"
	excInvalidRequest = "InvalidRequestException"
	excLimit          = "LimitExceededException"
	excNextToken      = "InvalidNextTokenException"
	excInternal       = "InternalServiceError"
	excUnknownOp      = "UnknownOperationException"
	excSerialization  = "SerializationException"
	excMissingAuth    = "MissingAuthenticationTokenException"
)

const (
	msgNotFound      = "Secrets Manager can't find the specified secret."
	msgMarkedDeleted = "You can't perform this operation on the secret because it was marked for deletion."
)

func errNotFound() *apiError { return newErr(excNotFound, msgNotFound) }
func errDeleted() *apiError  { return newErr(excInvalidRequest, msgMarkedDeleted) }
func errParam(msg string) *apiError {
	return newErr(excInvalidParam, msg)
}

func errInternal(msg string) *apiError {
	return &apiError{status: http.StatusInternalServerError, typ: excInternal, msg: msg}
}

// handler runs one operation on a decoded-later body.
type handler func(s *Server, body []byte) (any, *apiError)

var operations = map[string]handler{
	"CreateSecret":   (*Server).createSecret,
	"GetSecretValue": (*Server).getSecretValue,
	"PutSecretValue": (*Server).putSecretValue,
	"UpdateSecret":   (*Server).updateSecret,
	"DescribeSecret": (*Server).describeSecret,
	"DeleteSecret":   (*Server).deleteSecret,
	"RestoreSecret":  (*Server).restoreSecret,
	"ListSecrets":    (*Server).listSecrets,
	"TagResource":    (*Server).tagResource,
	"UntagResource":  (*Server).untagResource,

	"PutResourcePolicy":    (*Server).putResourcePolicy,
	"GetResourcePolicy":    (*Server).getResourcePolicy,
	"DeleteResourcePolicy": (*Server).deleteResourcePolicy,
}

// ServeHTTP answers one Secrets Manager API call. Every answer, success or
// error, is a JSON document with Content-Type application/x-amz-json-1.1.
//
// The Authorization header must be present, but its SigV4 signature is not
// verified.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("x-amzn-RequestId", newUUID())
	out, aerr := s.serve(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	body, err := json.Marshal(out)
	if err != nil {
		writeError(w, errInternal("failed to encode the response"))
		return
	}
	w.Header().Set("Content-Type", jsonContent)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (s *Server) serve(r *http.Request) (any, *apiError) {
	if s.broken != nil {
		return nil, errInternal("the local Secrets Manager could not load its data file: " + s.broken.Error())
	}
	if r.Method != http.MethodPost {
		e := newErr(excUnknownOp, "only POST is supported")
		e.status = http.StatusMethodNotAllowed
		return nil, e
	}
	if r.Header.Get("Authorization") == "" {
		return nil, newErr(excMissingAuth, "Missing Authentication Token")
	}
	target := r.Header.Get("X-Amz-Target")
	opName, ok := strings.CutPrefix(target, targetPrefix)
	if !ok {
		return nil, newErr(excUnknownOp, "the X-Amz-Target header must name a secretsmanager operation")
	}
	op, ok := operations[opName]
	if !ok {
		return nil, newErr(excUnknownOp, "operation is unknown or not emulated by the local Secrets Manager")
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != jsonContent && mt != "application/x-amz-json-1.0" && mt != "application/json") {
			return nil, newErr(excSerialization, "unsupported Content-Type; use "+jsonContent)
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	if err != nil {
		return nil, newErr(excSerialization, "failed to read the request body")
	}
	if len(body) > MaxRequestBytes {
		// Not LimitExceededException: the SDK retries that one as throttling.
		return nil, errParam("The request body is larger than the 512 KiB this endpoint accepts.")
	}
	return op(s, body)
}

func writeError(w http.ResponseWriter, e *apiError) {
	body, err := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"Message"`
	}{e.typ, e.msg})
	if err != nil {
		body = []byte(`{"__type":"InternalServiceError","Message":"failed to encode the error"}`)
	}
	w.Header().Set("Content-Type", jsonContent)
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}

// decode parses a request body into in. An empty body counts as {}.
// Problems are reported as SerializationException, as AWS does.
func decode(body []byte, in any) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return newErr(excSerialization, "invalid value for member "+te.Field)
		}
		return newErr(excSerialization, "the request body is not a valid JSON object for this operation")
	}
	return nil
}

// read runs fn under the lock, after purging secrets whose recovery window
// has ended. Changes fn makes are not persisted by themselves.
func (s *Server) read(fn func(now time.Time) (any, *apiError)) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.purgeLocked(now)
	return fn(now)
}

// write is read for operations that change state: after fn succeeds the
// state is saved to DataFile, and if that fails the change is undone and an
// InternalServiceError returned.
func (s *Server) write(fn func(now time.Time) (any, *apiError)) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.purgeLocked(now)
	var before map[string]*secret
	if s.dataFile != "" {
		before = cloneSecrets(s.secrets)
	}
	out, aerr := fn(now)
	if aerr != nil || s.dataFile == "" {
		return out, aerr
	}
	if err := s.saveLocked(); err != nil {
		s.secrets = before
		return nil, errInternal("the local Secrets Manager could not save its data file: " + err.Error())
	}
	return out, nil
}

func (s *Server) purgeLocked(now time.Time) {
	for name, sec := range s.secrets {
		if sec.DeletionDate != nil && !now.Before(*sec.DeletionDate) {
			delete(s.secrets, name)
		}
	}
}
