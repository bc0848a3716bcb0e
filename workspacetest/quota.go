package workspacetest

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// quotaRule is one API's quota, per developer project, before speed
// scaling. Zero fields mean "no limit".
type quotaRule struct {
	PerSecond float64 // token bucket rate; the burst is one second's worth
	PerDay    int64   // daily budget, reset at midnight Pacific time
	// Status of the refusal: 503 for the legacy admin APIs (the default),
	// 403 or 429 for APIs that answer that way.
	Status int
}

type quotaKey struct{ api, project string }

type quotaState struct {
	lim  *rate.Limiter
	day  string
	used int64
}

// setQuota installs (or replaces) the quota rule of an API. Registration
// functions call it; tests use SetQuota.
func (s *Server) setQuota(api string, q quotaRule) {
	if q.Status == 0 {
		q.Status = http.StatusServiceUnavailable
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.quotaRules[api] = q
	for k := range s.quotas {
		if k.api == api {
			delete(s.quotas, k)
		}
	}
}

// SetQuota replaces the quota of api ("groupsmigration", "datatransfer",
// ...) per developer project: perSecond requests a second and perDay a
// day, both before speed scaling; zero means unlimited. Counters restart.
func (s *Server) SetQuota(api string, perSecond float64, perDay int64) {
	s.mu.Lock()
	st := s.quotaRules[api].Status
	s.mu.Unlock()
	s.setQuota(api, quotaRule{PerSecond: perSecond, PerDay: perDay, Status: st})
}

var pacific = sync.OnceValue(func() *time.Location {
	if loc, err := time.LoadLocation("America/Los_Angeles"); err == nil {
		return loc
	}
	return time.FixedZone("PST", -8*3600)
})

// admit charges the call to its project's quota. When a limit is reached it
// writes the refusal (in the endpoint's style) and returns false.
func (s *Server) admit(w http.ResponseWriter, ep *endpoint, c *caller) bool {
	cost := ep.cost
	if cost <= 0 {
		cost = 1
	}
	s.mu.Lock()
	q, ok := s.quotaRules[ep.api]
	if !ok {
		s.mu.Unlock()
		return true
	}
	now := s.nowLocked()
	key := quotaKey{ep.api, c.Project}
	st := s.quotas[key]
	if st == nil {
		st = &quotaState{}
		if q.PerSecond > 0 {
			r := q.PerSecond * s.cfg.speed
			st.lim = rate.NewLimiter(rate.Limit(r), max(1, int(math.Ceil(r)))) // starts full
		}
		s.quotas[key] = st
	}
	day := now.In(pacific()).Format(time.DateOnly)
	if st.day != day {
		st.day, st.used = day, 0
	}
	reason := ""
	switch {
	case q.PerDay > 0 && float64(st.used+int64(cost)) > float64(q.PerDay)*s.cfg.speed:
		reason = "dailyLimitExceeded"
	case st.lim != nil && !st.lim.AllowN(now, cost):
		reason = "rateLimitExceeded"
	default:
		st.used += int64(cost)
	}
	s.mu.Unlock()
	if reason == "" {
		return true
	}
	ge := googleError{
		Code: q.Status,
		Items: []errorItem{{
			Domain: "usageLimits", Reason: reason,
			Message: errorf("Quota exceeded for the %s API (%s) for project %s.", ep.api, reason, c.Project),
		}},
	}
	if q.Status == http.StatusServiceUnavailable || q.Status == http.StatusTooManyRequests {
		if s.cfg.retryAfter > 0 {
			ge.Header = http.Header{"Retry-After": {retryAfterValue(s.scaled(s.cfg.retryAfter))}}
		}
	}
	writeStyled(w, ep, ge)
	return false
}

// retryAfterValue renders d as whole seconds, rounded up.
func retryAfterValue(d time.Duration) string {
	return strconv.FormatInt(int64(math.Ceil(d.Seconds())), 10)
}
