package gmail

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/internal/sendonce"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
)

// MaxBatchSize is the most calls Google accepts in one HTTP batch.
const MaxBatchSize = 100

// defaultBatchSize is BatchOptions.Size's default: Google advises against
// more than 50 calls a batch (larger batches trigger rate limiting).
const defaultBatchSize = 50

// BatchCall is one call of an HTTP batch. Describe it with Method (for
// its quota cost), HTTPMethod, Path, Query and Body; Batch fills in
// StatusCode, Err and Attempts, and decodes a successful answer into
// Result.
type BatchCall struct {
	// Method is Gmail's method id without "gmail.", e.g.
	// "users.messages.get": the quota layer charges its cost.
	Method string
	// HTTPMethod is the HTTP method; empty means GET.
	HTTPMethod string
	// Path is the path under gmail/v1/, e.g. "users/a@example.com/messages/18c2f".
	Path string
	// Query holds the call's query parameters (format, fields, ...).
	Query url.Values
	// Body, when not nil, is sent as JSON.
	Body any
	// Result, when not nil, is a pointer the JSON answer is decoded into,
	// e.g. a *gmail.Message of google.golang.org/api/gmail/v1.
	Result any

	// StatusCode is the HTTP status of the last answer (0 when none came).
	StatusCode int
	// Err is nil when the call succeeded; otherwise the reason, typically
	// a *workspace.Error (match categories with errors.Is).
	Err error
	// Attempts is how many times the call was sent.
	Attempts int

	body []byte // encoded Body
}

// BatchOptions tune Batch and the helpers built on it. Nil means defaults.
type BatchOptions struct {
	// Size is the most calls one HTTP batch carries: default 50, at most
	// 100. A batch carries fewer when the quota's pace would spread them
	// over more than a quarter of a second: a batch reaches the server at
	// once, and a burst is what a real limit lower than the documented
	// one refuses.
	Size int
	// Parallel is how many batches of one Batch call are in flight at
	// once (default 1). Each batch holds one of the user's concurrency
	// slots, but Google may run a batch's calls concurrently, so a batch
	// of 50 can weigh on the per-user concurrency limit like up to 50
	// requests: raise Parallel only with small batches.
	Parallel int
	// MaxAttempts is how many times a call is sent at most, the first
	// time included (default 6, as the client's transport retries Gmail
	// calls: retry.DefaultPolicy). What is sent again is said at Batch: a
	// call that only reads after a throttle, a 408 or 5xx, or a lost
	// batch; a call that changes something only after an answer that
	// proves it was not carried out (a throttle).
	MaxAttempts int
	// Initial and Max bound the exponential backoff between rounds of
	// retries (defaults 1 s and 32 s, Gmail's advice, doubling with
	// ±20 % jitter as retry.DefaultPolicy does). A Retry-After the server
	// gives for a part is waited for instead, up to MaxRetryAfter
	// (default 2 minutes); a part asked to wait longer fails at once.
	Initial, Max, MaxRetryAfter time.Duration
}

// batchConfig is BatchOptions with its defaults filled in.
type batchConfig struct {
	size, parallel int
	policy         retry.Policy
}

func (o *BatchOptions) withDefaults() (batchConfig, error) {
	var b BatchOptions
	if o != nil {
		b = *o
	}
	const op = "gmail: Batch"
	switch {
	case b.Size < 0 || b.Size > MaxBatchSize:
		return batchConfig{}, &workspace.InputError{Op: op, Field: "Size", Reason: fmt.Sprintf("must be between 1 and %d", MaxBatchSize)}
	case b.Parallel < 0 || b.MaxAttempts < 0 || b.Initial < 0 || b.Max < 0 || b.MaxRetryAfter < 0:
		return batchConfig{}, &workspace.InputError{Op: op, Field: "BatchOptions", Reason: "must not be negative"}
	}
	c := batchConfig{size: b.Size, parallel: b.Parallel,
		policy: retryPolicy(b.MaxAttempts, b.Initial, b.Max, b.MaxRetryAfter)}
	if c.size == 0 {
		c.size = defaultBatchSize
	}
	if c.parallel == 0 {
		c.parallel = 1
	}
	return c, nil
}

// retryPolicy returns the policy of the package's own retry loops (batch
// rounds, resumable upload steps): Gmail's default policy of package
// retry, the one the client's transport starts from (6 attempts, 1 s
// doubling up to 32 s with ±20 % jitter, a Retry-After waited for up to 2
// minutes), with the values the caller set (non-zero) instead.
func retryPolicy(maxAttempts int, initial, maxWait, maxRetryAfter time.Duration) retry.Policy {
	p := retry.DefaultPolicy(workspace.APIGmail)
	if maxAttempts > 0 {
		p.MaxAttempts = maxAttempts
	}
	if initial > 0 {
		p.Initial = initial
	}
	if maxWait > 0 {
		p.Max = maxWait
	}
	p.Max = max(p.Max, p.Initial)
	if maxRetryAfter > 0 {
		p.MaxRetryAfter = maxRetryAfter
	}
	return p
}

// BatchStats counts the batch traffic of a Client since it was made.
type BatchStats struct {
	Requests  int64 // HTTP batch requests sent (round trips)
	Parts     int64 // calls sent inside batches, retries included
	Retried   int64 // calls sent again after a throttle, a server error or a lost batch
	Throttled int64 // calls the server refused for rate or concurrency (403/429)
	Failed    int64 // calls that finally failed, for any reason (Unknown included)
	Unknown   int64 // calls that change something whose outcome is unknown (*OutcomeUnknownError)
}

type batchCounters struct{ requests, parts, retried, throttled, failed, unknown atomic.Int64 }

func (g *Client) counters() *batchCounters { return &g.ctr }

// BatchStats returns the batch counters of g.
func (g *Client) BatchStats() BatchStats {
	c := g.counters()
	return BatchStats{Requests: c.requests.Load(), Parts: c.parts.Load(), Retried: c.retried.Load(),
		Throttled: c.throttled.Load(), Failed: c.failed.Load(), Unknown: c.unknown.Load()}
}

// OutcomeUnknownError is the error of a call that changes something
// (messages.send, insert, import, modify, batchModify, trash, delete,
// labels.create, ...; in a batch, any call whose HTTP method is not GET
// or HEAD) when no answer says whether Gmail carried it out: its batch
// was lost (the connection dropped, the batch got a 5xx or 408, its reply
// could not be read or had no answer for the call), or the call's own
// answer was a 5xx or 408, after which Google does not promise that
// nothing was done.
//
// Batch never sends such a call again, since a second send could do it
// twice (a message sent twice, a label created twice). Find out whether
// it happened (list the sent messages, get the labels) and send it again
// yourself if it did not. A throttle answer (429, 403
// rateLimitExceeded/userRateLimitExceeded) proves a call was refused, so
// such a call is sent again and never ends with this error.
//
// A resumable upload (Insert, Import, Send of a large message) whose last
// chunk got no clear answer, and whose session could not tell whether it
// finished, also ends with this error.
type OutcomeUnknownError struct {
	// Method is Gmail's method id, e.g. "users.messages.send".
	Method string
	// Err is what happened instead of an answer: the transport's error,
	// the batch's or the call's own 5xx answer (a *workspace.Error), or a
	// reply that could not be read.
	Err error
}

// Error names the method and says that it was not sent again, and why.
func (e *OutcomeUnknownError) Error() string {
	cause := "no answer"
	if e.Err != nil {
		cause = strings.TrimPrefix(e.Err.Error(), "gmail: "+e.Method+": ")
	}
	return "gmail: " + e.Method + ": outcome unknown, not sent again: " + cause
}

// Unwrap returns the cause.
func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// Is matches workspace.ErrOutcomeUnknown, so one check covers single calls
// and batch parts.
func (e *OutcomeUnknownError) Is(target error) bool { return target == workspace.ErrOutcomeUnknown }

// BatchError reports the calls of a Batch that failed. The other calls
// succeeded and their results are kept.
type BatchError struct {
	Total  int          // calls in the batch
	Failed []*BatchCall // the calls whose Err is set
}

// Error counts the failed calls and gives the first one's error.
func (e *BatchError) Error() string {
	if len(e.Failed) == 0 {
		return "gmail: batch: no failure"
	}
	return fmt.Sprintf("gmail: batch: %d of %d calls failed; first: %v", len(e.Failed), e.Total, e.Failed[0].Err)
}

// Unwrap returns the errors of the failed calls, so errors.Is(err,
// workspace.ErrNotFound) asks whether any call was not found.
func (e *BatchError) Unwrap() []error {
	out := make([]error, len(e.Failed))
	for i, c := range e.Failed {
		out[i] = c.Err
	}
	return out
}

// Batch sends calls acting as user through Gmail's HTTP batch endpoint
// (POST /batch/gmail/v1, multipart/mixed), Size calls per request.
//
// Each call is charged to the quota on its own, with its method's cost,
// before its batch is sent; the batch request itself is not charged
// again. The calls of one batch are those the pace admits within a
// quarter of a second (at most Size): the server receives a batch at
// once, so a 50-call batch of messages.get would be a 250-unit burst,
// which a user whose real limit is below Gmail's documented one is
// refused. The next batch is gathered while one is in flight, and each
// call reports its own answer to the quota, so that throttles inside
// batches slow the pace down. A batch holds one of the user's
// concurrency slots while it is in flight. The batch request is sent once by the client's transport: Batch
// does its own retries, call by call, in later batches after a backoff,
// and keeps the calls that succeeded. What is sent again depends on what
// the call does:
//
//   - A call that only reads (HTTP GET: messages.get and list,
//     threads.get, history.list, labels.get and list, ...) is sent again
//     after a throttle (429, 403 rateLimitExceeded or
//     userRateLimitExceeded), a 408 or 5xx answer, or a lost batch (the
//     connection dropped, the batch got a 5xx or 408, the reply could not
//     be read or had no answer for it).
//   - A call that changes something (any other HTTP method: send, insert,
//     import, modify, batchModify, trash, delete, labels.create, ...) is
//     sent again only after an answer that proves it was not carried out:
//     its own throttle answer, a throttle answer to the whole batch, or a
//     batch that never left (connection refused). After a 5xx or 408, or
//     a lost batch, it ends with an *OutcomeUnknownError and is never
//     sent again: it may have been done.
//
// Each call's outcome is in its StatusCode, Err and Result fields.
//
// Batch returns nil when every call succeeded, a *BatchError listing the
// failed ones otherwise, or an *workspace.InputError (before any request)
// for bad input, or the context's error.
//
// API docs: https://developers.google.com/workspace/gmail/api/guides/batch
func (g *Client) Batch(ctx context.Context, user string, calls []*BatchCall, opts *BatchOptions) error {
	const op = "gmail: Batch"
	o, err := opts.withDefaults()
	if err != nil {
		return err
	}
	// A batch of reads asks for the read scope; any other call in it
	// needs gmail.modify.
	scopes := readScopes
	if g.ReadOnlyScopes {
		scopes = readOnlyScopes
	}
	for _, c := range calls {
		if c != nil && c.HTTPMethod != "" && c.HTTPMethod != http.MethodGet {
			scopes = serviceScopes
		}
	}
	uc, err := g.connScopes(ctx, op, user, scopes)
	if err != nil {
		return err
	}
	for i, c := range calls {
		if c == nil || c.Path == "" || c.Method == "" {
			return &workspace.InputError{Op: op, Field: fmt.Sprintf("calls[%d]", i), Reason: "Method and Path are required"}
		}
		c.StatusCode, c.Err, c.Attempts = 0, nil, 0
		c.body = nil
		if c.Body != nil {
			b, err := json.Marshal(c.Body)
			if err != nil {
				return &workspace.InputError{Op: op, Field: fmt.Sprintf("calls[%d].Body", i), Reason: "cannot encode", Err: err}
			}
			c.body = b
		}
	}
	ctr := g.counters()
	pending := calls
	for round := 0; len(pending) > 0; round++ {
		if round > 0 {
			ctr.retried.Add(int64(len(pending)))
		}
		outs := make([]partOutcome, len(pending))
		g.sendRound(ctx, uc, user, pending, outs, o)
		if err := ctx.Err(); err != nil {
			return err
		}
		var next []*BatchCall
		var wait time.Duration
		for i, c := range pending {
			out := outs[i]
			if out.throttled {
				ctr.throttled.Add(1)
			}
			switch {
			case out.err == nil:
				c.Err = nil
			case out.maybeDone && !c.reads():
				c.Err = &OutcomeUnknownError{Method: c.Method, Err: out.err}
				ctr.unknown.Add(1)
			case out.retry && c.Attempts < o.policy.MaxAttempts && out.retryAfter <= o.policy.MaxRetryAfter:
				next = append(next, c)
				wait = max(wait, out.retryAfter)
				c.Err = out.err
			default:
				c.Err = out.err
			}
		}
		if len(next) > 0 {
			settings := core.Of(g.core)
			wait = max(wait, expBackoff(o.policy, round, settings.Rand))
			if l := settings.Logger; wait > time.Second && l != nil {
				l.LogAttrs(ctx, slog.LevelInfo, "gmail: batch calls wait for their retry",
					slog.String("user", user), slog.Int("calls", len(next)), slog.Int("round", round+1),
					slog.Duration("wait", wait))
			}
			if err := settings.Sleep(ctx, wait); err != nil {
				return err
			}
		}
		pending = next
	}
	var failed []*BatchCall
	for _, c := range calls {
		if c.Err != nil {
			failed = append(failed, c)
		}
	}
	if len(failed) > 0 {
		ctr.failed.Add(int64(len(failed)))
		return &BatchError{Total: len(calls), Failed: failed}
	}
	return nil
}

// reads reports whether c only reads (HTTP GET or HEAD), so that sending
// it twice cannot change anything.
func (c *BatchCall) reads() bool {
	// One rule for every call: the core's repeat table (retry.Table),
	// which knows the writes that are safe to repeat (modify, trash, ...).
	hm := strings.ToUpper(c.HTTPMethod)
	if hm == "" {
		hm = http.MethodGet
	}
	return retry.RuleFor(workspace.APIGmail, c.Method, hm) == retry.Safe
}

// expBackoff returns the wait of p before retry n+1:
// Initial·Multiplierⁿ capped at Max, with p's jitter (±20 % by default).
func expBackoff(p retry.Policy, n int, rnd func() float64) time.Duration {
	d := float64(p.Initial)
	for range n {
		d *= max(p.Multiplier, 1)
		if d >= float64(p.Max) {
			d = float64(p.Max)
			break
		}
	}
	return time.Duration(d * (1 - p.Jitter + 2*p.Jitter*rnd()))
}

// partOutcome is what became of one call in one batch.
type partOutcome struct {
	err error
	// retry says the failure may pass (a throttle, a 408 or 5xx, a lost
	// batch); maybeDone that the call may have been carried out all the
	// same (no answer, or one that proves nothing), so that only a call
	// that reads may be sent again.
	retry, maybeDone bool
	throttled        bool
	reason           string
	retryAfter       time.Duration
}

// batchCallContext returns the context of the outer batch request. Its
// Call has no API on purpose: the quota layer has no rule for it, so the
// request is not charged again (each part was charged before the batch
// was sent). It is marked to be sent once: Batch retries call by call
// (a transport retry would send every call again, writes included).
func batchCallContext(ctx context.Context, user string) context.Context {
	return core.WithCall(sendonce.With(ctx), &core.Call{Method: "gmail.batch", User: user})
}

// lostBatch is the outcome of every call of a batch that got no answer of
// its own: err is what came instead of the multipart reply.
func lostBatch(ctx context.Context, err error) partOutcome {
	err = apiError(err)
	out := partOutcome{err: fmt.Errorf("gmail: batch request lost: %w", err)}
	if ctx.Err() != nil {
		return out
	}
	var we *workspace.Error
	if errors.As(err, &we) {
		// An answer to the whole batch, or a local refusal (token,
		// quota) before it was sent.
		out.err = fmt.Errorf("gmail: batch request refused: %w", err)
		switch {
		case errors.Is(we, workspace.ErrRateLimited):
			// A throttle: the batch was refused, none of its calls ran.
			out.retry, out.throttled, out.retryAfter = true, true, we.RetryAfter
			if len(we.Reasons) > 0 {
				out.reason = we.Reasons[0]
			}
		case we.Temporary():
			// 5xx or 408: Google does not say which calls ran.
			out.retry, out.maybeDone = true, we.StatusCode != 0
		}
		return out
	}
	d := retry.Classify(workspace.APIGmail, nil, err)
	switch {
	case d.Class == retry.Transient && !d.Ambiguous:
		// Never sent (connection refused, DNS): nothing ran.
		out.retry = true
	case d.Class == retry.Transient:
		// Sent, then the connection dropped or timed out: any call may
		// have run.
		out.retry, out.maybeDone = true, true
	default:
		// An error of unknown kind: not worth another try, and nothing
		// proves that the calls did not run.
		out.maybeDone = true
	}
	return out
}

// batchSpan is how long the pace may spread the calls gathered into one
// HTTP batch: the server receives them at once, so a batch holds what the
// rate admits in a quarter of a second (plus the limiter's small burst),
// not a 50-call burst that a user's real limit, lower than documented,
// would refuse. At Gmail's documented 250 units a second a batch of
// messages.get carries about 12 calls; at a fifth of it, 2 or 3.
const batchSpan = 250 * time.Millisecond

// spanLimiter is implemented by quota.RuleLimiter: Acquire that gives up
// rather than wait longer than maxWait.
type spanLimiter interface {
	AcquireWithin(ctx context.Context, r *quota.Request, maxWait time.Duration) (quota.Release, time.Duration, error)
}

// sendRound sends calls in HTTP batches of at most o.size calls, o.parallel
// at a time, and records each call's outcome in outs.
//
// Each call is charged to the quota on its own before its batch is sent,
// and a batch holds one of the user's concurrency slots (its first call's;
// the others are quota.Request.Batched). With the core's rule limiter, a
// batch gathers the calls admitted within batchSpan of its first one; the
// next call starts the next batch, which is gathered while the previous
// one is in flight. Each call's Release reports its own answer, so
// throttles inside a batch slow the pace like throttles of single calls.
// With another Limiter, a batch takes o.size calls, each paced, and only
// the last call's Release is held until the answer (it reports the
// batch's first throttle).
func (g *Client) sendRound(ctx context.Context, uc *userConn, user string, calls []*BatchCall, outs []partOutcome, o batchConfig) {
	sl, spread := g.core.Limiter().(spanLimiter)
	sem := make(chan struct{}, o.parallel)
	var wg sync.WaitGroup
	defer wg.Wait()
	for i := 0; i < len(calls) && ctx.Err() == nil; {
		lo := i
		rels := make([]quota.Release, 0, min(o.size, len(calls)-lo))
		var span time.Duration
		for i < len(calls) && i-lo < o.size {
			method := calls[i].Method
			var rel quota.Release
			var err error
			if spread && i > lo {
				var waited time.Duration
				rel, waited, err = sl.AcquireWithin(ctx, &quota.Request{API: workspace.APIGmail, Method: method,
					Project: g.core.Project(), User: user, Batched: true}, batchSpan-span)
				if err == nil && rel == nil {
					break // the pace says: send what is gathered
				}
				span += waited
				err = g.acquireError(ctx, method, err)
			} else {
				rel, err = g.acquire(ctx, user, method)
			}
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				outs[i] = partOutcome{err: err}
				rels = append(rels, nil)
				i++
				continue
			}
			if !spread && len(rels) > 0 {
				// One slot for the whole batch: give back the previous
				// call's (acquiring the held slot last means a cap of 1
				// cannot deadlock).
				for k := len(rels) - 1; k >= 0; k-- {
					if rels[k] != nil {
						rels[k](quota.Outcome{})
						rels[k] = nil
						break
					}
				}
			}
			rels = append(rels, rel)
			i++
		}
		if ctx.Err() == nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
		}
		if err := ctx.Err(); err != nil {
			// Nothing of this batch was sent.
			for _, rel := range rels {
				if rel != nil {
					rel(quota.Outcome{Err: err})
				}
			}
			return
		}
		hi := lo + len(rels)
		wg.Go(func() {
			defer func() { <-sem }()
			g.sendBatch(ctx, uc, user, calls[lo:hi], outs[lo:hi], rels)
		})
	}
}

// acquireError maps an error of the limiter like acquire does.
func (g *Client) acquireError(ctx context.Context, method string, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	if errors.Is(err, quota.ErrBudgetExhausted) {
		return &budgetError{method: method, err: err}
	}
	return err
}

// sendBatch sends one HTTP batch of calls, whose quota rels holds (nil for
// a call refused by the limiter, whose outcome is already in outs), and
// records each call's outcome in outs. Each non-nil Release is called
// with its call's outcome.
func (g *Client) sendBatch(ctx context.Context, uc *userConn, user string, calls []*BatchCall, outs []partOutcome, rels []quota.Release) {
	send := make([]int, 0, len(calls))
	for i, rel := range rels {
		// A call without a Release either was refused by the limiter (its
		// outcome is set) or gave its slot to the next call.
		if rel != nil || outs[i].err == nil {
			send = append(send, i)
		}
	}
	if len(send) == 0 {
		return
	}
	defer func() {
		// A throttle of a call that gave its slot back is reported by the
		// Release still held.
		var orphan *partOutcome
		for _, i := range send {
			if rels[i] == nil && outs[i].throttled && orphan == nil {
				orphan = &outs[i]
			}
		}
		for i, rel := range rels {
			if rel == nil {
				continue
			}
			out := outs[i]
			if !out.throttled && orphan != nil {
				out = *orphan
			}
			var o quota.Outcome
			switch {
			case out.throttled:
				o = quota.Outcome{Throttled: true, Reason: out.reason, RetryAfter: out.retryAfter}
			case out.err != nil && out.maybeDone:
				o = quota.Outcome{Err: out.err}
			}
			rel(o)
		}
	}()

	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	prefix := hex.EncodeToString(rnd[:])
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	base := core.Of(g.core).BaseURL(workspace.APIGmail)
	bu, err := url.Parse(base)
	if err != nil {
		for _, i := range send {
			outs[i] = partOutcome{err: err}
		}
		return
	}
	ids := make(map[string]int, len(send))
	for _, i := range send {
		c := calls[i]
		c.Attempts++
		id := prefix + "+" + strconv.Itoa(i)
		ids[id] = i
		pw, _ := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type": {"application/http"},
			"Content-ID":   {"<" + id + ">"},
		})
		method := c.HTTPMethod
		if method == "" {
			method = http.MethodGet
		}
		target := strings.TrimSuffix(bu.Path, "/") + "/gmail/v1/" + strings.TrimPrefix(c.Path, "/")
		if len(c.Query) > 0 {
			target += "?" + c.Query.Encode()
		}
		fmt.Fprintf(pw, "%s %s HTTP/1.1\r\n", method, target)
		if c.body != nil {
			fmt.Fprintf(pw, "Content-Type: application/json; charset=UTF-8\r\nContent-Length: %d\r\n\r\n", len(c.body))
			_, _ = pw.Write(c.body)
		} else {
			_, _ = io.WriteString(pw, "\r\n")
		}
	}
	_ = mw.Close()
	ctr := g.counters()
	ctr.requests.Add(1)
	ctr.parts.Add(int64(len(send)))

	req, err := http.NewRequestWithContext(batchCallContext(ctx, user), http.MethodPost, base+"batch/gmail/v1", bytes.NewReader(body.Bytes()))
	if err != nil {
		for _, i := range send {
			outs[i] = partOutcome{err: err}
		}
		return
	}
	req.Header.Set("Content-Type", "multipart/mixed; boundary="+mw.Boundary())
	resp, err := uc.hc.Do(req)
	if err != nil {
		lost := lostBatch(ctx, err)
		for _, i := range send {
			outs[i] = lost
		}
		return
	}
	defer resp.Body.Close()
	got := map[int]bool{}
	readErr := g.readBatch(resp, calls, send, ids, outs, got)
	for _, i := range send {
		if !got[i] {
			why := "no answer for this call in the batch response"
			if readErr != nil {
				why = "batch response unreadable: " + readErr.Error()
			}
			outs[i] = partOutcome{err: fmt.Errorf("gmail: %s: %s", calls[i].Method, why), retry: true, maybeDone: true}
		}
	}
}

// readBatch parses a multipart/mixed batch response. Parts are matched by
// Content-ID (<response-ID>); a part without one takes the next
// unanswered call in order. It returns why the response could not be
// read to its end, or nil; calls left without an answer are not in got.
func (g *Client) readBatch(resp *http.Response, calls []*BatchCall, send []int, ids map[string]int, outs []partOutcome, got map[int]bool) error {
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return fmt.Errorf("not a multipart reply (Content-Type %q)", resp.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	pos := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		id := strings.TrimSpace(p.Header.Get("Content-ID"))
		id = strings.TrimSuffix(strings.TrimPrefix(id, "<"), ">")
		id = strings.TrimPrefix(id, "response-")
		i, ok := ids[id]
		if !ok {
			for pos < len(send) && got[send[pos]] {
				pos++
			}
			if pos == len(send) {
				continue
			}
			i = send[pos]
		}
		if got[i] {
			continue
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return err
		}
		got[i] = true
		outs[i] = decodePart(calls[i], data)
	}
}

// decodePart reads the HTTP response inside one batch part.
func decodePart(c *BatchCall, data []byte) partOutcome {
	data = bytes.TrimLeft(data, "\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(data)), nil)
	if err != nil {
		return partOutcome{err: fmt.Errorf("gmail: %s: unreadable answer in batch: %w", c.Method, err), retry: true, maybeDone: true}
	}
	defer resp.Body.Close()
	c.StatusCode = resp.StatusCode
	if resp.StatusCode < 300 {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			// Done (the status says so) but the answer is lost: a read
			// may be sent again, a write is not.
			return partOutcome{err: fmt.Errorf("gmail: %s: done, but its answer in the batch is unreadable: %w", c.Method, err), retry: c.reads()}
		}
		if c.Result != nil && len(bytes.TrimSpace(b)) > 0 {
			if err := json.Unmarshal(b, c.Result); err != nil {
				return partOutcome{err: fmt.Errorf("gmail: %s: cannot decode answer: %w", c.Method, err)}
			}
		}
		return partOutcome{}
	}
	d := retry.Classify(workspace.APIGmail, resp, nil)
	err = core.CheckResponse(workspace.APIGmail, c.Method, resp)
	var we *workspace.Error
	if errors.As(err, &we) {
		we.Attempts = c.Attempts
	}
	out := partOutcome{err: err, retry: d.Class.Retryable(), retryAfter: d.RetryAfter}
	// A 408 or 5xx of the call's own proves nothing about whether it
	// ran; a throttle proves it did not.
	out.maybeDone = d.Class == retry.Transient
	if d.Class == retry.Throttle {
		out.throttled = true
		out.reason = d.Reason
	}
	return out
}
