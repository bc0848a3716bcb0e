package retry_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
)

func jsonErr(code int, reason, msg string) string {
	return fmt.Sprintf(`{"error":{"code":%d,"message":%q,"errors":[{"domain":"usageLimits","reason":%q,"message":%q}]}}`, code, msg, reason, msg)
}

const gdataXML = `<?xml version="1.0" encoding="UTF-8"?>
<AppsForYourDomainErrors>
  <error errorCode="%d" invalidInput="jdoe" reason="%s" />
</AppsForYourDomainErrors>`

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		api    string
		status int
		body   string
		header http.Header
		want   retry.Class
	}{
		{"ok", "gmail", 200, `{}`, nil, retry.Success},
		{"gmail 500", "gmail", 500, jsonErr(500, "backendError", "Backend Error"), nil, retry.Transient},
		{"gmail 502 html", "gmail", 502, "<html>bad gateway</html>", nil, retry.Transient},
		{"gmail 503", "gmail", 503, jsonErr(503, "backendError", "x"), nil, retry.Transient},
		{"gmail 504", "gmail", 504, "", nil, retry.Transient},
		{"408", "gmail", 408, "", nil, retry.Transient},
		{"legacy 503 is a quota throttle", "groupsmigration", 503, `{"responseCode":"BACKEND FAILURE"}`, nil, retry.Throttle},
		{"audit 503", "audit", 503, "", nil, retry.Throttle},
		{"legacy 503 backendError is a server error", "groupsmigration", 503, `{"error":{"code":503,"errors":[{"domain":"global","reason":"backendError"}]},"responseCode":"BACKEND FAILURE"}`, nil, retry.Transient},
		{"403 rateLimitExceeded", "gmail", 403, jsonErr(403, "rateLimitExceeded", "Rate Limit Exceeded"), nil, retry.Throttle},
		{"403 userRateLimitExceeded", "gmail", 403, jsonErr(403, "userRateLimitExceeded", "User Rate Limit Exceeded"), nil, retry.Throttle},
		{"429", "gmail", 429, jsonErr(429, "rateLimitExceeded", "Too many concurrent requests for user"), nil, retry.Throttle},
		{"429 sending limit without a time", "gmail", 429, jsonErr(429, "rateLimitExceeded", "User-rate limit exceeded (Mail sending)"), nil, retry.QuotaExhausted},
		{"429 RESOURCE_EXHAUSTED v2", "cloudidentity", 429, `{"error":{"code":429,"message":"Quota exceeded for quota metric 'Read requests' and limit 'Read requests per minute'","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMIT_EXCEEDED","domain":"googleapis.com"}]}}`, nil, retry.Throttle},
		{"legacy 503 dailyLimitExceeded", "groupsmigration", 503, jsonErr(503, "dailyLimitExceeded", "Daily Limit Exceeded"), nil, retry.QuotaExhausted},
		{"403 dailyLimitExceeded", "gmail", 403, jsonErr(403, "dailyLimitExceeded", "Daily Limit Exceeded"), nil, retry.QuotaExhausted},
		{"403 quotaExceeded daily", "directory", 403, jsonErr(403, "quotaExceeded", "Quota exceeded for the day"), nil, retry.QuotaExhausted},
		{"429 quotaExceeded per minute is a rate", "directory", 429, jsonErr(429, "quotaExceeded", "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute per user'"), nil, retry.Throttle},
		{"401", "gmail", 401, jsonErr(401, "authError", "Invalid Credentials"), nil, retry.Auth},
		{"400", "gmail", 400, jsonErr(400, "badRequest", "Bad Request"), nil, retry.Permanent},
		{"legacy 403 is bad input", "audit", 403, "", nil, retry.Permanent},
		{"403 domainPolicy", "gmail", 403, jsonErr(403, "domainPolicy", "disabled"), nil, retry.Permanent},
		{"404", "gmail", 404, jsonErr(404, "notFound", "Not Found"), nil, retry.Permanent},
		{"parallel insert", "groupsmigration", 400, `{"error":{"code":400,"message":"UNSUPPORTED_PARALLEL_OPERATION","errors":[{"reason":"UNSUPPORTED_PARALLEL_OPERATION"}]}}`, nil, retry.Throttle},
		{"parallel insert, message only", "groupsmigration", 400, `{"error":{"code":400,"message":"UNSUPPORTED_PARALLEL_OPERATION"}}`, nil, retry.Throttle},
		{"parallel insert, errors[].message only", "groupsmigration", 400, `{"error":{"code":400,"message":"Bad Request","errors":[{"domain":"global","reason":"badRequest","message":"UNSUPPORTED_PARALLEL_OPERATION"}]}}`, nil, retry.Throttle},
		{"parallel insert, ErrorInfo metadata", "groupsmigration", 400, `{"error":{"code":400,"message":"x","status":"FAILED_PRECONDITION","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"x","metadata":{"responseCode":"UNSUPPORTED_PARALLEL_OPERATION"}}]}}`, nil, retry.Throttle},
		{"parallel insert, plain text", "groupsmigration", 400, "UNSUPPORTED_PARALLEL_OPERATION\n", nil, retry.Throttle},
		{"parallel insert, lower case", "groupsmigration", 400, `{"error":{"code":400,"message":"unsupported_parallel_operation"}}`, nil, retry.Throttle},
		{"parallel insert, XML", "groupsmigration", 400, `<?xml version="1.0"?><Groups><responseCode>UNSUPPORTED_PARALLEL_OPERATION</responseCode></Groups>`, nil, retry.Throttle},
		{"parallel insert, 403", "groupsmigration", 403, `{"kind":"groupsmigration#groups","responseCode":"UNSUPPORTED_PARALLEL_OPERATION"}`, nil, retry.Throttle},
		{"invalid message", "groupsmigration", 400, `{"error":{"code":400,"message":"INVALID MESSAGE FAILURE"},"responseCode":"INVALID MESSAGE FAILURE"}`, nil, retry.Permanent},
		{"gdata entity missing", "settings", 400, fmt.Sprintf(gdataXML, 1301, "EntityDoesNotExist"), nil, retry.Permanent},
		{"gdata server busy", "settings", 400, fmt.Sprintf(gdataXML, 1001, "ServerBusy"), nil, retry.Throttle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tt.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tt.body))}
			d := retry.Classify(tt.api, resp, nil)
			if d.Class != tt.want {
				t.Errorf("Classify = %v, want %v (reason %q)", d.Class, tt.want, d.Reason)
			}
			// The body stays readable for the caller.
			got, _ := io.ReadAll(resp.Body)
			if string(got) != tt.body {
				t.Errorf("body after Classify = %q, want %q", got, tt.body)
			}
		})
	}
}

func TestClassifyErrors(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		want      retry.Class
		ambiguous bool
	}{
		{"dial refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, retry.Transient, false},
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, retry.Transient, true},
		{"unexpected EOF", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), retry.Transient, true},
		{"canceled", context.Canceled, retry.Canceled, false},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), retry.Canceled, false},
		{"budget", &quota.BudgetError{Budget: "b"}, retry.QuotaExhausted, false},
		{"wrapped budget", fmt.Errorf("x: %w", &quota.BudgetError{Budget: "b"}), retry.QuotaExhausted, false},
		{"any spent quota", spentQuota{}, retry.QuotaExhausted, false},
		{"other", errors.New("tls: bad certificate"), retry.Permanent, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := retry.Classify("gmail", nil, tt.err)
			if d.Class != tt.want || d.Ambiguous != tt.ambiguous {
				t.Errorf("Classify(%v) = %v ambiguous=%v, want %v ambiguous=%v", tt.err, d.Class, d.Ambiguous, tt.want, tt.ambiguous)
			}
		})
	}
}

func TestRetryAfterHeader(t *testing.T) {
	resp := &http.Response{StatusCode: 429, Header: http.Header{"Retry-After": {"7"}}, Body: io.NopCloser(strings.NewReader(""))}
	if d := retry.Classify("gmail", resp, nil); d.RetryAfter != 7*time.Second {
		t.Errorf("RetryAfter = %v, want 7s", d.RetryAfter)
	}
	resp = &http.Response{StatusCode: 429, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"error":{"code":429,"message":"x","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"3s"}]}}`))}
	if d := retry.Classify("gmail", resp, nil); d.RetryAfter != 3*time.Second {
		t.Errorf("RetryInfo RetryAfter = %v, want 3s", d.RetryAfter)
	}
}

// script serves a sequence of canned answers and records the request bodies.
type script struct {
	mu      sync.Mutex
	answers []func(w http.ResponseWriter)
	bodies  []string
	hits    int
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.bodies = append(s.bodies, string(b))
	i := s.hits
	s.hits++
	s.mu.Unlock()
	if i < len(s.answers) {
		s.answers[i](w)
		return
	}
	w.WriteHeader(200)
	io.WriteString(w, "ok")
}

func status(code int, body string, hdr ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

// recorder is a Sleep that records waits instead of sleeping.
type recorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *recorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
	return ctx.Err()
}

func newTransport(api string, p retry.Policy, rec *recorder, b *retry.Budget) *retry.Transport {
	return &retry.Transport{
		Next:     http.DefaultTransport,
		Options:  &retry.Options{Default: p, Sleep: rec.sleep, Budget: b},
		Describe: func(*http.Request) (string, string) { return api, "m" },
	}
}

var fixed = retry.Policy{MaxAttempts: 4, Initial: time.Second, Max: 8 * time.Second, Multiplier: 2, MaxRetryAfter: time.Minute}

func TestTransportRetriesThenSucceeds(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){
		status(503, jsonErr(503, "backendError", "x")),
		status(403, jsonErr(403, "userRateLimitExceeded", "slow down")),
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	rec := &recorder{}
	tr := newTransport("gmail", fixed, rec, retry.Unbudgeted())
	req, _ := http.NewRequest("PUT", srv.URL, strings.NewReader("payload"))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second}, rec.waits); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"payload", "payload", "payload"}, s.bodies); diff != "" {
		t.Errorf("bodies replayed (-want +got):\n%s", diff)
	}
}

func TestTransportAttemptLimit(t *testing.T) {
	s := &script{}
	for range 10 {
		s.answers = append(s.answers, status(500, jsonErr(500, "backendError", "x")))
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	rec := &recorder{}
	var events []retry.Event
	tr := newTransport("gmail", fixed, rec, retry.Unbudgeted())
	tr.Observe = func(e retry.Event) { events = append(events, e) }
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 500 || s.count() != 4 {
		t.Fatalf("status %d after %d hits, want 500 after 4", resp.StatusCode, s.count())
	}
	if got := resp.Header.Get(core.AttemptsHeader); got != "4" {
		t.Errorf("attempts header %q", got)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second, 4 * time.Second}, rec.waits); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if last := events[len(events)-1]; last.GiveUp != "attempts" {
		t.Errorf("last event GiveUp = %q", last.GiveUp)
	}
}

func TestTransportRetryAfter(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){
		status(429, jsonErr(429, "rateLimitExceeded", "x"), "Retry-After", "9"),
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	rec := &recorder{}
	tr := newTransport("gmail", fixed, rec, retry.Unbudgeted())
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if diff := cmp.Diff([]time.Duration{9 * time.Second}, rec.waits); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestTransportRetryAfterTooLongFailsFast(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){
		status(429, jsonErr(429, "rateLimitExceeded", "Mail sending"), "Retry-After", "7200"),
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	rec := &recorder{}
	tr := newTransport("gmail", fixed, rec, retry.Unbudgeted())
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || s.count() != 1 || len(rec.waits) != 0 {
		t.Errorf("status %d hits %d waits %v: want one attempt, no wait", resp.StatusCode, s.count(), rec.waits)
	}
}

func TestTransportBudget(t *testing.T) {
	s := &script{}
	for range 20 {
		s.answers = append(s.answers, status(500, ""))
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	rec := &recorder{}
	b := retry.NewBudget(10, 5, 10, 1) // two retries, then spent
	tr := newTransport("gmail", fixed, rec, b)
	var events []retry.Event
	tr.Observe = func(e retry.Event) { events = append(events, e) }
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, _ := tr.RoundTrip(req)
	resp.Body.Close()
	if s.count() != 3 {
		t.Errorf("hits = %d, want 3 (two retries paid for)", s.count())
	}
	if last := events[len(events)-1]; last.GiveUp != "budget" {
		t.Errorf("GiveUp = %q, want budget", last.GiveUp)
	}
	if b.Available() != 0 {
		t.Errorf("budget left %d", b.Available())
	}
}

func TestTransportCancelDuringWait(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){status(503, "")}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	tr := &retry.Transport{
		Next: http.DefaultTransport,
		Options: &retry.Options{Default: fixed, Sleep: func(ctx context.Context, d time.Duration) error {
			close(started)
			<-ctx.Done() // a wait that only cancellation ends
			return ctx.Err()
		}},
	}
	go func() { <-started; cancel() }()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	_, err := tr.RoundTrip(req)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if s.count() != 1 {
		t.Errorf("hits = %d, want 1", s.count())
	}
}

func TestSleepContextStopsAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := retry.SleepContext(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// hijack drops the connection after reading the request: the server may
// have acted on it.
func hijack(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		conn.Close()
	}
}

func TestAmbiguousWriteNotRetried(t *testing.T) {
	for _, tc := range []struct {
		method    string
		ambiguous bool
		wantHits  int
	}{
		{"POST", false, 1},
		{"POST", true, 2},
		{"PUT", false, 2},
	} {
		t.Run(fmt.Sprintf("%s/opt-in=%v", tc.method, tc.ambiguous), func(t *testing.T) {
			s := &script{answers: []func(http.ResponseWriter){hijack}}
			srv := httptest.NewServer(s)
			defer srv.Close()
			p := fixed
			p.RetryAmbiguous = tc.ambiguous
			rec := &recorder{}
			tr := newTransport("groupsmigration", p, rec, retry.Unbudgeted())
			req, _ := http.NewRequest(tc.method, srv.URL, strings.NewReader("msg"))
			resp, err := tr.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			if s.count() != tc.wantHits {
				t.Errorf("hits = %d, want %d (err %v)", s.count(), tc.wantHits, err)
			}
		})
	}
}

type onceReader struct{ r io.Reader }

func (o *onceReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// recordingBody is a body without GetBody that notes when it is read and
// closed, to show the transport is done with it before the first attempt.
type recordingBody struct {
	mu     sync.Mutex
	r      io.Reader
	eof    bool
	closed bool
}

func (b *recordingBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.r.Read(p)
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

func (b *recordingBody) Close() error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	return nil
}

// TestBodyWithoutGetBodyHeldBeforeFirstAttempt replaces a test that
// asserted a copy made while net/http read the body: the body is read
// whole and closed before the first attempt, and every attempt gets its
// own reader through GetBody.
func TestBodyWithoutGetBodyHeldBeforeFirstAttempt(t *testing.T) {
	body := &recordingBody{r: strings.NewReader("message body")}
	var sent []string
	attempts := 0
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		attempts++
		body.mu.Lock()
		done := body.eof && body.closed
		body.mu.Unlock()
		if !done {
			t.Errorf("attempt %d: the caller's body was not read and closed before the attempt", attempts)
		}
		if r.GetBody == nil || r.ContentLength != int64(len("message body")) {
			t.Errorf("attempt %d: GetBody %v, ContentLength %d", attempts, r.GetBody != nil, r.ContentLength)
		}
		b, _ := io.ReadAll(r.Body)
		sent = append(sent, string(b))
		code := 200
		if attempts == 1 {
			code = 503
		}
		return &http.Response{StatusCode: code, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	})
	rec := &recorder{}
	tr := &retry.Transport{Next: next, Options: &retry.Options{Default: fixed, Sleep: rec.sleep, Budget: retry.Unbudgeted()},
		Describe: func(*http.Request) (string, string) { return "groupsmigration", "archive.insert" }}
	req, _ := http.NewRequest("POST", "http://example.invalid/", body)
	req.GetBody, req.ContentLength = nil, -1
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if diff := cmp.Diff([]string{"message body", "message body"}, sent); diff != "" {
		t.Errorf("bodies (-want +got):\n%s", diff)
	}
}

// A body over MaxReplayBody without GetBody is sent once, whole.
func TestOversizedBodySentOnce(t *testing.T) {
	size := retry.MaxReplayBody + 10
	var sizes []int64
	next := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		n, _ := io.Copy(io.Discard, r.Body)
		sizes = append(sizes, n)
		return &http.Response{StatusCode: 503, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
	})
	tr := &retry.Transport{Next: next, Options: &retry.Options{Default: fixed, Sleep: (&recorder{}).sleep, Budget: retry.Unbudgeted()},
		Describe: func(*http.Request) (string, string) { return "settings", "sso.general.update" }}
	req, _ := http.NewRequest("PUT", "http://example.invalid/", &onceReader{io.LimitReader(zeros{}, int64(size))})
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(sizes) != 1 || sizes[0] != int64(size) {
		t.Errorf("attempts sent %v bytes: want one attempt with the whole %d", sizes, size)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestReplayUnderReset sends a body without GetBody to a server that
// drops the connection (TCP reset) after reading a little of it, then
// answers the next attempt. Run with -race: nothing may read the caller's
// body while net/http is still writing it, and the replayed body must be
// whole. The body is far larger than socket buffers, so the first attempt
// cannot have been written in full: even the POST write (OnProof) is sent
// again, as nothing can have been done.
func TestReplayUnderReset(t *testing.T) {
	payload := strings.Repeat("0123456789abcdef", 1<<20) // 16 MiB
	for _, tc := range []struct {
		method, name string
		early        bool // answer 503 at once, before reading the body
	}{
		{"PUT", "sso.general.update", false},   // Safe
		{"POST", "emailrouting.create", false}, // OnProof
		// net/http may still be writing the first body when the early
		// answer comes back: the replay must not share it.
		{"PUT", "sso.general.update", true},
	} {
		name := tc.method
		if tc.early {
			name += "/early-answer"
		}
		t.Run(name, func(t *testing.T) {
			var mu sync.Mutex
			var got []int
			hits := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				hits++
				first := hits == 1
				mu.Unlock()
				if first && tc.early {
					w.Header().Set("Connection", "close")
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				if first {
					_, _ = io.CopyN(io.Discard, r.Body, 64<<10)
					hijack(w)
					return
				}
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				got = append(got, len(b))
				mu.Unlock()
				if string(b) != payload {
					t.Errorf("replayed body differs (%d bytes)", len(b))
				}
			}))
			defer srv.Close()
			tr := &retry.Transport{Next: http.DefaultTransport,
				Options:  &retry.Options{Default: fixed, Sleep: (&recorder{}).sleep, Budget: retry.Unbudgeted()},
				Describe: func(*http.Request) (string, string) { return "settings", tc.name }}
			req, _ := http.NewRequest(tc.method, srv.URL, &onceReader{strings.NewReader(payload)})
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			if hits != 2 || len(got) != 1 || got[0] != len(payload) {
				t.Errorf("%d hits, replayed bodies %v: want 2 hits and one whole body of %d bytes", hits, got, len(payload))
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestPolicyValidate(t *testing.T) {
	for _, p := range []retry.Policy{
		{MaxAttempts: 0, Multiplier: 2},
		{MaxAttempts: 3, Multiplier: 0.5},
		{MaxAttempts: 3, Multiplier: 2, Jitter: 2},
		{MaxAttempts: 3, Multiplier: 2, Initial: time.Second, Max: time.Millisecond},
	} {
		if p.Validate() == nil {
			t.Errorf("Validate(%+v) = nil", p)
		}
	}
	for _, p := range []retry.Policy{retry.DefaultPolicy("audit"), retry.DefaultPolicy("gmail")} {
		if err := p.Validate(); err != nil {
			t.Errorf("default policy invalid: %v", err)
		}
	}
}

func TestDefaultPolicy(t *testing.T) {
	if retry.DefaultPolicy("groupsmigration").Initial != 5*time.Second {
		t.Error("legacy APIs start at 5 s")
	}
	if retry.DefaultPolicy("gmail").Initial != time.Second {
		t.Error("gmail starts at 1 s")
	}
}

func TestJitterStaysInRange(t *testing.T) {
	s := &script{answers: []func(http.ResponseWriter){status(500, ""), status(500, "")}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	p := fixed
	p.Jitter = 0.5
	rec := &recorder{}
	vals := []float64{0, 0.999}
	tr := &retry.Transport{Next: http.DefaultTransport, Options: &retry.Options{Default: p, Sleep: rec.sleep, Budget: retry.Unbudgeted(),
		Rand: func() float64 { v := vals[0]; vals = vals[1:]; return v }}}
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, _ := tr.RoundTrip(req)
	resp.Body.Close()
	if rec.waits[0] != 500*time.Millisecond {
		t.Errorf("low jitter wait = %v, want 500ms", rec.waits[0])
	}
	if rec.waits[1] < 2990*time.Millisecond || rec.waits[1] > 3*time.Second {
		t.Errorf("high jitter wait = %v, want ~3s", rec.waits[1])
	}
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits
}

func TestRetryAfterInMessageFailsFast(t *testing.T) {
	at := time.Now().Add(20 * time.Hour).UTC().Format(time.RFC3339)
	s := &script{answers: []func(http.ResponseWriter){
		status(429, jsonErr(429, "rateLimitExceeded", "User-rate limit exceeded.  Retry after "+at+" (Mail sending)")),
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	rec := &recorder{}
	tr := newTransport("gmail", fixed, rec, retry.Unbudgeted())
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("msg"))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s.count() != 1 || len(rec.waits) != 0 {
		t.Errorf("hits %d waits %v: a sending limit hours away must not be retried", s.count(), rec.waits)
	}
}

// spentQuota is an error from outside package quota that says a quota is
// spent.
type spentQuota struct{}

func (spentQuota) Error() string        { return "spent" }
func (spentQuota) QuotaExhausted() bool { return true }
