package cfn

import (
	"fmt"
	"regexp"
	"slices"
)

// RuleConditions: every Condition a resource, an output or an Fn::If names is declared in
// Conditions; and a resource created only under a condition is referred to (Ref, Fn::GetAtt, a
// ${Name} of Fn::Sub, DependsOn) only where that condition holds: from a resource or output
// carrying the same Condition, or from the true branch of an Fn::If on it. CloudFormation refuses
// to deploy such a template only when the condition is false, which a deployment with the
// default parameters never tries (the API's custom domain is the case in point).
const RuleConditions Rule = "conditions"

// subReference matches a ${Name} or ${Name.Attribute} of Fn::Sub (not ${!Literal}, not
// ${AWS::Region}).
var subReference = regexp.MustCompile(`\$\{([A-Za-z0-9]+)(\.[A-Za-z0-9.]+)?\}`)

func checkConditions(t *Template) []*Problem {
	var ps []*Problem
	conditional := map[string]string{} // resource -> its Condition
	for id, r := range t.Resources {
		// An undeclared condition is reported once, on the resource itself.
		if c, ok := r.Raw["Condition"].(string); ok && t.Conditions[c] != nil {
			conditional[id] = c
		}
	}
	check := func(kind, id string, raw map[string]any) {
		add := func(format string, args ...any) {
			ps = append(ps, &Problem{RuleConditions, id, fmt.Sprintf(format, args...)})
		}
		var guards []string
		if c, present := raw["Condition"]; present {
			name, ok := c.(string)
			if !ok || t.Conditions[name] == nil {
				add("%s Condition %s is not declared in Conditions", kind, text(c))
			} else {
				guards = append(guards, name)
			}
		}
		refer := func(target string, guards []string, how string) {
			if c, ok := conditional[target]; ok && !slices.Contains(guards, c) {
				add("%s %s, which exists only under Condition %s, outside that condition (give %s the same Condition, or wrap the reference in !If [%s, ...])",
					how, target, c, id, c)
			}
		}
		for _, d := range list(raw["DependsOn"]) {
			if s, ok := d.(string); ok {
				refer(s, guards, "depends on")
			}
		}
		var walk func(v any, guards []string)
		walk = func(v any, guards []string) {
			if name, arg, ok := intrinsic(v); ok {
				switch name {
				case "Ref":
					if s, isString := arg.(string); isString {
						refer(s, guards, "refers to")
					}
					return
				case "Fn::GetAtt":
					if res, _, isGetAtt := getAttTarget(v); isGetAtt {
						refer(res, guards, "refers to")
					}
					return
				case "Fn::If":
					args, isList := arg.([]any)
					cond, isString := "", false
					if isList && len(args) == 3 {
						cond, isString = args[0].(string)
					}
					if !isString || t.Conditions[cond] == nil {
						add("Fn::If on %s, which is not a condition declared in Conditions", text(arg))
						return
					}
					walk(args[1], append(slices.Clone(guards), cond))
					walk(args[2], guards)
					return
				case "Fn::Sub":
					tmpl, vars := arg, map[string]any{}
					if l, isList := arg.([]any); isList && len(l) == 2 {
						tmpl = l[0]
						vars, _ = l[1].(map[string]any)
						walk(l[1], guards)
					}
					if s, isString := tmpl.(string); isString {
						for _, m := range subReference.FindAllStringSubmatch(s, -1) {
							if _, isVar := vars[m[1]]; !isVar {
								refer(m[1], guards, "refers to")
							}
						}
					}
					return
				}
			}
			switch x := v.(type) {
			case []any:
				for _, e := range x {
					walk(e, guards)
				}
			case map[string]any:
				for _, e := range x {
					walk(e, guards)
				}
			}
		}
		for k, v := range raw {
			if k != "Condition" && k != "DependsOn" {
				walk(v, guards)
			}
		}
	}
	for id, r := range t.Resources {
		check("resource", id, r.Raw)
	}
	for id, o := range t.Outputs {
		if raw, ok := o.(map[string]any); ok {
			check("output", "Outputs."+id, raw)
		}
	}
	return ps
}
