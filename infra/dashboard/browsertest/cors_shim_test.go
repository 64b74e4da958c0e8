package browsertest

import (
	"net/http"
	"testing"
)

// withCORS is a stand-in until the local gateway's CORS (branch h-cors) is merged.
func withCORS(_ testing.TB, e *env, h http.Handler) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") == e.appURL {
			w.Header().Set("Access-Control-Allow-Origin", e.appURL)
			w.Header().Set("Access-Control-Allow-Credentials", "true")
			w.Header().Set("Access-Control-Expose-Headers", "Retry-After,X-Request-Id,Content-Disposition")
			if r.Method == http.MethodOptions {
				w.Header().Set("Access-Control-Allow-Methods", "GET,POST,PUT,PATCH,DELETE")
				w.Header().Set("Access-Control-Allow-Headers", "Content-Type,Authorization")
				w.WriteHeader(http.StatusNoContent)
				return
			}
		}
		h.ServeHTTP(w, r)
	}), nil
}
