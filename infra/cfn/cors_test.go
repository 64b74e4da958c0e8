package cfn

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// corsTemplate is a template with one HTTP API whose CorsConfiguration is cors (YAML, indented
// for the Properties level), and two parameters.
func corsTemplate(cors string) string {
	return `Parameters:
  Origins:
    Type: CommaDelimitedList
  Age:
    Type: Number
    Default: 30
  Fallback:
    Type: CommaDelimitedList
    Default: "https://a.example,https://b.example"
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
` + cors
}

func TestHTTPAPICors(t *testing.T) {
	tests := []struct {
		name    string
		cors    string
		params  map[string]string
		want    Cors
		wantOK  bool
		wantErr string
	}{
		{"literal values", `      CorsConfiguration:
        AllowOrigins: [https://app.example.com]
        AllowCredentials: true
        AllowMethods: [GET, POST]
        AllowHeaders: [Content-Type]
        ExposeHeaders: [X-Request-Id, Retry-After]
        MaxAge: 600
`, nil, Cors{AllowOrigins: []string{"https://app.example.com"}, AllowCredentials: true, AllowMethods: []string{"GET", "POST"},
			AllowHeaders: []string{"Content-Type"}, ExposeHeaders: []string{"X-Request-Id", "Retry-After"}, MaxAge: 600}, true, ""},
		{"!Ref of a CommaDelimitedList, as deployed", `      CorsConfiguration:
        AllowOrigins: !Ref Origins
        MaxAge: !Ref Age
`, map[string]string{"Origins": "http://localhost:5173, http://127.0.0.1:5173"},
			Cors{AllowOrigins: []string{"http://localhost:5173", "http://127.0.0.1:5173"}, MaxAge: 30}, true, ""},
		{"a parameter's Default when no value is given", `      CorsConfiguration:
        AllowOrigins: !Ref Fallback
`, nil, Cors{AllowOrigins: []string{"https://a.example", "https://b.example"}}, true, ""},
		{"!Ref as one item of a list", `      CorsConfiguration:
        AllowOrigins: [https://x.example, !Ref Origins]
`, map[string]string{"Origins": "https://y.example"}, Cors{AllowOrigins: []string{"https://x.example", "https://y.example"}}, true, ""},
		{"credentials as a string", `      CorsConfiguration:
        AllowCredentials: "false"
`, nil, Cors{}, true, ""},
		{"no CorsConfiguration", "      StageName: $default\n", nil, Cors{}, false, ""},
		{"a parameter with no value and no Default", `      CorsConfiguration:
        AllowOrigins: !Ref Origins
`, nil, Cors{}, false, "!Ref Origins"},
		{"a Ref of something else", `      CorsConfiguration:
        AllowOrigins: !Ref Api
`, nil, Cors{}, false, "!Ref Api"},
		{"another intrinsic", `      CorsConfiguration:
        AllowOrigins: [!Sub "https://${AWS::Region}.example"]
`, nil, Cors{}, false, "only strings and !Ref"},
		{"SAM's CorsConfiguration: true", "      CorsConfiguration: true\n", nil, Cors{}, false, "must be a mapping"},
		{"an unknown property", `      CorsConfiguration:
        AllowOrigin: [https://app.example.com]
`, nil, Cors{}, false, "unknown property AllowOrigin"},
		{"MaxAge out of range", `      CorsConfiguration:
        MaxAge: 90000
`, nil, Cors{}, false, "MaxAge"},
		{"AllowCredentials not a boolean", `      CorsConfiguration:
        AllowCredentials: maybe
`, nil, Cors{}, false, "AllowCredentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := Parse([]byte(corsTemplate(tt.cors)))
			if err != nil {
				t.Fatal(err)
			}
			got, ok, err := tpl.HTTPAPICors("Api", tt.params)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v %v, want %+v %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
	tpl, err := Parse([]byte(corsTemplate("")))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := tpl.HTTPAPICors("Nope", nil); err == nil {
		t.Error("a missing API was accepted")
	}
	if got := tpl.HTTPAPIs(); !slices.Equal(got, []string{"Api"}) {
		t.Errorf("HTTPAPIs() = %v", got)
	}
}

// TestRepositoryCors holds template.yaml's CORS rules to what a browser dashboard needs: only
// the AllowedOrigins parameter's origins (never a wildcard, the API allowing credentials), the
// headers a page sends and reads, and every method a route uses.
func TestRepositoryCors(t *testing.T) {
	tpl, _ := loadRepositoryTemplate(t)
	apis := tpl.HTTPAPIs()
	if len(apis) != 1 {
		t.Fatalf("HTTP APIs %v, want exactly one", apis)
	}
	raw, _ := tpl.Resources[apis[0]].Properties["CorsConfiguration"].(map[string]any)
	if target, ok := refTarget(raw["AllowOrigins"]); !ok || target != "AllowedOrigins" {
		t.Errorf("AllowOrigins = %s, want !Ref AllowedOrigins (one list for CORS and the cookie's Origin check)", text(raw["AllowOrigins"]))
	}
	c, ok, err := tpl.HTTPAPICors(apis[0], map[string]string{"AllowedOrigins": "https://app.example.com"})
	if err != nil || !ok {
		t.Fatalf("CorsConfiguration: %v %v", ok, err)
	}
	if !c.AllowCredentials {
		t.Error("AllowCredentials is not true: the session cookie would never be sent")
	}
	for _, h := range []string{"Retry-After", "X-Request-Id", "Content-Disposition"} {
		if !slices.Contains(c.ExposeHeaders, h) {
			t.Errorf("ExposeHeaders %v lacks %s: a page could not read it", c.ExposeHeaders, h)
		}
	}
	for _, h := range []string{"Content-Type", "Authorization"} {
		if !slices.Contains(c.AllowHeaders, h) {
			t.Errorf("AllowHeaders %v lacks %s", c.AllowHeaders, h)
		}
	}
	if c.MaxAge <= 0 {
		t.Errorf("MaxAge %d: every request would be preceded by a preflight", c.MaxAge)
	}
	for id, routes := range tpl.HTTPRoutes() {
		for _, route := range routes {
			if route == DefaultRoute {
				continue // no route of the API, only the answer to unknown ones
			}
			// Every route's method must pass a preflight (a JSON POST is preflighted too).
			if m, _, _ := strings.Cut(route, " "); !slices.Contains(c.AllowMethods, m) {
				t.Errorf("%s %s: method %s is not in AllowMethods %v", id, route, m, c.AllowMethods)
			}
		}
	}
}
