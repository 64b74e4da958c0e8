package cfn

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
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
	// RuleSourceSecrets: only CredentialsFunction reads customer source secrets (P4), and it
	// reads nothing else: its secretsmanager:GetSecretValue is on SourceSecretsARN only.
	RuleSourceSecrets Rule = "p4-source-secrets"
	// RuleKMSDecrypt: only CredentialsFunction holds kms:Decrypt (P4), and only on SourcesKey; no
	// function holds what would give the same (kms:CreateGrant, kms:ReEncryptFrom,
	// kms:PutKeyPolicy).
	RuleKMSDecrypt Rule = "p4-kms-decrypt"
	// RuleKMSViaService: every cryptographic KMS permission that can reach SourcesKey is limited
	// by Condition StringEquals kms:ViaService to Secrets Manager, so that the key is used only
	// by Secrets Manager on a role's behalf, never called directly (P3/P4).
	RuleKMSViaService Rule = "p4-kms-via-service"
	// RuleSecretWrites: secretsmanager actions that change secrets (CreateSecret, PutSecretValue,
	// DeleteSecret, TagResource, UpdateSecret, ...) are held only on SourceSecretsARN or on one
	// secret named by !Ref (an AWS::SecretsManager::Secret of the template, or a String
	// parameter, as the SMTP credentials are): never on another prefix or on every secret.
	RuleSecretWrites Rule = "p4-secret-writes"
	// RuleCredentialsAddressable: CredentialsFunction has no event of any kind, no function URL
	// (its own, the Globals' or an AWS::Lambda::Url) and no AWS::Lambda::Permission for a
	// service or for everyone; IAM principals invoke it through the Lambda API (P4).
	RuleCredentialsAddressable Rule = "p4-credentials-addressable"
	// RuleKeyPolicy: SourcesKey's own key policy holds whatever IAM says (P4). Every Allow names
	// the account root as principal (IAM then decides, and aws:PrincipalArn narrows); no Allow
	// holds kms:CreateGrant; every cryptographic action is granted only to named roles
	// (ArnEquals aws:PrincipalArn !GetAtt <Role>.Arn) through Secrets Manager (kms:ViaService);
	// kms:Decrypt only to CredentialsFunction's role, or only for Secrets Manager's key-access
	// validation; the account root keeps kms:PutKeyPolicy (KMS's lockout check); and a Deny to
	// every principal refuses kms:Decrypt unless aws:PrincipalArn is CredentialsFunction's role.
	RuleKeyPolicy Rule = "p4-key-policy"
	// RuleCreateSecretKey: secretsmanager:CreateSecret is held only with Condition StringEquals
	// secretsmanager:KmsKeyArn !GetAtt SourcesKey.Arn, so that no secret is created under the
	// AWS-managed key, which every role of the account may use (P3/P4).
	RuleCreateSecretKey Rule = "p3-create-secret-key"
	// RuleSecretPolicy: every Allow of secretsmanager:PutResourcePolicy carries Condition Bool
	// secretsmanager:BlockPublicPolicy "true", so that no function can give a secret a policy that
	// opens it to other accounts; and a function that creates source secrets (CreateSecret) may
	// put their resource policy that way on SourceSecretsARN, as shared/sources does right after
	// every CreateSecret: a creator without it would fail in AWS only, where IAM is evaluated (P4).
	RuleSecretPolicy Rule = "p4-secret-policy"
	// RuleSourceSecretsDeny: every function but CredentialsFunction carries an unconditional Deny
	// of secretsmanager:GetSecretValue on SourceSecretsARN, so that no policy attached later gives
	// it back (P4).
	RuleSourceSecretsDeny Rule = "p4-source-secrets-deny"
	// RuleLeadingKeys: every Allow of an item action on the state table (StateTable) carries
	// Condition ForAllValues:StringLike (or ForAllValues:StringEquals) dynamodb:LeadingKeys, each
	// value a literal partition-key prefix ("KIND#..." before any wildcard), and holds no Scan,
	// which reads every partition whatever LeadingKeys says.
	RuleLeadingKeys Rule = "leading-keys"
	// RuleEmailClaims: only the functions of emailClaimFunctions can reach the email claims
	// (partition keys EMAIL#...), which hold the password hashes (P1): every other function's
	// state-table statements name partitions none of which can be an email claim.
	RuleEmailClaims Rule = "p1-email-claims"
	// RuleFunctionPackage: <Name>Function is built from functions/<lowercase name>/main.go.
	RuleFunctionPackage Rule = "function-package"
	// RulePlainLambda: functions are AWS::Serverless::Function, which these checks read; an
	// AWS::Lambda::Function would escape them.
	RulePlainLambda Rule = "plain-lambda-function"
)

// CredentialsFunction is the logical id of the one internal function allowed to decrypt customer
// source credentials (P4).
const CredentialsFunction = "CredentialsFunction"

// SourcesKey is the logical id of the customer-managed KMS key of customer source secrets.
const SourcesKey = "SourcesKey"

// StateTable is the logical id of the state table, whose grants name their partitions.
const StateTable = "StateTable"

// EmailClaimPrefix begins the partition key of every email claim, the item holding an
// address's password hash (identity.EmailClaimKey).
const EmailClaimPrefix = "EMAIL#"

// emailClaimFunctions are the functions whose roles may reach the email claims, and why.
var emailClaimFunctions = map[string]string{
	"AuthFunction":         "signs up, logs in, verifies and changes passwords: the claims hold the hashes (P1)",
	"DeletionFunction":     "deletes the account's email claim (P7)",
	"HousekeepingFunction": "resumes stalled account deletions with DeletionFunction's runner (P7)",
}

// dynamoItemActions are the DynamoDB actions that read or write items, which
// dynamodb:LeadingKeys limits (Scan among them only to be refused: LeadingKeys cannot limit it).
var dynamoItemActions = []string{
	"dynamodb:getitem", "dynamodb:batchgetitem", "dynamodb:putitem", "dynamodb:updateitem",
	"dynamodb:deleteitem", "dynamodb:batchwriteitem", "dynamodb:query", "dynamodb:scan",
	"dynamodb:conditioncheckitem", "dynamodb:partiqlselect", "dynamodb:partiqlinsert",
	"dynamodb:partiqlupdate", "dynamodb:partiqldelete",
}

// leadingKeysOperators are the condition operators under which dynamodb:LeadingKeys limits a
// request to the values listed (ForAnyValue would allow a request naming one listed partition
// beside others).
var leadingKeysOperators = []string{"ForAllValues:StringLike", "ForAllValues:StringEquals"}

// accountRootPrincipals are the !Sub forms accepted for the stack's own account as a key-policy
// principal.
var accountRootPrincipals = []string{
	"arn:${AWS::Partition}:iam::${AWS::AccountId}:root",
	"arn:aws:iam::${AWS::AccountId}:root",
}

// SourceSecretsARN is the one resource, written as !Sub of this string, under which customer
// source secrets are read and written: every secret whose name starts with the stack's
// "<stack name>/sources/" prefix (the "*" is the rest of the name and the six random characters
// Secrets Manager appends; stack names have no "/", so no other stack's prefix starts with it).
const SourceSecretsARN = "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:${AWS::StackName}/sources/*" // #nosec G101 -- an ARN pattern, not a credential

// RetentionDays is the CloudWatch Logs retention every function's log group must have (P6).
const RetentionDays = 90

// sourceSecretMarker is in the name of every customer source secret (P3/P4).
const sourceSecretMarker = "sources/"

// sensitiveServices are the services whose permissions must never be wildcarded.
var sensitiveServices = []string{"dynamodb", "secretsmanager", "kms"}

// Actions the P4 rules look for, lower case (IAM compares actions case-insensitively).
const (
	actionGetSecretValue    = "secretsmanager:getsecretvalue"
	actionCreateSecret      = "secretsmanager:createsecret"
	actionPutResourcePolicy = "secretsmanager:putresourcepolicy"
	actionDecrypt           = "kms:decrypt"
)

// decryptEquivalents give their holder what kms:Decrypt gives: a grant of Decrypt to anyone, a
// secret's data key re-encrypted under a key the holder controls, a key policy of its choosing.
var decryptEquivalents = []string{"kms:creategrant", "kms:reencryptfrom", "kms:putkeypolicy"}

// kmsCryptoActions are the cryptographic operations on a symmetric KMS key.
var kmsCryptoActions = []string{
	"kms:decrypt", "kms:encrypt", "kms:reencryptfrom", "kms:reencryptto",
	"kms:generatedatakey", "kms:generatedatakeywithoutplaintext",
	"kms:generatedatakeypair", "kms:generatedatakeypairwithoutplaintext",
}

// secretReadActions are the secretsmanager actions that change nothing. Any other literal
// secretsmanager action counts as a write, so that an action added to the service later is
// checked as a write until it is listed here.
var secretReadActions = []string{
	"secretsmanager:batchgetsecretvalue", "secretsmanager:describesecret",
	"secretsmanager:getrandompassword", "secretsmanager:getresourcepolicy",
	"secretsmanager:getsecretvalue", "secretsmanager:listsecrets",
	"secretsmanager:listsecretversionids", "secretsmanager:validateresourcepolicy",
}

// secretWriteActions are the secretsmanager actions known to change a secret or who may use it;
// a wildcard action counts as a write when it matches one of them.
var secretWriteActions = []string{
	"secretsmanager:cancelrotatesecret", "secretsmanager:createsecret",
	"secretsmanager:deleteresourcepolicy", "secretsmanager:deletesecret",
	"secretsmanager:putresourcepolicy", "secretsmanager:putsecretvalue",
	"secretsmanager:removeregionsfromreplication", "secretsmanager:replicatesecrettoregions",
	"secretsmanager:restoresecret", "secretsmanager:rotatesecret",
	"secretsmanager:stopreplicationtoreplica", "secretsmanager:tagresource",
	"secretsmanager:untagresource", "secretsmanager:updatesecret",
	"secretsmanager:updatesecretversionstage",
}

// viaServiceSecretsManager are the !Sub forms accepted as the kms:ViaService value of Secrets
// Manager in the stack's own Region; a literal "secretsmanager.<region>.amazonaws.com" is too.
var viaServiceSecretsManager = []string{
	"secretsmanager.${AWS::Region}.amazonaws.com",
	"secretsmanager.${AWS::Region}.${AWS::URLSuffix}",
}

// literalViaServiceSecretsManager matches Secrets Manager's endpoint in one named Region.
var literalViaServiceSecretsManager = regexp.MustCompile(`^secretsmanager\.[a-z]{2}(-[a-z]+)+-[0-9]+\.amazonaws\.com(\.cn)?$`)

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
	ps = append(ps, checkKeyPolicy(t)...)
	ps = append(ps, checkPackages(t, repoRoot)...)
	ps = append(ps, checkConditions(t)...)
	ps = append(ps, checkOperations(t, repoRoot)...)
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
			ps = append(ps, checkStatement(t, fn, s)...)
		}
		// A function without a role of the template is RuleOwnRole's already.
		if role, _ := t.functionRole(fn); role != "" && fn != CredentialsFunction && !slices.ContainsFunc(stmts[fn], deniesSourceSecretReads) {
			ps = append(ps, &Problem{RuleSourceSecretsDeny, fn, fmt.Sprintf("needs a Deny of secretsmanager:GetSecretValue on !Sub %s, so that no policy attached later lets it read customer source secrets (P4)", SourceSecretsARN)})
		}
		if slices.ContainsFunc(stmts[fn], createsSourceSecrets) && !slices.ContainsFunc(stmts[fn], protectsSourceSecrets) {
			ps = append(ps, &Problem{RuleSecretPolicy, fn, fmt.Sprintf("creates source secrets but may not give them their resource policy: it needs secretsmanager:PutResourcePolicy on !Sub %s with Condition Bool secretsmanager:BlockPublicPolicy \"true\" (P4)", SourceSecretsARN)})
		}
	}
	return ps
}

// deniesSourceSecretReads reports whether a statement denies, unconditionally, GetSecretValue on
// every customer source secret.
func deniesSourceSecretReads(s Statement) bool {
	return s.Effect == "Deny" && s.Condition == nil &&
		slices.ContainsFunc(s.Actions, func(a string) bool { return glob(strings.ToLower(a), actionGetSecretValue) }) &&
		slices.ContainsFunc(s.Resources, func(r any) bool { return isSourceSecretsARN(r) || wildcardResource(r) })
}

// createsSourceSecrets reports whether a statement allows CreateSecret on a resource that can be
// a customer source secret.
func createsSourceSecrets(s Statement) bool {
	return s.Effect == "Allow" &&
		slices.ContainsFunc(s.Actions, func(a string) bool { return glob(strings.ToLower(a), actionCreateSecret) }) &&
		slices.ContainsFunc(s.Resources, reachesSourceSecrets)
}

// protectsSourceSecrets reports whether a statement allows PutResourcePolicy on SourceSecretsARN
// with BlockPublicPolicy.
func protectsSourceSecrets(s Statement) bool {
	return s.Effect == "Allow" &&
		slices.ContainsFunc(s.Actions, func(a string) bool { return glob(strings.ToLower(a), actionPutResourcePolicy) }) &&
		slices.ContainsFunc(s.Resources, isSourceSecretsARN) && blocksPublicPolicy(s.Condition)
}

// blocksPublicPolicy reports whether a condition holds Bool secretsmanager:BlockPublicPolicy true
// (IAM matches condition keys case-insensitively; CloudFormation takes "true" or true).
func blocksPublicPolicy(cond map[string]any) bool {
	m, _ := cond["Bool"].(map[string]any)
	for key, v := range m {
		if values := list(v); strings.EqualFold(key, "secretsmanager:BlockPublicPolicy") && len(values) == 1 {
			if on, ok := literalBool(values[0]); ok && on {
				return true
			}
		}
	}
	return false
}

// checkStatement applies the permission rules to one statement of function fn. Deny statements
// only take permissions away and are not checked.
func checkStatement(t *Template, fn string, s Statement) []*Problem {
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

	// Each list holds the actions as written that can name such an action.
	var wild, sensitive, reads, decrypts, equivalents, crypto, writes, creates, policies, items, scans []string
	for _, a := range s.Actions {
		la := strings.ToLower(a)
		if touchesSensitive(la) {
			sensitive = append(sensitive, a)
			if strings.ContainsAny(la, "*?") {
				wild = append(wild, a)
			}
		}
		if glob(la, actionGetSecretValue) {
			reads = append(reads, a)
		}
		if glob(la, actionDecrypt) {
			decrypts = append(decrypts, a)
		}
		if matchesAny(la, decryptEquivalents) {
			equivalents = append(equivalents, a)
		}
		if matchesAny(la, kmsCryptoActions) {
			crypto = append(crypto, a)
		}
		if writesSecrets(la) {
			writes = append(writes, a)
		}
		if glob(la, actionCreateSecret) {
			creates = append(creates, a)
		}
		if glob(la, actionPutResourcePolicy) {
			policies = append(policies, a)
		}
		if matchesAny(la, dynamoItemActions) {
			items = append(items, a)
		}
		if glob(la, "dynamodb:scan") {
			scans = append(scans, a)
		}
	}
	if len(wild) > 0 {
		add(RuleWildcardAction, "wildcard action %s", strings.Join(wild, ", "))
	}
	if len(sensitive) > 0 && slices.ContainsFunc(s.Resources, wildcardResource) {
		add(RuleWildcardResource, "Resource \"*\" on %s", strings.Join(sensitive, ", "))
	} else if bad := resourcesWhere(s.Resources, partialWildcard); len(sensitive) > 0 && bad != "" {
		add(RuleWildcardResource, "wildcard in resource %s on %s", bad, strings.Join(sensitive, ", "))
	}

	// P4, reading: CredentialsFunction reads source secrets and nothing else; nobody else reads them.
	if len(reads) > 0 {
		if fn == CredentialsFunction {
			if bad := resourcesWhere(s.Resources, func(r any) bool { return !isSourceSecretsARN(r) }); bad != "" {
				add(RuleSourceSecrets, "%s may read customer source secrets only: %s on %s, not only on !Sub %s (P4)", CredentialsFunction, strings.Join(reads, ", "), bad, SourceSecretsARN)
			}
		} else if bad := resourcesWhere(s.Resources, reachesSourceSecrets); bad != "" {
			add(RuleSourceSecrets, "%s on %s may read customer source secrets; only %s may (P4)", strings.Join(reads, ", "), bad, CredentialsFunction)
		}
	}

	// P4, decrypting: CredentialsFunction decrypts with SourcesKey only; nobody else decrypts, and
	// nobody holds what would let it decrypt anyway.
	if len(decrypts) > 0 {
		if fn != CredentialsFunction && onlyValidatesKeyAccess(s) {
			// Secrets Manager checks that whoever sets a secret's key may use it by
			// calling Decrypt as the caller with this fixed encryption context; no
			// secret version is ever encrypted under it, so this decrypts nothing.
		} else if fn != CredentialsFunction {
			add(RuleKMSDecrypt, "kms:Decrypt is held (%s); only %s may hold it (P4)", strings.Join(decrypts, ", "), CredentialsFunction)
		} else if bad := resourcesWhere(s.Resources, func(r any) bool { return !isSourcesKey(r) }); bad != "" {
			add(RuleKMSDecrypt, "%s may decrypt with %s only: %s on %s (P4)", CredentialsFunction, SourcesKey, strings.Join(decrypts, ", "), bad)
		}
	}
	// One finding per statement outside CredentialsFunction ("*" is both).
	if len(equivalents) > 0 && (fn == CredentialsFunction || len(decrypts) == 0) {
		add(RuleKMSDecrypt, "%s can give what kms:Decrypt gives (a grant, a re-encryption, a key policy); no function may hold it (P4)", strings.Join(equivalents, ", "))
	}

	// P3/P4: the key of source secrets is used only through Secrets Manager.
	if len(crypto) > 0 && slices.ContainsFunc(s.Resources, mayNameSourcesKey) && !viaSecretsManager(s.Condition) {
		add(RuleKMSViaService, "%s on %s needs Condition StringEquals kms:ViaService !Sub %s, so that only Secrets Manager uses the key on the role's behalf (P4)", strings.Join(crypto, ", "), resourcesWhere(s.Resources, mayNameSourcesKey), viaServiceSecretsManager[0])
	}

	// P4, writing: secrets are written under the sources prefix, or one named secret at a time.
	if len(writes) > 0 {
		if bad := resourcesWhere(s.Resources, func(r any) bool { return !isSourceSecretsARN(r) && !t.namesOneSecret(r) }); bad != "" {
			add(RuleSecretWrites, "%s on %s: secrets are written only under !Sub %s or one at a time by !Ref of a secret or a parameter (P4)", strings.Join(writes, ", "), bad, SourceSecretsARN)
		}
	}

	// P3: a secret is created only under SourcesKey.
	if len(creates) > 0 && !conditionedOnSourcesKey(s.Condition) {
		add(RuleCreateSecretKey, "%s needs Condition StringEquals secretsmanager:KmsKeyArn !GetAtt %s.Arn, so that no secret is created under the AWS-managed key (P3)", strings.Join(creates, ", "), SourcesKey)
	}

	// P4: a secret's resource policy is never a public one.
	if len(policies) > 0 && !blocksPublicPolicy(s.Condition) {
		add(RuleSecretPolicy, "%s needs Condition Bool secretsmanager:BlockPublicPolicy \"true\", so that no secret is given a policy that opens it to other accounts (P4)", strings.Join(policies, ", "))
	}

	// The state table: each grant names its partitions, and only a few reach the email claims.
	if len(items) > 0 && slices.ContainsFunc(s.Resources, mayNameStateTable) {
		checkLeadingKeys(fn, s, items, scans, add)
	}
	return ps
}

// checkLeadingKeys applies RuleLeadingKeys and RuleEmailClaims to a statement allowing the item
// actions items (scans among them) on the state table; add records a problem.
func checkLeadingKeys(fn string, s Statement, items, scans []string, add func(Rule, string, ...any)) {
	if len(scans) > 0 {
		add(RuleLeadingKeys, "%s on the state table reads every partition; dynamodb:LeadingKeys cannot limit a Scan", strings.Join(scans, ", "))
	}
	patterns, found := leadingKeys(s.Condition)
	if !found {
		add(RuleLeadingKeys, "%s on the state table need Condition %s dynamodb:LeadingKeys naming the key prefixes of the partitions the function touches", strings.Join(items, ", "), leadingKeysOperators[0])
	}
	var unknown, claims []string
	for _, p := range patterns {
		ps, ok := literalString(p)
		if !ok || !knownPrefix(ps) {
			unknown = append(unknown, text(p))
		}
		if !ok || mayMatchPrefix(ps, EmailClaimPrefix) {
			claims = append(claims, text(p))
		}
	}
	if len(unknown) > 0 {
		add(RuleLeadingKeys, "dynamodb:LeadingKeys %s must each be a literal key prefix (KIND#, then any wildcard)", strings.Join(unknown, ", "))
	}
	if _, allowed := emailClaimFunctions[fn]; !allowed && (!found || len(claims) > 0) {
		reach := "every partition"
		if found {
			reach = "partitions " + strings.Join(claims, ", ")
		}
		add(RuleEmailClaims, "%s on the state table reach %s, which may be email claims (%s..., the password hashes); only %s may (P1)", strings.Join(items, ", "), reach, EmailClaimPrefix, strings.Join(slices.Sorted(maps.Keys(emailClaimFunctions)), ", "))
	}
}

// leadingKeys returns the dynamodb:LeadingKeys values a condition limits a request to, and
// whether it limits them at all (under one of leadingKeysOperators; IAM matches condition keys
// case-insensitively).
func leadingKeys(cond map[string]any) ([]any, bool) {
	var out []any
	found := false
	for _, op := range leadingKeysOperators {
		m, _ := cond[op].(map[string]any)
		for key, v := range m {
			if strings.EqualFold(key, "dynamodb:LeadingKeys") {
				out = append(out, list(v)...)
				found = true
			}
		}
	}
	return out, found
}

// knownPrefix reports whether a LeadingKeys pattern names partitions by a literal kind: "KIND#"
// (and maybe more) before any wildcard.
func knownPrefix(p string) bool {
	hash := strings.Index(p, "#")
	wild := strings.IndexAny(p, "*?")
	return hash > 0 && (wild < 0 || wild > hash)
}

// mayMatchPrefix reports whether some string beginning with prefix matches the StringLike
// pattern ("*" any run of characters, "?" any one): the pattern's positions reachable after the
// prefix, if any, can always be completed.
func mayMatchPrefix(pattern, prefix string) bool {
	// reach[i]: pattern[:i] can match the prefix read so far.
	reach := make([]bool, len(pattern)+1)
	reach[0] = true
	closeStars := func() {
		for i := 0; i < len(pattern); i++ {
			if reach[i] && pattern[i] == '*' {
				reach[i+1] = true
			}
		}
	}
	closeStars()
	for j := 0; j < len(prefix); j++ {
		next := make([]bool, len(pattern)+1)
		for i := 0; i < len(pattern); i++ {
			if !reach[i] {
				continue
			}
			switch pattern[i] {
			case '*':
				next[i] = true
			case '?':
				next[i+1] = true
			default:
				if pattern[i] == prefix[j] {
					next[i+1] = true
				}
			}
		}
		reach = next
		closeStars()
	}
	return slices.Contains(reach, true)
}

// mayNameStateTable reports whether a DynamoDB resource can be the state table: it mentions
// StateTable, or it holds a wildcard.
func mayNameStateTable(r any) bool {
	found := strings.Contains(text(r), StateTable)
	stringLeaves(r, func(s string) { found = found || strings.ContainsAny(s, "*?") })
	return found
}

// conditionedOnSourcesKey reports whether a condition limits CreateSecret to SourcesKey:
// StringEquals (or ArnEquals) secretsmanager:KmsKeyArn holding exactly !GetAtt SourcesKey.Arn.
func conditionedOnSourcesKey(cond map[string]any) bool {
	for _, op := range []string{"StringEquals", "ArnEquals"} {
		m, _ := cond[op].(map[string]any)
		for key, v := range m {
			if values := list(v); strings.EqualFold(key, "secretsmanager:KmsKeyArn") && len(values) == 1 && isSourcesKey(values[0]) {
				return true
			}
		}
	}
	return false
}

// resourcesWhere renders the resources for which keep is true, "" when there are none.
func resourcesWhere(resources []any, keep func(any) bool) string {
	var out []string
	for _, r := range resources {
		if keep(r) {
			out = append(out, text(r))
		}
	}
	return strings.Join(out, ", ")
}

// matchesAny reports whether a (lower-case) action pattern names one of the actions.
func matchesAny(pattern string, actions []string) bool {
	return slices.ContainsFunc(actions, func(a string) bool { return glob(pattern, a) })
}

// writesSecrets reports whether a (lower-case) action pattern can name a secretsmanager action
// that changes a secret: a wildcard when it matches a known write action, a literal action when it
// is a secretsmanager action not known to be a read.
func writesSecrets(action string) bool {
	if strings.ContainsAny(action, "*?") {
		return matchesAny(action, secretWriteActions)
	}
	return strings.HasPrefix(action, "secretsmanager:") && !slices.Contains(secretReadActions, action)
}

// isSourceSecretsARN reports whether a resource is exactly !Sub SourceSecretsARN.
func isSourceSecretsARN(r any) bool {
	name, arg, ok := intrinsic(r)
	return ok && name == "Fn::Sub" && arg == SourceSecretsARN
}

// isSourcesKey reports whether a resource is exactly !GetAtt SourcesKey.Arn.
func isSourcesKey(r any) bool {
	id, attr, ok := getAttTarget(r)
	return ok && id == SourcesKey && attr == "Arn"
}

// mayNameSourcesKey reports whether a KMS resource can be SourcesKey: it mentions SourcesKey, or
// it holds a wildcard.
func mayNameSourcesKey(r any) bool {
	if strings.Contains(text(r), SourcesKey) {
		return true
	}
	found := false
	stringLeaves(r, func(s string) { found = found || strings.ContainsAny(s, "*?") })
	return found
}

// namesOneSecret reports whether a resource is !Ref of an AWS::SecretsManager::Secret of the
// template (whose Ref is its ARN) or of a String parameter (an operator-given secret ARN, such as
// the SMTP credentials'): one secret, which cannot be a customer source secret.
//
// An Fn::If names one secret when both its branches do (the Stripe and SMTP secrets: the
// operator's, or the stack's own placeholder).
func (t *Template) namesOneSecret(r any) bool {
	if name, arg, ok := intrinsic(r); ok && name == "Fn::If" {
		args, isList := arg.([]any)
		return isList && len(args) == 3 && t.namesOneSecret(args[1]) && t.namesOneSecret(args[2])
	}
	id, ok := refTarget(r)
	if !ok {
		return false
	}
	if res, ok := t.Resources[id]; ok {
		return res.Type == TypeSecret
	}
	p, ok := t.Parameters[id].(map[string]any)
	return ok && p["Type"] == "String"
}

// viaSecretsManager reports whether a statement's condition limits it to requests Secrets
// Manager makes: StringEquals with kms:ViaService (IAM matches condition keys case-insensitively)
// holding only Secrets Manager endpoints.
func viaSecretsManager(cond map[string]any) bool {
	op, _ := cond["StringEquals"].(map[string]any)
	found := false
	for key, v := range op {
		if !strings.EqualFold(key, "kms:ViaService") {
			continue
		}
		values := list(v)
		if len(values) == 0 {
			return false
		}
		for _, value := range values {
			if !isSecretsManagerEndpoint(value) {
				return false
			}
		}
		found = true
	}
	return found
}

// isSecretsManagerEndpoint reports whether a kms:ViaService value names Secrets Manager only.
func isSecretsManagerEndpoint(v any) bool {
	if s, ok := literalString(v); ok {
		return literalViaServiceSecretsManager.MatchString(s)
	}
	name, arg, ok := intrinsic(v)
	if !ok || name != "Fn::Sub" {
		return false
	}
	s, ok := literalString(arg)
	return ok && slices.Contains(viaServiceSecretsManager, s)
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

// partialWildcard reports a resource with a "*" inside (e.g. table/*, key/*,
// a Region or account of *), other than the two shapes that name one thing's
// parts: the sources secret prefix, and <one table's ARN>/index/*.
func partialWildcard(r any) bool {
	if isSourceSecretsARN(r) {
		return false
	}
	found := false
	stringLeaves(r, func(leaf string) {
		if !strings.Contains(leaf, "*") {
			return
		}
		rest, isIndex := strings.CutSuffix(leaf, "/index/*")
		found = found || !isIndex || strings.Contains(rest, "*")
	})
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
	add := func(format string, args ...any) {
		ps = append(ps, &Problem{RuleCredentialsAddressable, CredentialsFunction, fmt.Sprintf(format, args...)})
	}
	if r.Type != TypeServerlessFunction {
		add("must be an AWS::Serverless::Function")
		return ps
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
			add("event %s makes it reachable through API Gateway (P4)", name)
		default:
			add("event %s (%s): the internal function takes no event source; IAM principals invoke it through the Lambda API (P4)", name, text(ev["Type"]))
		}
	}
	if v, ok := r.Properties["Events"]; ok && events == nil && v != nil {
		add("Events %s is not a mapping of events; the internal function has none (P4)", text(v))
	}
	if _, ok := r.Properties["FunctionUrlConfig"]; ok {
		add("FunctionUrlConfig gives it a public URL (P4)")
	}
	if g, _ := t.Globals["Function"].(map[string]any); g["FunctionUrlConfig"] != nil {
		add("Globals.Function.FunctionUrlConfig gives it a public URL (P4)")
	}
	for _, id := range t.ofType("AWS::Lambda::Url") {
		if strings.Contains(text(t.Resources[id].Properties["TargetFunctionArn"]), CredentialsFunction) {
			add("%s gives it a public URL (P4)", id)
		}
	}
	for _, id := range t.ofType(TypeLambdaPermission) {
		p := t.Resources[id].Properties
		if !strings.Contains(text(p["FunctionName"]), CredentialsFunction) {
			continue
		}
		if _, url := p["FunctionUrlAuthType"]; url || !namesIAMPrincipal(p["Principal"]) {
			add("%s lets %s invoke it; only IAM roles and accounts may be named, and same-account callers need no permission here (P4)", id, text(p["Principal"]))
		}
	}
	return ps
}

// namesIAMPrincipal reports whether an AWS::Lambda::Permission principal is, as far as the template
// shows, an IAM role, user or account: not "*" or another wildcard, not a service principal
// (*.amazonaws.com). A !Ref of a parameter passes; its value is the operator's.
func namesIAMPrincipal(v any) bool {
	if v == nil {
		return false
	}
	ok := true
	stringLeaves(v, func(s string) {
		ok = ok && !strings.ContainsAny(s, "*?") && !strings.Contains(s, ".amazonaws.com") && !strings.Contains(s, ".amazon.com")
	})
	return ok
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

// ValidateKeyAccessContext is the encryption context with which Secrets
// Manager validates, as the caller, that a secret's writer may use its KMS key.
const ValidateKeyAccessContext = "RequestToValidateKeyAccess"

// onlyValidatesKeyAccess reports whether a statement allows kms:Decrypt only
// under Secrets Manager's key-access validation: exactly kms:Decrypt, on
// SourcesKey, with StringEquals on kms:ViaService and on the encryption
// context SecretVersionId = RequestToValidateKeyAccess.
func onlyValidatesKeyAccess(s Statement) bool {
	if len(s.Actions) != 1 || !strings.EqualFold(s.Actions[0], "kms:Decrypt") {
		return false
	}
	if slices.ContainsFunc(s.Resources, func(r any) bool { return !isSourcesKey(r) }) {
		return false
	}
	eq, ok := s.Condition["StringEquals"].(map[string]any)
	if !ok || len(s.Condition) != 1 {
		return false
	}
	_, via := eq["kms:ViaService"]
	return validationContext(eq) && via
}

// validationContext reports whether a StringEquals block limits kms:Decrypt to Secrets Manager's
// key-access validation: kms:EncryptionContext:SecretVersionId = ValidateKeyAccessContext.
func validationContext(eq map[string]any) bool {
	ctx, ok := eq["kms:EncryptionContext:SecretVersionId"].(string)
	return ok && ctx == ValidateKeyAccessContext
}

// checkKeyPolicy applies RuleKeyPolicy to SourcesKey's key policy.
func checkKeyPolicy(t *Template) []*Problem {
	r, ok := t.Resources[SourcesKey]
	if !ok {
		return nil
	}
	var ps []*Problem
	add := func(format string, args ...any) {
		ps = append(ps, &Problem{RuleKeyPolicy, SourcesKey, fmt.Sprintf(format, args...)})
	}
	doc, ok := r.Properties["KeyPolicy"]
	if !ok {
		add("has no KeyPolicy: KMS's default policy gives the account root kms:*, and with it every IAM policy the use of the key (P4)")
		return ps
	}
	stmts, err := policyDocument(doc, SourcesKey+" KeyPolicy")
	if err != nil {
		add("key policy cannot be read: %v", err)
	}
	credRole, _ := t.functionRole(CredentialsFunction)
	rootAdministers, deniesDecrypt := false, false
	for _, s := range stmts {
		where := s.Source
		if s.Sid != "" {
			where += " (" + s.Sid + ")"
		}
		if s.Effect == "Deny" {
			deniesDecrypt = deniesDecrypt || deniesDecryptToAllBut(s, credRole)
			continue
		}
		if len(s.NotActions) > 0 || s.NotPrincipal != nil {
			add("Allow with NotAction/NotPrincipal grants everything not listed in %s", where)
			continue
		}
		root := isAccountRoot(s.Principal)
		if !root {
			add("principal %s in %s: only the account itself may be named (IAM decides, aws:PrincipalArn narrows)", text(s.Principal), where)
		}
		var use, decrypt, grants []string
		for _, a := range s.Actions {
			la := strings.ToLower(a)
			if root && s.Condition == nil && glob(la, "kms:putkeypolicy") {
				rootAdministers = true
			}
			if matchesAny(la, kmsCryptoActions) {
				use = append(use, a)
			}
			if glob(la, actionDecrypt) || glob(la, "kms:reencryptfrom") {
				decrypt = append(decrypt, a)
			}
			if glob(la, "kms:creategrant") {
				grants = append(grants, a)
			}
		}
		if len(grants) > 0 {
			add("%s in %s lets its holder give the key's use to anyone (P4)", strings.Join(grants, ", "), where)
		}
		if len(use) == 0 {
			continue
		}
		roles, named := principalArns(s.Condition)
		if !named {
			add("%s in %s is granted to every principal of the account; name the role with Condition ArnEquals aws:PrincipalArn !GetAtt <Role>.Arn (P4)", strings.Join(use, ", "), where)
			continue
		}
		if !viaSecretsManager(s.Condition) {
			add("%s in %s needs Condition StringEquals kms:ViaService !Sub %s (P4)", strings.Join(use, ", "), where, viaServiceSecretsManager[0])
		}
		eq, _ := s.Condition["StringEquals"].(map[string]any)
		validation := len(s.Actions) == 1 && strings.EqualFold(s.Actions[0], "kms:Decrypt") && validationContext(eq)
		if len(decrypt) > 0 && !validation && !slices.Equal(roles, []string{credRole}) {
			add("%s in %s is granted to %s; only %s's role %s may decrypt (P4)", strings.Join(decrypt, ", "), where, strings.Join(roles, ", "), CredentialsFunction, credRole)
		}
	}
	if !rootAdministers {
		add("the account root must keep kms:PutKeyPolicy without condition: KMS refuses a key policy that locks the account out of its key")
	}
	if !deniesDecrypt {
		add("needs a Deny of kms:Decrypt to Principal \"*\" unless aws:PrincipalArn is %s's role %s (ArnNotEquals), so that no IAM policy or grant can let another principal decrypt (P4)", CredentialsFunction, credRole)
	}
	return ps
}

// isAccountRoot reports whether a key-policy principal is exactly the stack's own account:
// {"AWS": !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}.
func isAccountRoot(p any) bool {
	m, ok := p.(map[string]any)
	if !ok || len(m) != 1 {
		return false
	}
	name, arg, ok := intrinsic(m["AWS"])
	return ok && name == "Fn::Sub" && slices.Contains(accountRootPrincipals, text(arg))
}

// principalArns returns the roles a condition limits a statement to: the logical ids of the
// !GetAtt <Role>.Arn values of ArnEquals (or StringEquals) aws:PrincipalArn. named is false when
// the condition names no principal, or names one that is not a role of the template by !GetAtt.
func principalArns(cond map[string]any) (roles []string, named bool) {
	for _, op := range []string{"ArnEquals", "StringEquals"} {
		m, _ := cond[op].(map[string]any)
		for key, v := range m {
			if !strings.EqualFold(key, "aws:PrincipalArn") {
				continue
			}
			for _, value := range list(v) {
				id, attr, ok := getAttTarget(value)
				if !ok || attr != "Arn" {
					return nil, false
				}
				roles = append(roles, id)
			}
		}
	}
	slices.Sort(roles)
	return roles, len(roles) > 0
}

// deniesDecryptToAllBut reports whether a key-policy statement denies kms:Decrypt to every
// principal but role: Principal "*", and a condition holding ArnNotEquals (or StringNotEquals)
// aws:PrincipalArn = !GetAtt <role>.Arn and nothing else but, optionally, the exemption of
// Secrets Manager's key-access validation (StringNotEquals
// kms:EncryptionContext:SecretVersionId = ValidateKeyAccessContext).
func deniesDecryptToAllBut(s Statement, role string) bool {
	if s.Effect != "Deny" || !everyone(s.Principal) || len(s.NotActions) > 0 ||
		!slices.ContainsFunc(s.Actions, func(a string) bool { return glob(strings.ToLower(a), actionDecrypt) }) {
		return false
	}
	exempt := false
	for op, v := range s.Condition {
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		for key, value := range m {
			values := list(value)
			switch {
			case (op == "ArnNotEquals" || op == "StringNotEquals") && strings.EqualFold(key, "aws:PrincipalArn"):
				if len(values) != 1 {
					return false
				}
				id, attr, ok := getAttTarget(values[0])
				if !ok || id != role || attr != "Arn" {
					return false
				}
				exempt = true
			case op == "StringNotEquals" && key == "kms:EncryptionContext:SecretVersionId" &&
				len(values) == 1 && values[0] == ValidateKeyAccessContext:
			default:
				return false // any other condition would narrow the deny
			}
		}
	}
	return exempt
}

// everyone reports whether a principal is "*" or {"AWS": "*"}.
func everyone(p any) bool {
	if m, ok := p.(map[string]any); ok && len(m) == 1 {
		p = m["AWS"]
	}
	return p == "*"
}
