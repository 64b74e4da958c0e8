package cfn

import (
	"errors"
	"fmt"
	"slices"
)

// Statement is one IAM policy statement, with Action/Resource normalised to lists.
type Statement struct {
	Sid    string
	Effect string // "Allow" or "Deny"
	// Actions as written (IAM compares them case-insensitively).
	Actions []string
	// Resources are strings or intrinsic-function maps ({"Fn::GetAtt": [...]}, {"Ref": ...}).
	Resources []any
	// NotActions and NotResources are set when the statement uses NotAction / NotResource.
	NotActions   []string
	NotResources []any
	// Condition is the statement's Condition block as written (operator, then condition key,
	// then a value or a list of values; values may be intrinsic-function maps), nil when it has
	// none: {"StringEquals": {"kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}}}.
	Condition map[string]any
	// Principal and NotPrincipal are the statement's as written, nil when absent: set only in
	// resource policies (a KMS key policy), never in a role's.
	Principal, NotPrincipal any
	// Source says where the statement was found, for messages: "AuthRole policy auth".
	Source string
}

// RoleStatements returns, per function logical id, every statement of the role it uses: it
// follows `Role: !GetAtt X.Arn` to the AWS::IAM::Role X's inline Policies and to the
// AWS::IAM::Policy, AWS::IAM::ManagedPolicy and AWS::IAM::RolePolicy resources attached to X, and
// adds the function's own inline `Policies` documents. Every function is a key, even one with no
// statements.
//
// What cannot be read is an error (the statements that could be read are still returned): a
// managed policy ARN, a SAM policy template, an Action given by an intrinsic function, a policy
// attached to a role it does not name with !Ref.
func (t *Template) RoleStatements() (map[string][]Statement, error) {
	stmts, problems := t.roleStatements()
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
	}
	return stmts, errors.Join(errs...)
}

// functionRole returns the logical id of the AWS::IAM::Role a function names with
// `Role: !GetAtt X.Arn`; "" and the reason when it does not.
func (t *Template) functionRole(fn string) (role, reason string) {
	v, ok := t.Resources[fn].Properties["Role"]
	if !ok {
		return "", "has no Role, so SAM would generate one (with AWS managed policies the checks cannot read)"
	}
	id, attr, ok := getAttTarget(v)
	if !ok || attr != "Arn" {
		return "", fmt.Sprintf("Role %s is not !GetAtt <Role>.Arn", text(v))
	}
	if r, ok := t.Resources[id]; !ok || r.Type != TypeIAMRole {
		return "", fmt.Sprintf("Role names %s, which is not an AWS::IAM::Role of this template", id)
	}
	return id, ""
}

func (t *Template) roleStatements() (map[string][]Statement, []*Problem) {
	var problems []*Problem
	unreadable := func(resource, format string, args ...any) {
		problems = append(problems, &Problem{Rule: RuleUnreadablePolicy, Resource: resource, Detail: fmt.Sprintf(format, args...)})
	}

	// Standalone policy resources, by the role they attach to.
	attached := map[string][]Statement{}
	for _, typ := range []string{TypeIAMPolicy, TypeIAMManagedPolicy, TypeIAMRolePolicy} {
		for _, id := range t.ofType(typ) {
			p := t.Resources[id].Properties
			var targets []any
			if typ == TypeIAMRolePolicy {
				targets = []any{p["RoleName"]}
			} else {
				targets = list(p["Roles"])
			}
			stmts, err := policyDocument(p["PolicyDocument"], id)
			if err != nil {
				unreadable(id, "%v", err)
			}
			for _, target := range targets {
				role, ok := refTarget(target)
				if !ok || t.Resources[role].Type != TypeIAMRole {
					unreadable(id, "attaches to role %s, not to !Ref of an AWS::IAM::Role of this template", text(target))
					continue
				}
				attached[role] = append(attached[role], stmts...)
			}
		}
	}

	// Each role's own statements, read once however many functions use it.
	ofRole := map[string][]Statement{}
	for _, id := range t.ofType(TypeIAMRole) {
		p := t.Resources[id].Properties
		if arns := list(p["ManagedPolicyArns"]); len(arns) > 0 {
			unreadable(id, "has ManagedPolicyArns %s, whose statements are not in the template", text(arns))
		}
		var stmts []Statement
		for i, pol := range list(p["Policies"]) {
			pm, ok := pol.(map[string]any)
			if !ok {
				unreadable(id, "Policies[%d] is not a mapping", i)
				continue
			}
			name := text(pm["PolicyName"])
			s, err := policyDocument(pm["PolicyDocument"], id+" policy "+name)
			if err != nil {
				unreadable(id, "policy %s: %v", name, err)
			}
			stmts = append(stmts, s...)
		}
		ofRole[id] = append(stmts, attached[id]...)
	}

	out := map[string][]Statement{}
	for _, fn := range t.Functions() {
		var stmts []Statement
		if role, _ := t.functionRole(fn); role != "" {
			stmts = append(stmts, ofRole[role]...)
		}
		// SAM's own Policies property: only inline policy documents can be read.
		for i, pol := range list(t.Resources[fn].Properties["Policies"]) {
			pm, ok := pol.(map[string]any)
			if !ok || pm["Statement"] == nil {
				unreadable(fn, "Policies[%d] is a managed policy or SAM policy template (%s), not a policy document", i, text(pol))
				continue
			}
			s, err := policyDocument(pm, fmt.Sprintf("%s Policies[%d]", fn, i))
			if err != nil {
				unreadable(fn, "Policies[%d]: %v", i, err)
			}
			stmts = append(stmts, s...)
		}
		out[fn] = stmts
	}
	slices.SortFunc(problems, compareProblems)
	return out, problems
}

// policyDocument reads a policy document's statements; what it cannot read is an error, the
// statements it could read are returned anyway.
func policyDocument(v any, source string) ([]Statement, error) {
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("PolicyDocument is not a mapping")
	}
	if _, ok := doc["Statement"]; !ok {
		return nil, fmt.Errorf("PolicyDocument has no Statement")
	}
	var out []Statement
	var errs []error
	for i, sv := range list(doc["Statement"]) {
		s, err := statement(sv)
		if err != nil {
			errs = append(errs, fmt.Errorf("statement %d: %w", i, err))
			continue
		}
		s.Source = source
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}

func statement(v any) (Statement, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Statement{}, fmt.Errorf("not a mapping")
	}
	var s Statement
	if sid, ok := m["Sid"]; ok {
		s.Sid = text(sid)
	}
	effect, _ := literalString(m["Effect"])
	if effect != "Allow" && effect != "Deny" {
		return Statement{}, fmt.Errorf("effect %s is not a literal Allow or Deny", text(m["Effect"]))
	}
	s.Effect = effect
	var err error
	if s.Actions, err = actions(m["Action"]); err != nil {
		return Statement{}, fmt.Errorf("action: %w", err)
	}
	if s.NotActions, err = actions(m["NotAction"]); err != nil {
		return Statement{}, fmt.Errorf("NotAction: %w", err)
	}
	if (len(s.Actions) == 0) == (len(s.NotActions) == 0) {
		return Statement{}, fmt.Errorf("needs exactly one of Action and NotAction")
	}
	if c, ok := m["Condition"]; ok && c != nil {
		cm, isMap := c.(map[string]any)
		if !isMap {
			return Statement{}, fmt.Errorf("condition %s is not a mapping", text(c))
		}
		s.Condition = cm
	}
	s.Principal, s.NotPrincipal = m["Principal"], m["NotPrincipal"]
	s.Resources = list(m["Resource"])
	s.NotResources = list(m["NotResource"])
	if (len(s.Resources) == 0) == (len(s.NotResources) == 0) {
		return Statement{}, fmt.Errorf("needs exactly one of Resource and NotResource")
	}
	return s, nil
}

// actions reads Action / NotAction, which must be literal strings to be checked.
func actions(v any) ([]string, error) {
	var out []string
	for _, a := range list(v) {
		s, ok := literalString(a)
		if !ok || s == "" {
			return nil, fmt.Errorf("%s is not a literal action name", text(a))
		}
		out = append(out, s)
	}
	return out, nil
}
