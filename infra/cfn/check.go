package cfn

import (
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Rule names one thing CheckTemplate checks.
type Rule string

// The rules. Each Problem carries one.
const (
	// RuleLogGroup: a function's LoggingConfig.LogGroup must be !Ref of an AWS::Logs::LogGroup
	// of the template, so that the group's retention is ours to set.
	RuleLogGroup Rule = "log-group"
	// RuleLogRetention: that log group keeps logs exactly 90 days (P6).
	RuleLogRetention Rule = "log-retention"
	// RuleSharedLogGroup: no two functions log to one group.
	RuleSharedLogGroup Rule = "shared-log-group"
	// RuleOwnRole: a function names its role with `Role: !GetAtt <Role>.Arn`.
	RuleOwnRole Rule = "own-role"
	// RuleSharedRole: no two functions use one role.
	RuleSharedRole Rule = "shared-role"
	// RuleUnreadablePolicy: every permission is a statement the checks can read.
	RuleUnreadablePolicy Rule = "unreadable-policy"
	// RuleWildcardAction: no "*" action, and no wildcard in an action of dynamodb,
	// secretsmanager or kms.
	RuleWildcardAction Rule = "wildcard-action"
	// RuleWildcardResource: no Resource "*" on an action of dynamodb, secretsmanager or kms.
	RuleWildcardResource Rule = "wildcard-resource"
	// RuleOpenStatement: no Allow with NotAction or NotResource (they allow everything else).
	RuleOpenStatement Rule = "open-statement"
	// RuleSourceSecrets: only CredentialsFunction reads customer source secrets (P4).
	RuleSourceSecrets Rule = "p4-source-secrets"
	// RuleKMSDecrypt: only CredentialsFunction holds kms:Decrypt (P4).
	RuleKMSDecrypt Rule = "p4-kms-decrypt"
	// RuleCredentialsAddressable: CredentialsFunction has no API event and no function URL (P4).
	RuleCredentialsAddressable Rule = "p4-credentials-addressable"
	// RuleFunctionPackage: <Name>Function is built from functions/<lowercase name>/main.go.
	RuleFunctionPackage Rule = "function-package"
	// RulePlainLambda: functions are AWS::Serverless::Function, which these checks read; an
	// AWS::Lambda::Function would escape them.
	RulePlainLambda Rule = "plain-lambda-function"
)

// CredentialsFunction is the logical id of the one internal function allowed to decrypt customer
// source credentials (P4).
const CredentialsFunction = "CredentialsFunction"

// RetentionDays is the CloudWatch Logs retention every function's log group must have (P6).
const RetentionDays = 90

// sourceSecretMarker is in the name of every customer source secret (P3/P4).
const sourceSecretMarker = "sources/"

// sensitiveServices are the services whose permissions must never be wildcarded.
var sensitiveServices = []string{"dynamodb", "secretsmanager", "kms"}

// Problem is one finding of CheckTemplate.
type Problem struct {
	Rule     Rule
	Resource string // logical id
	Detail   string
}

func (p *Problem) Error() string {
	return fmt.Sprintf("%s: %s [%s]", p.Resource, p.Detail, p.Rule)
}

func compareProblems(a, b *Problem) int {
	return cmp.Or(cmp.Compare(a.Resource, b.Resource), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Detail, b.Detail))
}

// CheckTemplate returns one error (a *Problem) per problem found, sorted; none means the
// template keeps every rule above. repoRoot is the folder holding go.mod and functions/.
func CheckTemplate(t *Template, repoRoot string) []error {
	var ps []*Problem
	ps = append(ps, checkPlainLambdas(t)...)
	ps = append(ps, checkLogGroups(t)...)
	ps = append(ps, checkRoles(t)...)
	ps = append(ps, checkStatements(t)...)
	ps = append(ps, checkCredentialsFunction(t)...)
	ps = append(ps, checkPackages(t, repoRoot)...)
	slices.SortFunc(ps, compareProblems)
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errs
}

func checkPlainLambdas(t *Template) []*Problem {
	var ps []*Problem
	for _, id := range t.ofType(TypeLambdaFunction) {
		ps = append(ps, &Problem{RulePlainLambda, id, "is an AWS::Lambda::Function; declare it as AWS::Serverless::Function so the checks see it"})
	}
	return ps
}

func checkLogGroups(t *Template) []*Problem {
	var ps []*Problem
	globalFn, _ := t.Globals["Function"].(map[string]any)
	users := map[string][]string{}
	for _, fn := range t.Functions() {
		lc, ok := t.Resources[fn].Properties["LoggingConfig"].(map[string]any)
		if !ok || lc["LogGroup"] == nil {
			lc, _ = globalFn["LoggingConfig"].(map[string]any)
		}
		lg, ok := refTarget(lc["LogGroup"])
		if !ok {
			ps = append(ps, &Problem{RuleLogGroup, fn, "has no LoggingConfig.LogGroup: !Ref <its AWS::Logs::LogGroup>"})
			continue
		}
		r, ok := t.Resources[lg]
		if !ok || r.Type != TypeLogGroup {
			ps = append(ps, &Problem{RuleLogGroup, fn, fmt.Sprintf("LoggingConfig.LogGroup refers to %s, which is not an AWS::Logs::LogGroup of this template", lg)})
			continue
		}
		users[lg] = append(users[lg], fn)
		days, ok := literalInt(r.Properties["RetentionInDays"])
		if !ok || days != RetentionDays {
			got := "never expire"
			if v, set := r.Properties["RetentionInDays"]; set {
				got = "RetentionInDays " + text(v)
			}
			ps = append(ps, &Problem{RuleLogRetention, fn, fmt.Sprintf("log group %s must keep logs %d days, not %s (P6)", lg, RetentionDays, got)})
		}
	}
	for lg, fns := range users {
		if len(fns) > 1 {
			ps = append(ps, &Problem{RuleSharedLogGroup, lg, fmt.Sprintf("is shared by %s; each function needs its own", strings.Join(fns, ", "))})
		}
	}
	return ps
}

func checkRoles(t *Template) []*Problem {
	var ps []*Problem
	users := map[string][]string{}
	for _, fn := range t.Functions() {
		role, reason := t.functionRole(fn)
		if role == "" {
			ps = append(ps, &Problem{RuleOwnRole, fn, reason})
			continue
		}
		users[role] = append(users[role], fn)
	}
	for role, fns := range users {
		if len(fns) > 1 {
			ps = append(ps, &Problem{RuleSharedRole, role, fmt.Sprintf("is shared by %s; each function needs its own role", strings.Join(fns, ", "))})
		}
	}
	return ps
}

func checkStatements(t *Template) []*Problem {
	stmts, ps := t.roleStatements()
	for _, fn := range t.Functions() {
		for _, s := range stmts[fn] {
			ps = append(ps, checkStatement(fn, s)...)
		}
	}
	return ps
}

// checkStatement applies the permission rules to one statement of function fn. Deny statements
// only take permissions away and are not checked.
func checkStatement(fn string, s Statement) []*Problem {
	if s.Effect != "Allow" {
		return nil
	}
	where := s.Source
	if s.Sid != "" {
		where += " (" + s.Sid + ")"
	}
	var ps []*Problem
	add := func(rule Rule, format string, args ...any) {
		ps = append(ps, &Problem{rule, fn, fmt.Sprintf(format, args...) + " in " + where})
	}

	if len(s.NotActions) > 0 || len(s.NotResources) > 0 {
		add(RuleOpenStatement, "Allow with NotAction/NotResource grants everything not listed")
	}

	var wild, sensitive []string
	readsSecrets, decrypts := false, false
	for _, a := range s.Actions {
		la := strings.ToLower(a)
		if touchesSensitive(la) {
			sensitive = append(sensitive, a)
			if strings.ContainsAny(la, "*?") {
				wild = append(wild, a)
			}
		}
		readsSecrets = readsSecrets || glob(la, "secretsmanager:getsecretvalue")
		decrypts = decrypts || glob(la, "kms:decrypt")
	}
	if len(wild) > 0 {
		add(RuleWildcardAction, "wildcard action %s", strings.Join(wild, ", "))
	}
	if len(sensitive) > 0 && slices.ContainsFunc(s.Resources, wildcardResource) {
		add(RuleWildcardResource, "Resource \"*\" on %s", strings.Join(sensitive, ", "))
	}

	if fn == CredentialsFunction {
		return ps
	}
	if readsSecrets {
		for _, r := range s.Resources {
			if reachesSourceSecrets(r) {
				add(RuleSourceSecrets, "secretsmanager:GetSecretValue on %s may read customer source secrets; only %s may (P4)", text(r), CredentialsFunction)
				break
			}
		}
	}
	if decrypts {
		add(RuleKMSDecrypt, "kms:Decrypt is held; only %s may hold it (P4)", CredentialsFunction)
	}
	return ps
}

// touchesSensitive reports whether a (lower-case) action pattern can name an action of dynamodb,
// secretsmanager or kms.
func touchesSensitive(action string) bool {
	svc, _, found := strings.Cut(action, ":")
	if !found {
		return strings.ContainsAny(action, "*?") // "*" alone: every service
	}
	return slices.ContainsFunc(sensitiveServices, func(s string) bool { return glob(svc, s) })
}

// wildcardResource reports whether a resource is "*", directly or as a branch of an intrinsic
// function (!If [c, "*", ...], !Sub "*").
func wildcardResource(r any) bool {
	found := false
	stringLeaves(r, func(s string) { found = found || strings.TrimSpace(s) == "*" })
	return found
}

// reachesSourceSecrets reports whether a GetSecretValue resource can name a customer source
// secret: its text holds "sources/", or it holds a "*" (secret names contain "/", and "*" crosses
// it; name an exact ARN, or end it in "-??????" for the random suffix).
func reachesSourceSecrets(r any) bool {
	if strings.Contains(text(r), sourceSecretMarker) {
		return true
	}
	found := false
	stringLeaves(r, func(s string) { found = found || strings.Contains(s, "*") })
	return found
}

// glob matches IAM's action wildcards: "*" any run of characters, "?" any one character.
func glob(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && (pattern[p] == '?' || pattern[p] == s[i]):
			p++
			i++
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			mark++
			p, i = star+1, mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

func checkCredentialsFunction(t *Template) []*Problem {
	r, ok := t.Resources[CredentialsFunction]
	if !ok {
		return nil
	}
	var ps []*Problem
	if r.Type != TypeServerlessFunction {
		return []*Problem{{RuleCredentialsAddressable, CredentialsFunction, "must be an AWS::Serverless::Function"}}
	}
	events, _ := r.Properties["Events"].(map[string]any)
	names := make([]string, 0, len(events))
	for name := range events {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		ev, _ := events[name].(map[string]any)
		switch typ, _ := literalString(ev["Type"]); typ {
		case "Api", "HttpApi":
			ps = append(ps, &Problem{RuleCredentialsAddressable, CredentialsFunction, fmt.Sprintf("event %s makes it reachable through API Gateway (P4)", name)})
		}
	}
	if _, ok := r.Properties["FunctionUrlConfig"]; ok {
		ps = append(ps, &Problem{RuleCredentialsAddressable, CredentialsFunction, "FunctionUrlConfig gives it a public URL (P4)"})
	}
	for _, id := range t.ofType("AWS::Lambda::Url") {
		if strings.Contains(text(t.Resources[id].Properties["TargetFunctionArn"]), CredentialsFunction) {
			ps = append(ps, &Problem{RuleCredentialsAddressable, CredentialsFunction, fmt.Sprintf("%s gives it a public URL (P4)", id)})
		}
	}
	return ps
}

// PackageDir returns the package directory, relative to the repository root, of the function
// with the given logical id: <Name>Function is functions/<lowercase name>.
func PackageDir(logicalID string) (string, bool) {
	name, ok := strings.CutSuffix(logicalID, "Function")
	if !ok || name == "" || !logicalIDPattern.MatchString(name) {
		return "", false
	}
	return "functions/" + strings.ToLower(name), true
}

func checkPackages(t *Template, repoRoot string) []*Problem {
	var ps []*Problem
	for _, fn := range t.Functions() {
		dir, ok := PackageDir(fn)
		if !ok {
			ps = append(ps, &Problem{RuleFunctionPackage, fn, "logical id must be <Name>Function, built from functions/<lowercase name>"})
			continue
		}
		main := filepath.Join(repoRoot, filepath.FromSlash(dir), "main.go")
		if fi, err := os.Stat(main); err != nil || !fi.Mode().IsRegular() {
			ps = append(ps, &Problem{RuleFunctionPackage, fn, fmt.Sprintf("%s/main.go does not exist", dir)})
		}
	}
	return ps
}
