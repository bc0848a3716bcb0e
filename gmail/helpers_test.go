package gmail_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/gmail"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
	"github.com/gwsadmin/workspace/workspacetest"
)

// fastRetry retries like the Gmail defaults but never waits for real.
func fastRetry(o *retry.Options) {
	p := retry.DefaultPolicy(workspace.APIGmail)
	p.Initial, p.Max, p.Jitter = time.Millisecond, time.Millisecond, 0
	o.Default = p
	o.Budget = retry.Unbudgeted()
	o.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
}

// fakeClock is a settable clock shared by the fake server and sleepers.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type env struct {
	srv   *workspacetest.Server
	core  *workspace.Client
	g     *gmail.Client
	clock *fakeClock
	user  string
	wire  *wire
	// sleeps records the waits of the client (its retry.Options.Sleep):
	// between batch retry rounds and upload retries, and the transport's.
	// beforeSleep, when set, is called before each.
	mu          sync.Mutex
	sleeps      []time.Duration
	beforeSleep func()
}

// wire is the client's base transport; before, when set, sees each
// request on its way out (tests inject faults at the right moment).
type wire struct {
	next   http.RoundTripper
	mu     sync.Mutex
	before func(*http.Request)
}

func (w *wire) RoundTrip(r *http.Request) (*http.Response, error) {
	w.mu.Lock()
	f := w.before
	w.mu.Unlock()
	if f != nil {
		f(r)
	}
	return w.next.RoundTrip(r)
}

// onRequest sets the hook that sees each request on its way out.
func (e *env) onRequest(f func(*http.Request)) {
	e.wire.mu.Lock()
	e.wire.before = f
	e.wire.mu.Unlock()
}

// sleep records d and advances the fake clock instead of sleeping.
func (e *env) sleep(ctx context.Context, d time.Duration) error {
	e.mu.Lock()
	e.sleeps = append(e.sleeps, d)
	f := e.beforeSleep
	e.mu.Unlock()
	if f != nil {
		f()
	}
	e.clock.Advance(d)
	return ctx.Err()
}

// batchOpts returns batch options of size calls a batch (0: the default).
func (e *env) batchOpts(size int) *gmail.BatchOptions {
	return &gmail.BatchOptions{Size: size}
}

// newEnv starts a fake with a seeded user and a gmail client acting
// through domain-wide delegation.
func newEnv(t *testing.T, lim quota.Limiter, opts ...workspacetest.Option) *env {
	t.Helper()
	clock := &fakeClock{now: time.Now()}
	srv := workspacetest.NewServer(append([]workspacetest.Option{workspacetest.WithClock(clock.Now),
		workspacetest.WithProcessingDelay(0)}, opts...)...)
	t.Cleanup(srv.Close)
	if lim == nil {
		lim = quota.Unlimited()
	}
	base := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections)
	w := &wire{next: base}
	e := &env{srv: srv, clock: clock, wire: w}
	// Every wait of the client (the batch and upload retries' too) is
	// recorded and advances the fake clock.
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()),
		workspace.WithSubject(srv.AdminEmail()),
		workspace.WithScopes(auth.ScopeGmailFull),
		workspace.WithHTTPClient(&http.Client{Transport: w}),
		workspace.WithRetry(func(o *retry.Options) { fastRetry(o); o.Sleep = e.sleep }),
		workspace.WithQuota(lim))
	if err != nil {
		t.Fatal(err)
	}
	e.user = "alice@" + domainOf(srv.AdminEmail())
	srv.AddUser(e.user)
	e.core, e.g = core, gmail.New(core)
	return e
}

func domainOf(addr string) string {
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == '@' {
			return addr[i+1:]
		}
	}
	return addr
}

// mail returns a small RFC 822 message numbered n.
func mail(n int) []byte {
	return fmt.Appendf(nil, "From: bob@example.org\r\nTo: alice@example.com\r\nSubject: message %d\r\n"+
		"Date: Mon, 2 Mar 2026 09:%02d:%02d +0000\r\nMessage-ID: <m%d@example.org>\r\n\r\nBody %d\r\n", n, (n/60)%60, n%60, n, n)
}

// seed adds n messages to the user's mailbox and returns their ids.
func (e *env) seed(n int) []string {
	ids := make([]string, n)
	for i := range n {
		ids[i] = e.srv.AddGmailMessage(e.user, mail(i), "INBOX")
	}
	return ids
}
