package datatransfer_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
	"github.com/gwsadmin/workspace/workspacetest"
)

// fastRetry retries like the defaults but never waits for real.
func fastRetry(o *retry.Options) {
	p := retry.DefaultPolicy(workspace.APIAudit)
	p.Initial, p.Max, p.Jitter = time.Millisecond, time.Millisecond, 0
	o.Default = p
	o.Budget = retry.Unbudgeted()
	o.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
}

type env struct {
	srv  *workspacetest.Server
	core *workspace.Client
	dt   *datatransfer.Client
}

// newEnv starts a fake at high speed and a client pointed at it.
func newEnv(t *testing.T, limiter quota.Limiter, opts ...workspacetest.Option) *env {
	t.Helper()
	return newEnvSleep(t, limiter, nil, opts...)
}

// newEnvSleep is newEnv with sleep (when not nil) as the client's sleep,
// which every wait of the client goes through: retry back-offs and
// Transfers.Wait's pauses.
func newEnvSleep(t *testing.T, limiter quota.Limiter, sleep func(ctx context.Context, d time.Duration) error, opts ...workspacetest.Option) *env {
	t.Helper()
	srv := workspacetest.NewServer(append([]workspacetest.Option{workspacetest.WithSpeed(1000),
		workspacetest.WithProcessingDelay(0)}, opts...)...)
	t.Cleanup(srv.Close)
	if limiter == nil {
		limiter = quota.Unlimited()
	}
	copts := []workspace.Option{workspace.WithEndpoint(srv.URL),
		workspace.WithHTTPClient(srv.Client()), workspace.WithoutAuthentication(),
		workspace.WithRetry(fastRetry), workspace.WithQuota(limiter)}
	if sleep != nil {
		copts = append(copts, workspace.WithRetry(func(o *retry.Options) { o.Sleep = sleep }))
	}
	core, err := workspace.NewClient(t.Context(), copts...)
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, core: core, dt: datatransfer.New(core)}
}

// fakeClock is the time of a fake server and of a client's sleep: a sleep
// moves the clock forward at once and is recorded. It knows nothing of
// ctx deadlines: Wait's Timeout must hold under a sleeper that only
// records.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	waits []time.Duration
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.waits = append(c.waits, d)
	return nil
}

// Waits returns the sleeps so far.
func (c *fakeClock) Waits() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.waits)
}

// writeMbox writes msgs as an mbox file in dir and returns its path.
func writeMbox(t *testing.T, dir, name string, msgs [][]byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := mailgen.WriteMbox(f, msgs, mailsource.MboxRD); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// ids returns the sorted Message-IDs of msgs.
func ids(msgs [][]byte) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, mailsource.MessageID(m))
	}
	sort.Strings(out)
	return out
}

// stored returns the sorted Message-IDs the fake holds for group.
func stored(srv *workspacetest.Server, group string) []string {
	var out []string
	for _, m := range srv.GroupMessages(group) {
		out = append(out, strings.Trim(m.MessageID, "<>"))
	}
	sort.Strings(out)
	return out
}
