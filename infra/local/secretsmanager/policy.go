package secretsmanager

import (
	"encoding/json"
	"time"
)

// maxPolicyLen bounds a ResourcePolicy, as the service does (characters;
// this endpoint counts bytes, which is stricter only beyond ASCII).
const maxPolicyLen = 20480

const excMalformedPolicy = "MalformedPolicyDocumentException"

// ---- PutResourcePolicy / GetResourcePolicy / DeleteResourcePolicy ----
//
// The policy is stored and returned, never evaluated: this endpoint has no
// principals. Neither is BlockPublicPolicy (accepted, not checked).

type putPolicyInput struct {
	SecretId          *string `json:"SecretId"`
	ResourcePolicy    *string `json:"ResourcePolicy"`
	BlockPublicPolicy *bool   `json:"BlockPublicPolicy"`
}

type getPolicyOutput struct {
	identity
	ResourcePolicy *string `json:"ResourcePolicy,omitempty"`
}

// checkPolicy validates a ResourcePolicy as far as its form goes: present,
// at most 20480 characters, and a JSON object with a Statement member. The
// policy grammar beyond that is not checked.
func checkPolicy(p *string) *apiError {
	if p == nil || *p == "" {
		return errParam("You must provide a ResourcePolicy.")
	}
	if len(*p) > maxPolicyLen {
		return errParam("ResourcePolicy must be at most 20480 characters.")
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(*p), &doc); err != nil || doc == nil {
		return newErr(excMalformedPolicy, "The resource policy is not a valid JSON policy document.")
	}
	if st, ok := doc["Statement"]; !ok || string(st) == "null" {
		return newErr(excMalformedPolicy, "The resource policy has no Statement.")
	}
	return nil
}

func (s *Server) putResourcePolicy(body []byte) (any, *apiError) {
	var in putPolicyInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	for _, e := range []*apiError{checkSecretID(in.SecretId), checkPolicy(in.ResourcePolicy)} {
		if e != nil {
			return nil, e
		}
	}
	return s.write(func(now time.Time) (any, *apiError) {
		sec := s.lookupLocked(*in.SecretId)
		if sec == nil {
			return nil, errNotFound()
		}
		if sec.deleted() {
			return nil, errDeleted()
		}
		sec.ResourcePolicy = *in.ResourcePolicy
		sec.LastChanged = now
		return idOf(sec), nil
	})
}

func (s *Server) getResourcePolicy(body []byte) (any, *apiError) {
	var in secretIDInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := checkSecretID(in.SecretId); e != nil {
		return nil, e
	}
	return s.read(func(time.Time) (any, *apiError) {
		sec := s.lookupLocked(*in.SecretId)
		if sec == nil {
			return nil, errNotFound()
		}
		out := getPolicyOutput{identity: idOf(sec)}
		if sec.ResourcePolicy != "" {
			p := sec.ResourcePolicy
			out.ResourcePolicy = &p
		}
		return out, nil
	})
}

func (s *Server) deleteResourcePolicy(body []byte) (any, *apiError) {
	var in secretIDInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if e := checkSecretID(in.SecretId); e != nil {
		return nil, e
	}
	return s.write(func(now time.Time) (any, *apiError) {
		sec := s.lookupLocked(*in.SecretId)
		if sec == nil {
			return nil, errNotFound()
		}
		if sec.deleted() {
			return nil, errDeleted()
		}
		if sec.ResourcePolicy != "" {
			sec.ResourcePolicy = ""
			sec.LastChanged = now
		}
		return idOf(sec), nil
	})
}
