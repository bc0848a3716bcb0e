package workspace

import (
	"sync/atomic"
	"time"

	"github.com/gwsadmin/workspace/retry"
)

// APIStats counts one API's traffic since the client was made.
type APIStats struct {
	Requests  int64            // calls made (each may take several attempts)
	Attempts  int64            // HTTP attempts sent
	Retries   map[string]int64 // retries by class: "transient", "throttle"
	GaveUp    map[string]int64 // retryable failures not retried, by why: "attempts", "budget", ...
	Failures  int64            // calls that ended in an error
	RetryWait time.Duration    // time spent backing off before retries
	QuotaWait time.Duration    // time spent waiting for the quota layer
}

type apiCounters struct {
	requests, attempts, failures, retryWait, quotaWait atomic.Int64
	retries                                            [retry.Canceled + 1]atomic.Int64
	gaveUp                                             [len(giveUpNames)]atomic.Int64
}

var giveUpNames = [...]string{"attempts", "budget", "retry-after", "body", "ambiguous", "ctx", "unreachable", "never"}

type stats struct {
	apis map[string]*apiCounters // fixed at creation: read without locks
}

func newStats() *stats {
	s := &stats{apis: make(map[string]*apiCounters, len(apis)+1)}
	for _, a := range apis {
		s.apis[a] = new(apiCounters)
	}
	s.apis[""] = new(apiCounters)
	return s
}

func (s *stats) get(api string) *apiCounters {
	if c, ok := s.apis[api]; ok {
		return c
	}
	return s.apis[""]
}

func (s *stats) request(api string)                { s.get(api).requests.Add(1) }
func (s *stats) failure(api string)                { s.get(api).failures.Add(1) }
func (s *stats) quotaWait(api string, nanos int64) { s.get(api).quotaWait.Add(nanos) }

func (s *stats) observe(ev retry.Event) {
	c := s.get(ev.API)
	c.attempts.Add(1)
	if ev.Wait > 0 {
		c.retries[ev.Decision.Class].Add(1)
		c.retryWait.Add(int64(ev.Wait))
	}
	if ev.GiveUp != "" {
		for i, n := range giveUpNames {
			if n == ev.GiveUp {
				c.gaveUp[i].Add(1)
			}
		}
	}
}

// Stats returns a snapshot of per-API counters, keyed by API name ("" for
// requests that no API package described, such as those sent through
// HTTPClient). APIs with no traffic are left out.
func (c *Client) Stats() map[string]APIStats {
	out := make(map[string]APIStats)
	for api, k := range c.stats.apis {
		if k.requests.Load() == 0 && k.attempts.Load() == 0 && k.quotaWait.Load() == 0 {
			continue
		}
		st := APIStats{
			Requests: k.requests.Load(), Attempts: k.attempts.Load(), Failures: k.failures.Load(),
			RetryWait: time.Duration(k.retryWait.Load()), QuotaWait: time.Duration(k.quotaWait.Load()),
			Retries: map[string]int64{}, GaveUp: map[string]int64{},
		}
		for cl := range k.retries {
			if n := k.retries[cl].Load(); n > 0 {
				st.Retries[retry.Class(cl).String()] = n
			}
		}
		for i, n := range giveUpNames {
			if v := k.gaveUp[i].Load(); v > 0 {
				st.GaveUp[n] = v
			}
		}
		out[api] = st
	}
	return out
}

var epoch = time.Now()

func nanotime() int64 { return int64(time.Since(epoch)) }
