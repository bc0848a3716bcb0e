package audit

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
	"github.com/gwsadmin/workspace/workspacetest"
)

func fastRetry(o *retry.Options) {
	p := retry.DefaultPolicy(workspace.APIAudit)
	p.Initial, p.Max, p.Jitter = time.Millisecond, time.Millisecond, 0
	o.Default = p
	o.Budget = retry.Unbudgeted()
	o.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
}

// clock is a settable time shared by the fake server and the client.
type clock struct {
	mu     sync.Mutex
	t      time.Time
	pauses []time.Duration // every sleep, since the last takePauses
	// realBase, when set (realDeadlines), is the fake time at which real
	// time was taken to stand: a sleep then honours ctx's deadline as a
	// real sleep would, real time being time.Now() plus the fake time
	// slept since realBase.
	realBase time.Time
}

// realDeadlines makes the sleeps honour ctx deadlines as real sleeps do:
// a sleep that would reach the deadline moves the clock to it and ends
// with context.DeadlineExceeded.
func (c *clock) realDeadlines() {
	c.mu.Lock()
	c.realBase = c.t
	c.mu.Unlock()
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sleep advances the clock instead of waiting, and records the pause. It
// is the retry Sleep of newEnv's client, so every wait of the package (and
// of the retry layer) goes through it.
func (c *clock) sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	if dl, ok := ctx.Deadline(); ok && !c.realBase.IsZero() {
		if real := time.Now().Add(c.t.Sub(c.realBase)); !real.Add(d).Before(dl) {
			c.pauses = append(c.pauses, d)
			c.t = c.t.Add(dl.Sub(real))
			c.mu.Unlock()
			return context.DeadlineExceeded
		}
	}
	c.pauses = append(c.pauses, d)
	c.t = c.t.Add(d)
	c.mu.Unlock()
	return ctx.Err()
}

// takePauses returns the pauses recorded since the last call, and forgets
// them.
func (c *clock) takePauses() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pauses
	c.pauses = nil
	return p
}

// countingTransport counts the requests that reach the network.
type countingTransport struct {
	n    atomic.Int64
	next http.RoundTripper
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

type env struct {
	srv   *workspacetest.Server
	core  *workspace.Client
	a     *Client
	clk   *clock
	sent  *countingTransport
	admin string
}

// start is the fake clock's start: real time (the fake checks the JWT times
// against its clock), to the minute.
var start = time.Now().UTC().Truncate(time.Minute)

// newEnv starts a fake with a shared clock and a client authenticated
// with the fake's service-account key (real tokens, real Authorization
// headers). The client's sleeps advance the clock (clock.sleep).
func newEnv(t *testing.T, opts ...workspacetest.Option) *env {
	t.Helper()
	clk := &clock{t: start}
	srv := workspacetest.NewServer(append([]workspacetest.Option{workspacetest.WithClock(clk.Now), workspacetest.WithTokenLifetime(10 * 365 * 24 * time.Hour)}, opts...)...)
	t.Cleanup(srv.Close)
	sent := &countingTransport{next: http.DefaultTransport}
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithHTTPClient(&http.Client{Transport: sent}),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()),
		workspace.WithRetry(func(o *retry.Options) { fastRetry(o); o.Sleep = clk.sleep }), workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	a := New(core, srv.Domain())
	a.now = clk.Now
	return &env{srv: srv, core: core, a: a, clk: clk, sent: sent, admin: srv.AdminEmail()}
}

var (
	keyOnce sync.Once
	testKP  *KeyPair
	keyErr  error
)

// testKey is one RSA-2048 key pair shared by the tests (generation is slow
// under -race).
func testKey(t testing.TB) *KeyPair {
	t.Helper()
	keyOnce.Do(func() {
		// Created before the fake clock's start, so valid at its time.
		testKP, keyErr = generateKey("example.com", &KeyOptions{Bits: 2048}, func() time.Time { return start.Add(-time.Hour) })
	})
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	return testKP
}

// testPrivate returns a fresh copy of the shared private key ring.
func testPrivate(t testing.TB) openpgp.EntityList {
	t.Helper()
	keys, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(testKey(t).Private))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	return context.WithCancel(t.Context())
}

// exportRecorder is a transport that records the requests for one export
// (method and status answered, e.g. "DELETE 200") and, once goneAfter of
// them have been answered, sends later ones to an id the fake does not
// know: they are answered as for a request that no longer exists (403
// EntityDoesNotExist), as after Google's cleanup removed it. A negative
// goneAfter means never.
type exportRecorder struct {
	next      http.RoundTripper
	id        string
	goneAfter int

	mu  sync.Mutex
	log []string
}

func (x *exportRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, "/mail/export/example.com/alice/"+x.id) {
		return x.next.RoundTrip(r)
	}
	x.mu.Lock()
	gone := x.goneAfter >= 0 && len(x.log) >= x.goneAfter
	x.mu.Unlock()
	if gone {
		r = r.Clone(r.Context())
		r.URL.Path = strings.TrimSuffix(r.URL.Path, x.id) + "999999999"
		r.URL.RawPath = ""
	}
	resp, err := x.next.RoundTrip(r)
	entry := r.Method + " error"
	if err == nil {
		entry = r.Method + " " + strconv.Itoa(resp.StatusCode)
	}
	x.mu.Lock()
	x.log = append(x.log, entry)
	x.mu.Unlock()
	return resp, err
}

// requests returns the recorded requests.
func (x *exportRecorder) requests() []string {
	x.mu.Lock()
	defer x.mu.Unlock()
	return slices.Clone(x.log)
}

// count returns how many recorded requests start with prefix ("DELETE",
// "GET 403").
func (x *exportRecorder) count(prefix string) int {
	n := 0
	for _, s := range x.requests() {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// pendingExport uploads the test key and requests an export of alice,
// seeded with one message; the fake completes it a minute later.
func pendingExport(t *testing.T, e *env) *Export {
	t.Helper()
	e.srv.AddUser("alice@example.com")
	seedMail(e, "alice@example.com", 1)
	if _, err := e.a.PublicKey.Upload(t.Context(), testKey(t).Public); err != nil {
		t.Fatal(err)
	}
	x, err := e.a.Exports.Create(t.Context(), "alice", nil)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// readyExport is pendingExport, completed by the fake and read back.
func readyExport(t *testing.T, e *env) *Export {
	t.Helper()
	x := pendingExport(t, e)
	e.clk.Advance(2 * time.Minute)
	x, err := e.a.Exports.Get(t.Context(), "alice", x.RequestID)
	if err != nil || x.Status != StatusCompleted {
		t.Fatalf("get: %+v %v", x, err)
	}
	return x
}

// completedExport is readyExport with a recorder between the client and
// the fake, for that export.
func completedExport(t *testing.T, e *env, goneAfter int) (*Export, *exportRecorder) {
	t.Helper()
	x := readyExport(t, e)
	rec := &exportRecorder{next: e.sent.next, id: x.RequestID, goneAfter: goneAfter}
	e.sent.next = rec
	return x, rec
}
