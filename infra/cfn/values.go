package cfn

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// Helpers over the long-form values Parse produces.

// literalString returns v when it is a plain string (not an intrinsic function).
func literalString(v any) (string, bool) {
	s, ok := v.(string)
	return s, ok
}

// literalInt returns v as an integer; CloudFormation accepts numbers written as strings too.
func literalInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	case string:
		if i, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64); err == nil {
			return i, true
		}
	}
	return 0, false
}

// literalBool returns v as a boolean; CloudFormation accepts "true"/"false" strings too.
func literalBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(x) {
		case "true":
			return true, true
		case "false":
			return false, true
		}
	}
	return false, false
}

// list returns v as a list: a list as is, nil as empty, anything else as a list of one.
func list(v any) []any {
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		return x
	}
	return []any{v}
}

// intrinsic returns the function name and argument when v is a one-key intrinsic function
// mapping such as {"Ref": "X"} or {"Fn::GetAtt": ["X", "Arn"]}.
func intrinsic(v any) (name string, arg any, ok bool) {
	m, isMap := v.(map[string]any)
	if !isMap || len(m) != 1 {
		return "", nil, false
	}
	for k, a := range m {
		if k == "Ref" || k == "Condition" || strings.HasPrefix(k, "Fn::") {
			return k, a, true
		}
	}
	return "", nil, false
}

// refTarget returns X for {"Ref": "X"}.
func refTarget(v any) (string, bool) {
	name, arg, ok := intrinsic(v)
	if !ok || name != "Ref" {
		return "", false
	}
	return literalString(arg)
}

// getAttTarget returns X and A for {"Fn::GetAtt": ["X", "A"]}.
func getAttTarget(v any) (resource, attribute string, ok bool) {
	name, arg, isFn := intrinsic(v)
	if !isFn || name != "Fn::GetAtt" {
		return "", "", false
	}
	parts, isList := arg.([]any)
	if !isList || len(parts) != 2 {
		return "", "", false
	}
	resource, ok1 := literalString(parts[0])
	attribute, ok2 := literalString(parts[1])
	return resource, attribute, ok1 && ok2
}

// text renders a value for matching and messages: a string as is, anything else as JSON
// (map keys sorted, so the text is stable).
func text(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "<unrenderable>"
	}
	return string(b)
}

// stringLeaves calls fn with every string inside v, however deeply nested.
func stringLeaves(v any, fn func(string)) {
	switch x := v.(type) {
	case string:
		fn(x)
	case []any:
		for _, e := range x {
			stringLeaves(e, fn)
		}
	case map[string]any:
		for _, e := range x {
			stringLeaves(e, fn)
		}
	}
}
