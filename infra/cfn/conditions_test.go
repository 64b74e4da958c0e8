package cfn

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// conditionsFixture has a custom domain created only under HasDomain, referred to correctly.
const conditionsFixture = `
Parameters:
  DomainName: {Type: String, Default: ""}
Conditions:
  HasDomain: !Not [!Equals [!Ref DomainName, ""]]
  Other: !Equals [!Ref DomainName, x]
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
  Domain:
    Type: AWS::ApiGatewayV2::DomainName
    Condition: HasDomain
    Properties:
      DomainName: !Ref DomainName
  Mapping:
    Type: AWS::ApiGatewayV2::ApiMapping
    Condition: HasDomain
    Properties:
      DomainName: !Ref Domain
      ApiId: !Ref Api
      Stage: $default
  Plain:
    Type: AWS::SNS::Topic
    Properties:
      DisplayName: !If [HasDomain, !GetAtt Domain.RegionalDomainName, !Sub "${Api}-${!Domain}-${AWS::Region}"]
      Tags:
        - Key: x
          Value: !Sub ["${D}", {D: !If [HasDomain, !Ref Domain, none]}]
Outputs:
  Url:
    Value: !If [HasDomain, !Sub "https://${Domain}/", !Sub "https://${Api}.example/"]
  Target:
    Condition: HasDomain
    Value: !GetAtt Domain.RegionalDomainName
`

func TestCheckConditions(t *testing.T) {
	tests := []struct {
		name  string
		edits []string // old, new pairs, each old found exactly once
		want  []string // "<resource>: <detail fragment>"
	}{
		{"clean", nil, nil},
		{"the mapping without the condition", []string{"    Type: AWS::ApiGatewayV2::ApiMapping\n    Condition: HasDomain\n", "    Type: AWS::ApiGatewayV2::ApiMapping\n"},
			[]string{"Mapping: refers to Domain"}},
		{"the mapping under another condition", []string{"    Type: AWS::ApiGatewayV2::ApiMapping\n    Condition: HasDomain\n", "    Type: AWS::ApiGatewayV2::ApiMapping\n    Condition: Other\n"},
			[]string{"Mapping: refers to Domain"}},
		{"an output without the condition", []string{"    Condition: HasDomain\n    Value: !GetAtt", "    Value: !GetAtt"},
			[]string{"Outputs.Target: refers to Domain"}},
		{"a reference in the false branch of !If", []string{`!Sub "https://${Domain}/", !Sub "https://${Api}.example/"`, `!Sub "https://${Api}.example/", !Sub "https://${Domain}/"`},
			[]string{"Outputs.Url: refers to Domain"}},
		{"a GetAtt outside any !If", []string{`DisplayName: !If [HasDomain, !GetAtt Domain.RegionalDomainName, !Sub "${Api}-${!Domain}-${AWS::Region}"]`, "DisplayName: !GetAtt Domain.RegionalDomainName"},
			[]string{"Plain: refers to Domain"}},
		{"a Sub variable is no resource", []string{`Value: !Sub ["${D}", {D: !If [HasDomain, !Ref Domain, none]}]`, `Value: !Sub ["${Domain}", {Domain: x}]`},
			nil},
		{"a Sub variable's value is checked", []string{`{D: !If [HasDomain, !Ref Domain, none]}`, `{D: !Ref Domain}`},
			[]string{"Plain: refers to Domain"}},
		{"DependsOn", []string{"  Plain:\n    Type: AWS::SNS::Topic\n", "  Plain:\n    Type: AWS::SNS::Topic\n    DependsOn: [Api, Domain]\n"},
			[]string{"Plain: depends on Domain"}},
		{"an undeclared Condition", []string{"    Type: AWS::ApiGatewayV2::DomainName\n    Condition: HasDomain\n", "    Type: AWS::ApiGatewayV2::DomainName\n    Condition: HasDomian\n"},
			[]string{"Domain: resource Condition HasDomian is not declared"}},
		{"an !If on an undeclared condition", []string{"Value: !If [HasDomain, !Sub", "Value: !If [HasDomian, !Sub"},
			[]string{"Outputs.Url: Fn::If on"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := conditionsFixture
			for i := 0; i < len(tt.edits); i += 2 {
				if strings.Count(src, tt.edits[i]) != 1 {
					t.Fatalf("fixture holds %q %d times, want once", tt.edits[i], strings.Count(src, tt.edits[i]))
				}
				src = strings.Replace(src, tt.edits[i], tt.edits[i+1], 1)
			}
			tpl, err := Parse([]byte(src))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range checkConditions(tpl) {
				if p.Rule != RuleConditions {
					t.Errorf("rule %s", p.Rule)
				}
				got = append(got, p.Resource+": "+p.Detail)
			}
			slices.Sort(got)
			if len(got) != len(tt.want) {
				t.Fatalf("got %q, want findings starting %q", got, tt.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tt.want[i]) {
					t.Errorf("finding %q, want one starting %q", got[i], tt.want[i])
				}
			}
		})
	}
}

// TestRepositoryApiDomain holds the optional custom domain of template.yaml to the same-site
// cookie set-up: two optional parameters (given together or not at all), both resources under
// one condition on them, a regional TLS 1.2 endpoint mapped to the HTTP API, and the DNS target
// in the outputs.
func TestRepositoryApiDomain(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	type m = map[string]any
	type l = []any
	for _, name := range []string{"ApiDomainName", "ApiCertificateArn"} {
		p, _ := tpl.Parameters[name].(map[string]any)
		if p["Default"] != "" {
			t.Errorf("parameter %s: Default %v, want \"\" (optional)", name, p["Default"])
		}
	}
	wantCond := m{"Fn::Not": l{m{"Fn::Equals": l{m{"Ref": "ApiDomainName"}, ""}}}}
	if !reflect.DeepEqual(tpl.Conditions["HasApiDomain"], wantCond) {
		t.Errorf("HasApiDomain = %s, want %s", text(tpl.Conditions["HasApiDomain"]), text(wantCond))
	}
	rules, _ := tpl.Raw["Rules"].(map[string]any)
	for _, pair := range [][2]string{{"ApiDomainName", "ApiCertificateArn"}, {"ApiCertificateArn", "ApiDomainName"}} {
		found := false
		for _, r := range rules {
			rule, _ := r.(map[string]any)
			set := func(p string) any { return m{"Fn::Not": l{m{"Fn::Equals": l{m{"Ref": p}, ""}}}} }
			asserts, _ := rule["Assertions"].([]any)
			for _, a := range asserts {
				am, _ := a.(map[string]any)
				if reflect.DeepEqual(rule["RuleCondition"], set(pair[0])) && reflect.DeepEqual(am["Assert"], set(pair[1])) {
					found = true
				}
			}
		}
		if !found {
			t.Errorf("no rule refuses %s without %s", pair[0], pair[1])
		}
	}

	domains, mappings := tpl.ofType("AWS::ApiGatewayV2::DomainName"), tpl.ofType("AWS::ApiGatewayV2::ApiMapping")
	if len(domains) != 1 || len(mappings) != 1 {
		t.Fatalf("domain names %v, API mappings %v: want one of each", domains, mappings)
	}
	domain, mapping := tpl.Resources[domains[0]], tpl.Resources[mappings[0]]
	for id, r := range map[string]Resource{domains[0]: domain, mappings[0]: mapping} {
		if r.Raw["Condition"] != "HasApiDomain" {
			t.Errorf("%s: Condition %v, want HasApiDomain", id, r.Raw["Condition"])
		}
	}
	if target, _ := refTarget(domain.Properties["DomainName"]); target != "ApiDomainName" {
		t.Errorf("DomainName %s, want !Ref ApiDomainName", text(domain.Properties["DomainName"]))
	}
	wantConfig := l{m{"CertificateArn": m{"Ref": "ApiCertificateArn"}, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}}
	if !reflect.DeepEqual(domain.Properties["DomainNameConfigurations"], wantConfig) {
		t.Errorf("DomainNameConfigurations %s, want %s", text(domain.Properties["DomainNameConfigurations"]), text(wantConfig))
	}
	apis := tpl.HTTPAPIs()
	if target, _ := refTarget(mapping.Properties["ApiId"]); len(apis) != 1 || target != apis[0] {
		t.Errorf("mapping ApiId %s, want !Ref of the HTTP API %v", text(mapping.Properties["ApiId"]), apis)
	}
	if target, _ := refTarget(mapping.Properties["DomainName"]); target != domains[0] {
		t.Errorf("mapping DomainName %s, want !Ref %s", text(mapping.Properties["DomainName"]), domains[0])
	}
	if _, hasKey := mapping.Properties["ApiMappingKey"]; hasKey {
		t.Error("the mapping has an ApiMappingKey: the dashboard calls the API at the domain's root")
	}
	out, _ := tpl.Outputs["ApiDomainTarget"].(map[string]any)
	if res, attr, ok := getAttTarget(out["Value"]); !ok || res != domains[0] || attr != "RegionalDomainName" || out["Condition"] != "HasApiDomain" {
		t.Errorf("output ApiDomainTarget %s, want !GetAtt %s.RegionalDomainName under HasApiDomain", text(out), domains[0])
	}
}
