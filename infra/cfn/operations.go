package cfn

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The operations rules: alarms and dashboards.
const (
	// RuleAlarmTopic: every alarm notifies the optional SNS topic when one is given:
	// AlarmActions is exactly !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue].
	RuleAlarmTopic Rule = "alarm-topic"
	// RuleKnownMetric: every metric an alarm or a dashboard reads exists: in namespace Atrium, one
	// the code emits (the names are read from functions/ and shared/), with dimension Function
	// naming a function of the template; else one of AWS's own (awsMetrics). A metric nobody
	// emits draws an empty graph, and an alarm on it never fires (or, breaching, never stops).
	RuleKnownMetric Rule = "known-metric"
	// RuleUnreadableDashboard: a dashboard body is a literal JSON document (or !Sub of one) whose
	// metrics the checks can read.
	RuleUnreadableDashboard Rule = "unreadable-dashboard"
)

// Resource types of the operations rules.
const (
	TypeAlarm     = "AWS::CloudWatch::Alarm"
	TypeDashboard = "AWS::CloudWatch::Dashboard"
)

// AtriumNamespace is the CloudWatch namespace of the metrics the code emits
// (shared/requestlog EmitMetrics), with the one dimension Function.
const AtriumNamespace = "Atrium"

// awsMetrics are the AWS metrics the template may use, by namespace: Lambda's per-function
// metrics and API Gateway's HTTP API metrics (dimension ApiId), as AWS documents them.
var awsMetrics = map[string][]string{
	"AWS/Lambda":     {"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions", "DeadLetterErrors", "AsyncEventAge"},
	"AWS/ApiGateway": {"Count", "4xx", "5xx", "Latency", "IntegrationLatency", "DataProcessed"},
}

// EmittedMetrics are the metric names the code emits in namespace Atrium.
type EmittedMetrics struct {
	Names    []string // emitted under exactly this name
	Prefixes []string // emitted as a literal prefix and a value: "StripeEvent_" + outcome
	prefixes []prefixUse
	literals map[string]map[string]bool // package directory → its string literals
}

// prefixUse is one prefix expression: the package it is in and the repository's packages that
// package imports, whose string literals are the values that can complete it.
type prefixUse struct {
	prefix string
	dirs   []string
}

// Has reports whether name is emitted: a Name, or a Prefix followed by a string literal of the
// package that emits it or of a repository package it imports ("StripeEvent_" + "failed").
func (e *EmittedMetrics) Has(name string) bool {
	if slices.Contains(e.Names, name) {
		return true
	}
	for _, p := range e.prefixes {
		rest, ok := strings.CutPrefix(name, p.prefix)
		if !ok || rest == "" {
			continue
		}
		for _, d := range p.dirs {
			if e.literals[d][rest] {
				return true
			}
		}
	}
	return false
}

// ReadEmittedMetrics reads, from the non-test Go files under repoRoot's functions/ and shared/,
// the Name of every Metric composite literal (shared/requestlog's Metric, which EmitMetrics
// writes in namespace Atrium): a string literal, or a string literal + something (a prefix).
func ReadEmittedMetrics(repoRoot string) (*EmittedMetrics, error) {
	e := &EmittedMetrics{literals: map[string]map[string]bool{}}
	module := modulePath(repoRoot)
	fset := token.NewFileSet()
	for _, dir := range []string{"functions", "shared"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && d.Name() == "testdata" {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(repoRoot, filepath.Dir(path))
			pkg := filepath.ToSlash(rel)
			dirs := []string{pkg}
			for _, imp := range f.Imports {
				p, _ := strconv.Unquote(imp.Path.Value)
				if inRepo, ok := strings.CutPrefix(p, module+"/"); ok && module != "" {
					dirs = append(dirs, inRepo)
				}
			}
			if e.literals[pkg] == nil {
				e.literals[pkg] = map[string]bool{}
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BasicLit:
					if s, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING {
						e.literals[pkg][s] = true
					}
				case *ast.CompositeLit:
					if isMetricType(n.Type) {
						e.addMetric(n, dirs)
					}
				}
				return true
			})
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("reading the metrics the code emits: %w", err)
		}
	}
	slices.Sort(e.Names)
	e.Names = slices.Compact(e.Names)
	for _, p := range e.prefixes {
		e.Prefixes = append(e.Prefixes, p.prefix)
	}
	slices.Sort(e.Prefixes)
	e.Prefixes = slices.Compact(e.Prefixes)
	return e, nil
}

// modulePath is the module line of repoRoot's go.mod ("" without one).
func modulePath(repoRoot string) string {
	data, err := os.ReadFile(filepath.Join(repoRoot, "go.mod")) // #nosec G304 -- the repository's go.mod
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		if m, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(m), `"`)
		}
	}
	return ""
}

// isMetricType: Metric (inside shared/requestlog) or requestlog.Metric.
func isMetricType(x ast.Expr) bool {
	switch t := x.(type) {
	case *ast.Ident:
		return t.Name == "Metric"
	case *ast.SelectorExpr:
		id, ok := t.X.(*ast.Ident)
		return ok && id.Name == "requestlog" && t.Sel.Name == "Metric"
	}
	return false
}

func (e *EmittedMetrics) addMetric(lit *ast.CompositeLit, dirs []string) {
	for _, el := range lit.Elts {
		kv, ok := el.(*ast.KeyValueExpr)
		if !ok {
			continue
		}
		if k, ok := kv.Key.(*ast.Ident); !ok || k.Name != "Name" {
			continue
		}
		switch v := kv.Value.(type) {
		case *ast.BasicLit:
			if s, err := strconv.Unquote(v.Value); err == nil {
				e.Names = append(e.Names, s)
			}
		case *ast.BinaryExpr:
			if l, ok := v.X.(*ast.BasicLit); ok && v.Op == token.ADD {
				if s, err := strconv.Unquote(l.Value); err == nil {
					e.prefixes = append(e.prefixes, prefixUse{s, dirs})
				}
			}
		}
	}
}

// MetricUse is one metric an alarm or a dashboard reads.
type MetricUse struct {
	Resource   string // logical id
	Namespace  string
	Name       string
	Dimensions map[string]any // name → value (a literal, or a template value such as !Sub)
}

// UsedMetrics returns every metric the template's alarms and dashboards read, and a Problem for
// each dashboard whose body the checks cannot read.
func (t *Template) UsedMetrics() ([]MetricUse, []*Problem) {
	var uses []MetricUse
	var ps []*Problem
	for _, id := range t.ofType(TypeAlarm) {
		p := t.Resources[id].Properties
		if name, ok := p["MetricName"].(string); ok {
			uses = append(uses, MetricUse{id, text(p["Namespace"]), name, dimensions(p["Dimensions"])})
		}
		for _, q := range list(p["Metrics"]) {
			qm, _ := q.(map[string]any)
			stat, _ := qm["MetricStat"].(map[string]any)
			m, _ := stat["Metric"].(map[string]any)
			if m == nil {
				continue
			}
			uses = append(uses, MetricUse{id, text(m["Namespace"]), text(m["MetricName"]), dimensions(m["Dimensions"])})
		}
	}
	for _, id := range t.ofType(TypeDashboard) {
		u, err := dashboardMetrics(id, t.Resources[id].Properties["DashboardBody"])
		if err != nil {
			ps = append(ps, &Problem{RuleUnreadableDashboard, id, err.Error()})
		}
		uses = append(uses, u...)
	}
	return uses, ps
}

func dimensions(v any) map[string]any {
	out := map[string]any{}
	for _, d := range list(v) {
		dm, _ := d.(map[string]any)
		if name, ok := dm["Name"].(string); ok {
			out[name] = dm["Value"]
		}
	}
	return out
}

// searchPattern reads SEARCH('{Namespace,Dim,...} MetricName="Name" ...', ...) expressions.
var searchPattern = regexp.MustCompile(`SEARCH\(\s*'\{([^,}]+)[^}]*\}[^']*MetricName="([^"]+)"`)

// dashboardMetrics reads the metrics of a dashboard body: the JSON text itself, or !Sub of it
// (its ${...} references sit inside JSON strings, so the text parses as it is).
func dashboardMetrics(id string, body any) ([]MetricUse, error) {
	var src string
	switch b := body.(type) {
	case string:
		src = b
	case map[string]any:
		s, ok := b["Fn::Sub"].(string)
		if !ok {
			return nil, fmt.Errorf("DashboardBody is %s: want a JSON text or !Sub of one", text(body))
		}
		src = s
	default:
		return nil, fmt.Errorf("DashboardBody is %s: want a JSON text or !Sub of one", text(body))
	}
	var doc struct {
		Widgets []struct {
			Type       string `json:"type"`
			Properties struct {
				Metrics [][]any `json:"metrics"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(src), &doc); err != nil {
		return nil, fmt.Errorf("DashboardBody is not JSON: %v", err)
	}
	var uses []MetricUse
	for wi, w := range doc.Widgets {
		for mi, m := range w.Properties.Metrics {
			where := fmt.Sprintf("widget %d, metric %d", wi, mi)
			if len(m) == 1 {
				opts, _ := m[0].(map[string]any)
				expr, _ := opts["expression"].(string)
				for _, s := range searchPattern.FindAllStringSubmatch(expr, -1) {
					uses = append(uses, MetricUse{id, strings.TrimSpace(s[1]), s[2], map[string]any{}})
				}
				if strings.Contains(expr, "SEARCH(") && !searchPattern.MatchString(expr) {
					return uses, fmt.Errorf("%s: a SEARCH without {namespace,...} and MetricName=\"...\"", where)
				}
				continue
			}
			var strs []string
			for _, v := range m {
				if s, ok := v.(string); ok {
					strs = append(strs, s)
				}
			}
			if len(strs) < 2 || len(strs)%2 != 0 || slices.Contains(strs, "...") || slices.Contains(strs, ".") {
				return uses, fmt.Errorf("%s: want [namespace, name, dimension, value, ..., {options}] written out (no \"...\" shorthand)", where)
			}
			dims := map[string]any{}
			for i := 2; i < len(strs); i += 2 {
				dims[strs[i]] = map[string]any{"Fn::Sub": strs[i+1]}
			}
			uses = append(uses, MetricUse{id, strs[0], strs[1], dims})
		}
	}
	return uses, nil
}

// checkOperations applies RuleAlarmTopic and RuleKnownMetric (the metrics the code emits are read
// from repoRoot).
func checkOperations(t *Template, repoRoot string) []*Problem {
	var ps []*Problem
	wantActions := map[string]any{"Fn::If": []any{"HasAlarmTopic", []any{map[string]any{"Ref": "AlarmTopicArn"}}, map[string]any{"Ref": "AWS::NoValue"}}}
	alarms := t.ofType(TypeAlarm)
	if len(alarms) > 0 {
		if _, ok := t.Parameters["AlarmTopicArn"]; !ok {
			ps = append(ps, &Problem{RuleAlarmTopic, "AlarmTopicArn", "no parameter AlarmTopicArn for the alarms to notify"})
		}
		if c, ok := t.Conditions["HasAlarmTopic"]; !ok || !reflect.DeepEqual(c, map[string]any{"Fn::Not": []any{map[string]any{"Fn::Equals": []any{map[string]any{"Ref": "AlarmTopicArn"}, ""}}}}) {
			ps = append(ps, &Problem{RuleAlarmTopic, "HasAlarmTopic", fmt.Sprintf("Condition HasAlarmTopic is %s, want !Not [!Equals [!Ref AlarmTopicArn, \"\"]]", text(c))})
		}
	}
	for _, id := range alarms {
		if got := t.Resources[id].Properties["AlarmActions"]; !reflect.DeepEqual(got, wantActions) {
			ps = append(ps, &Problem{RuleAlarmTopic, id, fmt.Sprintf("AlarmActions is %s, want !If [HasAlarmTopic, [!Ref AlarmTopicArn], !Ref AWS::NoValue]", text(got))})
		}
	}
	uses, unreadable := t.UsedMetrics()
	ps = append(ps, unreadable...)
	if len(uses) == 0 {
		return ps
	}
	emitted, err := ReadEmittedMetrics(repoRoot)
	if err != nil {
		return append(ps, &Problem{RuleKnownMetric, "template", err.Error()})
	}
	functionNames := map[string]bool{}
	for _, fn := range t.Functions() {
		functionNames[text(t.Resources[fn].Properties["FunctionName"])] = true
	}
	for _, u := range uses {
		switch {
		case u.Namespace == AtriumNamespace:
			if !emitted.Has(u.Name) {
				ps = append(ps, &Problem{RuleKnownMetric, u.Resource, fmt.Sprintf("metric %s/%s is not emitted by the code (emitted: %s; prefixes %s)", u.Namespace, u.Name, strings.Join(emitted.Names, ", "), strings.Join(emitted.Prefixes, ", "))})
			}
			if fn, ok := u.Dimensions["Function"]; ok && !functionNames[text(fn)] {
				ps = append(ps, &Problem{RuleKnownMetric, u.Resource, fmt.Sprintf("metric %s/%s: dimension Function %s is no function's FunctionName", u.Namespace, u.Name, text(fn))})
			}
		case awsMetrics[u.Namespace] != nil:
			if !slices.Contains(awsMetrics[u.Namespace], u.Name) {
				ps = append(ps, &Problem{RuleKnownMetric, u.Resource, fmt.Sprintf("metric %s/%s is not one of %s's metrics (%s)", u.Namespace, u.Name, u.Namespace, strings.Join(awsMetrics[u.Namespace], ", "))})
			}
			if fn, ok := u.Dimensions["FunctionName"]; ok && !functionNames[text(fn)] {
				ps = append(ps, &Problem{RuleKnownMetric, u.Resource, fmt.Sprintf("metric %s/%s: FunctionName %s is no function of the template", u.Namespace, u.Name, text(fn))})
			}
		default:
			ps = append(ps, &Problem{RuleKnownMetric, u.Resource, fmt.Sprintf("metric %s/%s: namespace %q is neither %s nor one of AWS's the checks know", u.Namespace, u.Name, u.Namespace, AtriumNamespace)})
		}
	}
	return ps
}
