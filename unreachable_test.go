package workspace_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/retry"
	"github.com/gwsadmin/workspace/workspacetest"
)

// waits records the retry waits instead of sleeping.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	w.d = append(w.d, d)
	w.mu.Unlock()
	return ctx.Err()
}

func (w *waits) total() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var t time.Duration
	for _, d := range w.d {
		t += d
	}
	return t
}

// A wrong endpoint (nothing listens) on a client that has never had an
// answer fails within seconds, not after the legacy APIs' minutes of
// retries, with an error that names the host.
func TestConnectionRefusedFailsFast(t *testing.T) {
	srv := workspacetest.NewServer()
	key := srv.ServiceAccountKey() // its token_uri points at the closed server too
	host := strings.TrimPrefix(srv.URL, "http://")
	srv.Close()

	for _, tc := range []struct {
		name string
		opts []workspace.Option
	}{
		{"api host", []workspace.Option{workspace.WithoutAuthentication()}},
		{"token endpoint", []workspace.Option{workspace.WithCredentialsJSON(key), workspace.WithSubject("admin@example.com")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &waits{}
			c, err := workspace.NewClient(t.Context(), append(tc.opts, workspace.WithEndpoint("http://"+host),
				workspace.WithRetry(func(o *retry.Options) { o.Sleep = w.sleep }))...)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = datatransfer.New(c).Transfers.List(t.Context(), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if took := time.Since(start) + w.total(); took > 5*time.Second {
				t.Errorf("took %v (waits %v), want seconds", took, w.d)
			}
			if len(w.d) > retry.FastFailAttempts-1 {
				t.Errorf("%d retries, want at most %d", len(w.d), retry.FastFailAttempts-1)
			}
			if !strings.Contains(err.Error(), host) || !strings.Contains(err.Error(), "connect") {
				t.Errorf("err = %v, want one that says it cannot connect to %s", err, host)
			}
			var we *workspace.Error
			if !errors.As(err, &we) || !we.Temporary() || errors.Is(err, workspace.ErrUnauthenticated) {
				t.Errorf("err = %v: want a temporary *workspace.Error, not ErrUnauthenticated", err)
			}
		})
	}
}

// The same for a host name that does not resolve.
func TestDNSFailureFailsFast(t *testing.T) {
	dnsFail := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		h, _, _ := net.SplitHostPort(addr)
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: h, IsNotFound: true}}
	}}
	w := &waits{}
	c, err := workspace.NewClient(t.Context(), workspace.WithEndpoint("https://workspace.invalid"),
		workspace.WithoutAuthentication(), workspace.WithHTTPClient(&http.Client{Transport: dnsFail}),
		workspace.WithRetry(func(o *retry.Options) { o.Sleep = w.sleep }))
	if err != nil {
		t.Fatal(err)
	}
	_, err = datatransfer.New(c).Transfers.List(t.Context(), nil)
	if err == nil || !strings.Contains(err.Error(), "workspace.invalid") || w.total() > 3*time.Second {
		t.Errorf("err = %v after waits %v: want a quick failure naming workspace.invalid", err, w.d)
	}
}

// Once the client has had an answer, a refused connection is an outage:
// it is retried under the API's policy.
func TestConnectionRefusedAfterContactIsRetried(t *testing.T) {
	srv := workspacetest.NewServer()
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	w := &waits{}
	var mu sync.Mutex
	down := false
	flaky := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		d := down
		mu.Unlock()
		if d {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connect: connection refused")}
		}
		return srv.Client().Transport.RoundTrip(r)
	})}
	c, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL), workspace.WithoutAuthentication(),
		workspace.WithHTTPClient(flaky), workspace.WithRetry(func(o *retry.Options) { o.Sleep = w.sleep }))
	if err != nil {
		t.Fatal(err)
	}
	dt := datatransfer.New(c)
	if _, err := dt.Transfers.List(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	down = true
	mu.Unlock()
	_, err = dt.Transfers.List(t.Context(), nil)
	if err == nil || len(w.d) != retry.DefaultPolicy(workspace.APIAudit).MaxAttempts-1 || !strings.Contains(err.Error(), u.Host) {
		t.Errorf("err = %v after %d retries: want the legacy policy's %d and the host named", err, len(w.d), retry.DefaultPolicy(workspace.APIAudit).MaxAttempts-1)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
