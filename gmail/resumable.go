package gmail

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gmailapi "google.golang.org/api/gmail/v1"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/internal/sendonce"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
)

// UploadRetry tunes the retries of a resumable upload (a message larger
// than the resumable threshold). Nil means defaults.
type UploadRetry struct {
	// MaxAttempts is how many times one step of the upload (starting the
	// session, sending a chunk) is tried without progress, the first time
	// included (default 6). A step that moves the upload on (the server
	// holds more bytes than before) starts a fresh count.
	MaxAttempts int
	// Initial and Max bound the exponential backoff between tries
	// (defaults 1 s and 32 s, Gmail's advice, doubling with ±20 % jitter
	// as retry.DefaultPolicy does). A Retry-After the server gives is
	// waited for instead, up to MaxRetryAfter (default 2 minutes); a
	// longer one ends the upload with its error.
	Initial, Max, MaxRetryAfter time.Duration
}

// policy returns r with its defaults filled in (see retryPolicy).
func (r *UploadRetry) policy(op string) (retry.Policy, error) {
	var o UploadRetry
	if r != nil {
		o = *r
	}
	if o.MaxAttempts < 0 || o.Initial < 0 || o.Max < 0 || o.MaxRetryAfter < 0 {
		return retry.Policy{}, &workspace.InputError{Op: op, Field: "Retry", Reason: "must not be negative"}
	}
	return retryPolicy(o.MaxAttempts, o.Initial, o.Max, o.MaxRetryAfter), nil
}

// upload is one resumable upload of a message (Google's resumable
// protocol, https://developers.google.com/workspace/gmail/api/guides/uploads):
//
//  1. POST the message resource to the method's /upload URL with
//     uploadType=resumable: the reply's Location is the session URI.
//  2. PUT the bytes in chunks with "Content-Range: bytes first-last/total":
//     308 with "Range: bytes=0-n" until the last one, which gets the
//     method's reply (the message).
//  3. After a failure, an empty PUT with "Content-Range: bytes */total"
//     asks where the upload stands: 308 with the Range the server holds
//     (the upload resumes from there), or the method's reply when it had
//     every byte already. 404 means the session is gone: the upload
//     starts over if the last byte was never sent.
//
// Every request is described to the core with no API, which the quota
// layer does not charge, and the send-once mark, so the core's transport
// does not retry it: the upload is charged once, up front, and this is
// its only retry loop.
type upload struct {
	g      *Client
	uc     *userConn
	method string // e.g. "users.messages.import"
	user   string
	start  string // the session start URL
	meta   []byte // the message resource, JSON
	src    source
	chunk  int
	// cur reads the message on from curOff, where the last chunk's
	// request stopped reading it; nil when there is none.
	cur    io.Reader
	curOff int64
	o      retry.Policy
}

// answer is what one request of an upload got.
type answer struct {
	msg       *gmailapi.Message // the upload is finished
	session   string            // a session was started
	committed int64             // 308: the bytes the server holds
	partial   bool              // 308: the upload is not finished

	err   error
	retry bool // err may pass: a throttle, a 408 or 5xx, no answer
	// unclear: no answer, or one that does not say whether the request
	// was carried out (a 408 or 5xx, a reply cut short).
	unclear    bool
	throttled  bool
	reason     string
	gone       bool // 404 or 410 from the session: it expired
	retryAfter time.Duration
}

// resumable uploads src (a message of src.size bytes, described by meta)
// for method to the /upload URL path under gmail's base (e.g.
// "users/alice%40example.com/messages/import") with query q.
func (g *Client) resumable(ctx context.Context, uc *userConn, method, user, path string, q url.Values,
	meta *gmailapi.Message, src source, chunk int, r *UploadRetry) (*gmailapi.Message, error) {
	op := "gmail: " + strings.TrimPrefix(method, "users.")
	o, err := r.policy(op)
	if err != nil {
		return nil, err
	}
	mj, err := json.Marshal(meta)
	if err != nil {
		return nil, err
	}
	q.Set("uploadType", "resumable")
	if sendonce.From(ctx) {
		// The caller (the migration engine's sink) retries: one try of
		// each step, but still a status query when the last chunk's
		// answer is lost, so that a stored message is not sent again.
		o.MaxAttempts = 1
	}
	u := &upload{g: g, uc: uc, method: method, user: user, meta: mj, src: src, chunk: chunk, o: o,
		start: core.Of(g.core).BaseURL(workspace.APIGmail) + "upload/gmail/v1/" + path + "?" + q.Encode()}
	// One charge for the whole call, and one of the user's concurrency
	// slots held until it ends: the upload is one call in flight.
	rel, err := g.acquire(ctx, user, method)
	if err != nil {
		return nil, err
	}
	var report quota.Outcome
	defer func() { rel(report) }()
	return u.run(ctx, &report)
}

// run is the upload's retry loop.
func (u *upload) run(ctx context.Context, report *quota.Outcome) (*gmailapi.Message, error) {
	rctx := core.WithCall(sendonce.With(ctx), &core.Call{Method: u.method, User: u.user})
	total := u.src.size
	var (
		session string // the session URI, "" until started
		off     int64  // bytes the server holds
		query   bool   // the next step asks where the upload stands
		// lastSent: a request holding the last byte went out and nothing
		// since said the upload is unfinished: the message may be stored.
		lastSent bool
		fails    int // failed tries since the upload last moved on
		restarts int // sessions that expired under the upload
	)
	for {
		if err := ctx.Err(); err != nil {
			return nil, u.unknownIf(lastSent, err)
		}
		var a answer
		isPut := false
		switch {
		case session == "":
			a = u.startSession(rctx)
		case query:
			a = u.status(rctx, session)
		default:
			end := min(off+int64(u.chunk), total)
			if end == total {
				lastSent = true
			}
			isPut = true
			a = u.put(rctx, session, off, end)
		}
		if a.throttled {
			*report = quota.Outcome{Throttled: true, Reason: a.reason, RetryAfter: a.retryAfter}
		}
		switch {
		case a.msg != nil:
			return a.msg, nil
		case a.session != "":
			session, off, query = a.session, 0, false
			continue
		case a.partial:
			// The server says how far it got: not finished. A chunk it
			// took nothing of counts as a failed try.
			lastSent, query = false, false
			moved := a.committed > off
			off = a.committed
			if moved {
				fails = 0
			}
			if (moved || !isPut) && off < total {
				continue
			}
			a.err, a.retry = fmt.Errorf("gmail: %s: the upload did not move on (server holds %d of %d bytes)", u.method, off, total), true
		case isPut && !a.unclear:
			// A clear refusal of the request that held the last byte: the
			// message was not stored.
			lastSent = false
		}
		if a.gone && !lastSent && restarts < u.o.MaxAttempts-1 {
			// The session expired before the upload finished: start over.
			restarts++
			session, off, query = "", 0, false
			continue
		}
		fails++
		if ctx.Err() != nil {
			return nil, u.unknownIf(lastSent, ctx.Err())
		}
		if !a.retry || a.gone || fails >= u.o.MaxAttempts || a.retryAfter > u.o.MaxRetryAfter {
			var we *workspace.Error
			if errors.As(a.err, &we) {
				we.Attempts = fails
			}
			if lastSent && !query && session != "" {
				// Nothing said whether the last chunk was stored: ask
				// once, without waiting.
				s := u.status(rctx, session)
				switch {
				case s.msg != nil:
					return s.msg, nil
				case s.partial:
					return nil, a.err
				}
			}
			return nil, u.unknownIf(lastSent, a.err)
		}
		settings := core.Of(u.g.core)
		wait := max(a.retryAfter, expBackoff(u.o, fails-1, settings.Rand))
		if l := settings.Logger; l.Enabled(ctx, slog.LevelInfo) {
			l.LogAttrs(ctx, slog.LevelInfo, "gmail: upload retrying",
				slog.String("method", u.method), slog.String("user", u.user),
				slog.Int64("committed", off), slog.Int64("total", total),
				slog.Int("attempt", fails), slog.Duration("wait", wait), slog.String("error", a.err.Error()))
		}
		if err := settings.Sleep(ctx, wait); err != nil {
			return nil, u.unknownIf(lastSent, err)
		}
		// After a failed chunk or query, ask where the upload stands
		// (unless a 308 just said it); a failed start is tried again.
		query = session != "" && (!a.partial || off >= total)
	}
}

// unknownIf wraps err in an *OutcomeUnknownError when the last byte was
// sent without a clear answer.
func (u *upload) unknownIf(lastSent bool, err error) error {
	if lastSent {
		return &OutcomeUnknownError{Method: u.method, Err: err}
	}
	return err
}

// startSession opens the upload session.
func (u *upload) startSession(ctx context.Context) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.start, bytes.NewReader(u.meta))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	req.Header.Set("X-Upload-Content-Type", "message/rfc822")
	req.Header.Set("X-Upload-Content-Length", strconv.FormatInt(u.src.size, 10))
	resp, err := u.uc.hc.Do(req)
	if err != nil {
		a := u.failed(err)
		a.gone = false // a 404 here is about the mailbox, not a session
		return a
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusOK || loc == "" {
		return answer{err: fmt.Errorf("gmail: %s: upload session not started: status %d, Location %q", u.method, resp.StatusCode, loc)}
	}
	return answer{session: loc}
}

// put sends bytes [first, end) of the message, read as they are sent: on
// from where the previous chunk's request stopped when that is first,
// else from the start (a Seeker seeks). A replay of the request
// (Request.GetBody) reads them again from the start.
func (u *upload) put(ctx context.Context, session string, first, end int64) answer {
	r := u.cur
	if r == nil || u.curOff != first {
		var err error
		if r, err = u.readerAt(first); err != nil {
			return answer{err: fmt.Errorf("gmail: %s: reading the message: %w", u.method, err)}
		}
	}
	u.cur = nil
	body := &chunkReader{r: r, left: end - first}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, session, body)
	if err != nil {
		return answer{err: err}
	}
	req.ContentLength = end - first
	req.GetBody = func() (io.ReadCloser, error) {
		r, err := u.readerAt(first)
		return io.NopCloser(io.LimitReader(r, end-first)), err
	}
	req.Header.Set("Content-Type", "message/rfc822")
	req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, end-1, u.src.size))
	a := u.send(req)
	if n, ok := body.detach(); ok {
		u.cur, u.curOff = r, first+n
	}
	return a
}

// readerAt returns a new reader of the message from byte off.
func (u *upload) readerAt(off int64) (io.Reader, error) {
	r := u.src.open()
	if s, ok := r.(io.Seeker); ok {
		_, err := s.Seek(off, io.SeekStart)
		return r, err
	}
	_, err := io.CopyN(io.Discard, r, off)
	return r, err
}

// chunkReader is the body of one chunk's request: at most left bytes of
// r. Once detached it reads nothing more, so that r can go on with the
// next chunk even if the transport still held the body.
type chunkReader struct {
	mu       sync.Mutex
	r        io.Reader
	left     int64
	read     int64
	detached bool
	err      error
}

func (c *chunkReader) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.detached:
		return 0, errors.New("gmail: upload chunk read after its request ended")
	case c.left <= 0:
		return 0, io.EOF
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	c.read += int64(n)
	if err == io.EOF && c.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}

func (c *chunkReader) Close() error { return nil }

// detach ends the reads, and returns how many bytes were read and whether
// r can be read on from there.
func (c *chunkReader) detach() (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.detached = true
	return c.read, c.err == nil
}

// status asks where the upload stands: an empty PUT with
// "Content-Range: bytes */total".
func (u *upload) status(ctx context.Context, session string) answer {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, session, http.NoBody)
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Range", "bytes */"+strconv.FormatInt(u.src.size, 10))
	return u.send(req)
}

// send sends one request to the session and reads its answer.
func (u *upload) send(req *http.Request) answer {
	resp, err := u.uc.hc.Do(req)
	if err != nil {
		return u.failed(err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPermanentRedirect:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		n, ok := committed(resp.Header.Get("Range"))
		if !ok {
			return answer{err: fmt.Errorf("gmail: %s: unreadable Range %q in the upload's 308", u.method, resp.Header.Get("Range")), retry: true, unclear: true}
		}
		return answer{partial: true, committed: n}
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated:
		m := &gmailapi.Message{}
		if err := json.NewDecoder(resp.Body).Decode(m); err != nil {
			// The upload finished but its answer is lost: a status query
			// gets it again.
			return answer{err: fmt.Errorf("gmail: %s: unreadable answer to the upload: %w", u.method, err), retry: true, unclear: true}
		}
		return answer{msg: m}
	}
	return answer{err: fmt.Errorf("gmail: %s: unexpected status %d from the upload session", u.method, resp.StatusCode), unclear: true}
}

// failed classifies a request that got no answer or an error answer.
func (u *upload) failed(err error) answer {
	err = apiError(err)
	var we *workspace.Error
	if errors.As(err, &we) {
		we.API = workspace.APIGmail // the request carried no API: not charged again
		a := answer{err: err, retry: we.Temporary(), retryAfter: we.RetryAfter}
		a.unclear = we.Temporary() && !errors.Is(we, workspace.ErrRateLimited) && we.StatusCode != 0
		if errors.Is(we, workspace.ErrRateLimited) {
			a.throttled = true
			if len(we.Reasons) > 0 {
				a.reason = we.Reasons[0]
			}
		}
		a.gone = we.StatusCode == http.StatusNotFound || we.StatusCode == http.StatusGone
		return a
	}
	d := retry.Classify(workspace.APIGmail, nil, err)
	// A connection never made sent nothing; any other failure may come
	// after the server had the request.
	return answer{err: err, retry: d.Class.Retryable(), unclear: !(d.Class == retry.Transient && !d.Ambiguous)}
}

// committed reads the Range header of a 308 ("bytes=0-n"): the number of
// bytes the server holds, 0 when there is none.
func committed(v string) (int64, bool) {
	if v == "" {
		return 0, true
	}
	rest, ok := strings.CutPrefix(v, "bytes=")
	if !ok {
		return 0, false
	}
	first, last, ok := strings.Cut(rest, "-")
	if !ok || first != "0" {
		return 0, false
	}
	n, err := strconv.ParseInt(last, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n + 1, true
}
