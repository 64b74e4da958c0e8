package authapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/web"
)

// FuzzMFARoutes sends arbitrary bodies through the whole handler to the
// second factor's routes (POST /v1/login/mfa, /v1/session/step-up,
// /v1/mfa/totp, /v1/mfa/totp/{id}/confirm) with a live session of an
// account with a factor: never a 5xx, a problem document with a code for
// every refusal, and never the account's secret, codes or the submitted
// code in an answer.
func FuzzMFARoutes(f *testing.F) {
	fx := newFixture(f, &testenv.LogBuffer{})
	u := fx.newMFAUser(f)
	// The clock never moves: the session stays within its step-up window
	// and the challenge alive for the whole run.
	token := fx.challenge(f, u)
	paths := []string{"/v1/login/mfa", "/v1/session/step-up", "/v1/mfa/totp", "/v1/mfa/totp/" + u.factorID + "/confirm"}
	for _, s := range append(slices.Clone(fuzzBodySeeds),
		mfaJSON(LoginMFARequest{MFAToken: token, Method: "totp", Code: "000000"}),
		mfaJSON(LoginMFARequest{MFAToken: token, Method: "recovery_code", Code: "aaaa-bbbb-cccc-dddd-eeee-ffff"}),
		mfaJSON(LoginMFARequest{MFAToken: token, Method: "passkey", Credential: json.RawMessage(`{"id":"x"}`)}),
		mfaJSON(LoginMFARequest{MFAToken: "x.y.z", Method: "sms", Code: "1"}),
		stepUpBody("password", strong), stepUpBody("totp", "12345"), `{"name":"phone"}`, `{"code":"123456"}`,
	) {
		for i := range paths {
			f.Add(uint8(i), []byte(s))
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		path := paths[int(route)%len(paths)]
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = "192.0.2.9:40000"
		if path != "/v1/login/mfa" {
			req.Header.Set("Authorization", "Bearer "+u.bearer)
		}
		rec := httptest.NewRecorder()
		fx.handler.ServeHTTP(rec, req)
		resp := rec.Body.String()
		switch {
		case rec.Code >= 500:
			t.Fatalf("%s %q: %d %s", path, body, rec.Code, resp)
		case rec.Code >= 400:
			var p web.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code == "" || p.Status != rec.Code {
				t.Fatalf("%s: %d with body %q: want a problem document with a code (%v)", path, rec.Code, resp, err)
			}
		}
		for _, secret := range append([]string{u.secret}, u.codes...) {
			if strings.Contains(resp, secret) {
				t.Fatalf("%s: the answer holds a secret or recovery code: %s", path, resp)
			}
		}
	})
}
