package web

import (
	"log/slog"
	"net/http"
	"sync"
)

// Router is an http.ServeMux whose 404 and 405 answers are problem documents
// like every other error of the API.
type Router struct {
	mux    *http.ServeMux
	logger *slog.Logger

	mu       sync.RWMutex
	patterns map[string]bool // every pattern registered, as the mux spells it
	fallback http.Handler    // serves what no pattern matches; nil: answer 404/405
}

// NewRouter returns an empty Router.
func NewRouter(logger *slog.Logger) *Router {
	return &Router{mux: http.NewServeMux(), logger: logger, patterns: map[string]bool{}}
}

// Handle registers h for a Go 1.22 method-and-path pattern such as "POST /v1/login".
func (rt *Router) Handle(pattern string, h HandlerFunc) {
	rt.register(pattern, Handle(rt.logger, h))
}

func (rt *Router) register(pattern string, h http.Handler) {
	rt.mux.Handle(pattern, h) // panics on an invalid or conflicting pattern, before it is recorded
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.patterns[pattern] = true
}

func (rt *Router) registered(pattern string) bool {
	rt.mu.RLock()
	defer rt.mu.RUnlock()
	return rt.patterns[pattern]
}

func (rt *Router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The mux names a registered pattern for a match (and for its redirect
	// to the cleaned path), but for a CONNECT trailing-slash redirect it names
	// the raw path, which must never reach the access log as a route.
	if _, pattern := rt.mux.Handler(r); pattern != "" && rt.registered(pattern) {
		rt.mux.ServeHTTP(w, r)
		return
	}
	rt.mu.RLock()
	fallback := rt.fallback
	rt.mu.RUnlock()
	if fallback != nil {
		fallback.ServeHTTP(w, r)
		return
	}
	// No route matched: let the mux decide between 404 and 405 (with its
	// Allow header), then answer that status as a problem document.
	probe := &statusProbe{header: http.Header{}}
	rt.mux.ServeHTTP(probe, r)
	r.Pattern = "" // the probe's lookup may have set it to the raw path
	if allow := probe.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	if probe.status == http.StatusMethodNotAllowed {
		WriteError(w, r, rt.logger, CodeMethodNotAllowed.Errorf("This route does not accept %s.", r.Method))
		return
	}
	WriteError(w, r, rt.logger, CodeNotFound.New())
}

type statusProbe struct {
	header http.Header
	status int
}

func (p *statusProbe) Header() http.Header         { return p.header }
func (p *statusProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *statusProbe) WriteHeader(code int)        { p.status = code }

// Mount registers a whole http.Handler for a pattern (the local gateway
// routes each API route to its function this way).
func (rt *Router) Mount(pattern string, h http.Handler) {
	rt.register(pattern, h)
}

// Elsewhere registers patterns that other functions serve. API Gateway never
// routes a request that matches one of them here, but a request on one of
// their paths with another method is answered 405 with their methods in
// Allow, as the whole API's router answers it; a pattern this router
// already serves is left alone.
func (rt *Router) Elsewhere(patterns []string) {
	for _, p := range patterns {
		if rt.registered(p) {
			continue
		}
		rt.mux.Handle(p, http.NotFoundHandler()) // not recorded: answered as CodeNotFound by ServeHTTP
	}
}

// Fallback serves every request that no registered pattern matches with h
// (the local gateway sends them to the function of API Gateway's $default
// route) instead of answering 404 or 405 itself.
func (rt *Router) Fallback(h http.Handler) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.fallback = h
}
