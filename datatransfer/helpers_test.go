package datatransfer_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
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
	srv := workspacetest.NewServer(append([]workspacetest.Option{workspacetest.WithSpeed(1000),
		workspacetest.WithProcessingDelay(0)}, opts...)...)
	t.Cleanup(srv.Close)
	if limiter == nil {
		limiter = quota.Unlimited()
	}
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithHTTPClient(srv.Client()), workspace.WithoutAuthentication(),
		workspace.WithRetry(fastRetry), workspace.WithQuota(limiter))
	if err != nil {
		t.Fatal(err)
	}
	return &env{srv: srv, core: core, dt: datatransfer.New(core)}
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
