package workspacetest

import (
	"maps"
	"strconv"
)

// APIStats counts what became of the requests to one API.
type APIStats struct {
	// Accepted counts requests answered with a 2xx status.
	Accepted int
	// Rejected counts refusals by reason: the Google error reason
	// ("rateLimitExceeded", "invalid", "authError", ...), the GData or OAuth2
	// error name, or "http<status>" when there was none.
	Rejected map[string]int
	// Faults counts injected faults by kind. Faults that replace the reply
	// (5xx, 429, resets before the body, token expiry) are counted here
	// only; the others also count as Accepted or Rejected.
	Faults map[FaultKind]int
}

// Stats returns a snapshot of the counters, keyed by API name
// ("oauth2", "groupsmigration", "datatransfer", "directory", ...).
func (s *Server) Stats() map[string]APIStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]APIStats, len(s.stats))
	for api, st := range s.stats {
		out[api] = APIStats{Accepted: st.Accepted, Rejected: maps.Clone(st.Rejected), Faults: maps.Clone(st.Faults)}
	}
	return out
}

// record updates Stats after a request.
func (s *Server) record(ep *endpoint, rw *respWriter, fault FaultKind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats[ep.api]
	if st == nil {
		st = &APIStats{Rejected: map[string]int{}, Faults: map[FaultKind]int{}}
		s.stats[ep.api] = st
	}
	if fault != "" {
		st.Faults[fault]++
		if fault.replacesReply() {
			return
		}
	}
	switch {
	case rw.status >= 200 && rw.status < 300:
		st.Accepted++
	case rw.status >= 400:
		reason := rw.reason
		if reason == "" {
			reason = "http" + strconv.Itoa(rw.status)
		}
		st.Rejected[reason]++
	case rw.status == 0 && !rw.wroteHeader:
		// The handler wrote nothing: net/http answers 200.
		st.Accepted++
	}
}
