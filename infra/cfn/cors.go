package cfn

import (
	"errors"
	"fmt"
	"strings"
)

// TypeServerlessHTTPAPI is SAM's HTTP API resource, whose CorsConfiguration API Gateway applies.
const TypeServerlessHTTPAPI = "AWS::Serverless::HttpApi"

// Cors is an HTTP API's CorsConfiguration with every value resolved: what API Gateway answers
// preflights with and adds to the integration's responses.
type Cors struct {
	AllowOrigins     []string
	AllowCredentials bool
	AllowMethods     []string
	AllowHeaders     []string
	ExposeHeaders    []string
	MaxAge           int // seconds; 0 means none sent
}

// HTTPAPIs returns the logical ids of the template's AWS::Serverless::HttpApi resources, sorted.
func (t *Template) HTTPAPIs() []string {
	return t.ofType(TypeServerlessHTTPAPI)
}

// HTTPAPICors returns the CorsConfiguration of the AWS::Serverless::HttpApi api, each !Ref of a
// parameter resolved to params[name] (the value a deployment passes; a CommaDelimitedList as
// its comma-separated text) or else to the parameter's Default. ok is false when the API has no
// CorsConfiguration. Intrinsic functions other than !Ref of a parameter are refused: the local
// gateway could not follow them.
func (t *Template) HTTPAPICors(api string, params map[string]string) (c Cors, ok bool, err error) {
	r, found := t.Resources[api]
	if !found || r.Type != TypeServerlessHTTPAPI {
		return Cors{}, false, fmt.Errorf("cfn: %s is not an %s of the template", api, TypeServerlessHTTPAPI)
	}
	raw, found := r.Properties["CorsConfiguration"]
	if !found || raw == nil {
		return Cors{}, false, nil
	}
	m, isMap := raw.(map[string]any)
	if !isMap {
		// SAM's `CorsConfiguration: true` (every origin) is deliberately not followed: the
		// API allows credentials, which a wildcard origin cannot have.
		return Cors{}, false, fmt.Errorf("cfn: %s.CorsConfiguration: %w", api, errors.New("must be a mapping"))
	}
	for k := range m {
		switch k {
		case "AllowOrigins", "AllowCredentials", "AllowMethods", "AllowHeaders", "ExposeHeaders", "MaxAge":
		default:
			return Cors{}, false, fmt.Errorf("cfn: %s.CorsConfiguration: unknown property %s", api, k)
		}
	}
	field := func(name string) ([]string, error) {
		v, err := t.resolveList(m[name], params)
		if err != nil {
			return nil, fmt.Errorf("cfn: %s.CorsConfiguration.%s: %w", api, name, err)
		}
		return v, nil
	}
	if c.AllowOrigins, err = field("AllowOrigins"); err != nil {
		return Cors{}, false, err
	}
	if c.AllowMethods, err = field("AllowMethods"); err != nil {
		return Cors{}, false, err
	}
	if c.AllowHeaders, err = field("AllowHeaders"); err != nil {
		return Cors{}, false, err
	}
	if c.ExposeHeaders, err = field("ExposeHeaders"); err != nil {
		return Cors{}, false, err
	}
	if v, present := m["AllowCredentials"]; present {
		b, isBool := literalBool(t.resolveScalar(v, params))
		if !isBool {
			return Cors{}, false, fmt.Errorf("cfn: %s.CorsConfiguration.AllowCredentials: %s is not a boolean", api, text(v))
		}
		c.AllowCredentials = b
	}
	if v, present := m["MaxAge"]; present {
		n, isInt := literalInt(t.resolveScalar(v, params))
		if !isInt || n < 0 || n > 86400 {
			return Cors{}, false, fmt.Errorf("cfn: %s.CorsConfiguration.MaxAge: %s is not a number of seconds up to 86400", api, text(v))
		}
		c.MaxAge = int(n)
	}
	return c, true, nil
}

// resolveScalar resolves !Ref of a parameter; anything else is returned as it is.
func (t *Template) resolveScalar(v any, params map[string]string) any {
	if name, isRef := refTarget(v); isRef {
		if s, found := t.parameterValue(name, params); found {
			return s
		}
	}
	return v
}

// resolveList resolves a list of strings whose items (or the whole list) may be !Ref of a
// parameter; a CommaDelimitedList parameter contributes each of its comma-separated values.
func (t *Template) resolveList(v any, params map[string]string) ([]string, error) {
	var out []string
	add := func(item any) error {
		if name, isRef := refTarget(item); isRef {
			s, found := t.parameterValue(name, params)
			if !found {
				return fmt.Errorf("!Ref %s: no such parameter, or no value and no Default", name)
			}
			for _, part := range strings.Split(s, ",") {
				if part = strings.TrimSpace(part); part != "" {
					out = append(out, part)
				}
			}
			return nil
		}
		s, isString := literalString(item)
		if !isString {
			return fmt.Errorf("%s: only strings and !Ref of a parameter are supported", text(item))
		}
		out = append(out, s)
		return nil
	}
	if _, isRef := refTarget(v); isRef {
		return out, add(v)
	}
	for _, item := range list(v) {
		if err := add(item); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// parameterValue is params[name] when given, else the parameter's Default.
func (t *Template) parameterValue(name string, params map[string]string) (string, bool) {
	p, isParam := t.Parameters[name].(map[string]any)
	if !isParam {
		return "", false
	}
	if s, given := params[name]; given {
		return s, true
	}
	d, hasDefault := p["Default"]
	if !hasDefault {
		return "", false
	}
	if l, isList := d.([]any); isList {
		parts := make([]string, 0, len(l))
		for _, e := range l {
			parts = append(parts, text(e))
		}
		return strings.Join(parts, ","), true
	}
	return text(d), true
}
