package workspace_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gwsadmin/workspace"
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
		workspace.WithQuota(quota.Unlimited))
	if err != nil {
		b.Fatal(err)
	}
	hc, _ := c.HTTPClient("")
	ctx := workspace.WithCall(b.Context(), &workspace.Call{API: "directory", Method: "users.get"})
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/admin/directory/v1/users/1", nil)
	runGets(b, hc, req)
}
