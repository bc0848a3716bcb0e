package settings_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/settings"
	"github.com/gwsadmin/workspace/workspacetest"
)

func TestGetPartialFailure(t *testing.T) {
	e := newEnv(t)
	// Legacy feeds answer only for the primary domain: those parts fail,
	// the others are still read.
	s := settings.New(e.core, "other.example.org")
	dns := settings.StaticResolver{"other.example.org": {{Host: "mx.other.example.org", Pref: 10, TTL: time.Minute}}}
	st, err := s.Get(t.Context(), &settings.GetOptions{MX: &settings.MXOptions{Resolver: dns}})
	if err == nil || !errors.Is(err, workspace.ErrNotFound) {
		t.Fatalf("err = %v", err)
	}
	var failed []string
	for k := range st.Errors {
		failed = append(failed, k)
	}
	slices.Sort(failed)
	if !slices.Equal(failed, []string{"gateway", "signingKey", "sso"}) {
		t.Errorf("failed parts %v", failed)
	}
	if st.SSO != nil || st.Customer == nil || len(st.Domains) != 1 || st.MX == nil || st.MX.PointsAtGoogle {
		t.Errorf("snapshot: %+v", st)
	}
	st, err = e.s.Get(t.Context(), &settings.GetOptions{SkipLegacy: true, SkipDirectory: true})
	if err != nil || st.Customer != nil || st.SSO != nil {
		t.Errorf("skips: %+v %v", st, err)
	}
}

// gate holds every API request until want of them are in flight at once,
// so a Get that reads its parts one after another never gets going.
type gate struct {
	next    http.RoundTripper
	want    int
	mu      sync.Mutex
	n, peak int
	open    chan struct{}
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "token") {
		return g.next.RoundTrip(r)
	}
	g.mu.Lock()
	g.n++
	g.peak = max(g.peak, g.n)
	if g.n == g.want {
		close(g.open)
	}
	g.mu.Unlock()
	select {
	case <-g.open:
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	defer func() { g.mu.Lock(); g.n--; g.mu.Unlock() }()
	return g.next.RoundTrip(r)
}

// TestGetReadsPartsInParallel: the seven parts are requested at once.
func TestGetReadsPartsInParallel(t *testing.T) {
	srv := workspacetest.NewServer(workspacetest.WithSpeed(1000))
	t.Cleanup(srv.Close)
	g := &gate{next: http.DefaultTransport, want: 7, open: make(chan struct{})}
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()),
		workspace.WithHTTPClient(&http.Client{Transport: g}),
		workspace.WithRetry(fastRetry), workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	// A sequential Get would hold its first request forever: bound it.
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	st, err := settings.New(core, srv.Domain()).Get(ctx, nil)
	if err != nil {
		t.Fatalf("Get: %v (peak %d requests in flight; a sequential read never reaches 7)", err, g.peak)
	}
	if st.Customer == nil || st.Gateway == nil || st.SSO == nil {
		t.Errorf("snapshot: %+v", st)
	}
}
