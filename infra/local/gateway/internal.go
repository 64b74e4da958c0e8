package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/atrium-cdn/atrium/functions/credentials/credentialsfn"
	"github.com/atrium-cdn/atrium/functions/housekeeping/housekeepingfn"
	"github.com/atrium-cdn/atrium/shared/coldstart"
)

// InvokedFunctions are the functions with no HTTP route, invoked through the
// Lambda API: internal callers (the credentials function) and schedules
// (housekeeping). Locally they answer the Lambda Invoke API's path on a
// separate loopback port, never on the public API port.
var InvokedFunctions = []struct {
	Name      string
	LogicalID string
	New       func(context.Context, coldstart.Env) (lambda.Handler, error)
}{
	{Name: "credentials", LogicalID: "CredentialsFunction", New: func(ctx context.Context, env coldstart.Env) (lambda.Handler, error) {
		h, err := credentialsfn.New(ctx, env)
		if err != nil {
			return nil, err
		}
		return lambda.NewHandler(coldstart.Invoked(h.Invoke)), nil
	}},
	{Name: "housekeeping", LogicalID: "HousekeepingFunction", New: func(ctx context.Context, env coldstart.Env) (lambda.Handler, error) {
		h, err := housekeepingfn.New(ctx, env)
		if err != nil {
			return nil, err
		}
		return lambda.NewHandler(coldstart.Invoked(h.Run)), nil
	}},
}

// maxPayload is Lambda's limit for a synchronous invocation's payload.
const maxPayload = 6 << 20

// NewInternal builds the invoked functions and serves them as the Lambda
// Invoke API does: POST /2015-03-31/functions/{name}/invocations with the
// event as the body; the function's result as the answer, or its error as
// {"errorMessage","errorType"} with X-Amz-Function-Error: Unhandled. So
// `aws lambda invoke --endpoint-url http://127.0.0.1:3001` works against it.
func NewInternal(ctx context.Context, env func(function string) coldstart.Env) (http.Handler, map[string]lambda.Handler, error) {
	handlers := map[string]lambda.Handler{}
	for _, fn := range InvokedFunctions {
		h, err := fn.New(ctx, env(fn.Name))
		if err != nil {
			return nil, nil, fmt.Errorf("start function %s: %w", fn.Name, err)
		}
		handlers[fn.Name] = h
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2015-03-31/functions/{name}/invocations", func(w http.ResponseWriter, r *http.Request) {
		h, ok := handlers[r.PathValue("name")]
		if !ok {
			http.Error(w, `{"Type":"User","message":"Function not found"}`, http.StatusNotFound)
			return
		}
		payload, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPayload))
		if err != nil {
			http.Error(w, `{"Type":"User","message":"Request too large"}`, http.StatusRequestEntityTooLarge)
			return
		}
		if len(payload) == 0 {
			payload = []byte("{}")
		}
		out, err := h.Invoke(r.Context(), payload)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			// As Lambda reports a Go function's error: its message and type,
			// which coldstart.Invoked sets (aws-lambda-go would otherwise name
			// the error's Go type).
			var ive messages.InvokeResponse_Error
			if !errors.As(err, &ive) {
				ive = messages.InvokeResponse_Error{Message: err.Error(), Type: coldstart.InvokeErrorFailed}
			}
			w.Header().Set("X-Amz-Function-Error", "Unhandled")
			_ = json.NewEncoder(w).Encode(map[string]string{"errorMessage": ive.Message, "errorType": ive.Type})
			return
		}
		_, _ = w.Write(out)
	})
	return mux, handlers, nil
}
