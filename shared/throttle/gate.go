package throttle

import (
	"fmt"
	"net/http"

	"github.com/atrium-cdn/atrium/shared/web"
)

// Gate is a route's per-subject rate limit, for web.Limited: it counts the
// request of subject(r) for action against l (Allow) and refuses one over
// it with the API's one rate-limit answer, web.RateLimited(retry, what).
func (s *Store) Gate(action string, l Limit, subject func(*http.Request) string, what string) web.Gate {
	return func(r *http.Request) error {
		retry, err := s.Allow(r.Context(), action, subject(r), l)
		if err != nil {
			return fmt.Errorf("rate limit %s: %w", action, err)
		}
		if retry > 0 {
			return web.RateLimited(retry, what)
		}
		return nil
	}
}
