package retry

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// Event reports one finished attempt to an observer.
type Event struct {
	API, Method string
	Attempt     int           // 1-based
	Decision    Decision      // how the attempt ended
	Wait        time.Duration // the wait before the next attempt; zero when none follows
	// GiveUp says why no further attempt follows a retryable outcome:
	// "attempts", "budget", "retry-after", "body", "ambiguous" or "ctx".
	GiveUp string
}

// MaxReplayBody is the largest request body that is kept in memory so that
// a request without GetBody can still be retried. Larger bodies without
// GetBody are sent once.
const MaxReplayBody = 32 << 20

// Transport retries the requests that pass through it, per the Policy of
// each request's API. It classifies every outcome with Classify, backs off
// exponentially with jitter (cenkalti/backoff/v4), honours Retry-After up to
// Policy.MaxRetryAfter, replays bodies through Request.GetBody, spends the
// retry Budget, and stops at once when the request's context ends.
//
// It returns the last response as it came, error statuses included: turning
// those into errors is the caller's business.
type Transport struct {
	// Next sends one attempt.
	Next http.RoundTripper
	// Options holds policies, budget, sleep and jitter; nil means defaults.
	Options *Options
	// Describe names the API and method of a request; nil means "" for
	// both, which selects the Modern policy.
	Describe func(*http.Request) (api, method string)
	// Logger gets one record per retry; nil means silence.
	Logger *slog.Logger
	// Observe, when set, is called after every attempt.
	Observe func(Event)
	// MaxAttempts, when set and returning a positive number, caps the
	// attempts for one request below its Policy's: 1 sends the request
	// once and leaves any retry to the caller.
	MaxAttempts func(*http.Request) int

	budgetOnce sync.Once
	budget     *Budget
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
	if t.MaxAttempts != nil {
		if n := t.MaxAttempts(req); n > 0 && n < p.MaxAttempts {
			p.MaxAttempts = n
		}
	}
	ctx := req.Context()
	idempotent := isIdempotent(req.Method)

	var tee *teeBody
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil && p.MaxAttempts > 1 &&
		req.ContentLength >= 0 && req.ContentLength <= MaxReplayBody {
		tee = &teeBody{r: req.Body}
		r2 := *req
		r2.Body = tee
		// Layers below (auth's one refresh on 401) may replay it too.
		r2.GetBody = func() (io.ReadCloser, error) {
			data, ok := tee.replay()
			if !ok {
				return nil, errNoReplay
			}
			return io.NopCloser(bytes.NewReader(data)), nil
		}
		req = &r2
	}

	var bo *backoff.ExponentialBackOff
	cur := req
	for attempt := 1; ; attempt++ {
		resp, err := t.Next.RoundTrip(cur)
		d := Classify(api, resp, err)
		ev := Event{API: api, Method: method, Attempt: attempt, Decision: d}
		if d.Class == Success {
			t.retryBudget(opts).success()
			t.observe(ev)
			return resp, err
		}
		if !d.Class.Retryable() {
			t.observe(ev)
			return markAttempts(resp, attempt), err
		}
		giveUp := ""
		switch {
		case ctx.Err() != nil:
			giveUp = "ctx"
		case attempt >= p.MaxAttempts:
			giveUp = "attempts"
		case d.Ambiguous && !idempotent && !p.RetryAmbiguous:
			giveUp = "ambiguous"
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
		if giveUp == "" && !t.retryBudget(opts).take(d.StatusCode == 0) {
			giveUp = "budget"
		}
		if giveUp != "" {
			ev.GiveUp = giveUp
			t.observe(ev)
			return markAttempts(resp, attempt), err
		}
		if bo == nil {
			bo = newBackoff(p)
		}
		wait := bo.NextBackOff()
		if opts.Rand != nil || p.Jitter > 0 {
			wait = jitter(wait, p.Jitter, opts.Rand)
		}
		if d.RetryAfter > 0 {
			wait = d.RetryAfter
		}
		ev.Wait = wait
		t.observe(ev)
		if t.Logger != nil && t.Logger.Enabled(ctx, slog.LevelInfo) {
			t.Logger.LogAttrs(ctx, slog.LevelInfo, "workspace: retrying",
				slog.String("api", api), slog.String("method", method),
				slog.Int("attempt", attempt), slog.String("class", d.Class.String()),
				slog.Int("status", d.StatusCode), slog.Duration("wait", wait),
				slog.String("reason", reasonOf(d)))
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

// AttemptsHeader is set on a failed final response that took more than one
// attempt, to the number of attempts. The core client reads and removes it.
const AttemptsHeader = "X-Workspace-Attempts"

func markAttempts(resp *http.Response, attempt int) *http.Response {
	if resp != nil && attempt > 1 {
		resp.Header.Set(AttemptsHeader, strconv.Itoa(attempt))
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
	case req.GetBody != nil: // the caller's, or the copy's (see RoundTrip)
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

func isIdempotent(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, "":
		return true
	}
	return false
}

func reasonOf(d Decision) string {
	if d.Info != nil && len(d.Info.Reasons) > 0 {
		return d.Info.Reasons[0]
	}
	return ""
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

var errNoReplay = errors.New("retry: request body too large to replay")

// teeBody keeps a copy of what has been read from a body without GetBody,
// so the request can be sent again.
type teeBody struct {
	r    io.ReadCloser
	buf  bytes.Buffer
	over bool // more than MaxReplayBody was read
	eof  bool
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 && !t.over {
		if t.buf.Len()+n > MaxReplayBody {
			t.over = true
			t.buf = bytes.Buffer{}
		} else {
			t.buf.Write(p[:n])
		}
	}
	if err == io.EOF {
		t.eof = true
	}
	return n, err
}

func (t *teeBody) Close() error { return t.r.Close() }

// replay returns the whole body when it was read to the end and kept.
func (t *teeBody) replay() ([]byte, bool) {
	if t.over {
		return nil, false
	}
	if !t.eof {
		// Read the rest so the copy is whole (the transport may have stopped
		// reading on an error).
		if _, err := io.Copy(io.Discard, t); err != nil || t.over {
			return nil, false
		}
	}
	return t.buf.Bytes(), true
}

// Sleeper is the signature of Options.Sleep, handy for tests that record
// waits instead of sleeping.
type Sleeper = func(ctx context.Context, d time.Duration) error
