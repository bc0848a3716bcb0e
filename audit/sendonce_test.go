package audit

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/workspacetest"
)

// pathHits counts the requests that leave the client, by method and path.
type pathHits struct {
	next http.RoundTripper
	mu   sync.Mutex
	hits map[string]int
}

func (p *pathHits) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.hits[r.Method+" "+r.URL.Path]++
	p.mu.Unlock()
	return p.next.RoundTrip(r)
}

func (p *pathHits) count(method, prefix string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for k, v := range p.hits {
		if strings.HasPrefix(k, method+" "+prefix) {
			n += v
		}
	}
	return n
}

// countedEnv is newEnv with the requests counted by path.
func countedEnv(t *testing.T) (*env, *pathHits) {
	t.Helper()
	clk := &clock{t: start}
	srv := workspacetest.NewServer(workspacetest.WithClock(clk.Now), workspacetest.WithTokenLifetime(10*365*24*time.Hour))
	t.Cleanup(srv.Close)
	hits := &pathHits{next: http.DefaultTransport, hits: map[string]int{}}
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithHTTPClient(&http.Client{Transport: hits}),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()),
		workspace.WithRetry(fastRetry), workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	a := New(core, srv.Domain())
	a.now = clk.Now
	srv.AddUser("alice@example.com")
	srv.AddUser("izumi@example.com")
	return &env{srv: srv, core: core, a: a, clk: clk, admin: srv.AdminEmail()}, hits
}

var ambiguousFaults = []workspacetest.FaultKind{workspacetest.FaultHTTP500, workspacetest.FaultHTTP502,
	workspacetest.FaultHTTP504, workspacetest.FaultResetAfterProcessing}

// checkOnce asserts one request to path and an error that says the
// outcome is unknown.
func checkOnce(t *testing.T, hits *pathHits, path, method string, err error) {
	t.Helper()
	if n := hits.count("POST", path); n != 1 {
		t.Errorf("%s went out %d times, want once", method, n)
	}
	var we *workspace.Error
	if !errors.Is(err, workspace.ErrOutcomeUnknown) || !errors.As(err, &we) || we.Method != method ||
		!strings.Contains(err.Error(), "may have taken effect") {
		t.Errorf("err = %v: want a %s *workspace.Error that says the outcome is unknown", err, method)
	}
}

// An export request is sent exactly once after a 500, a 502, a 504 or a
// reset once it was processed: a second one would start a second export.
func TestExportCreateSentOnce(t *testing.T) {
	for _, kind := range ambiguousFaults {
		t.Run(string(kind), func(t *testing.T) {
			e, hits := countedEnv(t)
			if _, err := e.a.PublicKey.Upload(t.Context(), testKey(t).Public); err != nil {
				t.Fatal(err)
			}
			e.srv.InjectFault("audit", kind, 1)
			_, err := e.a.Exports.Create(t.Context(), "alice", &ExportRequest{Begin: start.Add(-24 * time.Hour)})
			checkOnce(t, hits, "/a/feeds/compliance/audit/mail/export/", "export.create", err)
		})
	}
}

func TestMonitorCreateSentOnce(t *testing.T) {
	for _, kind := range ambiguousFaults {
		t.Run(string(kind), func(t *testing.T) {
			e, hits := countedEnv(t)
			e.srv.InjectFault("audit", kind, 1)
			_, err := e.a.Monitors.Create(t.Context(), "alice", &Monitor{Destination: "izumi", End: start.Add(48 * time.Hour)})
			checkOnce(t, hits, "/a/feeds/compliance/audit/mail/monitor/", "monitor.create", err)
		})
	}
}

// A 429 proves nothing was done: both calls are sent again and succeed.
func TestAuditCreatesRepeatedAfter429(t *testing.T) {
	e, hits := countedEnv(t)
	if _, err := e.a.PublicKey.Upload(t.Context(), testKey(t).Public); err != nil {
		t.Fatal(err)
	}
	e.srv.InjectFault("audit", workspacetest.FaultHTTP429, 1)
	if _, err := e.a.Exports.Create(t.Context(), "alice", &ExportRequest{Begin: start.Add(-24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.srv.InjectFault("audit", workspacetest.FaultHTTP429, 1)
	if _, err := e.a.Monitors.Create(t.Context(), "alice", &Monitor{Destination: "izumi", End: start.Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if n := hits.count("POST", "/a/feeds/compliance/audit/mail/export/"); n != 2 {
		t.Errorf("export.create went out %d times, want 2", n)
	}
	if n := hits.count("POST", "/a/feeds/compliance/audit/mail/monitor/"); n != 2 {
		t.Errorf("monitor.create went out %d times, want 2", n)
	}
}
