package settings

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/quota"
)

// A server written from Google's Operation documentation: create answers
// an operation that is not done, operations.get (GET v1/{name}) answers
// "not done" once and then the profile.
func TestOperationIsFollowed(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	polls := 0
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.Method + " " + r.URL.Path {
		case "GET /admin/directory/v1/customers/my_customer":
			io.WriteString(w, `{"id":"C0abc","customerDomain":"example.com"}`)
		case "POST /v1/inboundSamlSsoProfiles":
			io.WriteString(w, `{"name":"operations/op1","done":false,"metadata":{"@type":"type.googleapis.com/google.apps.cloudidentity.v1.CreateInboundSamlSsoProfileOperationMetadata"}}`)
		case "GET /v1/operations/op1":
			polls++
			if polls < 2 {
				io.WriteString(w, `{"name":"operations/op1","done":false}`)
				return
			}
			io.WriteString(w, `{"name":"operations/op1","done":true,"response":{"@type":"type.googleapis.com/google.apps.cloudidentity.v1.InboundSamlSsoProfile",
				"name":"inboundSamlSsoProfiles/p1","customer":"customers/C0abc","displayName":"IdP",
				"idpConfig":{"entityId":"e","singleSignOnServiceUri":"https://idp.example/sso"}}}`)
		case "DELETE /v1/inboundSamlSsoProfiles/p1":
			io.WriteString(w, `{"name":"operations/op2","done":true,"error":{"code":9,"message":"profile in use"}}`)
		default:
			http.Error(w, `{"error":{"code":404,"message":"no"}}`, 404)
		}
	}))
	defer ts.Close()
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(ts.URL), workspace.WithoutAuthentication(),
		workspace.WithQuota(quota.Unlimited))
	if err != nil {
		t.Fatal(err)
	}
	s := New(core, "example.com")
	var waits []time.Duration
	s.sleepFn = func(ctx context.Context, d time.Duration) error { waits = append(waits, d); return ctx.Err() }

	p, err := s.Profiles.Create(t.Context(), &Profile{DisplayName: "IdP", IdP: IdPConfig{EntityID: "e", SignOnURI: "https://idp.example/sso"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "inboundSamlSsoProfiles/p1" || p.Customer != "customers/C0abc" {
		t.Errorf("profile: %+v", p)
	}
	if diff := cmp.Diff([]time.Duration{time.Second, 2 * time.Second}, waits); diff != "" {
		t.Errorf("poll waits: %s", diff)
	}
	err = s.Profiles.Delete(t.Context(), "p1")
	var oe *OperationError
	if !errors.As(err, &oe) || oe.Code != 9 || !errors.Is(err, workspace.ErrInvalidInput) || !strings.Contains(err.Error(), "profile in use") {
		t.Errorf("failed operation: %v", err)
	}
	want := []string{"GET /admin/directory/v1/customers/my_customer", "POST /v1/inboundSamlSsoProfiles",
		"GET /v1/operations/op1", "GET /v1/operations/op1", "DELETE /v1/inboundSamlSsoProfiles/p1"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
