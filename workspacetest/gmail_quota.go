package workspacetest

import (
	"math"
	"net/http"
	"strings"
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

// GmailLimit is a Gmail quota lower than the documented one, as Google
// enforces for some mailboxes and projects (a limit cut for abuse or load,
// a project's quota lowered in the Cloud console): clients that take the
// published numbers as a promise are refused. Set one with
// Server.SetGmailUserLimit or Server.SetGmailProjectLimit.
type GmailLimit struct {
	// UnitsPerMinute is the limit in quota units a minute, before speed
	// scaling (WithSpeed). Refusals are those of GmailConfig's limits:
	// 403 userRateLimitExceeded for a user, 403 rateLimitExceeded for a
	// project.
	UnitsPerMinute int
	// Burst is how many units can be spent at once after an idle spell.
	// Zero means one second's worth (UnitsPerMinute/60), the way Google's
	// quota servers smooth a per-minute limit: a client that bursts a
	// minute's worth, or sends a 50-call batch at once, is refused. A
	// negative Burst means a minute's worth, like GmailConfig's limits.
	Burst int
}

// gmailLimits holds the limits set with SetGmailUserLimit and
// SetGmailProjectLimit. Guarded by s.mu.
type gmailLimits struct {
	user    map[string]GmailLimit // by lower-cased address
	project map[string]GmailLimit
}

var gmailLimitStates = serverLocal[gmailLimits]{newT: func(*Server) *gmailLimits {
	return &gmailLimits{user: map[string]GmailLimit{}, project: map[string]GmailLimit{}}
}}

// SetGmailUserLimit makes the fake enforce l for user instead of
// GmailConfig.UserUnitsPerMinute, in every project: a mailbox whose real
// limit is below the documented one. A zero UnitsPerMinute restores the
// configured limit. The user's counters restart.
func (s *Server) SetGmailUserLimit(user string, l GmailLimit) {
	lim := gmailLimitStates.get(s)
	g := s.gmail()
	user = strings.ToLower(user)
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.UnitsPerMinute <= 0 {
		delete(lim.user, user)
	} else {
		lim.user[user] = l
	}
	for k := range g.userLim {
		if strings.EqualFold(k.user, user) {
			delete(g.userLim, k)
		}
	}
}

// SetGmailProjectLimit makes the fake enforce l for the developer project
// (the caller's project, as the fake derives it from its credentials)
// instead of GmailConfig.ProjectUnitsPerMinute. A zero UnitsPerMinute
// restores the configured limit. The project's counters restart.
func (s *Server) SetGmailProjectLimit(project string, l GmailLimit) {
	lim := gmailLimitStates.get(s)
	g := s.gmail()
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.UnitsPerMinute <= 0 {
		delete(lim.project, project)
	} else {
		lim.project[project] = l
	}
	delete(g.projLim, project)
}

// limiter returns the token bucket of l, scaled by speed.
func (l GmailLimit) limiter(speed float64) *rate.Limiter {
	n := float64(l.UnitsPerMinute) * speed
	burst := n / 60
	switch {
	case l.Burst > 0:
		burst = float64(l.Burst) * speed
	case l.Burst < 0:
		burst = n
	}
	return rate.NewLimiter(rate.Limit(n/60), max(1, int(math.Ceil(burst))))
}

// gmailAdmit applies the per-user concurrency cap and the per-user and
// per-project unit quotas to one call by user. When it admits the call it
// returns a done func to call when the call ends; otherwise it has written
// the refusal.
func (s *Server) gmailAdmit(w http.ResponseWriter, r *http.Request, c *caller, user, method string) (done func(), ok bool) {
	g := s.gmail()
	lims := gmailLimitStates.get(s)
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
		if l, ok := lims.project[c.Project]; ok {
			pl = l.limiter(s.cfg.speed)
		} else {
			pl = minuteLimiter(float64(cfg.ProjectUnitsPerMinute), s.cfg.speed)
		}
		g.projLim[c.Project] = pl
	}
	key := gmailQuotaKey{user, c.Project}
	ul := g.userLim[key]
	if ul == nil {
		if l, ok := lims.user[strings.ToLower(user)]; ok {
			ul = l.limiter(s.cfg.speed)
		} else {
			ul = minuteLimiter(float64(cfg.UserUnitsPerMinute), s.cfg.speed)
		}
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
