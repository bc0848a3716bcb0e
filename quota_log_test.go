package workspace_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/quota"
)

// jumpClock is a quota clock on which every wait ends at once, moving the
// time on by its length.
type jumpClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *jumpClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *jumpClock) NewTimer(d time.Duration) quota.Timer {
	c.mu.Lock()
	c.now = c.now.Add(d)
	t := c.now
	c.mu.Unlock()
	ch := make(chan time.Time, 1)
	ch <- t
	return firedTimer(ch)
}

type firedTimer chan time.Time

func (t firedTimer) C() <-chan time.Time { return t }
func (t firedTimer) Stop() bool          { return false }

// syncBuffer is a bytes.Buffer safe for a logger and a handler at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestQuotaWaitLoggedBeforeWaiting: a call the quota holds for long is
// logged at Info when the wait starts, before the request goes out.
func TestQuotaWaitLoggedBeforeWaiting(t *testing.T) {
	var logs syncBuffer
	var mu sync.Mutex
	var seen []bool // per request: was the wait logged before it arrived?
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, strings.Contains(logs.String(), "waiting for quota"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	lim, err := quota.New(quota.WithoutDefaults(), quota.WithClock(&jumpClock{now: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}),
		quota.WithRules(quota.Rate("dt.minute", "datatransfer", quota.PerProject, 1, time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL), workspace.WithoutAuthentication(),
		workspace.WithQuota(lim), workspace.WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	if err != nil {
		t.Fatal(err)
	}
	dt := datatransfer.New(core)
	for range 2 {
		if _, err := dt.Applications.List(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 || seen[0] || !seen[1] {
		t.Errorf("wait logged before request [first, second] = %v, want [false true]; log:\n%s", seen, logs.String())
	}
}
