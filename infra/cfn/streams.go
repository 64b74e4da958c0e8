package cfn

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// StreamEvent is a function's `Type: DynamoDB` event: an event source mapping that has Lambda
// read a table's stream and invoke the function with batches of its records.
type StreamEvent struct {
	Function string // the function's logical id
	Name     string // the event's name under Events
	Table    string // the logical id of the table whose stream it reads (Stream: !GetAtt <Table>.StreamArn)
	// StartingPosition is TRIM_HORIZON or LATEST.
	StartingPosition string
	BatchSize        int // 100 when the template leaves it out (Lambda's default for streams)
	// MaximumRetryAttempts is how often a failed batch (or record) is delivered again before
	// Lambda gives it up; -1 (the default) means until the record expires from the stream.
	MaximumRetryAttempts int
	// ReportBatchItemFailures: the function names the records that failed (FunctionResponseTypes).
	ReportBatchItemFailures bool
	// Filters are the FilterCriteria patterns: a record is delivered when it matches any, every
	// record when there is none.
	Filters []Filter
}

// StreamEvents returns every DynamoDB stream event of the template's functions, sorted by
// function and event name. What cannot be read literally is an error.
func (t *Template) StreamEvents() ([]StreamEvent, error) {
	var out []StreamEvent
	for _, fn := range t.Functions() {
		events, _ := t.Resources[fn].Properties["Events"].(map[string]any)
		names := make([]string, 0, len(events))
		for name := range events {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			e, _ := events[name].(map[string]any)
			if e["Type"] != "DynamoDB" {
				continue
			}
			ev, err := streamEvent(fn, name, e)
			if err != nil {
				return nil, fmt.Errorf("cfn: %s event %s: %w", fn, name, err)
			}
			out = append(out, ev)
		}
	}
	return out, nil
}

func streamEvent(fn, name string, e map[string]any) (StreamEvent, error) {
	p, _ := e["Properties"].(map[string]any)
	ev := StreamEvent{Function: fn, Name: name, BatchSize: 100, MaximumRetryAttempts: -1}
	table, attr, ok := getAttTarget(p["Stream"])
	if !ok || attr != "StreamArn" {
		return ev, fmt.Errorf("property Stream %s is not !GetAtt <Table>.StreamArn", text(p["Stream"]))
	}
	ev.Table = table
	if ev.StartingPosition, ok = literalString(p["StartingPosition"]); !ok || (ev.StartingPosition != "TRIM_HORIZON" && ev.StartingPosition != "LATEST") {
		return ev, fmt.Errorf("StartingPosition %s is not TRIM_HORIZON or LATEST", text(p["StartingPosition"]))
	}
	if v, set := p["BatchSize"]; set {
		n, ok := literalInt(v)
		if !ok || n < 1 || n > 10000 {
			return ev, fmt.Errorf("BatchSize %s is not a number from 1 to 10000", text(v))
		}
		ev.BatchSize = int(n)
	}
	if v, set := p["MaximumRetryAttempts"]; set {
		n, ok := literalInt(v)
		if !ok || n < -1 || n > 10000 {
			return ev, fmt.Errorf("MaximumRetryAttempts %s is not a number from -1 to 10000", text(v))
		}
		ev.MaximumRetryAttempts = int(n)
	}
	for _, rt := range list(p["FunctionResponseTypes"]) {
		if s, ok := literalString(rt); !ok || s != "ReportBatchItemFailures" {
			return ev, fmt.Errorf("FunctionResponseTypes holds %s", text(rt))
		}
		ev.ReportBatchItemFailures = true
	}
	if fc, set := p["FilterCriteria"]; set {
		fm, _ := fc.(map[string]any)
		for i, f := range list(fm["Filters"]) {
			m, _ := f.(map[string]any)
			s, ok := literalString(m["Pattern"])
			if !ok {
				return ev, fmt.Errorf("FilterCriteria.Filters[%d].Pattern is not a literal string", i)
			}
			flt, err := ParseFilter(s)
			if err != nil {
				return ev, fmt.Errorf("FilterCriteria.Filters[%d]: %w", i, err)
			}
			ev.Filters = append(ev.Filters, flt)
		}
		if len(ev.Filters) == 0 {
			return ev, fmt.Errorf("FilterCriteria has no Filters")
		}
	}
	return ev, nil
}

// Delivers reports whether Lambda delivers a record (the record's JSON, as the function
// receives it) under the event's filters.
func (e StreamEvent) Delivers(record []byte) (bool, error) {
	if len(e.Filters) == 0 {
		return true, nil
	}
	var r any
	if err := json.Unmarshal(record, &r); err != nil {
		return false, fmt.Errorf("cfn: record is not JSON: %w", err)
	}
	return slices.ContainsFunc(e.Filters, func(f Filter) bool { return f.Matches(r) }), nil
}

// Filter is one of Lambda's event filtering patterns, in the subset this package understands:
// nested objects whose leaves are lists of exact strings, numbers, booleans or nulls, or of
// {"prefix": "..."}. ParseFilter refuses anything else, so that a pattern the local stack cannot
// apply exactly is an error rather than a filter applied differently than in AWS.
type Filter struct {
	fields map[string]filterField
}

type filterField struct {
	nested *Filter
	values []filterValue
}

type filterValue struct {
	exact  any
	prefix *string
}

// ParseFilter reads a pattern.
func ParseFilter(pattern string) (Filter, error) {
	var v any
	if err := json.Unmarshal([]byte(pattern), &v); err != nil {
		return Filter{}, fmt.Errorf("filter pattern is not JSON: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		return Filter{}, fmt.Errorf("filter pattern is not a non-empty JSON object")
	}
	return parseFilter(m, "")
}

func parseFilter(m map[string]any, at string) (Filter, error) {
	f := Filter{fields: map[string]filterField{}}
	for k, v := range m {
		path := strings.TrimPrefix(at+"."+k, ".")
		switch x := v.(type) {
		case map[string]any:
			if len(x) == 0 {
				return Filter{}, fmt.Errorf("filter field %s is an empty object", path)
			}
			nested, err := parseFilter(x, path)
			if err != nil {
				return Filter{}, err
			}
			f.fields[k] = filterField{nested: &nested}
		case []any:
			if len(x) == 0 {
				return Filter{}, fmt.Errorf("filter field %s matches nothing", path)
			}
			var values []filterValue
			for _, c := range x {
				switch cv := c.(type) {
				case string, float64, bool, nil:
					values = append(values, filterValue{exact: cv})
				case map[string]any:
					p, ok := cv["prefix"].(string)
					if len(cv) != 1 || !ok {
						return Filter{}, fmt.Errorf("filter field %s: only {\"prefix\": \"...\"} is understood, not %s", path, text(cv))
					}
					values = append(values, filterValue{prefix: &p})
				default:
					return Filter{}, fmt.Errorf("filter field %s: %v is not understood", path, c)
				}
			}
			f.fields[k] = filterField{values: values}
		default:
			return Filter{}, fmt.Errorf("filter field %s must be an object or a list", path)
		}
	}
	return f, nil
}

// Matches reports whether a decoded JSON value matches the pattern: every field the pattern
// names is present and matches (a list field of the record matches when any element does).
func (f Filter) Matches(v any) bool {
	m, ok := v.(map[string]any)
	if !ok {
		return false
	}
	for k, field := range f.fields {
		got, present := m[k]
		if !present {
			return false
		}
		if field.nested != nil {
			if !field.nested.Matches(got) {
				return false
			}
			continue
		}
		candidates := []any{got}
		if l, isList := got.([]any); isList {
			candidates = l
		}
		if !slices.ContainsFunc(candidates, field.matches) {
			return false
		}
	}
	return true
}

func (field filterField) matches(v any) bool {
	return slices.ContainsFunc(field.values, func(fv filterValue) bool {
		if fv.prefix != nil {
			s, ok := v.(string)
			return ok && strings.HasPrefix(s, *fv.prefix)
		}
		return fv.exact == v
	})
}
