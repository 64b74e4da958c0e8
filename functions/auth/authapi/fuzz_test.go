package authapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/atrium-cdn/atrium/infra/local/testenv"
	"github.com/atrium-cdn/atrium/shared/identity"
	"github.com/atrium-cdn/atrium/shared/password"
	"github.com/atrium-cdn/atrium/shared/web"
)

// forgotRequest is the body of POST /v1/password/forgot, as decodeEmail
// reads it (an unnamed struct there).
type forgotRequest struct {
	Email string `json:"email"`
}

// fuzzBodySeeds are shapes every request body decoder must survive.
var fuzzBodySeeds = []string{
	``, ` `, `null`, `true`, `0`, `"x"`, `[]`, `{}`, `{`, `}`, `{"a":1}`, `{} {}`, `{}x`, "\xef\xbb\xbf{}",
	`{"email":"a@example.com"}{"email":"b@example.com"}`, `{"":""}`, `{"\u0000":1}`, `{"\ud800":"\udfff"}`,
	`{"` + strings.Repeat("k", 200) + `":1}`, `{"é` + strings.Repeat("é", 40) + `":1}`,
	"{\"email\":\"\xff\xfe\"}", `{"email":null}`, `{"email":{"a":[1,2]}}`, `{"email":1e400}`,
	`[` + strings.Repeat(`[`, 2000), `{"email":"` + strings.Repeat("a", 20000) + `"}`,
}

// fuzzDecode fuzzes web.DecodeJSONBytes into T: every input is either
// accepted as one JSON object (which a second, lenient decoder reads to
// the same value, and which survives a round trip), or refused with a 400
// problem whose code and fields are among the few it may name.
func fuzzDecode[T any](f *testing.F, seeds ...string) {
	fields := map[string]bool{}
	typ := reflect.TypeFor[T]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		fields[name] = true
	}
	for _, s := range append(slices.Clone(fuzzBodySeeds), seeds...) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var v T
		err := web.DecodeJSONBytes(body, &v)
		if err != nil {
			var we *web.Error
			if !errors.As(err, &we) {
				t.Fatalf("error %T %v is not a *web.Error", err, err)
			}
			if we.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400 (%v)", we.Status, we)
			}
			switch we.Code {
			case "malformed_json":
				if len(we.Fields) != 0 {
					t.Fatalf("malformed_json names fields %v", we.Fields)
				}
			case "validation_failed":
				if len(we.Fields) != 1 {
					t.Fatalf("validation_failed names %d fields", len(we.Fields))
				}
				fe := we.Fields[0]
				switch fe.Code {
				case "wrong_type":
					if !fields[fe.Field] {
						t.Fatalf("wrong_type names %q, not a field of %s", fe.Field, typ)
					}
				case "unknown_field":
					if fields[fe.Field] {
						t.Fatalf("unknown_field names the known field %q", fe.Field)
					}
					if !utf8.ValidString(fe.Field) || len(fe.Field) > 64+len("…") {
						t.Fatalf("unknown field name %q is not short valid text", fe.Field)
					}
				default:
					t.Fatalf("field code %q", fe.Code)
				}
			default:
				t.Fatalf("code %q", we.Code)
			}
			if _, err := json.Marshal(web.Problem{Code: string(we.Code), Detail: we.Message, Errors: we.Fields}); err != nil {
				t.Fatalf("the problem cannot be written: %v", err)
			}
			return
		}
		if trimmed := bytes.TrimSpace(body); len(trimmed) == 0 || trimmed[0] != '{' {
			t.Fatalf("accepted %q, which is not a JSON object", body)
		}
		var lenient T
		if err := json.Unmarshal(body, &lenient); err != nil || !sameJSON(lenient, v) {
			t.Fatalf("accepted %q as %+v, but encoding/json reads %+v (%v)", body, v, lenient, err)
		}
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var back T
		if err := web.DecodeJSONBytes(again, &back); err != nil || !sameJSON(back, v) {
			t.Fatalf("round trip of %+v: %+v, %v", v, back, err)
		}
	})
}

// sameJSON reports whether a and b encode alike (a body's raw JSON values,
// such as a passkey's credential, compare by their compact form).
func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func FuzzDecodeCredentialsRequest(f *testing.F) {
	fuzzDecode[CredentialsRequest](f,
		creds("a@example.com", strong), `{"email":"a@example.com","password":"x","extra":1}`,
		`{"EMAIL":"a@example.com","Password":"x"}`, `{"email":"a@example.com","password":12}`,
		`{"email":"a@example.com","email":"b@example.com"}`, `{"password":"\u00e9\u0000\t"}`)
}

func FuzzDecodeVerifyRequest(f *testing.F) {
	fuzzDecode[VerifyRequest](f, `{"token":"abc","password":"p"}`, `{"token":["abc"]}`, `{"Token":"abc","token":"def"}`,
		`{"token":"`+strings.Repeat("A", 129)+`"}`, `{"token":"abc","new_password":"x"}`)
}

func FuzzDecodeResetRequest(f *testing.F) {
	fuzzDecode[ResetRequest](f, `{"token":"abc","new_password":"`+strong+`"}`, `{"token":"abc"}`,
		`{"token":1,"new_password":2}`, `{"token":"abc","new_password":"x","password":"y"}`,
		`{"TOKEN":"abc","NEW_PASSWORD":"x"}`, `{"token":"abc","newpassword":"x"}`)
}

func FuzzDecodeChangeRequest(f *testing.F) {
	fuzzDecode[ChangeRequest](f, pwChangeBody(strong, pwStrong2), `{"current_password":"x"}`,
		`{"current_password":false,"new_password":null}`, `{"current_password":"x","new_password":"y","token":"z"}`,
		`{"Current_Password":"x","new_password":"y"}`)
}

func FuzzDecodeLoginMFARequest(f *testing.F) {
	fuzzDecode[LoginMFARequest](f,
		`{"mfa_token":"acct_x.mfac_y.z","method":"totp","code":"123456"}`,
		`{"mfa_token":"t","method":"recovery_code","code":"abcd-efgh-ijkl-mnop-qrst-uvwx"}`,
		`{"mfa_token":"t","method":"passkey","credential":{"id":"x","response":{"clientDataJSON":"e30"}}}`,
		`{"mfa_token":"t","method":"passkey","credential":[1,2]}`, `{"mfa_token":"t","method":"totp","code":123456}`,
		`{"mfa_token":"t","MFA_token":"u"}`, `{"mfa_token":"t","method":"totp","code":"1","extra":true}`)
}

func FuzzDecodeStepUpRequest(f *testing.F) {
	fuzzDecode[StepUpRequest](f, `{"method":"password","password":"`+strong+`"}`, `{"method":"totp","code":"000000"}`,
		`{"method":"passkey","credential":{}}`, `{"method":["totp"]}`, `{"method":"totp","code":null}`,
		`{"method":"recovery_code","code":"`+strings.Repeat("a", 100)+`"}`)
}

func FuzzDecodeEnrolTOTPRequest(f *testing.F) {
	fuzzDecode[EnrolTOTPRequest](f, `{}`, `{"name":"phone"}`, `{"name":"`+strings.Repeat("é", 80)+`"}`, `{"name":"\u0000"}`,
		`{"name":1}`, `{"label":"x"}`)
}

func FuzzDecodeConfirmTOTPRequest(f *testing.F) {
	fuzzDecode[ConfirmTOTPRequest](f, `{"code":"123456"}`, `{"code":"12345"}`, `{"code":"１２３４５６"}`, `{"code":123456}`,
		`{"code":"123456","name":"x"}`)
}

func FuzzDecodeForgotRequest(f *testing.F) {
	fuzzDecode[forgotRequest](f, `{"email":"a@example.com"}`, `{"email":"a@example.com","password":"x"}`,
		`{"email":["a@example.com"]}`, `{"Email":"A@EXAMPLE.COM"}`)
}

// fuzzResetToken in a body sent to /v1/password/reset is replaced with a
// freshly issued, valid reset token, so that the fuzzer reaches the paths
// behind the token check (policy, hashing, the transaction).
const fuzzResetToken = "@reset-token@"

// publicTexts is every text a problem of these routes may hold without it
// coming from the request: the sources of its messages and the policy's
// messages as rendered. A submitted password found in a response is a leak
// only when it is not part of these.
func publicTexts(t testing.TB) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{"http.go", "passwords.go", "service.go", "sessions.go",
		"../../../shared/web/problem.go", "../../../shared/web/decode.go", "../../../shared/web/router.go",
		"../../../shared/web/middleware.go", "../../../shared/identity/authenticate.go", "../../../shared/password/policy.go"} {
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(src)
	}
	pol := password.DefaultPolicy()
	for _, p := range []string{"a", strings.Repeat("a", 300), "\x01aaaaaaaaaaaaaaaaaaaa", strings.Repeat("ab", 10), "atrium-atrium-atrium"} {
		if err := pol.Check(p); err != nil {
			b.WriteString("\n" + err.Error())
		}
	}
	for code := 400; code < 600; code++ {
		b.WriteString("\n" + http.StatusText(code))
	}
	b.WriteString("\nmust be valid text of at most 256 bytes\nmust be the token from the email, at most 128 characters\n")
	return b.String()
}

// FuzzPasswordRoutes sends arbitrary bodies to POST /v1/password/reset and,
// with a live session, POST /v1/password/change, through the whole handler:
// never a 5xx (a panic is recovered into one), a problem document with a
// code for every refusal, 204 without a body for every success, never a 401
// for the always-live session, and never the submitted passwords in the
// response.
func FuzzPasswordRoutes(f *testing.F) {
	fx := newFixture(f, io.Discard)
	ctx := context.Background()
	resetEmail := testenv.Email(f)
	resetAcct := pwAccountID(fx.activeAccount(f, resetEmail))
	changeEmail := testenv.Email(f)
	bearer := fx.activeAccount(f, changeEmail)
	subject := fx.svc.keyer.Of("email", changeEmail)
	strongHash, err := fx.hasher.real.Hash(strong)
	if err != nil {
		f.Fatal(err)
	}
	public := publicTexts(f)

	for _, s := range append(slices.Clone(fuzzBodySeeds),
		pwResetBody(fuzzResetToken, pwStrong2), pwResetBody(fuzzResetToken, "short"),
		pwResetBody(fuzzResetToken, "aaaaaaaaaaaaaaaaaaaa"), pwResetBody(fuzzResetToken, resetEmail+"-x"),
		pwResetBody(fuzzResetToken, ""), pwResetBody(fuzzResetToken, strings.Repeat("é", 200)),
		pwResetBody("not-a-token", pwStrong3), pwResetBody(strings.Repeat("A", 43), pwStrong3),
		`{"token":"`+fuzzResetToken+`","new_password":"`+pwStrong2+`","x":1}`,
		`{"token":"`+fuzzResetToken+`","new_password":"violet\u0000harbor-quantum-88"}`,
	) {
		f.Add(false, []byte(s))
	}
	for _, s := range append(slices.Clone(fuzzBodySeeds),
		pwChangeBody(strong, pwStrong2), pwChangeBody(strong, "short"), pwChangeBody(strong, changeEmail),
		pwChangeBody("wrong-"+strong, pwStrong3), pwChangeBody("", ""), pwChangeBody(strong, strings.Repeat("x", 257)),
		`{"current_password":"`+strong+`","new_password":"`+pwStrong2+`","token":"x"}`,
		`{"current_password":"`+strong+`","new_password":7}`,
	) {
		f.Add(true, []byte(s))
	}

	f.Fuzz(func(t *testing.T, change bool, body []byte) {
		path, auth := "/v1/password/reset", ""
		if change {
			path, auth = "/v1/password/change", bearer
		} else if bytes.Contains(body, []byte(fuzzResetToken)) {
			tok, err := fx.store.IssueToken(ctx, identity.Token{Kind: identity.TokenResetPassword, AccountID: resetAcct}, ResetTokenTTL)
			if err != nil {
				t.Fatal(err)
			}
			body = bytes.ReplaceAll(body, []byte(fuzzResetToken), []byte(tok))
		}
		req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = "192.0.2.7:40000"
		if auth != "" {
			req.Header.Set("Authorization", "Bearer "+auth)
		}
		rec := httptest.NewRecorder()
		fx.handler.ServeHTTP(rec, req)
		resp := rec.Body.String()

		if change {
			// Keep the next input's ground the same: the password back to
			// strong, and no failures counted.
			if rec.Code == http.StatusNoContent {
				cred, err := fx.store.Credential(ctx, changeEmail)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := fx.store.ReplacePasswordHash(ctx, changeEmail, cred.PasswordHash, strongHash, false); err != nil {
					t.Fatal(err)
				}
			}
			if err := fx.svc.throttle.ClearFailures(ctx, subject); err != nil {
				t.Fatal(err)
			}
		}

		switch {
		case rec.Code >= 500:
			t.Fatalf("%s %q: %d %s", path, body, rec.Code, resp)
		case rec.Code == http.StatusNoContent:
			if resp != "" {
				t.Fatalf("204 with a body %q", resp)
			}
		case rec.Code >= 400:
			if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
				t.Fatalf("%d with Content-Type %q", rec.Code, ct)
			}
			var p web.Problem
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || p.Code == "" || p.Status != rec.Code {
				t.Fatalf("%d with body %q: want a problem document with a code (%v)", rec.Code, resp, err)
			}
			if change && rec.Code == http.StatusUnauthorized {
				t.Fatalf("the live session was refused: %s", resp)
			}
		default:
			t.Fatalf("%s %q: unexpected status %d %s", path, body, rec.Code, resp)
		}

		// The submitted passwords, read as the handler reads them (the first
		// JSON value, field names matched without regard to case).
		var sent ChangeRequest
		var sentReset ResetRequest
		_ = json.NewDecoder(bytes.NewReader(body)).Decode(&sent)
		_ = json.NewDecoder(bytes.NewReader(body)).Decode(&sentReset)
		var p web.Problem
		_ = json.Unmarshal(rec.Body.Bytes(), &p)
		echoed := p.RequestID + "\n" + web.ProblemBase + p.Code
		for _, fe := range p.Errors {
			echoed += "\n" + fe.Field // field names come from the body's keys, not its values
		}
		for _, secret := range []string{sent.NewPassword, sent.CurrentPassword, sentReset.NewPassword} {
			if len(secret) < 8 {
				continue
			}
			escaped, _ := json.Marshal(secret)
			for _, form := range []string{secret, string(escaped[1 : len(escaped)-1])} {
				if len(form) >= 8 && strings.Contains(resp, form) && !strings.Contains(public, form) && !strings.Contains(echoed, form) {
					t.Fatalf("the response holds a submitted password %q: %s", secret, resp)
				}
			}
		}
	})
}
