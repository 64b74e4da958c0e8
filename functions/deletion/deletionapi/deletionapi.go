// Package deletionapi is the account-deletion function, with two entry
// points. The DynamoDB stream of the state table starts each deletion job the
// moment DELETE /v1/account (the auth function, which re-checks the
// password) accepts it: the event source mapping delivers only the INSERTs
// of job items (template.yaml), and Stream carries each job out under its
// lease (shared/deletion/runner). GET /v1/account/deletion/{id} only reads: a
// deletion's progress and, once done, its receipt. The scheduled
// housekeeping finishes any job the stream could not. The same handlers run
// in Lambda (functions/deletion, dispatching by the event's shape in Invoke)
// and in the local stack (infra/local/gateway).
package deletionapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/atrium-cdn/atrium/shared/coldstart"
	"github.com/atrium-cdn/atrium/shared/deletion"
	"github.com/atrium-cdn/atrium/shared/deletion/runner"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/lambdahttp"
	"github.com/atrium-cdn/atrium/shared/web"
)

// Routes are the API routes this function serves (template.yaml routes the same).
var Routes = []string{"GET /v1/account/deletion/{id}"}

// Service serves deletion status.
type Service struct {
	Jobs   *deletion.Store
	Logger *slog.Logger
}

// Function is the deletion function as one cold start builds it: its HTTP
// handler and its stream handler.
type Function struct {
	HTTP   http.Handler
	Stream func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error)
	http   func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)
}

// Build builds the deletion function from its environment.
func Build(ctx context.Context, env coldstart.Env) (*Function, error) {
	b, err := coldstart.Load(ctx, "deletion", env)
	if err != nil {
		return nil, err
	}
	cfg := runner.ReadConfig(b)
	if err := b.Finish(); err != nil {
		return nil, err
	}
	run, err := runner.New(ctx, b, cfg)
	if err != nil {
		return nil, err
	}
	s := &Service{Jobs: run.Jobs, Logger: b.Logger}
	h := b.Serve(s.Routes())
	return &Function{HTTP: h, Stream: coldstart.Invoked(run.HandleStream), http: lambdahttp.Handler(h)}, nil
}

// New builds the function's HTTP handler (the local gateway's entry).
func New(ctx context.Context, env coldstart.Env) (http.Handler, error) {
	f, err := Build(ctx, env)
	if err != nil {
		return nil, err
	}
	return f.HTTP, nil
}

// NewStream builds the function's stream handler (the local stack's poller's entry).
func NewStream(ctx context.Context, env coldstart.Env) (func(context.Context, events.DynamoDBEvent) (events.DynamoDBEventResponse, error), error) {
	f, err := Build(ctx, env)
	if err != nil {
		return nil, err
	}
	return f.Stream, nil
}

// Invoke answers one Lambda invocation, by the event's shape: a batch of
// DynamoDB stream records (from the event source mapping) or an API Gateway
// HTTP API request. It makes the Function a lambda.Handler.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	var shape struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
	}
	if err := json.Unmarshal(payload, &shape); err != nil {
		return nil, errors.New("deletion: the event is not JSON")
	}
	if len(shape.Records) > 0 {
		if shape.Records[0].EventSource != "aws:dynamodb" {
			return nil, errors.New("deletion: records from another source than DynamoDB")
		}
		var ev events.DynamoDBEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, errors.New("deletion: not a DynamoDB stream event")
		}
		return marshal(f.Stream(ctx, ev))
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		return nil, errors.New("deletion: neither a stream nor an HTTP API event")
	}
	return marshal(f.http(ctx, ev))
}

func marshal[T any](v T, err error) ([]byte, error) {
	if err != nil {
		return nil, err
	}
	out, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("deletion: encode response: %w", err)
	}
	return out, nil
}

// Routes returns the function's router.
func (s *Service) Routes() *web.Router {
	rt := web.NewRouter(s.Logger)
	rt.Handle("GET /v1/account/deletion/{id}", s.status)
	// The function also serves API Gateway's $default route (template.yaml):
	// every request no route matches comes here and is answered 404
	// not_found, or 405 method_not_allowed with Allow on a known path, as
	// problem documents like every other error.
	rt.Elsewhere(web.APIRoutes)
	return rt
}

// Response is the answer of the status route.
type Response struct {
	Deletion *deletion.Job `json:"deletion"`
}

var errNotFound = web.CodeDeletionNotFound.New()

// status reads the job as it stands; it never runs it.
func (s *Service) status(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !ids.Valid(deletion.IDPrefix, id) {
		return errNotFound
	}
	job, err := s.Jobs.Get(r.Context(), id)
	if errors.Is(err, deletion.ErrNotFound) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	web.WriteJSON(w, http.StatusOK, Response{Deletion: job})
	return nil
}
