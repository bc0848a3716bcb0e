package settings

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/quota"
)

// A server written from the Cloud Identity discovery document: the methods
// that change something answer an Operation, and there is no method to
// read an operation again. The client must not poll (no GET
// /v1/operations/...): a done operation gives its response or error, one
// that is not done is reported as pending, with what Google said.
func TestOperationIsNotPolled(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.Method + " " + r.URL.Path {
		case "GET /admin/directory/v1/customers/my_customer":
			io.WriteString(w, `{"id":"C0abc","customerDomain":"example.com"}`)
		case "POST /v1/inboundSamlSsoProfiles":
			if strings.Contains(r.Header.Get("X-Test"), "pending") {
				io.WriteString(w, `{"name":"operations/op1","done":false,"metadata":{"state":"running"}}`)
				return
			}
			if strings.Contains(r.Header.Get("X-Test"), "approval") {
				io.WriteString(w, `{"done":false,"metadata":{"state":"awaiting-multi-party-approval"}}`)
				return
			}
			io.WriteString(w, `{"name":"operations/op2","done":true,"response":{"@type":"type.googleapis.com/google.apps.cloudidentity.v1.InboundSamlSsoProfile",
				"name":"inboundSamlSsoProfiles/p1","customer":"customers/C0abc","displayName":"IdP",
				"idpConfig":{"entityId":"e","singleSignOnServiceUri":"https://idp.example/sso"}}}`)
		case "DELETE /v1/inboundSamlSsoProfiles/p1":
			io.WriteString(w, `{"name":"operations/op3","done":true,"error":{"code":9,"message":"profile in use"}}`)
		default:
			http.Error(w, `{"error":{"code":404,"message":"no"}}`, 404)
		}
	}))
	defer ts.Close()
	hdr := ""
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		r.Header.Set("X-Test", hdr)
		return http.DefaultTransport.RoundTrip(r)
	})}
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(ts.URL), workspace.WithoutAuthentication(),
		workspace.WithHTTPClient(hc), workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	s := New(core, "example.com")
	in := &Profile{DisplayName: "IdP", IdP: IdPConfig{EntityID: "e", SignOnURI: "https://idp.example/sso"}}

	p, err := s.Profiles.Create(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "inboundSamlSsoProfiles/p1" || p.Customer != "customers/C0abc" {
		t.Errorf("profile: %+v", p)
	}

	hdr = "pending"
	_, err = s.Profiles.Create(t.Context(), in)
	var pe *PendingError
	if !errors.As(err, &pe) || pe.Operation != "operations/op1" || pe.State != "running" {
		t.Errorf("not-done operation: got %v, want a *PendingError naming operations/op1", err)
	}
	if err != nil && !strings.Contains(err.Error(), "no way to follow") {
		t.Errorf("pending error text: %v", err)
	}

	hdr = "approval"
	_, err = s.Profiles.Create(t.Context(), in)
	if !errors.Is(err, ErrApprovalPending) {
		t.Errorf("deferred by approval: %v", err)
	}

	hdr = ""
	err = s.Profiles.Delete(t.Context(), "p1")
	var oe *workspace.OperationError
	if !errors.As(err, &oe) || oe.Code != 9 || !errors.Is(err, workspace.ErrInvalidInput) || !strings.Contains(err.Error(), "profile in use") {
		t.Errorf("failed operation: %v", err)
	} else if oe.API != workspace.APICloudIdentity || oe.Operation != "inboundSamlSsoProfiles.delete" || oe.ID != "operations/op3" || oe.Message != "profile in use" {
		t.Errorf("failed operation: %+v", oe)
	}
	want := []string{"GET /admin/directory/v1/customers/my_customer", "POST /v1/inboundSamlSsoProfiles",
		"POST /v1/inboundSamlSsoProfiles", "POST /v1/inboundSamlSsoProfiles", "DELETE /v1/inboundSamlSsoProfiles/p1"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
