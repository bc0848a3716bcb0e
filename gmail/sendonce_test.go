package gmail_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
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

// pathCounter counts the requests that leave the client, by path.
type pathCounter struct {
	next http.RoundTripper
	mu   sync.Mutex
	hits map[string]int
}

func (c *pathCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.hits[r.URL.Path]++
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

// count returns the requests whose path ends with suffix.
func (c *pathCounter) count(suffix string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for p, k := range c.hits {
		if strings.HasSuffix(p, suffix) {
			n += k
		}
	}
	return n
}

// countedEnv is a fake and a Gmail client acting through domain-wide
// delegation whose requests are counted; waits are recorded, not slept.
func countedEnv(t *testing.T) (*workspacetest.Server, *gmail.Client, *pathCounter, string) {
	t.Helper()
	srv := workspacetest.NewServer(workspacetest.WithProcessingDelay(0))
	t.Cleanup(srv.Close)
	base := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections)
	pc := &pathCounter{next: base, hits: map[string]int{}}
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()),
		workspace.WithSubject(srv.AdminEmail()),
		workspace.WithScopes(auth.ScopeGmailFull),
		workspace.WithHTTPClient(&http.Client{Transport: pc}),
		workspace.WithRetry(func(o *retry.Options) {
			o.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
		}),
		workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	user := "alice@" + domainOf(srv.AdminEmail())
	srv.AddUser(user)
	return srv, gmail.New(core), pc, user
}

// A 500, a 502, a 504 or a connection reset after the request was
// processed do not prove that the mail was not sent: messages.send is
// sent exactly once and the error says the outcome is unknown.
func TestSendSentOnceAfterAmbiguousFailures(t *testing.T) {
	for _, kind := range []workspacetest.FaultKind{workspacetest.FaultHTTP500, workspacetest.FaultHTTP502,
		workspacetest.FaultHTTP504, workspacetest.FaultResetAfterProcessing} {
		t.Run(string(kind), func(t *testing.T) {
			srv, g, pc, user := countedEnv(t)
			srv.InjectFault("gmail", kind, 1)
			_, err := g.Messages.Send(t.Context(), user, mail(1), nil)
			t.Log(err)
			if n := pc.count("/messages/send"); n != 1 {
				t.Errorf("messages.send went out %d times, want once", n)
			}
			if !errors.Is(err, workspace.ErrOutcomeUnknown) {
				t.Fatalf("err = %v, want ErrOutcomeUnknown", err)
			}
			var we *workspace.Error
			if !errors.As(err, &we) || we.Method != "users.messages.send" || !strings.Contains(err.Error(), "may have taken effect") {
				t.Errorf("err = %v: want a *workspace.Error for users.messages.send that says it may have taken effect", err)
			}
		})
	}
}

// A 429 proves nothing was sent: the call is sent again and succeeds.
func TestSendRepeatedAfter429(t *testing.T) {
	srv, g, pc, user := countedEnv(t)
	srv.InjectFault("gmail", workspacetest.FaultHTTP429, 1)
	if _, err := g.Messages.Send(t.Context(), user, mail(1), nil); err != nil {
		t.Fatal(err)
	}
	if n := pc.count("/messages/send"); n != 2 {
		t.Errorf("messages.send went out %d times, want 2 (the 429, then the send)", n)
	}
}

// A caller that accepts duplicates may have a send repeated after a 502;
// the context then says it may have happened twice.
func TestSendRepeatAllowedByCaller(t *testing.T) {
	srv, g, pc, user := countedEnv(t)
	srv.InjectFault("gmail", workspacetest.FaultHTTP502, 1)
	ctx := retry.AllowAmbiguousRepeats(t.Context())
	if _, err := g.Messages.Send(ctx, user, mail(1), nil); err != nil {
		t.Fatal(err)
	}
	if n := pc.count("/messages/send"); n != 2 || !retry.MayHaveHappenedTwice(ctx) {
		t.Errorf("sent %d times, MayHaveHappenedTwice %v: want 2 and true", n, retry.MayHaveHappenedTwice(ctx))
	}
}

// The token endpoint failing with 503 is a transient failure: retried,
// then the call goes through.
func TestTokenEndpoint503Retried(t *testing.T) {
	srv, g, pc, user := countedEnv(t)
	srv.InjectFault("oauth2", workspacetest.FaultHTTP503, 1)
	if _, err := g.Messages.List(t.Context(), user, nil); err != nil {
		t.Fatalf("err = %v, want the list after a retried token fetch", err)
	}
	if n := pc.count("/token"); n != 2 {
		t.Errorf("token endpoint asked %d times, want 2", n)
	}
}
