package workspacetest

import (
	"math/rand/v2"
	"net/http"
	"slices"
	"time"
)

// FaultKind is a kind of injected failure.
type FaultKind string

// Fault kinds. The HTTP ones reply in the API's own error dialect.
const (
	FaultHTTP500 FaultKind = "http500" // 500 backendError
	FaultHTTP502 FaultKind = "http502" // 502 with an HTML body, as Google's front end
	FaultHTTP503 FaultKind = "http503" // 503 backendError
	FaultHTTP504 FaultKind = "http504" // 504 deadline exceeded
	FaultHTTP429 FaultKind = "http429" // 429 rateLimitExceeded with Retry-After
	// FaultResetBeforeBody drops the connection (TCP reset) before reading
	// the request body: nothing was processed.
	FaultResetBeforeBody FaultKind = "reset-before-body"
	// FaultResetAfterProcessing processes the request fully (a message is
	// stored, a transfer created), then drops the connection (TCP reset)
	// instead of replying: the client sees a connection error and cannot
	// know it succeeded.
	FaultResetAfterProcessing FaultKind = "reset-after-processing"
	// FaultStoredUnreadableReply processes the request fully (for
	// archive.insert the message is stored), then sends the real status
	// line and headers, Content-Length included, but only the first half
	// of the body, and closes the connection. For a success the client
	// thus sees 200 and then a body it cannot read or decode as JSON
	// (io.ErrUnexpectedEOF from Google's Go clients). It is never picked
	// unless listed in FaultPlan.Kinds or injected, so that seeded plans
	// written before it existed draw the same faults.
	FaultStoredUnreadableReply FaultKind = "stored-unreadable-reply"
	// FaultSlowReply delays the reply by FaultPlan.SlowDelay (scaled by
	// speed), then processes the request normally.
	FaultSlowReply FaultKind = "slow-reply"
	// FaultTokenExpiry expires the request's access token and answers 401,
	// as when a token runs out mid-job.
	FaultTokenExpiry FaultKind = "token-expiry"
	// FaultTransferFailed applies to Data Transfer transfers.insert only:
	// the transfer is accepted, then ends with status "failed". It is
	// never picked unless listed in FaultPlan.Kinds or injected.
	FaultTransferFailed FaultKind = "transfer-failed"
	// FaultRepeatPageToken applies to a JSON list request that carries a
	// pageToken: the list is answered normally, but its nextPageToken is
	// the token the request came with, as a server that loops would do.
	// It is never picked unless listed in FaultPlan.Kinds or injected.
	FaultRepeatPageToken FaultKind = "repeat-page-token"
)

// FaultKinds returns every fault kind, in a fixed order.
func FaultKinds() []FaultKind { return slices.Clone(faultKinds) }

var faultKinds = []FaultKind{
	FaultHTTP500, FaultHTTP502, FaultHTTP503, FaultHTTP504, FaultHTTP429,
	FaultResetBeforeBody, FaultResetAfterProcessing, FaultSlowReply,
	FaultTokenExpiry, FaultTransferFailed, FaultStoredUnreadableReply,
	FaultRepeatPageToken,
}

// optInFaults are the kinds a FaultPlan with no Kinds never picks.
var optInFaults = []FaultKind{FaultTransferFailed, FaultStoredUnreadableReply, FaultRepeatPageToken}

func (k FaultKind) valid() bool { return slices.Contains(faultKinds, k) }

// replacesReply reports whether the fault stands instead of the real
// processing (so the request counts neither as accepted nor rejected).
func (k FaultKind) replacesReply() bool {
	switch k {
	case FaultSlowReply, FaultResetAfterProcessing, FaultTransferFailed, FaultStoredUnreadableReply, FaultRepeatPageToken:
		return false
	}
	return true
}

// FaultPlan describes random faults. Each request to a matching API draws
// from a generator seeded with Seed, in arrival order, so a given seed and
// request order always yield the same faults.
type FaultPlan struct {
	Seed int64
	// Rate is the probability, in [0, 1], that a request gets a fault.
	Rate float64
	// Kinds to pick from, uniformly. Empty means every kind but
	// FaultTransferFailed, FaultStoredUnreadableReply and
	// FaultRepeatPageToken.
	Kinds []FaultKind
	// APIs the plan applies to ("groupsmigration", "datatransfer", ...).
	// Empty means every API except the token endpoint ("oauth2"), IAM
	// Credentials signJwt ("iamcredentials") and the outer request of a
	// Gmail batch ("gmail.batch"; the calls inside a batch are "gmail"
	// requests), which are faulted only when listed.
	APIs []string
	// SlowDelay is the FaultSlowReply delay before speed scaling
	// (default 2 s).
	SlowDelay time.Duration
	// RetryAfter is the Retry-After of FaultHTTP429 before speed scaling,
	// sent rounded up to whole seconds (default 1 s).
	RetryAfter time.Duration
}

// FaultEvent is one injected fault, as listed by FaultLog.
type FaultEvent struct {
	Request int       // ordinal of the request among all requests served, from 1
	API     string    // e.g. "groupsmigration"
	Method  string    // e.g. "archive.insert"
	Kind    FaultKind // what was injected
}

type faultState struct {
	plan  FaultPlan
	rng   *rand.Rand
	kinds []FaultKind
	queue map[string][]FaultKind
	log   []FaultEvent
	seq   int
}

func (f *faultState) init(p FaultPlan) {
	if p.SlowDelay <= 0 {
		p.SlowDelay = 2 * time.Second
	}
	if p.RetryAfter <= 0 {
		p.RetryAfter = time.Second
	}
	f.plan = p
	f.rng = rand.New(rand.NewPCG(uint64(p.Seed), 0x5eed_fa17))
	f.kinds = p.Kinds
	if len(f.kinds) == 0 {
		f.kinds = slices.DeleteFunc(slices.Clone(faultKinds), func(k FaultKind) bool { return slices.Contains(optInFaults, k) })
	}
	f.queue = map[string][]FaultKind{}
}

// InjectFault queues count faults of kind for the next requests to api to
// which the kind applies (FaultTransferFailed waits for a transfers.insert,
// for instance). Queued faults come before the random plan. It panics on an
// unknown kind or a negative count.
func (s *Server) InjectFault(api string, kind FaultKind, count int) {
	if !kind.valid() || count < 0 {
		panic("workspacetest: InjectFault: bad kind or count")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range count {
		s.faults.queue[api] = append(s.faults.queue[api], kind)
	}
}

// FaultLog returns the faults injected so far, in order.
func (s *Server) FaultLog() []FaultEvent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.faults.log)
}

// applies reports whether kind can be injected into request r of ep.
func applies(ep *endpoint, kind FaultKind, r *http.Request) bool {
	if kind == FaultRepeatPageToken {
		return ep.style == styleJSON && r.Method == http.MethodGet && r.URL.Query().Get("pageToken") != ""
	}
	if ep.faultOK != nil {
		return ep.faultOK(kind, r)
	}
	if kind == FaultTransferFailed {
		return false
	}
	return !(kind == FaultTokenExpiry && ep.noAuth)
}

// nextFault picks the fault for this request, if any.
func (s *Server) nextFault(ep *endpoint, r *http.Request) FaultKind {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := &s.faults
	f.seq++
	var kind FaultKind
	if q := f.queue[ep.api]; len(q) > 0 {
		for i, k := range q {
			if applies(ep, k, r) {
				kind = k
				f.queue[ep.api] = slices.Delete(q, i, i+1)
				break
			}
		}
	}
	if kind == "" && f.plan.Rate > 0 && s.planCovers(ep.api) {
		if f.rng.Float64() < f.plan.Rate {
			k := f.kinds[f.rng.IntN(len(f.kinds))]
			if applies(ep, k, r) {
				kind = k
			}
		}
	}
	if kind != "" {
		f.log = append(f.log, FaultEvent{Request: f.seq, API: ep.api, Method: ep.method, Kind: kind})
	}
	return kind
}

func (s *Server) planCovers(api string) bool {
	if len(s.faults.plan.APIs) == 0 {
		return api != "oauth2" && api != gmailBatchAPI && api != iamAPI
	}
	return slices.Contains(s.faults.plan.APIs, api)
}

// applyFault carries out kind. It returns true when the fault replaced the
// reply and the request is over.
func (s *Server) applyFault(w *respWriter, r *http.Request, ep *endpoint, c *caller, kind FaultKind) bool {
	c.fault = kind
	backend := func(code int, reason, msg string) {
		writeStyled(w, ep, googleError{Code: code, Items: []errorItem{{Domain: "global", Reason: reason, Message: msg}}})
	}
	switch kind {
	case FaultHTTP500:
		backend(http.StatusInternalServerError, "backendError", "Internal error encountered.")
	case FaultHTTP503:
		backend(http.StatusServiceUnavailable, "backendError", "The service is currently unavailable.")
	case FaultHTTP504:
		backend(http.StatusGatewayTimeout, "backendError", "Deadline exceeded.")
	case FaultHTTP502:
		w.Header().Set("Content-Type", "text/html; charset=UTF-8")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<!DOCTYPE html>\n<html lang=en><title>Error 502 (Server Error)!!1</title><p><b>502.</b> That’s an error.<p>The server encountered a temporary error and could not complete your request.<p>Please try again in 30 seconds. That’s all we know.</html>\n"))
	case FaultHTTP429:
		writeStyled(w, ep, googleError{
			Code:   http.StatusTooManyRequests,
			Header: http.Header{"Retry-After": {retryAfterValue(s.scaled(s.faults.plan.RetryAfter))}},
			Items:  []errorItem{{Domain: "usageLimits", Reason: "rateLimitExceeded", Message: "Too many requests. Retry later."}},
		})
	case FaultResetBeforeBody:
		resetConn(w)
	case FaultTokenExpiry:
		s.mu.Lock()
		if c.token != nil {
			if now := s.nowLocked(); c.token.expires.After(now) {
				c.token.expires = now
			}
		}
		s.mu.Unlock()
		s.unauthenticated(w, ep)
	case FaultSlowReply:
		s.sleep(r.Context(), s.scaled(s.faults.plan.SlowDelay))
		return false
	default: // reset-after-processing, transfer-failed, stored-unreadable-reply, repeat-page-token: handled later
		return false
	}
	return true
}
