package retry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/gwsadmin/workspace/internal/core"
)

// Event reports one finished attempt to an observer.
type Event struct {
	API, Method string
	Attempt     int           // 1-based
	Decision    Decision      // how the attempt ended
	Wait        time.Duration // the wait before the next attempt; zero when none follows
	// GiveUp says why no further attempt follows a retryable outcome:
	// "attempts", "budget", "retry-after", "body", "ambiguous" (a call
	// that changes something got an answer that does not prove nothing
	// was done), "unreachable" (no connection could be made and nothing
	// has answered the client yet), "never" (a Never call) or "ctx".
	GiveUp string
}

// MaxReplayBody is the largest request body that is held in memory so
// that a request without GetBody can be sent again. A larger body without
// GetBody is sent once.
const MaxReplayBody = 32 << 20

// Fast failure: when no connection can be made (refused, DNS failure)
// and nothing has answered the client yet, which is what a wrong endpoint
// or a machine without network looks like, a request is tried
// FastFailAttempts times in all with waits starting at FastFailWait, not
// for minutes under the API's policy.
const (
	FastFailAttempts = 3
	FastFailWait     = 500 * time.Millisecond
)

// Contact records whether any request of a client has had an answer from
// a server (any HTTP status). Until one has, a connection that cannot be
// made fails fast. The zero value is ready to use; share one between the
// Transports of a client.
type Contact struct{ answered atomic.Bool }

// Answered reports whether any request has had an HTTP answer.
func (c *Contact) Answered() bool { return c.answered.Load() }

// Report tells the caller of a Transport how a request went: attach one
// to the request's context with [WithReport] and read it after RoundTrip
// returns: a program that wraps its own client in a Transport learns from
// it whether a failed write may have taken effect (OutcomeUnknown) and why
// retrying stopped (GiveUp).
type Report struct {
	Repeat   Repeat   // the rule the request was sent under
	Attempts int      // attempts made
	Last     Decision // the last attempt's outcome
	GiveUp   string   // as in Event, for the last attempt; "" when it succeeded or was final
	// OutcomeUnknown is set for a call that changes something when an
	// attempt ended in a failure that does not prove the server did
	// nothing (500, 502, 504, a connection lost after the request was
	// sent): the call may have taken effect. It is not set for requests
	// whose attempts the MaxAttempts field capped (their caller retries).
	OutcomeUnknown bool
	// Twice is set when two or more attempts may have taken effect: the
	// call was repeated after such a failure because the caller allowed it
	// (AllowAmbiguousRepeats). It may have happened twice.
	Twice bool
	// Host is the host that could not be reached when GiveUp is
	// "unreachable".
	Host string
}

type reportKey struct{}

// WithReport returns a context that makes Transport fill r.
func WithReport(ctx context.Context, r *Report) context.Context {
	return context.WithValue(ctx, reportKey{}, r)
}

func reportFrom(ctx context.Context) *Report {
	r, _ := ctx.Value(reportKey{}).(*Report)
	return r
}

// Transport retries the requests that pass through it, per the Policy of
// each request's API and the rule of its method ([RuleFor]). It
// classifies every outcome with Classify, backs off exponentially with
// jitter (cenkalti/backoff/v4), honours Retry-After up to
// Policy.MaxRetryAfter, replays bodies through Request.GetBody (holding a
// body without one in memory before the first attempt), spends the retry
// Budget on server errors (not on throttles), fails fast when no
// connection can be made to a client that has never had an answer, and
// stops at once when the request's context ends.
//
// It returns the last response as it came, error statuses included: turning
// those into errors is the caller's business.
type Transport struct {
	// Next sends one attempt.
	Next http.RoundTripper
	// Options holds policies, budget, sleep and jitter; nil means defaults.
	Options *Options
	// Describe names the API and method of a request; nil means "" for
	// both, which selects the modern policy and the fallback rule of
	// RuleFor.
	Describe func(*http.Request) (api, method string)
	// Logger gets one record per retry; nil means silence.
	Logger *slog.Logger
	// Observe, when set, is called after every attempt.
	Observe func(Event)
	// MaxAttempts, when set and returning a positive number, caps the
	// attempts for one request below its Policy's: 1 sends the request
	// once and leaves any retry to the caller.
	MaxAttempts func(*http.Request) int
	// Contact records whether the client has had an answer; nil means one
	// of this Transport's own.
	Contact *Contact

	budgetOnce  sync.Once
	budget      *Budget
	contactOnce sync.Once
	contact     *Contact
}

// retryBudget returns Options.Budget, or a DefaultBudget of this Transport's
// own when it is nil. Share a Budget between Transports by setting it.
func (t *Transport) retryBudget(o *Options) *Budget {
	if o.Budget != nil {
		return o.Budget
	}
	t.budgetOnce.Do(func() { t.budget = DefaultBudget() })
	return t.budget
}

func (t *Transport) contacts() *Contact {
	if t.Contact != nil {
		return t.Contact
	}
	t.contactOnce.Do(func() { t.contact = new(Contact) })
	return t.contact
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	opts := t.Options
	if opts == nil {
		opts = &Options{}
	}
	var api, method string
	if t.Describe != nil {
		api, method = t.Describe(req)
	}
	p := opts.PolicyFor(api)
	capped := false
	if t.MaxAttempts != nil {
		if n := t.MaxAttempts(req); n > 0 && n < p.MaxAttempts {
			p.MaxAttempts, capped = n, true
		}
	}
	rule := RuleFor(api, method, req.Method)
	if rule == Never {
		p.MaxAttempts = 1
	}
	ctx := req.Context()
	optIn := rule == OnProof && (p.RetryAmbiguous || ambiguousFrom(ctx) != nil)
	rep := reportFrom(ctx)
	if rep != nil {
		*rep = Report{Repeat: rule}
	}

	if p.MaxAttempts > 1 && req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		held, err := holdBody(req)
		if err != nil {
			return nil, err
		}
		req = held
	}
	// For a call that changes something, watch whether each attempt's
	// request was written in full: one that was not cannot have been acted
	// on.
	var wt *writeTrace
	if rule != Safe && p.MaxAttempts > 1 {
		wt = new(writeTrace)
		req = req.WithContext(httptrace.WithClientTrace(ctx, wt.hooks()))
	}

	contact := t.contacts()
	var bo *backoff.ExponentialBackOff
	mayHaveActed := 0 // attempts that may have taken effect
	cur := req
	for attempt := 1; ; attempt++ {
		wt.reset()
		resp, err := t.Next.RoundTrip(cur)
		d := Classify(api, resp, err)
		if resp != nil {
			contact.answered.Store(true)
		}
		if err != nil && d.Class == Transient && !d.NothingDone && wt.unwritten() {
			d.NothingDone, d.Ambiguous = true, false
		}
		priorActed := mayHaveActed
		if d.Class == Success || (d.Class.Retryable() && !d.NothingDone) {
			mayHaveActed++
		}
		unknown := rule != Safe && d.Class.Retryable() && !d.NothingDone
		ev := Event{API: api, Method: method, Attempt: attempt, Decision: d}
		finish := func(giveUp string) {
			ev.GiveUp = giveUp
			t.observe(ev)
			if rep != nil {
				rep.Attempts, rep.Last, rep.GiveUp = attempt, d, giveUp
				rep.OutcomeUnknown = rule != Safe && !capped && d.Class != Success && (unknown || priorActed > 0)
				rep.Twice = rule != Safe && mayHaveActed > 1
				if d.Connect {
					rep.Host = unreachableHost(err, req)
				}
			}
			if a := ambiguousFrom(ctx); a != nil && rule != Safe && mayHaveActed > 1 {
				a.repeated.Store(true)
			}
		}
		if d.Class == Success {
			t.retryBudget(opts).success()
			finish("")
			if rule != Safe && mayHaveActed > 1 {
				t.log(ctx, slog.LevelWarn, "workspace: call repeated after an answer that left its outcome unknown: it may have happened twice",
					api, method, attempt, d, 0)
			}
			return resp, err
		}
		if !d.Class.Retryable() {
			finish("")
			return markAttempts(resp, attempt), err
		}
		unreachable := d.Connect && !contact.Answered()
		maxAttempts := p.MaxAttempts
		if unreachable {
			maxAttempts = min(maxAttempts, FastFailAttempts)
		}
		giveUp := ""
		switch {
		case ctx.Err() != nil:
			giveUp = "ctx"
		case rule == Never:
			giveUp = "never"
		case unknown && !optIn && !capped:
			giveUp = "ambiguous"
		case attempt >= maxAttempts && unreachable && maxAttempts < p.MaxAttempts:
			giveUp = "unreachable"
		case attempt >= maxAttempts:
			giveUp = "attempts"
		case d.RetryAfter > p.MaxRetryAfter:
			giveUp = "retry-after"
		}
		var next *http.Request
		if giveUp == "" {
			next = t.rewind(req)
			if next == nil {
				giveUp = "body"
			}
		}
		// The budget guards against storms of server errors; a throttle
		// is waited out and a fast failure is short, so neither spends it.
		if giveUp == "" && d.Class == Transient && !unreachable && !t.retryBudget(opts).take(d.StatusCode == 0) {
			giveUp = "budget"
		}
		if giveUp != "" {
			finish(giveUp)
			return markAttempts(resp, attempt), err
		}
		var wait time.Duration
		if unreachable {
			wait = FastFailWait << (attempt - 1)
		} else {
			if bo == nil {
				bo = newBackoff(p)
			}
			wait = bo.NextBackOff()
			if opts.Rand != nil || p.Jitter > 0 {
				wait = jitter(wait, p.Jitter, opts.Rand)
			}
		}
		if d.RetryAfter > 0 {
			wait = d.RetryAfter
		}
		ev.Wait = wait
		t.observe(ev)
		if unknown {
			t.log(ctx, slog.LevelWarn, "workspace: repeating a call after an answer that left its outcome unknown (allowed by the caller): it may happen twice",
				api, method, attempt, d, wait)
		} else {
			var extra []slog.Attr
			if err != nil && d.StatusCode == 0 {
				// No answer: say which host and what failed, so that a
				// wrong endpoint is visible at once. The URL is left out
				// of the error (its query is the caller's business).
				extra = append(extra, slog.String("host", unreachableHost(err, req)), slog.String("error", withoutURL(err).Error()))
			}
			t.log(ctx, slog.LevelInfo, "workspace: retrying", api, method, attempt, d, wait, extra...)
		}
		if resp != nil {
			resp.Body.Close()
		}
		sleep := opts.Sleep
		if sleep == nil {
			sleep = SleepContext
		}
		if serr := sleep(ctx, wait); serr != nil {
			return nil, serr
		}
		cur = next
	}
}

func (t *Transport) log(ctx context.Context, level slog.Level, msg, api, method string, attempt int, d Decision, wait time.Duration, extra ...slog.Attr) {
	if t.Logger == nil || !t.Logger.Enabled(ctx, level) {
		return
	}
	attrs := append([]slog.Attr{
		slog.String("api", api), slog.String("method", method),
		slog.Int("attempt", attempt), slog.String("class", d.Class.String()),
		slog.Int("status", d.StatusCode), slog.Duration("wait", wait),
		slog.String("reason", d.Reason)}, extra...)
	t.Logger.LogAttrs(ctx, level, msg, attrs...)
}

// withoutURL returns the error inside a *url.Error, which would repeat the
// request's URL.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// unreachableHost names the host a connection failed to: the name a DNS
// lookup failed for, the URL of a request that failed on the way (the
// token endpoint's), or the request's own host.
func unreachableHost(err error, req *http.Request) string {
	var dns *net.DNSError
	if errors.As(err, &dns) && dns.Name != "" {
		return dns.Name
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			return u.Host
		}
	}
	return req.URL.Host
}

// writeTrace follows, through httptrace, whether the last request of an
// attempt was written in full. Its hooks run on net/http's goroutines.
type writeTrace struct {
	mu      sync.Mutex
	conn    bool // a connection was asked for
	written bool // the request was written without error since
}

func (w *writeTrace) hooks() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		// Each request of an attempt (a token fetch, then the call) asks
		// for a connection first: the flags follow the last one.
		GetConn: func(string) {
			w.mu.Lock()
			w.conn, w.written = true, false
			w.mu.Unlock()
		},
		WroteRequest: func(info httptrace.WroteRequestInfo) {
			if info.Err == nil {
				w.mu.Lock()
				w.written = true
				w.mu.Unlock()
			}
		},
	}
}

func (w *writeTrace) reset() {
	if w == nil {
		return
	}
	w.mu.Lock()
	w.conn, w.written = false, false
	w.mu.Unlock()
}

// unwritten reports whether the attempt asked for a connection and its
// request was not written in full. A base transport that does not report
// through httptrace never counts as unwritten.
func (w *writeTrace) unwritten() bool {
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.conn && !w.written
}

// holdBody reads the body of a request without GetBody into memory, up to
// MaxReplayBody, before the first attempt, and returns a request that can
// be replayed through GetBody. A larger body is sent once: the returned
// request sends what was read followed by the rest, without GetBody.
func holdBody(req *http.Request) (*http.Request, error) {
	if req.ContentLength > MaxReplayBody {
		return req, nil
	}
	data, err := io.ReadAll(io.LimitReader(req.Body, MaxReplayBody+1))
	if err != nil {
		req.Body.Close()
		return nil, err
	}
	r2 := new(http.Request)
	*r2 = *req
	if len(data) > MaxReplayBody {
		r2.Body = readCloser{io.MultiReader(bytes.NewReader(data), req.Body), req.Body}
		return r2, nil
	}
	req.Body.Close()
	if len(data) == 0 {
		r2.Body, r2.GetBody, r2.ContentLength = http.NoBody, nil, 0
		return r2, nil
	}
	r2.ContentLength = int64(len(data))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	r2.Body, _ = r2.GetBody()
	return r2, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}

func markAttempts(resp *http.Response, attempt int) *http.Response {
	if resp != nil && attempt > 1 {
		resp.Header.Set(core.AttemptsHeader, strconv.Itoa(attempt))
	}
	return resp
}

func (t *Transport) observe(ev Event) {
	if t.Observe != nil {
		t.Observe(ev)
	}
}

// rewind returns a request for the next attempt with a fresh body, or nil
// when the body cannot be replayed.
func (t *Transport) rewind(req *http.Request) *http.Request {
	if req.Body == nil || req.Body == http.NoBody {
		return req
	}
	var body io.ReadCloser
	switch {
	case req.GetBody != nil: // the caller's, or holdBody's
		b, err := req.GetBody()
		if err != nil {
			return nil
		}
		body = b
	default:
		return nil
	}
	r2 := req.Clone(req.Context())
	r2.Body = body
	return r2
}

func newBackoff(p Policy) *backoff.ExponentialBackOff {
	b := &backoff.ExponentialBackOff{
		InitialInterval:     p.Initial,
		RandomizationFactor: 0, // jitter is applied by us so tests can fix it
		Multiplier:          p.Multiplier,
		MaxInterval:         p.Max,
		MaxElapsedTime:      0,
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
	b.Reset()
	return b
}

// jitter spreads d uniformly over d × [1−f, 1+f], never below zero.
func jitter(d time.Duration, f float64, rnd func() float64) time.Duration {
	if f == 0 {
		return d
	}
	r := rand.Float64
	if rnd != nil {
		r = rnd
	}
	delta := f * float64(d)
	return time.Duration(float64(d) - delta + r()*2*delta)
}
