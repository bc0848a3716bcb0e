package workspace_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/quota"
)

// The chain's overhead: the same GET against a loopback server through a
// bare http.Client and through a Client's full chain (error mapping, retry,
// quota, auth with a cached token). Compare ns/op and allocs/op of the two.
func benchServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"kind":"admin#directory#user","id":"1"}`)
	}))
	b.Cleanup(srv.Close)
	return srv
}

func runGets(b *testing.B, hc *http.Client, req *http.Request) {
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func BenchmarkBareClient(b *testing.B) {
	srv := benchServer(b)
	req, _ := http.NewRequest("GET", srv.URL+"/admin/directory/v1/users/1", nil)
	runGets(b, &http.Client{Transport: http.DefaultTransport}, req)
}

func BenchmarkFullChain(b *testing.B) {
	srv := benchServer(b)
	c, err := workspace.NewClient(b.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t", Expiry: time.Now().Add(time.Hour)})),
		workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		b.Fatal(err)
	}
	hc, _ := c.HTTPClient("")
	ctx := core.WithCall(b.Context(), &core.Call{API: "directory", Method: "users.get"})
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/admin/directory/v1/users/1", nil)
	runGets(b, hc, req)
}

// The full chain with a real limiter (rules high enough never to wait), so
// that the quota layer's own cost is part of the figure.
func BenchmarkFullChainWithLimiter(b *testing.B) {
	srv := benchServer(b)
	lim, err := quota.New(quota.WithRules(
		quota.Rate("directory.project.rate", "directory", quota.PerProject, 1e9, time.Second),
		quota.Rate("directory.user.rate", "directory", quota.PerUser, 1e9, time.Second)))
	if err != nil {
		b.Fatal(err)
	}
	c, err := workspace.NewClient(b.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t", Expiry: time.Now().Add(time.Hour)})),
		workspace.WithQuota(lim))
	if err != nil {
		b.Fatal(err)
	}
	hc, _ := c.HTTPClient("")
	ctx := core.WithCall(b.Context(), &core.Call{API: "directory", Method: "users.get", User: "a@example.com"})
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/admin/directory/v1/users/1", nil)
	runGets(b, hc, req)
}
