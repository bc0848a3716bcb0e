package datatransfer_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
	"github.com/gwsadmin/workspace/workspacetest"
)

// insertCounter counts the transfers.insert requests that leave the
// client.
type insertCounter struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    int
}

func (c *insertCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/admin/datatransfer/v1/transfers") {
		c.mu.Lock()
		c.n++
		c.mu.Unlock()
	}
	return c.next.RoundTrip(r)
}

func (c *insertCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func countedEnv(t *testing.T) (*workspacetest.Server, *datatransfer.Client, *insertCounter) {
	t.Helper()
	srv := workspacetest.NewServer(workspacetest.WithSpeed(1000), workspacetest.WithProcessingDelay(0))
	t.Cleanup(srv.Close)
	ic := &insertCounter{next: srv.Client().Transport}
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithHTTPClient(&http.Client{Transport: ic}), workspace.WithoutAuthentication(),
		workspace.WithRetry(fastRetry), workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	srv.AddUser("leaver@example.com")
	srv.AddUser("manager@example.com")
	return srv, datatransfer.New(core), ic
}

var transferReq = &datatransfer.TransferRequest{From: "leaver@example.com", To: "manager@example.com", Drive: &datatransfer.DriveTransfer{}}

// A transfer request is sent exactly once after a 500, a 502, a 504 or a
// reset once it was processed: a second one would start a second
// transfer.
func TestTransferInsertSentOnce(t *testing.T) {
	for _, kind := range []workspacetest.FaultKind{workspacetest.FaultHTTP500, workspacetest.FaultHTTP502,
		workspacetest.FaultHTTP504, workspacetest.FaultResetAfterProcessing} {
		t.Run(string(kind), func(t *testing.T) {
			srv, dt, ic := countedEnv(t)
			// The user lookups come first; the fault waits for the insert.
			for _, u := range []string{transferReq.From, transferReq.To} {
				if _, err := dt.Users.ID(t.Context(), u); err != nil {
					t.Fatal(err)
				}
			}
			srv.InjectFault("datatransfer", kind, 1)
			_, err := dt.Transfers.Insert(t.Context(), transferReq)
			if n := ic.count(); n != 1 {
				t.Errorf("transfers.insert went out %d times, want once", n)
			}
			var we *workspace.Error
			if !errors.Is(err, workspace.ErrOutcomeUnknown) || !errors.As(err, &we) || we.Method != "transfers.insert" ||
				!strings.Contains(err.Error(), "may have taken effect") {
				t.Errorf("err = %v: want a transfers.insert error that says the outcome is unknown", err)
			}
		})
	}
}

// A 429 proves nothing was done: the transfer is requested again.
func TestTransferInsertRepeatedAfter429(t *testing.T) {
	srv, dt, ic := countedEnv(t)
	srv.InjectFault("datatransfer", workspacetest.FaultHTTP429, 1)
	if _, err := dt.Transfers.Insert(t.Context(), transferReq); err != nil {
		t.Fatal(err)
	}
	if n := ic.count(); n != 2 {
		t.Errorf("transfers.insert went out %d times, want 2", n)
	}
}

// Every pause of Wait longer than a second is logged at Info through the
// client's logger before it starts.
func TestTransferWaitLogsPauses(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := workspacetest.NewServer(workspacetest.WithSpeed(1000), workspacetest.WithProcessingDelay(0),
		workspacetest.WithClock(clock), workspacetest.WithTransferTiming(time.Minute, time.Minute))
	t.Cleanup(srv.Close)
	var buf bytes.Buffer
	var pauses int // the client's sleeps: Wait's pauses (nothing is retried)
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithHTTPClient(srv.Client()), workspace.WithoutAuthentication(),
		workspace.WithRetry(fastRetry), workspace.WithQuota(quota.Unlimited()),
		workspace.WithLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))),
		workspace.WithRetry(func(o *retry.Options) {
			o.Sleep = func(ctx context.Context, d time.Duration) error {
				pauses++
				if got := strings.Count(buf.String(), "polling again"); got != pauses {
					t.Errorf("pause %d of %v: %d records logged before it", pauses, d, got)
				}
				mu.Lock()
				now = now.Add(d)
				mu.Unlock()
				return nil
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	srv.AddUser("leaver@example.com")
	srv.AddUser("manager@example.com")
	dt := datatransfer.New(core)
	tr, err := dt.Transfers.Insert(t.Context(), transferReq)
	if err != nil {
		t.Fatal(err)
	}
	_, err = dt.Transfers.Wait(t.Context(), tr.ID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if pauses == 0 || !strings.Contains(buf.String(), "level=INFO") || !strings.Contains(buf.String(), "wait=5s") {
		t.Errorf("%d pauses, log:\n%s", pauses, buf.String())
	}
}
