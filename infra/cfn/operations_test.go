package cfn

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadEmittedMetrics reads the metric names from a small fixture tree as from the code: exact
// names, prefixes completed by a literal of the code, and nothing from tests or testdata.
func TestReadEmittedMetrics(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"shared/requestlog/metrics.go":     "package requestlog\n\ntype Metric struct{ Name, Unit string; Value float64 }\n\nvar _ = Metric{Name: \"Written\", Unit: \"Count\"}\n",
		"go.mod":                           "module example.com/m\n",
		"shared/outcomes/outcomes.go":      "package outcomes\n\nconst Applied = \"applied\"\n",
		"shared/elsewhere/e.go":            "package elsewhere\n\nconst Unrelated = \"unrelated\"\n",
		"functions/hook/api/api.go":        "package api\n\nimport (\n\t\"example.com/m/shared/outcomes\"\n\t\"x/requestlog\"\n)\n\nconst outcomeDone = \"done\"\n\nfunc count(o string) {\n\t_ = requestlog.Metric{Name: \"Event_\" + o, Unit: \"Count\"}\n\t_ = outcomes.Applied\n}\n",
		"functions/hook/api/api_test.go":   "package api\n\nvar _ = requestlog.Metric{Name: \"OnlyInATest\"}\nvar _ = \"secret\"\n",
		"functions/hook/api/testdata/x.go": "package x\n\nvar _ = requestlog.Metric{Name: \"InTestdata\"}\n",
		"functions/other/other.go":         "package other\n\ntype Metric struct{ Name string }\n\nvar _ = Metric{Name: \"Other\"}\n",
		"functions/other/unrelated.go":     "package other\n\ntype Gauge struct{ Name string }\n\nvar _ = Gauge{Name: \"NotAMetric\"}\n",
	}
	for name, src := range files {
		path := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e, err := ReadEmittedMetrics(root)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Other", "Written"}; !slices.Equal(e.Names, want) {
		t.Errorf("Names = %v, want %v", e.Names, want)
	}
	if want := []string{"Event_"}; !slices.Equal(e.Prefixes, want) {
		t.Errorf("Prefixes = %v, want %v", e.Prefixes, want)
	}
	for name, want := range map[string]bool{
		"Written": true, "Event_done": true, "Event_applied": true, "Event_": false,
		"Event_secret":    false, // only in a test
		"Event_unrelated": false, // in a package the emitter does not import
		"OnlyInATest":     false, "InTestdata": false, "NotAMetric": false, "Writte": false,
	} {
		if got := e.Has(name); got != want {
			t.Errorf("Has(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestRepositoryEmittedMetrics: the code's own metrics, as the dashboard and the alarms use them.
func TestRepositoryEmittedMetrics(t *testing.T) {
	e, err := ReadEmittedMetrics(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"OldestOverdueRequestLogAge", "AccountDeletionsStalled", "RequestLogWriteFailures", "StripeEvent_failed", "StripeEvent_applied"} {
		if !e.Has(name) {
			t.Errorf("the code does not emit %s (names %v, prefixes %v)", name, e.Names, e.Prefixes)
		}
	}
}

// TestRepositoryOperations: the dashboard and the alarms the operator relies on exist and read
// what issue #18 asks for; the alarm widget shows every alarm; the throttle alarm covers every
// function.
func TestRepositoryOperations(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	dashboards := tpl.ofType(TypeDashboard)
	if len(dashboards) != 1 {
		t.Fatalf("dashboards %v, want one", dashboards)
	}
	uses, ps := tpl.UsedMetrics()
	for _, p := range ps {
		t.Error(p)
	}
	type key struct{ resource, namespace, name string }
	used := map[key]int{}
	for _, u := range uses {
		used[key{u.Resource, u.Namespace, u.Name}]++
	}
	d := dashboards[0]
	for _, want := range []key{
		{d, "AWS/ApiGateway", "Count"}, {d, "AWS/ApiGateway", "4xx"}, {d, "AWS/ApiGateway", "5xx"},
		{d, "AWS/Lambda", "Throttles"}, {d, "AWS/Lambda", "Errors"},
		{d, "Atrium", "StripeEvent_failed"}, {d, "Atrium", "OldestOverdueRequestLogAge"},
		{d, "Atrium", "AccountDeletionsStalled"}, {d, "Atrium", "RequestLogWriteFailures"},
		{"Api5xxRateAlarm", "AWS/ApiGateway", "5xx"}, {"Api5xxRateAlarm", "AWS/ApiGateway", "Count"},
		{"StripeWebhookFailuresAlarm", "Atrium", "StripeEvent_failed"},
		{"AccountDeletionsStalledAlarm", "Atrium", "AccountDeletionsStalled"},
		{"RequestLogSweepAlarm", "Atrium", "OldestOverdueRequestLogAge"},
	} {
		if used[want] == 0 {
			t.Errorf("%s does not read %s/%s", want.resource, want.namespace, want.name)
		}
	}
	// Every function's throttles, in the alarm and on the dashboard.
	fns := tpl.Functions()
	for _, res := range []string{"ThrottlesAlarm", d} {
		if got := used[key{res, "AWS/Lambda", "Throttles"}]; got != len(fns) {
			t.Errorf("%s reads Throttles of %d functions, want all %d", res, got, len(fns))
		}
	}
	body := text(tpl.Resources[d].Properties["DashboardBody"])
	for _, a := range tpl.ofType(TypeAlarm) {
		if !strings.Contains(body, "${"+a+".Arn}") {
			t.Errorf("the dashboard's alarm widget does not show %s", a)
		}
	}
	// The 4xx/5xx by function widget reads every HTTP function's log group.
	for fn := range tpl.HTTPRoutes() {
		lg := text(tpl.Resources[fn].Properties["LoggingConfig"].(map[string]any)["LogGroup"])
		name := text(tpl.Resources[strings.TrimSuffix(strings.TrimPrefix(lg, `{"Ref":"`), `"}`)].Properties["LogGroupName"])
		name = strings.TrimSuffix(strings.TrimPrefix(name, `{"Fn::Sub":"`), `"}`)
		if !strings.Contains(body, "SOURCE '"+name+"'") {
			t.Errorf("the requests-by-function widget does not read %s's log group %s", fn, name)
		}
	}
}

// TestOperationsRules breaks the repository's template in one place each and expects the one
// problem.
func TestOperationsRules(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, old, new string
		want           finding
	}{
		{"alarm without the topic", "      TreatMissingData: notBreaching # no requests, no 5xx\n      AlarmActions: !If\n        - HasAlarmTopic\n        - [!Ref AlarmTopicArn]\n        - !Ref AWS::NoValue\n",
			"      TreatMissingData: notBreaching # no requests, no 5xx\n", finding{RuleAlarmTopic, "Api5xxRateAlarm"}},
		{"alarm on a topic of its own", "      TreatMissingData: notBreaching # no deliveries, no failures\n      AlarmActions: !If\n        - HasAlarmTopic\n        - [!Ref AlarmTopicArn]\n",
			"      TreatMissingData: notBreaching # no deliveries, no failures\n      AlarmActions: !If\n        - HasAlarmTopic\n        - [arn:aws:sns:eu-west-1:123456789012:other]\n", finding{RuleAlarmTopic, "StripeWebhookFailuresAlarm"}},
		{"alarm on a metric nobody emits", "MetricName: StripeEvent_failed", "MetricName: StripeEvent_failure", finding{RuleKnownMetric, "StripeWebhookFailuresAlarm"}},
		{"alarm on another function's metric", "MetricName: AccountDeletionsStalled # emitted as a Count\n      Dimensions:\n        - Name: Function\n          Value: !Sub ${AWS::StackName}-housekeeping",
			"MetricName: AccountDeletionsStalled # emitted as a Count\n      Dimensions:\n        - Name: Function\n          Value: !Sub ${AWS::StackName}-housekeeper", finding{RuleKnownMetric, "AccountDeletionsStalledAlarm"}},
		{"dashboard metric misspelt", `"Atrium", "AccountDeletionsStalled"`, `"Atrium", "AccountDeletionStalled"`, finding{RuleKnownMetric, "OperationsDashboard"}},
		{"dashboard AWS metric misspelt", `["AWS/Lambda", "Errors", "FunctionName", "${AWS::StackName}-auth"`, `["AWS/Lambda", "Error", "FunctionName", "${AWS::StackName}-auth"`, finding{RuleKnownMetric, "OperationsDashboard"}},
		{"dashboard on a function that is not there", `["AWS/Lambda", "Errors", "FunctionName", "${AWS::StackName}-auth"`, `["AWS/Lambda", "Errors", "FunctionName", "${AWS::StackName}-login"`, finding{RuleKnownMetric, "OperationsDashboard"}},
		{"dashboard search of a metric nobody emits", `MetricName=\"RequestLogWriteFailures\"`, `MetricName=\"RequestLogWriteErrors\"`, finding{RuleKnownMetric, "OperationsDashboard"}},
		{"dashboard shorthand", `["AWS/ApiGateway", "4xx", "ApiId", "${HttpApi}"`, `["AWS/ApiGateway", "4xx", "...", "${HttpApi}"`, finding{RuleUnreadableDashboard, "OperationsDashboard"}},
		{"unknown namespace", `["AWS/ApiGateway", "4xx", "ApiId"`, `["AWS/ApiGatewayV2", "4xx", "ApiId"`, finding{RuleKnownMetric, "OperationsDashboard"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Count(string(data), tc.old) != 1 {
				t.Fatalf("template.yaml holds %q %d times, want once", tc.old, strings.Count(string(data), tc.old))
			}
			tpl, err := Parse([]byte(strings.Replace(string(data), tc.old, tc.new, 1)))
			if err != nil {
				t.Fatal(err)
			}
			got := findings(t, CheckTemplate(tpl, root))
			if !slices.Equal(got, []finding{tc.want}) {
				t.Errorf("findings %v, want exactly %v", got, tc.want)
			}
		})
	}
}
