package secretsmanager_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	local "github.com/atrium-cdn/atrium/infra/local/secretsmanager"
)

// FuzzServeHTTP feeds arbitrary X-Amz-Target headers and bodies to the
// handler: it must never panic, and must always answer a JSON document with
// the protocol's Content-Type; errors carry a __type. The seeds run as an
// ordinary test.
func FuzzServeHTTP(f *testing.F) {
	seeds := []struct{ target, body string }{
		{"secretsmanager.CreateSecret", `{"Name":"fz","SecretString":"v","ClientRequestToken":"00000000-0000-4000-8000-000000000000"}`},
		{"secretsmanager.CreateSecret", `{"Name":"fz-bin","SecretBinary":"AAEC","Tags":[{"Key":"k","Value":"v"}]}`},
		{"secretsmanager.CreateSecret", `{"Name":"fz-bin","SecretBinary":"not base64!"}`},
		{"secretsmanager.CreateSecret", `{"Name":12}`},
		{"secretsmanager.CreateSecret", `{"Name":"x","Tags":[{"Key":null}]}`},
		{"secretsmanager.GetSecretValue", `{"SecretId":"fz"}`},
		{"secretsmanager.GetSecretValue", `{"SecretId":"arn:aws:secretsmanager:us-east-1:000000000000:secret:fz-abcdef"}`},
		{"secretsmanager.GetSecretValue", `{"SecretId":"fz","VersionStage":"AWSPREVIOUS"}`},
		{"secretsmanager.PutSecretValue", `{"SecretId":"fz","SecretString":"v2","VersionStages":["AWSCURRENT","AWSPREVIOUS"]}`},
		{"secretsmanager.PutSecretValue", `{"SecretId":"fz","SecretString":"v2","VersionStages":[]}`},
		{"secretsmanager.UpdateSecret", `{"SecretId":"fz","Description":"d","KmsKeyId":"k"}`},
		{"secretsmanager.DescribeSecret", `{"SecretId":"fz"}`},
		{"secretsmanager.ListSecrets", `{"Filters":[{"Key":"name","Values":["!f"]}],"MaxResults":1}`},
		{"secretsmanager.ListSecrets", `{"NextToken":"eyJiIjoibmFtZSJ9","SortBy":"name"}`},
		{"secretsmanager.ListSecrets", `{"MaxResults":1e40}`},
		{"secretsmanager.TagResource", `{"SecretId":"fz","Tags":[{"Key":"a","Value":"b"}]}`},
		{"secretsmanager.UntagResource", `{"SecretId":"fz","TagKeys":["a"]}`},
		{"secretsmanager.PutResourcePolicy", `{"SecretId":"fz","ResourcePolicy":"{\"Statement\":[]}","BlockPublicPolicy":true}`},
		{"secretsmanager.PutResourcePolicy", `{"SecretId":"fz","ResourcePolicy":"{\"Statement\""}`},
		{"secretsmanager.PutResourcePolicy", `{"SecretId":"fz","ResourcePolicy":17}`},
		{"secretsmanager.GetResourcePolicy", `{"SecretId":"fz"}`},
		{"secretsmanager.DeleteResourcePolicy", `{"SecretId":"fz"}`},
		{"secretsmanager.DeleteSecret", `{"SecretId":"fz","RecoveryWindowInDays":7}`},
		{"secretsmanager.RestoreSecret", `{"SecretId":"fz"}`},
		{"secretsmanager.DeleteSecret", `{"SecretId":"fz","ForceDeleteWithoutRecovery":true}`},
		{"secretsmanager.DeleteSecret", `{"SecretId":"fz","RecoveryWindowInDays":7.5}`},
		{"secretsmanager.GetRandomPassword", `{}`},
		{"dynamodb.GetItem", `{}`},
		{"", ``},
		{"secretsmanager.ListSecrets", ``},
		{"secretsmanager.ListSecrets", `null`},
		{"secretsmanager.ListSecrets", `[]`},
		{"secretsmanager.ListSecrets", `{} trailing`},
		{"secretsmanager.CreateSecret", "{\"Name\":\"\xff\"}"},
	}
	for _, s := range seeds {
		f.Add(s.target, s.body)
	}
	srv := local.New(local.Options{})
	f.Fuzz(func(t *testing.T, target, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20300101/us-east-1/secretsmanager/aws4_request")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)

		if ct := rec.Header().Get("Content-Type"); ct != "application/x-amz-json-1.1" {
			t.Errorf("Content-Type = %q", ct)
		}
		raw := rec.Body.Bytes()
		var doc map[string]any
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatalf("status %d, body is not a JSON object: %v: %q", rec.Code, err, raw)
		}
		switch rec.Code {
		case http.StatusOK:
			if _, isErr := doc["__type"]; isErr {
				t.Errorf("success carries __type: %s", raw)
			}
		case http.StatusBadRequest:
			if typ, _ := doc["__type"].(string); typ == "" {
				t.Errorf("error without __type: %s", raw)
			}
		default:
			t.Errorf("status %d: %s", rec.Code, raw)
		}
	})
}
