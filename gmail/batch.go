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
	mrand "math/rand/v2"
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
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
)

// Batch sizes. Google accepts at most 100 calls in one batch and advises
// against more than 50 (larger batches trigger rate limiting).
const (
	MaxBatchSize     = 100
	DefaultBatchSize = 50
)

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
	// Size is the number of calls per HTTP batch: default 50, at most 100.
	Size int
	// Parallel is how many batches of one Batch call are in flight at
	// once (default 1). Each batch holds one of the user's concurrency
	// slots, but Google may run a batch's calls concurrently, so a batch
	// of 50 can weigh on the per-user concurrency limit like up to 50
	// requests: raise Parallel only with small batches.
	Parallel int
	// MaxAttempts is how many times a call is sent at most, the first
	// time included (default 6). Only throttles (403 rateLimitExceeded or
	// userRateLimitExceeded, 429), 408, 5xx and a lost batch are retried.
	MaxAttempts int
	// Initial and Max bound the exponential backoff between rounds of
	// retries (defaults 1 s and 32 s, Gmail's advice). A Retry-After the
	// server gives for a part is waited for instead, up to MaxRetryAfter
	// (default 2 minutes); a part asked to wait longer fails at once.
	Initial, Max, MaxRetryAfter time.Duration
	// Sleep waits between rounds; nil means a timer. Tests use a no-op.
	Sleep func(ctx context.Context, d time.Duration) error
}

func (o *BatchOptions) withDefaults() (BatchOptions, error) {
	var b BatchOptions
	if o != nil {
		b = *o
	}
	const op = "gmail: Batch"
	switch {
	case b.Size < 0 || b.Size > MaxBatchSize:
		return b, workspace.InvalidInput(op, "Size", fmt.Sprintf("must be between 1 and %d", MaxBatchSize))
	case b.Parallel < 0 || b.MaxAttempts < 0 || b.Initial < 0 || b.Max < 0 || b.MaxRetryAfter < 0:
		return b, workspace.InvalidInput(op, "BatchOptions", "must not be negative")
	}
	if b.Size == 0 {
		b.Size = DefaultBatchSize
	}
	if b.Parallel == 0 {
		b.Parallel = 1
	}
	if b.MaxAttempts == 0 {
		b.MaxAttempts = 6
	}
	if b.Initial == 0 {
		b.Initial = time.Second
	}
	if b.Max == 0 {
		b.Max = 32 * time.Second
	}
	b.Max = max(b.Max, b.Initial)
	if b.MaxRetryAfter == 0 {
		b.MaxRetryAfter = 2 * time.Minute
	}
	if b.Sleep == nil {
		b.Sleep = retry.SleepContext
	}
	return b, nil
}

// BatchStats counts the batch traffic of a Client since it was made.
type BatchStats struct {
	Requests  int64 // HTTP batch requests sent (round trips)
	Parts     int64 // calls sent inside batches, retries included
	Retried   int64 // calls sent again after a throttle or server error
	Throttled int64 // calls the server refused for rate or concurrency (403/429)
	Failed    int64 // calls that finally failed, for any reason
}

type batchCounters struct{ requests, parts, retried, throttled, failed atomic.Int64 }

func (g *Client) counters() *batchCounters { return &g.ctr }

// BatchStats returns the batch counters of g.
func (g *Client) BatchStats() BatchStats {
	c := g.counters()
	return BatchStats{Requests: c.requests.Load(), Parts: c.parts.Load(), Retried: c.retried.Load(),
		Throttled: c.throttled.Load(), Failed: c.failed.Load()}
}

// BatchError reports the calls of a Batch that failed. The other calls
// succeeded and their results are kept.
type BatchError struct {
	Total  int          // calls in the batch
	Failed []*BatchCall // the calls whose Err is set
}

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
// again. A batch holds one of the user's concurrency slots while it is in
// flight. Calls that fail with a throttle (403 rateLimitExceeded or
// userRateLimitExceeded, 429), 408 or 5xx, or whose batch was lost, are
// sent again in a later batch after a backoff, while the calls that
// succeeded are kept. Each call's outcome is in its StatusCode, Err and
// Result fields.
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
	uc, err := g.conn(ctx, op, user)
	if err != nil {
		return err
	}
	for i, c := range calls {
		if c == nil || c.Path == "" || c.Method == "" {
			return workspace.InvalidInput(op, fmt.Sprintf("calls[%d]", i), "Method and Path are required")
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
		chunks := (len(pending) + o.Size - 1) / o.Size
		sem := make(chan struct{}, o.Parallel)
		var wg sync.WaitGroup
		for k := range chunks {
			lo, hi := k*o.Size, min((k+1)*o.Size, len(pending))
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				break
			}
			wg.Go(func() {
				defer func() { <-sem }()
				g.sendBatch(ctx, uc, user, pending[lo:hi], outs[lo:hi])
			})
		}
		wg.Wait()
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
			case out.retry && c.Attempts < o.MaxAttempts && out.retryAfter <= o.MaxRetryAfter:
				next = append(next, c)
				wait = max(wait, out.retryAfter)
				c.Err = out.err
			default:
				c.Err = out.err
			}
		}
		if len(next) > 0 {
			wait = max(wait, backoff(o, round))
			if err := o.Sleep(ctx, wait); err != nil {
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

// backoff returns the wait before retry round n+1: Initial·2ⁿ capped at
// Max, with ±20 % jitter.
func backoff(o BatchOptions, n int) time.Duration {
	d := o.Initial
	for range n {
		d *= 2
		if d >= o.Max {
			d = o.Max
			break
		}
	}
	return time.Duration(float64(d) * (0.8 + 0.4*mrand.Float64()))
}

// partOutcome is what became of one call in one batch.
type partOutcome struct {
	err        error
	retry      bool
	throttled  bool
	reason     string
	retryAfter time.Duration
}

// batchCall is the Call the outer batch request carries. Its API is empty
// on purpose: the quota layer has no rule for it, so the request is not
// charged again (each part was charged before the batch was sent), and the
// retry layer uses its default policy for it.
func batchCallContext(ctx context.Context, user string) context.Context {
	return workspace.WithCall(ctx, &workspace.Call{Method: "gmail.batch", User: user})
}

// sendBatch sends one HTTP batch of calls and records each call's outcome
// in outs.
func (g *Client) sendBatch(ctx context.Context, uc *userConn, user string, calls []*BatchCall, outs []partOutcome) {
	// Charge every part. All but one release their concurrency slot at
	// once; the last one holds it for the batch, which is one request in
	// flight for the user. (Acquiring the held slot last means a cap of 1
	// cannot deadlock.)
	send := make([]int, 0, len(calls))
	var held quota.Release
	for i, c := range calls {
		rel, err := g.acquire(ctx, user, c.Method)
		if err != nil {
			outs[i] = partOutcome{err: err}
			continue
		}
		if held != nil {
			held(quota.Outcome{})
		}
		held = rel
		send = append(send, i)
	}
	if len(send) == 0 {
		return
	}
	var report quota.Outcome
	defer func() { held(report) }()

	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	prefix := hex.EncodeToString(rnd[:])
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	base := g.core.BaseURL(workspace.APIGmail)
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
		err = apiError(err)
		lost := partOutcome{err: fmt.Errorf("gmail: batch request lost: %w", err), retry: ctx.Err() == nil}
		var we *workspace.Error
		if errors.As(err, &we) && !we.Temporary() {
			lost.retry = false
		}
		for _, i := range send {
			outs[i] = lost
		}
		return
	}
	defer resp.Body.Close()
	got := map[int]bool{}
	g.readBatch(resp, calls, send, ids, outs, got)
	for _, i := range send {
		if !got[i] {
			outs[i] = partOutcome{err: fmt.Errorf("gmail: %s: no answer for this call in the batch response", calls[i].Method), retry: true}
		}
		if o := outs[i]; o.throttled && !report.Throttled {
			report = quota.Outcome{Throttled: true, Reason: o.reason, RetryAfter: o.retryAfter}
		}
	}
}

// readBatch parses a multipart/mixed batch response. Parts are matched by
// Content-ID (<response-ID>); a part without one takes the next
// unanswered call in order.
func (g *Client) readBatch(resp *http.Response, calls []*BatchCall, send []int, ids map[string]int, outs []partOutcome, got map[int]bool) {
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return // every call is unanswered: retried
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	pos := 0
	for {
		p, err := mr.NextPart()
		if err != nil {
			return
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
			return
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
		return partOutcome{err: fmt.Errorf("gmail: %s: unreadable answer in batch: %w", c.Method, err), retry: true}
	}
	defer resp.Body.Close()
	c.StatusCode = resp.StatusCode
	if resp.StatusCode < 300 {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return partOutcome{err: fmt.Errorf("gmail: %s: unreadable answer in batch: %w", c.Method, err), retry: true}
		}
		if c.Result != nil && len(bytes.TrimSpace(b)) > 0 {
			if err := json.Unmarshal(b, c.Result); err != nil {
				return partOutcome{err: fmt.Errorf("gmail: %s: cannot decode answer: %w", c.Method, err)}
			}
		}
		return partOutcome{}
	}
	d := retry.Classify(workspace.APIGmail, resp, nil)
	err = workspace.CheckResponse(workspace.APIGmail, c.Method, resp)
	var we *workspace.Error
	if errors.As(err, &we) {
		we.Attempts = c.Attempts
	}
	out := partOutcome{err: err, retry: d.Class.Retryable(), retryAfter: d.RetryAfter}
	if d.Class == retry.Throttle {
		out.throttled = true
		if d.Info != nil && len(d.Info.Reasons) > 0 {
			out.reason = d.Info.Reasons[0]
		}
	}
	return out
}
