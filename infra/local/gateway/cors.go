package gateway

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/atrium-cdn/atrium/infra/cfn"
)

// WithCORS puts h behind the CORS handling API Gateway gives the template's HTTP API: the
// CorsConfiguration of the one AWS::Serverless::HttpApi in the template at templatePath, each
// !Ref of a parameter resolved to params (the values the local stack deploys with, see
// stack.Stack.Parameters) or the parameter's Default. Nothing of it is copied into code: change
// the template and the local gateway follows.
func WithCORS(h http.Handler, templatePath string, params map[string]string) (http.Handler, error) {
	tmpl, err := cfn.Load(templatePath)
	if err != nil {
		return nil, fmt.Errorf("read the CORS configuration: %w", err)
	}
	apis := tmpl.HTTPAPIs()
	if len(apis) != 1 {
		return nil, fmt.Errorf("read the CORS configuration: %s declares %d HTTP APIs, the local gateway serves exactly one", templatePath, len(apis))
	}
	c, ok, err := tmpl.HTTPAPICors(apis[0], params)
	if err != nil {
		return nil, fmt.Errorf("read the CORS configuration: %w", err)
	}
	if !ok {
		return StripCORS(h), nil
	}
	return CORS(h, c), nil
}

// CORS answers and decorates requests as API Gateway does for an HTTP API with c as its
// CorsConfiguration (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-cors.html):
//
//   - A preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered by the
//     gateway itself, whatever its path, with 204 and no body; h is never invoked. From an allowed
//     origin the answer carries Access-Control-Allow-Origin (the origin), -Allow-Credentials,
//     -Allow-Methods, -Allow-Headers and -Max-Age as configured; from any other origin it carries
//     none of them, and the browser refuses the request it asked about.
//   - Any other request reaches h. A response to an allowed Origin carries
//     Access-Control-Allow-Origin, -Allow-Credentials and -Expose-Headers; to any other it carries
//     none.
//   - Access-Control-* headers that h sets are dropped: with CORS configured, API Gateway
//     ignores the integration's own.
//
// Responses that depend on Origin say so with Vary: Origin, for any cache between.
func CORS(h http.Handler, c Cors) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		allowed := origin != "" && allowsOrigin(c, origin)
		if r.Method == http.MethodOptions && origin != "" && r.Header.Get("Access-Control-Request-Method") != "" {
			hd := w.Header()
			if allowed {
				allowOrigin(c, hd, origin)
				if len(c.AllowMethods) > 0 {
					hd.Set("Access-Control-Allow-Methods", strings.Join(c.AllowMethods, ","))
				}
				if len(c.AllowHeaders) > 0 {
					hd.Set("Access-Control-Allow-Headers", strings.Join(c.AllowHeaders, ","))
				}
				if c.MaxAge > 0 {
					hd.Set("Access-Control-Max-Age", strconv.Itoa(c.MaxAge))
				}
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		fix := func(hd http.Header) {
			dropCORS(hd)
			if allowed {
				allowOrigin(c, hd, origin)
				if len(c.ExposeHeaders) > 0 {
					hd.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ","))
				}
			}
		}
		cw := &corsWriter{ResponseWriter: w, fix: fix}
		h.ServeHTTP(cw, r)
		cw.apply() // a handler that wrote nothing: net/http sends the headers after it returns
	})
}

// Cors is a resolved CorsConfiguration (see cfn.Template.HTTPAPICors).
type Cors = cfn.Cors

// StripCORS drops the Access-Control-* headers h sets; an API without CorsConfiguration has
// none of its own to add.
func StripCORS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &corsWriter{ResponseWriter: w, fix: dropCORS}
		h.ServeHTTP(cw, r)
		cw.apply()
	})
}

// allowsOrigin reports whether c lets origin in: listed exactly, or "*" listed.
func allowsOrigin(c Cors, origin string) bool {
	return slices.Contains(c.AllowOrigins, origin) || slices.Contains(c.AllowOrigins, "*")
}

// allowOrigin sets the headers that let origin read the response.
func allowOrigin(c Cors, hd http.Header, origin string) {
	if slices.Contains(c.AllowOrigins, origin) || c.AllowCredentials {
		hd.Set("Access-Control-Allow-Origin", origin)
	} else {
		hd.Set("Access-Control-Allow-Origin", "*")
	}
	if c.AllowCredentials {
		hd.Set("Access-Control-Allow-Credentials", "true")
	}
	hd.Add("Vary", "Origin")
}

func dropCORS(hd http.Header) {
	for k := range hd {
		if strings.HasPrefix(k, "Access-Control-") {
			delete(hd, k)
		}
	}
}

// corsWriter fixes the response's headers once, just before they are written.
type corsWriter struct {
	http.ResponseWriter
	fix     func(http.Header)
	applied bool
}

func (w *corsWriter) apply() {
	if !w.applied {
		w.applied = true
		w.fix(w.ResponseWriter.Header())
	}
}

func (w *corsWriter) WriteHeader(code int) {
	w.apply()
	w.ResponseWriter.WriteHeader(code)
}

func (w *corsWriter) Write(b []byte) (int, error) {
	w.apply()
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *corsWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
