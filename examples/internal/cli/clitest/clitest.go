// Package clitest holds the test helpers of the example programs: a
// closed port, recorded retry waits instead of real sleeps, and a proxy
// that throttles the first call it forwards.
package clitest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwsadmin/workspace/examples/internal/cli"
)

// ClosedPort returns the address (host:port) of a loopback port nothing
// listens on.
func ClosedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Waits records the waits of the retry layer (cli.Sleep) instead of
// sleeping.
type Waits struct {
	mu sync.Mutex
	d  []time.Duration
}

// RecordWaits makes every client the example builds record its retry
// waits in the returned Waits instead of sleeping, until the test ends.
// Each wait advances clk when it is not nil.
func RecordWaits(t testing.TB, clk *Clock) *Waits {
	w := &Waits{}
	old := cli.Sleep
	cli.Sleep = func(ctx context.Context, d time.Duration) error {
		w.mu.Lock()
		w.d = append(w.d, d)
		w.mu.Unlock()
		if clk != nil {
			clk.Advance(d)
		}
		return ctx.Err()
	}
	t.Cleanup(func() { cli.Sleep = old })
	return w
}

// Clock is a clock that moves only when told to (a fake server's
// workspacetest.WithClock).
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock at the current time.
func NewClock() *Clock { return &Clock{t: time.Now()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Total returns the sum of the waits.
func (w *Waits) Total() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var t time.Duration
	for _, d := range w.d {
		t += d
	}
	return t
}

// List returns the waits.
func (w *Waits) List() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

// Proxy forwards to target, answering the first request whose path
// contains throttle (when not empty) with Google's 403
// userRateLimitExceeded and a Retry-After of 10 s. It records every
// request and Authorization header it saw.
type Proxy struct {
	*httptest.Server
	mu        sync.Mutex
	throttled bool
	auth      []string
	paths     []string
}

// NewProxy starts a Proxy in front of target (a URL).
func NewProxy(t testing.TB, target, throttle string) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		if a := r.Header.Get("Authorization"); a != "" {
			p.auth = append(p.auth, a)
		}
		p.paths = append(p.paths, r.Method+" "+r.URL.Path)
		first := throttle != "" && !p.throttled && strings.Contains(r.URL.Path, throttle)
		if first {
			p.throttled = true
		}
		p.mu.Unlock()
		if first {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Retry-After", "10")
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":{"code":403,"message":"User Rate Limit Exceeded","errors":[{"domain":"usageLimits","reason":"userRateLimitExceeded","message":"User Rate Limit Exceeded"}]}}`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

// Tokens returns the bearer tokens the proxy saw (without "Bearer ").
func (p *Proxy) Tokens() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, a := range p.auth {
		if tok, ok := strings.CutPrefix(a, "Bearer "); ok {
			out = append(out, tok)
		}
	}
	return out
}

// Requests returns "METHOD /path" of every request the proxy saw.
func (p *Proxy) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.paths...)
}

// CheckFastFailure checks that a run against a closed port failed quickly:
// exit 1, the host named on stderr, retry waits (recorded, not slept)
// adding up to seconds, and little real time.
func CheckFastFailure(t testing.TB, code int, stderr, host string, w *Waits, took time.Duration) {
	t.Helper()
	CheckFastFailures(t, code, stderr, host, w, took, 1)
}

// CheckFastFailures is CheckFastFailure for a run that makes up to calls
// calls at once: the recorded waits add up across them.
func CheckFastFailures(t testing.TB, code int, stderr, host string, w *Waits, took time.Duration, calls int) {
	t.Helper()
	if code != cli.ExitFailed {
		t.Errorf("exit %d, want %d\nstderr:\n%s", code, cli.ExitFailed, stderr)
	}
	if !strings.Contains(stderr, host) {
		t.Errorf("stderr does not name %s:\n%s", host, stderr)
	}
	if !strings.Contains(stderr, "no answer from the server; then retrying") {
		t.Errorf("no wait line said the server did not answer:\n%s", stderr)
	}
	if total := w.Total(); total > time.Duration(calls)*5*time.Second {
		t.Errorf("waited %v (%v), want seconds", total, w.List())
	}
	if took > 20*time.Second {
		t.Errorf("took %v of real time", took)
	}
}
