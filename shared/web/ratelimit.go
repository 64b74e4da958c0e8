package web

import (
	"net/http"
	"time"
)

// RateLimited is the one answer to a client over a rate limit: 429
// rate_limited with Retry-After, saying "Too many <what>. Wait and try
// again." (what: "requests from your network", "notices from your network").
func RateLimited(retry time.Duration, what string) *Error {
	return CodeRateLimited.Errorf("Too many %s. Wait and try again.", what).WithRetryAfter(retry)
}

// Gate counts a request against the rate limit its route declares: nil when
// the request may go on, a RateLimited error when it is over the limit, any
// other error when it could not be counted.
type Gate func(r *http.Request) error

// GatedFunc is the handler of a route that declares a rate limit: it gets
// the route's gate and passes it once, at the point where the request counts.
type GatedFunc func(w http.ResponseWriter, r *http.Request, limit Gate) error

// Limited declares a route's rate limit, so that a route table shows every
// limit beside its route: h gets gate. The handler decides when the request
// counts: once it is known to be valid (its body decoded and checked, so a
// malformed request is refused without being counted) and before the work
// the limit protects.
func Limited(gate Gate, h GatedFunc) HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error { return h(w, r, gate) }
}
