// Package cfn reads the repository's AWS SAM / CloudFormation template into plain Go values and
// checks it against the promises the template has to keep (least-privilege roles, each state-table
// grant narrowed to its partitions, P4's credential isolation down to the KMS key's own policy,
// P6's 90-day log retention).
//
// The template is the one source of truth: the local stack and the tests create their DynamoDB
// tables from it (Tables), and the tests read every IAM statement from it (RoleStatements).
//
// Short-form intrinsic tags (!Ref, !GetAtt, !Sub, ...) are converted to their long form
// ({"Ref": ...}, {"Fn::GetAtt": [...]}, {"Fn::Sub": ...}), so everything a caller sees is
// map[string]any, []any, string, bool, int, float64 or nil.
package cfn

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Resource types the package knows by name.
const (
	TypeServerlessFunction = "AWS::Serverless::Function"
	TypeLambdaFunction     = "AWS::Lambda::Function"
	TypeLogGroup           = "AWS::Logs::LogGroup"
	TypeIAMRole            = "AWS::IAM::Role"
	TypeIAMPolicy          = "AWS::IAM::Policy"
	TypeIAMManagedPolicy   = "AWS::IAM::ManagedPolicy"
	TypeIAMRolePolicy      = "AWS::IAM::RolePolicy"
	TypeDynamoDBTable      = "AWS::DynamoDB::Table"
	TypeSecret             = "AWS::SecretsManager::Secret" // #nosec G101 -- a resource type name, not a credential
	TypeLambdaPermission   = "AWS::Lambda::Permission"
)

// Template is a parsed template, every value in long form.
type Template struct {
	Resources  map[string]Resource // by logical id
	Globals    map[string]any
	Parameters map[string]any
	Conditions map[string]any
	Outputs    map[string]any
	// Raw is the whole document.
	Raw map[string]any
}

// Resource is one entry of the Resources section.
type Resource struct {
	Type       string
	Properties map[string]any // never nil
	Metadata   map[string]any // never nil
	// Raw is the resource's whole mapping (Type, Properties, DependsOn, DeletionPolicy, ...).
	Raw map[string]any
}

// Load reads and parses the template at path.
func Load(path string) (*Template, error) {
	data, err := os.ReadFile(path) // #nosec G304 -- the repository's template, named by the caller
	if err != nil {
		return nil, fmt.Errorf("cfn: %w", err)
	}
	t, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// logicalID is what CloudFormation accepts as a logical id. Checking it here also keeps logical
// ids safe to turn into package paths (functions/<name>).
var logicalIDPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,255}$`)

// Parse parses a YAML (or JSON, which is YAML) template.
func Parse(data []byte) (*Template, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("cfn: %w", err)
	}
	if doc.Kind == 0 {
		return nil, fmt.Errorf("cfn: %w", errors.New("empty template"))
	}
	v, err := convert(&doc, 0)
	if err != nil {
		return nil, fmt.Errorf("cfn: %w", err)
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("cfn: %w", errors.New("template is not a mapping"))
	}
	t := &Template{Raw: top}
	if err := section(top, "Globals", &t.Globals); err != nil {
		return nil, fmt.Errorf("cfn: %w", err)
	}
	if err := section(top, "Parameters", &t.Parameters); err != nil {
		return nil, fmt.Errorf("cfn: %w", err)
	}
	if err := section(top, "Conditions", &t.Conditions); err != nil {
		return nil, fmt.Errorf("cfn: %w", err)
	}
	if err := section(top, "Outputs", &t.Outputs); err != nil {
		return nil, fmt.Errorf("cfn: %w", err)
	}
	var resources map[string]any
	if err := section(top, "Resources", &resources); err != nil {
		return nil, fmt.Errorf("cfn: %w", err)
	}
	if len(resources) == 0 {
		return nil, fmt.Errorf("cfn: %w", errors.New("template has no Resources"))
	}
	t.Resources = make(map[string]Resource, len(resources))
	for id, raw := range resources {
		r, err := resource(id, raw)
		if err != nil {
			return nil, fmt.Errorf("cfn: %w", err)
		}
		t.Resources[id] = r
	}
	return t, nil
}

// section stores top[name] in *dst when it is a mapping; absent leaves *dst empty.
func section(top map[string]any, name string, dst *map[string]any) error {
	v, ok := top[name]
	if !ok || v == nil {
		*dst = map[string]any{}
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s is not a mapping", name)
	}
	*dst = m
	return nil
}

func resource(id string, raw any) (Resource, error) {
	if !logicalIDPattern.MatchString(id) {
		return Resource{}, fmt.Errorf("resource %q: logical id must be 1-255 letters and digits", id)
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return Resource{}, fmt.Errorf("resource %s is not a mapping", id)
	}
	typ, ok := m["Type"].(string)
	if !ok || typ == "" {
		return Resource{}, fmt.Errorf("resource %s has no Type", id)
	}
	r := Resource{Type: typ, Raw: m}
	if err := section(m, "Properties", &r.Properties); err != nil {
		return Resource{}, fmt.Errorf("resource %s: %w", id, err)
	}
	if err := section(m, "Metadata", &r.Metadata); err != nil {
		return Resource{}, fmt.Errorf("resource %s: %w", id, err)
	}
	return r, nil
}

// Functions returns the AWS::Serverless::Function logical ids, sorted.
func (t *Template) Functions() []string {
	return t.ofType(TypeServerlessFunction)
}

// ofType returns the logical ids of the resources of one type, sorted.
func (t *Template) ofType(typ string) []string {
	var ids []string
	for id, r := range t.Resources {
		if r.Type == typ {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// ---------------------------------------------------------------------------- YAML to Go values

// longForm maps each CloudFormation short-form tag to the key of its long form.
var longForm = map[string]string{
	"!Ref":         "Ref",
	"!Condition":   "Condition",
	"!GetAtt":      "Fn::GetAtt",
	"!Sub":         "Fn::Sub",
	"!Join":        "Fn::Join",
	"!If":          "Fn::If",
	"!Select":      "Fn::Select",
	"!Split":       "Fn::Split",
	"!GetAZs":      "Fn::GetAZs",
	"!ImportValue": "Fn::ImportValue",
	"!FindInMap":   "Fn::FindInMap",
	"!Base64":      "Fn::Base64",
	"!Cidr":        "Fn::Cidr",
	"!Equals":      "Fn::Equals",
	"!Not":         "Fn::Not",
	"!And":         "Fn::And",
	"!Or":          "Fn::Or",
}

// maxDepth bounds nesting; real templates stay far below it, hostile input cannot exhaust the stack.
const maxDepth = 200

// convert turns a node into plain Go values, short-form tags into long form.
func convert(n *yaml.Node, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("line %d: nested deeper than %d levels", n.Line, maxDepth)
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return nil, errors.New("empty document")
		}
		return convert(n.Content[0], depth+1)
	case yaml.AliasNode:
		// CloudFormation does not accept YAML aliases; refusing them also rules out alias bombs.
		return nil, fmt.Errorf("line %d: YAML aliases are not supported by CloudFormation", n.Line)
	}

	tag := n.Tag
	if fn, ok := longForm[tag]; ok {
		inner, err := convertUntagged(n, depth)
		if err != nil {
			return nil, err
		}
		if tag == "!GetAtt" {
			if s, ok := inner.(string); ok {
				res, attr, found := strings.Cut(s, ".")
				if !found || res == "" || attr == "" {
					return nil, fmt.Errorf("line %d: !GetAtt %q is not Resource.Attribute", n.Line, s)
				}
				inner = []any{res, attr}
			}
		}
		return map[string]any{fn: inner}, nil
	}
	if len(tag) > 1 && tag[0] == '!' && tag[1] != '!' {
		return nil, fmt.Errorf("line %d: unknown tag %s", n.Line, tag)
	}
	return convertUntagged(n, depth)
}

// convertUntagged converts a node's value, ignoring an intrinsic tag on the node itself.
func convertUntagged(n *yaml.Node, depth int) (any, error) {
	switch n.Kind {
	case yaml.MappingNode:
		if len(n.Content)%2 != 0 {
			return nil, fmt.Errorf("line %d: malformed mapping", n.Line)
		}
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: mapping key is not a scalar", k.Line)
			}
			if k.Tag == "!!merge" {
				return nil, fmt.Errorf("line %d: YAML merge keys are not supported by CloudFormation", k.Line)
			}
			if len(k.Tag) > 1 && k.Tag[0] == '!' && k.Tag[1] != '!' {
				return nil, fmt.Errorf("line %d: tag %s on a mapping key", k.Line, k.Tag)
			}
			if _, dup := m[k.Value]; dup {
				return nil, fmt.Errorf("line %d: duplicate key %q", k.Line, k.Value)
			}
			cv, err := convert(v, depth+1)
			if err != nil {
				return nil, err
			}
			m[k.Value] = cv
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			cv, err := convert(c, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, cv)
		}
		return s, nil
	case yaml.ScalarNode:
		return scalar(n), nil
	case yaml.AliasNode:
		return nil, fmt.Errorf("line %d: YAML aliases are not supported by CloudFormation", n.Line)
	}
	return nil, fmt.Errorf("line %d: unexpected YAML node", n.Line)
}

// scalar resolves a scalar the way CloudFormation reads it: null, bool, int and float as such,
// everything else (strings, timestamps, the value of an intrinsic tag) as the string written.
func scalar(n *yaml.Node) any {
	if len(n.Tag) > 1 && n.Tag[0] == '!' && n.Tag[1] != '!' {
		return n.Value // the argument of a short-form tag: !Ref Name, !GetAZs ''
	}
	switch n.ShortTag() {
	case "!!null":
		return nil
	case "!!bool", "!!float":
		var v any
		if err := n.Decode(&v); err == nil {
			return v
		}
	case "!!int":
		if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil && int64(int(i)) == i {
			return int(i)
		}
		var v any
		if err := n.Decode(&v); err == nil {
			return v
		}
	}
	return n.Value
}

// DefaultRoute is the route key API Gateway gives an HTTP API's catch-all
// route: an HttpApi event with neither Path nor Method (SAM's "default
// path") receives every request no other route matches.
const DefaultRoute = "$default"

// HTTPRoutes returns each function's HttpApi routes, sorted, keyed by its
// logical id: "METHOD /path" as API Gateway's route keys spell them, or
// DefaultRoute for an event with neither Path nor Method.
func (t *Template) HTTPRoutes() map[string][]string {
	out := map[string][]string{}
	for _, id := range t.Functions() {
		events, _ := t.Resources[id].Properties["Events"].(map[string]any)
		for _, ev := range events {
			e, _ := ev.(map[string]any)
			if e["Type"] != "HttpApi" {
				continue
			}
			p, _ := e["Properties"].(map[string]any)
			method, _ := p["Method"].(string)
			path, _ := p["Path"].(string)
			if method == "" && path == "" {
				out[id] = append(out[id], DefaultRoute)
				continue
			}
			out[id] = append(out[id], strings.ToUpper(method)+" "+path)
		}
		slices.Sort(out[id])
	}
	return out
}

// DefaultRouteFunction returns the logical id of the function that serves
// the HTTP API's DefaultRoute ("" when none does); more than one is an error.
func (t *Template) DefaultRouteFunction() (string, error) {
	var ids []string
	for id, routes := range t.HTTPRoutes() {
		if slices.Contains(routes, DefaultRoute) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if len(ids) > 1 {
		return "", fmt.Errorf("%d functions serve the %s route (%v); an HTTP API has one", len(ids), DefaultRoute, ids)
	}
	if len(ids) == 0 {
		return "", nil
	}
	return ids[0], nil
}
