package datatransfer_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/quota"
)

// TestListSendsNoCustomerID: discovery documents customerId on
// applications.list and transfers.list as the account's immutable id, and
// optional; the caller's own account is the default, so the lists send
// none (in particular not the Directory API's "my_customer" alias).
func TestListSendsNoCustomerID(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithoutAuthentication(), workspace.WithRetry(fastRetry), workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	dt := datatransfer.New(core)
	if _, err := dt.Applications.List(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := dt.Transfers.List(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"GET /admin/datatransfer/v1/applications?alt=json&prettyPrint=false",
		"GET /admin/datatransfer/v1/transfers?alt=json&prettyPrint=false",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
