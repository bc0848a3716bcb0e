package workspacetest

import (
	"math"
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// Gmail quota accounting. The shared quota helper (quota.go) counts calls
// per API and project; Gmail counts units that differ by method, per user
// and per project, a minute, so it keeps its own books here. Every Gmail
// endpoint passes through gmailAdmit after the shared pipeline (auth and
// faults), so a batch part is charged like any other call.

// gmailCosts are the units of each method: legacy regime, 2026 regime.
var gmailCosts = map[string][2]int{
	"getProfile":               {1, 1},
	"history.list":             {2, 2},
	"labels.create":            {5, 5},
	"labels.delete":            {5, 5},
	"labels.update":            {5, 5},
	"labels.patch":             {5, 5},
	"labels.get":               {1, 1},
	"labels.list":              {1, 1},
	"messages.attachments.get": {5, 20},
	"messages.batchDelete":     {50, 50},
	"messages.batchModify":     {50, 50},
	"messages.delete":          {10, 10},
	"messages.get":             {5, 20},
	"messages.import":          {25, 25},
	"messages.insert":          {25, 25},
	"messages.list":            {5, 5},
	"messages.modify":          {5, 5},
	"messages.send":            {100, 100},
	"messages.trash":           {5, 20},
	"messages.untrash":         {5, 5},
	"threads.delete":           {20, 20},
	"threads.get":              {10, 40},
	"threads.list":             {10, 10},
	"threads.modify":           {10, 10},
	"threads.trash":            {10, 20},
	"threads.untrash":          {10, 10},
}

// gmailCost returns the units of method under the regime.
func gmailCost(method string, r GmailRegime) int {
	c, ok := gmailCosts[method]
	if !ok {
		return 1
	}
	if r == Gmail2026Regime {
		return c[1]
	}
	return c[0]
}

// GmailMethodCost returns the quota units Gmail charges for one call of
// method ("messages.get", "messages.send", "threads.get", ...) under the
// regime, as published in Gmail's usage limits (1 for a method it does
// not know).
func GmailMethodCost(method string, r GmailRegime) int { return gmailCost(method, r) }

// minuteLimiter is a token bucket of perMinute units that refills
// continuously and starts full.
func minuteLimiter(perMinute, speed float64) *rate.Limiter {
	n := perMinute * speed
	return rate.NewLimiter(rate.Limit(n/60), max(1, int(math.Ceil(n))))
}

// gmailAdmit applies the per-user concurrency cap and the per-user and
// per-project unit quotas to one call by user. When it admits the call it
// returns a done func to call when the call ends; otherwise it has written
// the refusal.
func (s *Server) gmailAdmit(w http.ResponseWriter, r *http.Request, c *caller, user, method string) (done func(), ok bool) {
	g := s.gmail()
	s.mu.Lock()
	cfg := g.cfg
	if cfg.MaxConcurrentPerUser > 0 && g.inflight[user] >= cfg.MaxConcurrentPerUser {
		s.mu.Unlock()
		writeGoogleError(w, googleError{
			Code:    http.StatusTooManyRequests,
			Message: "Too many concurrent requests for user",
			Items:   []errorItem{{Domain: "global", Reason: "rateLimitExceeded", Message: "Too many concurrent requests for user"}},
		})
		return nil, false
	}
	now := s.nowLocked()
	cost := 0 // method "": a call the quota does not charge
	if method != "" {
		cost = gmailCost(method, cfg.Regime)
	}
	pl := g.projLim[c.Project]
	if pl == nil {
		pl = minuteLimiter(float64(cfg.ProjectUnitsPerMinute), s.cfg.speed)
		g.projLim[c.Project] = pl
	}
	key := gmailQuotaKey{user, c.Project}
	ul := g.userLim[key]
	if ul == nil {
		ul = minuteLimiter(float64(cfg.UserUnitsPerMinute), s.cfg.speed)
		g.userLim[key] = ul
	}
	var refusal string
	var wait time.Duration
	pr := pl.ReserveN(now, cost)
	switch d := pr.DelayFrom(now); {
	case !pr.OK() || d > 0:
		refusal, wait = "rateLimitExceeded", d
		pr.CancelAt(now)
	default:
		ur := ul.ReserveN(now, cost)
		if d := ur.DelayFrom(now); !ur.OK() || d > 0 {
			refusal, wait = "userRateLimitExceeded", d
			ur.CancelAt(now)
			pr.CancelAt(now)
		}
	}
	if refusal == "" {
		g.spent[user] += int64(cost)
		g.inflight[user]++
	}
	hold := g.holds[user]
	s.mu.Unlock()

	if refusal != "" {
		msg := "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user' of service 'gmail.googleapis.com' for consumer 'project_number:" + c.Project + "'."
		if refusal == "rateLimitExceeded" {
			msg = "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'gmail.googleapis.com' for consumer 'project_number:" + c.Project + "'."
		}
		ge := googleError{
			Code:    http.StatusForbidden,
			Message: msg,
			Items:   []errorItem{{Domain: "usageLimits", Reason: refusal, Message: msg}},
		}
		if wait <= 0 || wait == rate.InfDuration {
			wait = time.Minute
		}
		ge.Header = http.Header{"Retry-After": {retryAfterValue(wait)}}
		writeGoogleError(w, ge)
		return nil, false
	}
	done = func() {
		s.mu.Lock()
		g.inflight[user]--
		s.mu.Unlock()
	}
	if hold != nil {
		hold.enter(r.Context())
	}
	return done, true
}
