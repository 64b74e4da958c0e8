package authapi

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/passkeys/passkeystest"
	"github.com/atrium-cdn/atrium/shared/web"
)

func FuzzDecodePasskeyRenameRequest(f *testing.F) {
	fuzzDecode[PasskeyRenameRequest](f, `{"name":"Laptop"}`, `{"name":""}`, `{"Name":"x"}`, `{"name":["x"]}`,
		`{"name":"a","credential":{}}`, `{"name":"`+strings.Repeat("n", 65)+`"}`)
}

func FuzzDecodeEmptyRequest(f *testing.F) {
	fuzzDecode[EmptyRequest](f, `{}`, `{"a":1}`, `{"mfa_token":"x"}`)
}

func FuzzDecodeMFATokenRequest(f *testing.F) {
	fuzzDecode[MFATokenRequest](f, `{"mfa_token":"acct_x.mfac_y.z"}`, `{"mfa_token":1}`, `{"MFA_TOKEN":"x"}`)
}

// FuzzPasskeyRoutes sends arbitrary bodies to the routes that take a
// credential — POST /v1/passkeys (with a live session) and
// POST /v1/login/passkey — through the whole handler, with seeds built by
// the software authenticator and broken in the ways a client can: never a
// 5xx (a panic is recovered into one), a problem document for every
// refusal, and no session for anything but a genuine assertion.
func FuzzPasskeyRoutes(f *testing.F) {
	fx := newFixture(f, io.Discard)
	bearer := fx.activeAccount(f, testenv.Email(f))
	a := passkeystest.New(stack.LocalAppOrigin())
	regOpts := fx.must(f, http.StatusOK, http.MethodPost, "/v1/passkeys/registration/options", "{}", bearer)
	reg, c, err := a.Create(regOpts, 0, passkeystest.Tamper{})
	if err != nil {
		f.Fatal(err)
	}
	fx.must(f, http.StatusCreated, http.MethodPost, "/v1/passkeys", registerBody("seed", reg), bearer)
	fx.stepUpWithPasskey(f, a, c, bearer)
	loginOpts := fx.must(f, http.StatusOK, http.MethodPost, "/v1/login/passkey/options", "{}", "")
	assertion, err := a.Get(loginOpts, c, passkeystest.Tamper{})
	if err != nil {
		f.Fatal(err)
	}
	regOpts2 := fx.must(f, http.StatusOK, http.MethodPost, "/v1/passkeys/registration/options", "{}", bearer)
	reg2, _, err := a.Create(regOpts2, 0, passkeystest.Tamper{})
	if err != nil {
		f.Fatal(err)
	}
	// Used once here: every registration seed below is a replay.
	fx.must(f, http.StatusCreated, http.MethodPost, "/v1/passkeys", registerBody("seed 2", reg2), bearer)
	var broken []string
	for _, cred := range [][]byte{reg2, assertion} {
		var m map[string]any
		_ = json.Unmarshal(cred, &m)
		resp, _ := m["response"].(map[string]any)
		for _, k := range []string{"clientDataJSON", "attestationObject", "authenticatorData", "signature", "userHandle"} {
			if _, ok := resp[k]; !ok {
				continue
			}
			for _, v := range []any{"", "!!!", 12, nil, strings.Repeat("A", 3000), map[string]any{}} {
				resp[k] = v
				b, _ := json.Marshal(m)
				broken = append(broken, string(b))
			}
		}
		broken = append(broken, string(cred[:len(cred)/2]), strings.Replace(string(cred), `"public-key"`, `"password"`, 1),
			strings.Replace(string(cred), `"id":"`, `"id":"AAAA`, 1))
	}
	seeds := slices.Clone(fuzzBodySeeds)
	for _, cred := range append([]string{string(reg2), string(assertion)}, broken...) {
		seeds = append(seeds, registerBody("fuzz", []byte(cred)), credentialBody([]byte(cred)))
	}
	seeds = append(seeds, `{"name":"x","credential":[]}`, `{"credential":"x"}`, `{"credential":{"id":1}}`,
		`{"name":"x","credential":{"response":{"clientDataJSON":"e30"}}}`, `{"credential":{},"credential":{}}`)
	for _, s := range seeds {
		f.Add(true, []byte(s))
		f.Add(false, []byte(s))
	}
	f.Fuzz(func(t *testing.T, register bool, body []byte) {
		path, auth := "/v1/login/passkey", ""
		if register {
			path, auth = "/v1/passkeys", bearer
		}
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = "192.0.2.9:40000"
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		rec := httptest.NewRecorder()
		fx.handler.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("%s %q: %d %s", path, body, rec.Code, rec.Body)
		case rec.Code >= 400:
			var p web.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code == "" || p.Status != rec.Code ||
				rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%d with body %q: want a problem document (%v)", rec.Code, rec.Body, err)
			}
		case register && rec.Code == http.StatusCreated:
			// Only a genuine answer to live options registers; the seeds' are used up.
			t.Fatalf("registered from %q", body)
		case !register && rec.Code == http.StatusOK:
			if !bytes.Equal(body, []byte(credentialBody(assertion))) {
				t.Fatalf("a session from %q", body)
			}
		default:
			t.Fatalf("%s: unexpected %d %s", path, rec.Code, rec.Body)
		}
	})
}
