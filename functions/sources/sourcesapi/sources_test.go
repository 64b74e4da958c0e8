package sourcesapi

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/atrium-cdn/atrium/infra/local/stack"
	"github.com/atrium-cdn/atrium/shared/ids"
	"github.com/atrium-cdn/atrium/shared/plans"
	"github.com/atrium-cdn/atrium/shared/sources"
)

var defaultLimits = Limits{Standard: 3, Premium: 25}

// keysOf returns the sorted keys of a JSON object.
func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var sourceFields = []string{"access_key_id_hint", "bucket", "created_at", "endpoint", "id", "name", "prefix",
	"region", "type", "updated_at", "verification"}

// timeField parses an RFC 3339 UTC time of a JSON object.
func timeField(t *testing.T, m map[string]any, key string) time.Time {
	t.Helper()
	s, _ := m[key].(string)
	if !strings.HasSuffix(s, "Z") {
		t.Fatalf("%s = %q is not an RFC 3339 UTC time", key, s)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s = %q: %v", key, s, err)
	}
	return v
}

// TestEveryRoute walks every route's happy path and checks what each one
// answers and what it leaves in DynamoDB and Secrets Manager.
func TestEveryRoute(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acct, tok := f.account(t, plans.Standard)
	ctx := context.Background()

	// POST: 201 with the source, the recommendation, and nothing secret.
	secret1 := f.secret()
	r := f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody("Product photos", readerKey, secret1, nil)).want(t, http.StatusCreated, "")
	if got := keysOf(r.json); !reflect.DeepEqual(got, []string{"recommendation", "source"}) {
		t.Fatalf("top-level fields %v", got)
	}
	src1 := r.source(t)
	if got := keysOf(src1); !reflect.DeepEqual(got, sourceFields) {
		t.Fatalf("source fields %v, want %v", got, sourceFields)
	}
	id1, _ := src1["id"].(string)
	if !ids.Valid("src", id1) {
		t.Fatalf("id %q is not a src_ id", id1)
	}
	for k, want := range map[string]string{"name": "Product photos", "type": "s3_compatible", "bucket": testBucket,
		"region": "us-east-1", "prefix": "", "endpoint": f.s3URL, "access_key_id_hint": "0001"} {
		if src1[k] != want {
			t.Errorf("%s = %v, want %q", k, src1[k], want)
		}
	}
	created := timeField(t, src1, "created_at")
	if !created.Equal(f.clock.Now()) || !timeField(t, src1, "updated_at").Equal(created) {
		t.Errorf("created_at %v, updated_at %v, want both %v", src1["created_at"], src1["updated_at"], f.clock.Now())
	}
	v, _ := src1["verification"].(map[string]any)
	if got := keysOf(v); !reflect.DeepEqual(got, []string{"checked_at", "status"}) || v["status"] != "verified" ||
		!timeField(t, v, "checked_at").Equal(created) {
		t.Errorf("verification %v", v)
	}
	rec, _ := r.json["recommendation"].(string)
	if rec != Recommendation || !strings.Contains(rec, "s3:ListBucket") || !strings.Contains(rec, "s3:GetObject") {
		t.Errorf("recommendation %q does not name s3:ListBucket and s3:GetObject", rec)
	}
	if strings.Contains(string(r.raw), secret1) || strings.Contains(string(r.raw), readerKey) {
		t.Fatalf("the response shows a key: %s", r.raw)
	}
	if n := f.checker.count(); n != 1 {
		t.Fatalf("%d read checks, want 1", n)
	}
	// Stored: the item (with the secret's ARN) and the secret (with the keys).
	item := f.sourceItem(t, acct, id1)
	if item == nil {
		t.Fatal("no item stored")
	}
	stored := decodeSource(t, item)
	if !f.vault.Owns(stored.SecretARN) || !strings.Contains(stored.SecretARN, ":secret:"+f.secretName(acct, id1)+"-") {
		t.Fatalf("item's secret_arn %q is not the source's secret %s", stored.SecretARN, f.secretName(acct, id1))
	}
	creds, version1, ok := f.secretValue(t, stored.SecretARN)
	if !ok || creds["access_key_id"] != readerKey || creds["secret_access_key"] != secret1 || len(creds) != 2 {
		t.Fatalf("secret value holds other keys (ok=%v, fields %d)", ok, len(creds))
	}
	if n := f.sourceCount(t, acct); n != 1 {
		t.Fatalf("source_count %d, want 1", n)
	}
	if in := f.intents(t); len(in) != 0 {
		t.Fatalf("intent left after a successful create: %+v", *in[0])
	}

	// A second source, under a prefix, endpoint given with a trailing slash.
	f.clock.Advance(time.Second)
	r = f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody("Thumbnails", readerKey2, f.secret(),
		map[string]any{"prefix": "images/", "endpoint": f.s3URL + "/"})).want(t, http.StatusCreated, "")
	src2 := r.source(t)
	if src2["prefix"] != "images/" || src2["endpoint"] != f.s3URL || src2["access_key_id_hint"] != "0002" {
		t.Fatalf("second source %v", src2)
	}
	id2 := src2["id"].(string)

	// GET list, oldest first, exactly as created; GET one.
	r = f.do(t, http.MethodGet, "/v1/sources", tok, nil).want(t, http.StatusOK, "")
	if !reflect.DeepEqual(r.json, map[string]any{"sources": []any{src1, src2}}) {
		t.Fatalf("list %s", r.raw)
	}
	r = f.do(t, http.MethodGet, "/v1/sources/"+id1, tok, nil).want(t, http.StatusOK, "")
	if !reflect.DeepEqual(r.json, map[string]any{"source": src1}) {
		t.Fatalf("get %s, want %v", r.raw, src1)
	}

	// PATCH name, prefix, both: only those change, with updated_at.
	patches := []struct {
		body       map[string]any
		name, pref string
	}{
		{map[string]any{"name": "Renamed"}, "Renamed", ""},
		{map[string]any{"prefix": "photos/2024/"}, "Renamed", "photos/2024/"},
		{map[string]any{"name": "Both", "prefix": ""}, "Both", ""},
	}
	last := src1
	for _, p := range patches {
		f.clock.Advance(time.Second)
		r = f.do(t, http.MethodPatch, "/v1/sources/"+id1, tok, p.body).want(t, http.StatusOK, "")
		got := r.source(t)
		want := map[string]any{}
		for k, v := range last {
			want[k] = v
		}
		want["name"], want["prefix"] = p.name, p.pref
		want["updated_at"] = got["updated_at"]
		if p.pref != last["prefix"] {
			// A new prefix is not what the keys were checked against.
			v := last["verification"].(map[string]any)
			want["verification"] = map[string]any{"status": "unverified", "checked_at": v["checked_at"]}
			if r.json["notice"] != Unverified {
				t.Errorf("PATCH %v: notice %v", p.body, r.json["notice"])
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("PATCH %v: got %v, want %v", p.body, got, want)
		}
		if !timeField(t, got, "updated_at").Equal(f.clock.Now()) {
			t.Errorf("PATCH %v: updated_at %v, want %v", p.body, got["updated_at"], f.clock.Now())
		}
		last = got
	}
	r = f.do(t, http.MethodGet, "/v1/sources/"+id1, tok, nil).want(t, http.StatusOK, "")
	if !reflect.DeepEqual(r.source(t), last) {
		t.Fatalf("GET after PATCH %s, want %v", r.raw, last)
	}
	if _, v, _ := f.secretValue(t, stored.SecretARN); v != version1 {
		t.Fatal("PATCH changed the secret")
	}

	// PUT credentials: checked, a new version of the secret, a new hint.
	f.clock.Advance(time.Second)
	secret3 := f.secret()
	checks := f.checker.count()
	r = f.do(t, http.MethodPut, "/v1/sources/"+id1+"/credentials", tok,
		map[string]any{"access_key_id": readerKey2, "secret_access_key": secret3}).want(t, http.StatusOK, "")
	got := r.source(t)
	if got["verification"].(map[string]any)["status"] != "verified" || r.json["notice"] != nil {
		t.Fatalf("PUT credentials did not verify the source again: %s", r.raw)
	}
	if got["access_key_id_hint"] != "0002" || got["name"] != "Both" || got["id"] != id1 ||
		!timeField(t, got, "updated_at").Equal(f.clock.Now()) ||
		!timeField(t, got["verification"].(map[string]any), "checked_at").Equal(f.clock.Now()) {
		t.Fatalf("PUT credentials answered %s", r.raw)
	}
	if f.checker.count() != checks+1 {
		t.Fatal("PUT credentials did not check the new keys")
	}
	creds, version2, _ := f.secretValue(t, stored.SecretARN)
	if version2 == version1 || creds["access_key_id"] != readerKey2 || creds["secret_access_key"] != secret3 {
		t.Fatalf("the secret was not replaced by a new version (version changed: %v)", version2 != version1)
	}
	prev, err := f.rawSM.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(stored.SecretARN), VersionStage: aws.String("AWSPREVIOUS")})
	if err != nil || aws.ToString(prev.VersionId) != version1 {
		t.Fatalf("the old keys are not the previous version: %v", err)
	}
	r = f.do(t, http.MethodGet, "/v1/sources/"+id1, tok, nil).want(t, http.StatusOK, "")
	if !reflect.DeepEqual(r.source(t), got) {
		t.Fatalf("GET after PUT %s", r.raw)
	}

	// DELETE: 204, then the item, the secret and the place in the limit are gone.
	r = f.do(t, http.MethodDelete, "/v1/sources/"+id1, tok, nil).want(t, http.StatusNoContent, "")
	if len(r.raw) != 0 {
		t.Fatalf("204 with a body: %s", r.raw)
	}
	f.mustNotExist(t, stored.SecretARN)
	f.mustNotExist(t, f.secretName(acct, id1))
	if f.sourceItem(t, acct, id1) != nil {
		t.Fatal("the item outlived DELETE")
	}
	f.do(t, http.MethodGet, "/v1/sources/"+id1, tok, nil).want(t, http.StatusNotFound, "source_not_found")
	r = f.do(t, http.MethodGet, "/v1/sources", tok, nil).want(t, http.StatusOK, "")
	if !reflect.DeepEqual(r.json, map[string]any{"sources": []any{src2}}) {
		t.Fatalf("list after delete %s", r.raw)
	}
	if n := f.sourceCount(t, acct); n != 1 {
		t.Fatalf("source_count %d after delete, want 1", n)
	}
	if in := f.intents(t); len(in) != 0 {
		t.Fatalf("intent left after a successful delete: %+v", *in[0])
	}
	if names := f.listSecrets(t, f.prefix); len(names) != 1 || aws.ToString(names[0].Name) != f.secretName(acct, id2) {
		t.Fatalf("secrets left: %d", len(names))
	}
	// An empty list is [] not null.
	_, other := f.account(t, plans.Standard)
	r = f.do(t, http.MethodGet, "/v1/sources", other, nil).want(t, http.StatusOK, "")
	if strings.TrimSpace(string(r.raw)) != `{"sources":[]}` {
		t.Fatalf("empty list %s", r.raw)
	}
	if w := f.s3.Writes(); w != 0 {
		t.Fatalf("%d writes reached the bucket", w)
	}
	f.assertNoLeaks(t)
}

// TestValidation: every invalid field of every body is refused with 400 and
// that field, before any side effect (no read check, no item, no secret).
func TestValidation(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acct, tok := f.account(t, plans.Standard)
	long := func(s string, n int) string { return strings.Repeat(s, n) }

	tests := []struct {
		name          string
		set           map[string]any // changes to a valid body
		raw           string         // or a raw body
		status        int
		code          string
		field, fcode  string
		secretInField string // a secret value sent, for the leak check
	}{
		{name: "name missing", set: map[string]any{"name": nil}, field: "name", fcode: "invalid_name"},
		{name: "name blank", set: map[string]any{"name": "   "}, field: "name", fcode: "invalid_name"},
		{name: "name too long", set: map[string]any{"name": long("n", 101)}, field: "name", fcode: "invalid_name"},
		{name: "name control", set: map[string]any{"name": "bad\x01name"}, field: "name", fcode: "invalid_name"},
		{name: "name wrong type", set: map[string]any{"name": 5}, field: "name", fcode: "wrong_type"},
		{name: "type missing", set: map[string]any{"type": nil}, field: "type", fcode: "invalid_type"},
		{name: "type unknown", set: map[string]any{"type": "gcs"}, field: "type", fcode: "invalid_type"},
		{name: "type case", set: map[string]any{"type": "S3"}, field: "type", fcode: "invalid_type"},
		{name: "bucket missing", set: map[string]any{"bucket": nil}, field: "bucket", fcode: "invalid_bucket"},
		{name: "bucket upper case", set: map[string]any{"bucket": "Bad_Bucket"}, field: "bucket", fcode: "invalid_bucket"},
		{name: "bucket short", set: map[string]any{"bucket": "ab"}, field: "bucket", fcode: "invalid_bucket"},
		{name: "bucket dots", set: map[string]any{"bucket": "a..b"}, field: "bucket", fcode: "invalid_bucket"},
		{name: "bucket long", set: map[string]any{"bucket": long("b", 64)}, field: "bucket", fcode: "invalid_bucket"},
		{name: "region missing", set: map[string]any{"region": nil}, field: "region", fcode: "invalid_region"},
		{name: "region spaces", set: map[string]any{"region": "us east"}, field: "region", fcode: "invalid_region"},
		{name: "s3 region not AWS", set: map[string]any{"type": "s3", "endpoint": nil, "region": "auto"}, field: "region", fcode: "invalid_region"},
		{name: "endpoint missing", set: map[string]any{"endpoint": nil}, field: "endpoint", fcode: "required"},
		{name: "endpoint empty", set: map[string]any{"endpoint": ""}, field: "endpoint", fcode: "required"},
		{name: "endpoint http", set: map[string]any{"endpoint": "http://storage.example.com"}, field: "endpoint", fcode: "invalid_endpoint"},
		{name: "endpoint ftp", set: map[string]any{"endpoint": "ftp://storage.example.com"}, field: "endpoint", fcode: "invalid_endpoint"},
		{name: "endpoint private", set: map[string]any{"endpoint": "https://10.0.0.7"}, field: "endpoint", fcode: "invalid_endpoint"},
		{name: "endpoint metadata", set: map[string]any{"endpoint": "http://169.254.169.254"}, field: "endpoint", fcode: "invalid_endpoint"},
		{name: "endpoint path", set: map[string]any{"endpoint": "https://storage.example.com/bucket"}, field: "endpoint", fcode: "invalid_endpoint"},
		{name: "endpoint userinfo", set: map[string]any{"endpoint": "https://user:pw@storage.example.com"}, field: "endpoint", fcode: "invalid_endpoint"},
		{name: "endpoint too long", set: map[string]any{"endpoint": "https://" + long("a.", 260) + "com"}, field: "endpoint", fcode: "invalid_endpoint"},
		{name: "endpoint for s3", set: map[string]any{"type": "s3"}, field: "endpoint", fcode: "not_allowed"},
		{name: "prefix control", set: map[string]any{"prefix": "a\x00b"}, field: "prefix", fcode: "invalid_prefix"},
		{name: "prefix too long", set: map[string]any{"prefix": long("p", 1025)}, field: "prefix", fcode: "invalid_prefix"},
		{name: "prefix wrong type", set: map[string]any{"prefix": []string{"a"}}, field: "prefix", fcode: "wrong_type"},
		{name: "access key id missing", set: map[string]any{"access_key_id": nil}, field: "access_key_id", fcode: "invalid_access_key_id"},
		{name: "access key id short", set: map[string]any{"access_key_id": "SHORTKEY1"}, field: "access_key_id", fcode: "invalid_access_key_id"},
		{name: "access key id symbols", set: map[string]any{"access_key_id": "Reader-Key-000001"}, field: "access_key_id", fcode: "invalid_access_key_id"},
		{name: "access key id long", set: map[string]any{"access_key_id": long("K", 129)}, field: "access_key_id", fcode: "invalid_access_key_id"},
		{name: "secret missing", set: map[string]any{"secret_access_key": nil}, field: "secret_access_key", fcode: "invalid_secret_access_key"},
		{name: "secret with space", set: map[string]any{"secret_access_key": "Sk~has a space!7"}, field: "secret_access_key", fcode: "invalid_secret_access_key", secretInField: "Sk~has a space!7"},
		{name: "secret too long", set: map[string]any{"secret_access_key": long("Zq~", 86)}, field: "secret_access_key", fcode: "invalid_secret_access_key", secretInField: long("Zq~", 86)},
		{name: "secret non-ASCII", set: map[string]any{"secret_access_key": "Sk~sécret!8aa"}, field: "secret_access_key", fcode: "invalid_secret_access_key", secretInField: "Sk~sécret!8aa"},
		{name: "secret tab", set: map[string]any{"secret_access_key": "Sk~tab\tinside!9"}, field: "secret_access_key", fcode: "invalid_secret_access_key", secretInField: "Sk~tab\tinside!9"},
		{name: "secret wrong type", set: map[string]any{"secret_access_key": 12345678}, field: "secret_access_key", fcode: "wrong_type"},
		{name: "unknown field", set: map[string]any{"extra": true}, field: "extra", fcode: "unknown_field"},
		{name: "misspelt secret field", set: map[string]any{"secret_key": "Sk~misspelt!10a"}, field: "secret_key", fcode: "unknown_field", secretInField: "Sk~misspelt!10a"},
		{name: "malformed JSON", raw: `{"name":"x",`, status: 400, code: "malformed_json"},
		{name: "not an object", raw: `["name"]`, status: 400, code: "malformed_json"},
		{name: "two objects", raw: `{"name":"x"}{"name":"y"}`, status: 400, code: "malformed_json"},
		// The web layer's body limit (16 KiB) answers 413, the status for it.
		{name: "body too large", set: map[string]any{"secret_access_key": long("Bq~", 6000)}, status: 413, code: "body_too_large", secretInField: long("Bq~", 6000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := f.checker.count()
			var body any = tt.raw
			if tt.raw == "" {
				body = f.createBody("Validation "+tt.name, readerKey, f.secret(), tt.set)
			}
			if tt.secretInField != "" {
				f.remember(tt.secretInField)
			}
			status, code := tt.status, tt.code
			if status == 0 {
				status, code = http.StatusBadRequest, "validation_failed"
			}
			r := f.do(t, http.MethodPost, "/v1/sources", tok, body).want(t, status, code)
			if tt.field != "" {
				if len(r.problem.Errors) != 1 || r.problem.Errors[0].Field != tt.field || r.problem.Errors[0].Code != tt.fcode ||
					r.problem.Errors[0].Detail == "" {
					t.Fatalf("field errors %+v, want exactly %s/%s", r.problem.Errors, tt.field, tt.fcode)
				}
			} else if len(r.problem.Errors) != 0 {
				t.Fatalf("unexpected field errors %+v", r.problem.Errors)
			}
			if f.checker.count() != checks {
				t.Fatal("an invalid request reached the read check")
			}
			f.nothingStored(t, acct)
		})
	}

	t.Run("no content type", func(t *testing.T) {
		r := f.doRaw(t, http.MethodPost, "/v1/sources", tok, "", `{"name":"x"}`)
		r.want(t, http.StatusUnsupportedMediaType, "unsupported_media_type")
		f.nothingStored(t, acct)
	})

	// PATCH and PUT credentials on an existing source of another account of
	// the same customer base: refused before any lookup or check, unchanged.
	owner, ownerTok := f.account(t, plans.Standard)
	id := f.register(t, ownerTok, "Existing", readerKey, f.secret())
	before := f.do(t, http.MethodGet, "/v1/sources/"+id, ownerTok, nil).want(t, http.StatusOK, "").source(t)
	item := decodeSource(t, f.sourceItem(t, owner, id))
	_, version, _ := f.secretValue(t, item.SecretARN)
	valid := f.secret()
	bodies := []struct {
		name, method, path string
		body               any
		fields             []string // field/code pairs
	}{
		{"patch empty", http.MethodPatch, "", map[string]any{}, []string{"name/required"}},
		{"patch nulls", http.MethodPatch, "", `{"name":null,"prefix":null}`, []string{"name/required"}},
		{"patch blank name", http.MethodPatch, "", map[string]any{"name": " "}, []string{"name/invalid_name"}},
		{"patch long name", http.MethodPatch, "", map[string]any{"name": long("n", 101)}, []string{"name/invalid_name"}},
		{"patch control prefix", http.MethodPatch, "", map[string]any{"prefix": "x\x7f"}, []string{"prefix/invalid_prefix"}},
		{"patch long prefix", http.MethodPatch, "", map[string]any{"prefix": long("p", 1025)}, []string{"prefix/invalid_prefix"}},
		{"patch both bad", http.MethodPatch, "", map[string]any{"name": "", "prefix": "\n"}, []string{"name/invalid_name", "prefix/invalid_prefix"}},
		{"patch unknown", http.MethodPatch, "", map[string]any{"name": "x", "bucket": "other"}, []string{"bucket/unknown_field"}},
		{"patch wrong type", http.MethodPatch, "", map[string]any{"name": 1}, []string{"name/wrong_type"}},
		{"put empty", http.MethodPut, "/credentials", map[string]any{}, []string{"access_key_id/invalid_access_key_id", "secret_access_key/invalid_secret_access_key"}},
		{"put no secret", http.MethodPut, "/credentials", map[string]any{"access_key_id": readerKey2}, []string{"secret_access_key/invalid_secret_access_key"}},
		{"put bad key id", http.MethodPut, "/credentials", map[string]any{"access_key_id": "short", "secret_access_key": valid}, []string{"access_key_id/invalid_access_key_id"}},
		{"put spaced secret", http.MethodPut, "/credentials", map[string]any{"access_key_id": readerKey2, "secret_access_key": "Sk~put space!11"}, []string{"secret_access_key/invalid_secret_access_key"}},
		{"put unknown", http.MethodPut, "/credentials", map[string]any{"access_key_id": readerKey2, "secret_access_key": valid, "name": "x"}, []string{"name/unknown_field"}},
	}
	f.remember("Sk~put space!11")
	for _, b := range bodies {
		t.Run(b.name, func(t *testing.T) {
			checks := f.checker.count()
			r := f.do(t, b.method, "/v1/sources/"+id+b.path, ownerTok, b.body).want(t, http.StatusBadRequest, "validation_failed")
			var got []string
			for _, e := range r.problem.Errors {
				got = append(got, e.Field+"/"+e.Code)
			}
			if !reflect.DeepEqual(got, b.fields) {
				t.Fatalf("field errors %v, want %v", got, b.fields)
			}
			if f.checker.count() != checks {
				t.Fatal("an invalid request reached the read check")
			}
			after := f.do(t, http.MethodGet, "/v1/sources/"+id, ownerTok, nil).want(t, http.StatusOK, "").source(t)
			if !reflect.DeepEqual(after, before) {
				t.Fatalf("source changed: %v, was %v", after, before)
			}
			if _, v, _ := f.secretValue(t, item.SecretARN); v != version {
				t.Fatal("the secret changed")
			}
		})
	}
	f.assertNoLeaks(t)
}

// TestUnreachable: keys that cannot read, a bucket that does not exist and
// storage that does not answer are 422 source_unreachable, and nothing is
// stored anywhere; the same holds for new keys on an existing source.
func TestUnreachable(t *testing.T) {
	f := newFixture(t, defaultLimits)
	if err := f.s3.CreateBucket("private-bucket"); err != nil {
		t.Fatal(err)
	}
	acct, tok := f.account(t, plans.Standard)
	tests := []struct {
		name string
		key  string
		set  map[string]any
	}{
		{"key that cannot read", deniedKey, nil},
		{"key not granted this bucket", readerKey, map[string]any{"bucket": "private-bucket"}},
		{"missing bucket", readerKey, map[string]any{"bucket": missingBucket}},
		{"closed port", readerKey, map[string]any{"endpoint": closedPort(t)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := f.checker.count()
			r := f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody(tt.name, tt.key, f.secret(), tt.set)).
				want(t, http.StatusUnprocessableEntity, "source_unreachable")
			if !strings.HasSuffix(r.problem.Detail, "Nothing was stored.") || len(r.problem.Errors) != 0 {
				t.Errorf("detail %q", r.problem.Detail)
			}
			if f.checker.count() != checks+1 {
				t.Fatal("no read check was made")
			}
			if len(f.sm.createdNames()) != 0 {
				t.Fatal("a secret was created for keys that cannot read")
			}
			f.nothingStored(t, acct)
		})
	}

	// New keys that cannot read an existing source's bucket: 422, and the
	// source and its secret stay as they were.
	id := f.register(t, tok, "Existing", readerKey, f.secret())
	before := f.do(t, http.MethodGet, "/v1/sources/"+id, tok, nil).want(t, http.StatusOK, "").source(t)
	arn := decodeSource(t, f.sourceItem(t, acct, id)).SecretARN
	_, version, _ := f.secretValue(t, arn)
	f.do(t, http.MethodPut, "/v1/sources/"+id+"/credentials", tok,
		map[string]any{"access_key_id": deniedKey, "secret_access_key": f.secret()}).want(t, http.StatusUnprocessableEntity, "source_unreachable")
	after := f.do(t, http.MethodGet, "/v1/sources/"+id, tok, nil).want(t, http.StatusOK, "").source(t)
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("refused keys changed the source: %v, was %v", after, before)
	}
	if creds, v, _ := f.secretValue(t, arn); v != version || creds["access_key_id"] != readerKey {
		t.Fatal("refused keys reached the secret")
	}
	f.assertNoLeaks(t)
}

// TestNotFoundAndUnauthenticated: an unknown or malformed id is 404
// source_not_found on every route that takes one, and every route needs a
// live session.
func TestNotFoundAndUnauthenticated(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acct, tok := f.account(t, plans.Standard)
	id := f.register(t, tok, "Mine", readerKey, f.secret())
	before := f.do(t, http.MethodGet, "/v1/sources/"+id, tok, nil).want(t, http.StatusOK, "").source(t)
	checks := f.checker.count()

	unknown := []string{
		ids.New("src"),                   // well formed, never created
		"src_x",                          // too short
		ids.New("acct"),                  // another kind of id
		strings.ToUpper(id),              // case matters
		id + "a",                         // too long
		"src_" + strings.Repeat("1", 26), // not base32
		strings.Replace(id, "src_", "src-", 1),
	}
	for _, bad := range unknown {
		for _, rq := range []struct {
			method, suffix string
			body           any
		}{
			{http.MethodGet, "", nil},
			{http.MethodPatch, "", map[string]any{"name": "Stolen"}},
			{http.MethodPut, "/credentials", map[string]any{"access_key_id": readerKey2, "secret_access_key": f.secret()}},
			{http.MethodDelete, "", nil},
		} {
			t.Run(rq.method+" "+bad, func(t *testing.T) {
				f.do(t, rq.method, "/v1/sources/"+bad+rq.suffix, tok, rq.body).want(t, http.StatusNotFound, "source_not_found")
			})
		}
	}
	if f.checker.count() != checks {
		t.Fatal("a request for an unknown source reached the read check")
	}

	revokedSess, revoked, err := f.accounts.CreateSession(context.Background(), acct, f.auth.Policy())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.accounts.RevokeSession(context.Background(), acct, revokedSess.ID); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	forged := parts[0] + "." + parts[1] + "." + strings.Repeat("A", 43)
	for _, bad := range []string{"", "garbage", revoked, forged} {
		for _, rq := range []struct {
			method, path string
			body         any
		}{
			{http.MethodPost, "/v1/sources", f.createBody("Anon", readerKey, f.secret(), nil)},
			{http.MethodGet, "/v1/sources", nil},
			{http.MethodGet, "/v1/sources/" + id, nil},
			{http.MethodPatch, "/v1/sources/" + id, map[string]any{"name": "Anon"}},
			{http.MethodPut, "/v1/sources/" + id + "/credentials", map[string]any{"access_key_id": readerKey2, "secret_access_key": f.secret()}},
			{http.MethodDelete, "/v1/sources/" + id, nil},
		} {
			t.Run("unauthenticated "+rq.method+" "+rq.path, func(t *testing.T) {
				f.do(t, rq.method, rq.path, bad, rq.body).want(t, http.StatusUnauthorized, "unauthenticated")
			})
		}
	}
	if f.checker.count() != checks {
		t.Fatal("an unauthenticated request reached the read check")
	}
	after := f.do(t, http.MethodGet, "/v1/sources/"+id, tok, nil).want(t, http.StatusOK, "").source(t)
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("source changed: %v, was %v", after, before)
	}
	if n := len(f.storedSources(t, acct)); n != 1 {
		t.Fatalf("%d sources, want 1", n)
	}
	f.assertNoLeaks(t)
}

// TestCrossAccountIsolation: account B gets 404 on every route for account
// A's source, sees none of it, and A's source and secret are unchanged.
func TestCrossAccountIsolation(t *testing.T) {
	f := newFixture(t, defaultLimits)
	acctA, tokA := f.account(t, plans.Standard)
	acctB, tokB := f.account(t, plans.Standard)
	secretA := f.secret()
	idA := f.register(t, tokA, "A's photos", readerKey, secretA)
	idB := f.register(t, tokB, "B's photos", readerKey2, f.secret())
	before := f.do(t, http.MethodGet, "/v1/sources/"+idA, tokA, nil).want(t, http.StatusOK, "").source(t)
	arnA := decodeSource(t, f.sourceItem(t, acctA, idA)).SecretARN
	_, versionA, _ := f.secretValue(t, arnA)
	checks := f.checker.count()

	f.do(t, http.MethodGet, "/v1/sources/"+idA, tokB, nil).want(t, http.StatusNotFound, "source_not_found")
	f.do(t, http.MethodPatch, "/v1/sources/"+idA, tokB, map[string]any{"name": "Mine now", "prefix": "x/"}).want(t, http.StatusNotFound, "source_not_found")
	f.do(t, http.MethodPut, "/v1/sources/"+idA+"/credentials", tokB,
		map[string]any{"access_key_id": readerKey2, "secret_access_key": f.secret()}).want(t, http.StatusNotFound, "source_not_found")
	f.do(t, http.MethodDelete, "/v1/sources/"+idA, tokB, nil).want(t, http.StatusNotFound, "source_not_found")
	r := f.do(t, http.MethodGet, "/v1/sources", tokB, nil).want(t, http.StatusOK, "")
	list, _ := r.json["sources"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != idB {
		t.Fatalf("B's list %s", r.raw)
	}
	if f.checker.count() != checks {
		t.Fatal("B's request for A's source reached the read check")
	}

	after := f.do(t, http.MethodGet, "/v1/sources/"+idA, tokA, nil).want(t, http.StatusOK, "").source(t)
	if !reflect.DeepEqual(after, before) {
		t.Fatalf("A's source changed: %v, was %v", after, before)
	}
	if creds, v, _ := f.secretValue(t, arnA); v != versionA || creds["secret_access_key"] != secretA {
		t.Fatal("A's secret changed")
	}
	if f.sourceCount(t, acctA) != 1 || f.sourceCount(t, acctB) != 1 {
		t.Fatal("a source count changed")
	}
	// B's source is still B's alone, and A's request for it is 404 too.
	f.do(t, http.MethodGet, "/v1/sources/"+idB, tokA, nil).want(t, http.StatusNotFound, "source_not_found")
	f.assertNoLeaks(t)
}

// TestSecretNeverLeaks runs every flow, failures included, then proves P3:
// no secret key (nor full access key id) in any DynamoDB item of either
// table, any log line, any response or any secret's metadata; the keys are
// in the secret's value, where they belong, and each secret is encrypted
// with the configured key and tagged with its account and source.
func TestSecretNeverLeaks(t *testing.T) {
	f := newFixture(t, Limits{Standard: 3, Premium: 25})
	acct, tok := f.account(t, plans.Standard)
	_, tokB := f.account(t, plans.Standard)

	want := map[string]sources.Credentials{} // live source id -> its keys
	s1, s2 := f.secret(), f.secret()
	id1 := f.register(t, tok, "One", readerKey, s1)
	want[id1] = sources.Credentials{AccessKeyID: readerKey, SecretAccessKey: s1}
	r := f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody("Two", readerKey2, s2, map[string]any{"prefix": "images/"})).
		want(t, http.StatusCreated, "")
	id2 := r.source(t)["id"].(string)
	want[id2] = sources.Credentials{AccessKeyID: readerKey2, SecretAccessKey: s2}

	// New keys, refused keys, refused registrations, invalid bodies.
	s3 := f.secret()
	f.do(t, http.MethodPut, "/v1/sources/"+id1+"/credentials", tok, map[string]any{"access_key_id": readerKey2, "secret_access_key": s3}).want(t, http.StatusOK, "")
	want[id1] = sources.Credentials{AccessKeyID: readerKey2, SecretAccessKey: s3}
	f.do(t, http.MethodPut, "/v1/sources/"+id1+"/credentials", tok, map[string]any{"access_key_id": deniedKey, "secret_access_key": f.secret()}).
		want(t, http.StatusUnprocessableEntity, "source_unreachable")
	f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody("Denied", deniedKey, f.secret(), nil)).want(t, http.StatusUnprocessableEntity, "source_unreachable")
	f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody("Missing", readerKey, f.secret(), map[string]any{"bucket": missingBucket})).
		want(t, http.StatusUnprocessableEntity, "source_unreachable")
	f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody("Closed", readerKey, f.secret(), map[string]any{"endpoint": closedPort(t)})).
		want(t, http.StatusUnprocessableEntity, "source_unreachable")
	f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody("", readerKey, f.secret(), nil)).want(t, http.StatusBadRequest, "validation_failed")
	f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody("Bad key", "short", f.secret(), nil)).want(t, http.StatusBadRequest, "validation_failed")
	f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody("Extra", readerKey, f.secret(), map[string]any{"secret": f.secret()})).
		want(t, http.StatusBadRequest, "validation_failed")
	f.do(t, http.MethodPut, "/v1/sources/"+id2+"/credentials", tok, map[string]any{"access_key_id": "x", "secret_access_key": f.secret()}).
		want(t, http.StatusBadRequest, "validation_failed")
	// Failures on our side: the errors are logged, with their causes.
	f.db.transact.arm(1)
	f.do(t, http.MethodPost, "/v1/sources", tok, f.createBody("Failed write", readerKey, f.secret(), nil)).want(t, http.StatusInternalServerError, "internal_error")
	f.sm.put.arm(1)
	f.do(t, http.MethodPut, "/v1/sources/"+id2+"/credentials", tok, map[string]any{"access_key_id": readerKey, "secret_access_key": f.secret()}).
		want(t, http.StatusInternalServerError, "internal_error")
	// Another account's attempts, a rename, and a source deleted.
	f.do(t, http.MethodPut, "/v1/sources/"+id1+"/credentials", tokB, map[string]any{"access_key_id": readerKey, "secret_access_key": f.secret()}).
		want(t, http.StatusNotFound, "source_not_found")
	f.do(t, http.MethodPatch, "/v1/sources/"+id2, tok, map[string]any{"name": "Two renamed"}).want(t, http.StatusOK, "")
	id3 := f.register(t, tok, "Three", readerKey, f.secret())
	f.do(t, http.MethodDelete, "/v1/sources/"+id3, tok, nil).want(t, http.StatusNoContent, "")
	f.do(t, http.MethodGet, "/v1/sources", tok, nil).want(t, http.StatusOK, "")
	f.do(t, http.MethodGet, "/v1/sources/"+id1, tok, nil).want(t, http.StatusOK, "")

	f.assertNoLeaks(t)

	// Where the keys must be: in each live source's secret, and nowhere else.
	ctx := context.Background()
	var wantNames []string
	for id, c := range want {
		item := f.sourceItem(t, acct, id)
		if item == nil {
			t.Fatalf("source %s is gone", id)
		}
		arn := decodeSource(t, item).SecretARN
		creds, _, ok := f.secretValue(t, arn)
		if !ok || creds["access_key_id"] != c.AccessKeyID || creds["secret_access_key"] != c.SecretAccessKey {
			t.Errorf("the secret of %s does not hold its current keys", id)
		}
		d, err := f.rawSM.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
		if err != nil {
			t.Fatal(err)
		}
		if aws.ToString(d.Name) != f.secretName(acct, id) || !strings.HasPrefix(aws.ToString(d.Name), f.stack.Prefix+"/sources/"+acct+"/") {
			t.Errorf("secret name %q", aws.ToString(d.Name))
		}
		if aws.ToString(d.KmsKeyId) != stack.LocalSourcesKeyARN {
			t.Errorf("secret %s encrypted with %q, want %q", id, aws.ToString(d.KmsKeyId), stack.LocalSourcesKeyARN)
		}
		tags := map[string]string{}
		for _, tag := range d.Tags {
			tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
		}
		if !reflect.DeepEqual(tags, map[string]string{"atrium:account": acct, "atrium:source": id}) {
			t.Errorf("secret %s tags %v", id, tags)
		}
		wantNames = append(wantNames, f.secretName(acct, id))
	}
	var gotNames []string
	for _, s := range f.listSecrets(t, f.prefix) {
		gotNames = append(gotNames, aws.ToString(s.Name))
	}
	slices.Sort(wantNames)
	slices.Sort(gotNames)
	if !reflect.DeepEqual(gotNames, wantNames) {
		t.Errorf("secrets %v, want exactly the live sources' %v", gotNames, wantNames)
	}
	if in := f.intents(t); len(in) != 0 {
		t.Errorf("%d intents left", len(in))
	}
}

// recordingTB records the errors of a check instead of failing the test.
type recordingTB struct {
	testing.TB
	errs []string
}

func (r *recordingTB) Helper() {}

func (r *recordingTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestLeakCheckFindsPlantedSecrets proves the leak check is not vacuous: a
// secret planted deep in a DynamoDB item, in a log line, in a response and
// in a secret's description is found in each place, and nothing else is.
func TestLeakCheckFindsPlantedSecrets(t *testing.T) {
	f := newFixture(t, defaultLimits)
	_, tok := f.account(t, plans.Standard)
	f.register(t, tok, "Clean", readerKey, f.secret())
	clean := &recordingTB{TB: t}
	f.assertNoLeaks(clean)
	if len(clean.errs) != 0 {
		t.Fatalf("clean run reported %q", clean.errs)
	}

	inItem, inLog, inResponse, inMeta := f.secret(), f.secret(), f.secret(), f.secret()
	ctx := context.Background()
	if _, err := f.rawDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(f.stack.Tables["StateTable"]),
		Item: map[string]ddbtypes.AttributeValue{
			"pk": &ddbtypes.AttributeValueMemberS{Value: "TEST#planted"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "TEST"},
			"deep": &ddbtypes.AttributeValueMemberM{Value: map[string]ddbtypes.AttributeValue{
				"list": &ddbtypes.AttributeValueMemberL{Value: []ddbtypes.AttributeValue{
					&ddbtypes.AttributeValueMemberN{Value: "1"}, &ddbtypes.AttributeValueMemberSS{Value: []string{"x", "y" + inItem}}}}}},
		}}); err != nil {
		t.Fatal(err)
	}
	f.svc.Logger.Info("planted", "note", "tab\t"+inLog)
	f.mu.Lock()
	f.responses = append(f.responses, `{"detail":"`+inResponse+`"}`)
	f.mu.Unlock()
	if _, err := f.rawSM.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(f.prefix + "planted"),
		SecretString: aws.String("{}"), Description: aws.String("desc " + inMeta)}); err != nil {
		t.Fatal(err)
	}
	dirty := &recordingTB{TB: t}
	f.assertNoLeaks(dirty)
	all := strings.Join(dirty.errs, "\n")
	for what, s := range map[string]string{"item": inItem, "log": inLog, "response": inResponse, "metadata": inMeta} {
		if !strings.Contains(all, s) {
			t.Errorf("the %s leak was not found; reported:\n%s", what, all)
		}
	}
	if len(dirty.errs) != 4 {
		t.Errorf("%d reports, want 4:\n%s", len(dirty.errs), all)
	}
}
