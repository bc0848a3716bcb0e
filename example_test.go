package workspace_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/quota"
)

// A client against a server that always throttles: the call is retried per
// the legacy admin APIs' policy, then fails with a typed error.
func ExampleNewClient() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, `{"error":{"code":503,"message":"BACKEND FAILURE"}}`)
	}))
	defer srv.Close()

	ctx := context.Background()
	c, err := workspace.NewClient(ctx,
		workspace.WithEndpoint(srv.URL),
		workspace.WithoutAuthentication(),
		workspace.WithRetry(noSleep), // tests and examples need not wait
		workspace.WithQuota(quota.Unlimited()),
	)
	if err != nil {
		log.Fatal(err)
	}
	hc, _ := c.HTTPClient("")
	ctx = core.WithCall(ctx, &core.Call{API: workspace.APIDataTransfer, Method: "applications.list"})
	req, _ := http.NewRequestWithContext(ctx, "GET", core.Of(c).BaseURL(workspace.APIDataTransfer)+"admin/datatransfer/v1/applications", nil)
	_, err = hc.Do(req)

	var e *workspace.Error
	fmt.Println(errors.Is(err, workspace.ErrRateLimited), errors.As(err, &e))
	fmt.Println(e)
	// Output:
	// true true
	// datatransfer: applications.list: 503 BACKEND FAILURE after 7 attempts
}
