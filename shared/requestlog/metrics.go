package requestlog

import (
	"encoding/json"
	"io"
	"time"
)

// Metric is one CloudWatch metric value.
type Metric struct {
	Name  string
	Unit  string // "Count", "Seconds", ...
	Value float64
}

// EmitMetrics writes one Embedded Metric Format line: CloudWatch Logs turns
// it into metrics in namespace Atrium with the dimension Function.
func EmitMetrics(w io.Writer, t time.Time, function string, metrics ...Metric) {
	if w == nil {
		return
	}
	defs := make([]map[string]string, len(metrics))
	line := map[string]any{"Function": function}
	for i, m := range metrics {
		defs[i] = map[string]string{"Name": m.Name, "Unit": m.Unit}
		line[m.Name] = m.Value
	}
	line["_aws"] = map[string]any{
		"Timestamp": t.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace": "Atrium", "Dimensions": [][]string{{"Function"}}, "Metrics": defs,
		}},
	}
	_ = json.NewEncoder(w).Encode(line)
}
