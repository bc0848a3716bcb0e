package workspace_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/workspacetest"
)

// TestMain keeps every test of this package away from real Application
// Default Credentials: a NewClient without a credentials option finds no
// gcloud login and no GOOGLE_APPLICATION_CREDENTIALS from the developer's
// environment, and its metadata server is a closed loopback port, never
// 169.254.169.254 or metadata.google.internal.
func TestMain(m *testing.M) {
	goEnv = os.Environ()
	dir, err := os.MkdirTemp("", "workspace-adc-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Setenv("GCE_METADATA_HOST", "127.0.0.1:1")
	os.Setenv("HOME", dir)
	os.Setenv("CLOUDSDK_CONFIG", filepath.Join(dir, "gcloud"))
	os.Setenv("APPDATA", dir)
	os.Unsetenv("GOOGLE_APPLICATION_CREDENTIALS")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// goEnv is the environment before TestMain changed HOME, for the tests
// that run the go command: with the changed HOME it would find neither the
// build cache nor the module cache.
var goEnv []string

const scopeGmailReadonly = "https://www.googleapis.com/auth/gmail.readonly"

// profileAddress asks the Gmail profile of the token's user, acting as
// subject, and returns its address.
func profileAddress(t *testing.T, c *workspace.Client, subject string) (string, error) {
	t.Helper()
	hc, err := c.HTTPClient(subject, scopeGmailReadonly)
	if err != nil {
		return "", err
	}
	ctx := core.WithCall(t.Context(), &core.Call{API: workspace.APIGmail, Method: "users.getProfile", Cost: 1})
	req, _ := http.NewRequestWithContext(ctx, "GET", core.Of(c).BaseURL(workspace.APIGmail)+"gmail/v1/users/me/profile", nil)
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var p struct{ EmailAddress string }
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		return "", err
	}
	return p.EmailAddress, nil
}

func TestADCFromEnvironmentVariable(t *testing.T) {
	srv := workspacetest.NewServer()
	defer srv.Close()
	bob := "bob@example.com"
	srv.AddUser(bob)
	path := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(path, srv.ServiceAccountKey(), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
	c := newClient(t, srv.URL, workspace.WithSubject(srv.AdminEmail()))
	if got, err := profileAddress(t, c, ""); err != nil || got != srv.AdminEmail() {
		t.Fatalf("default subject: %q, %v", got, err)
	}
	// A key found by ADC delegates to any user, like a key file.
	if got, err := profileAddress(t, c, bob); err != nil || got != bob {
		t.Fatalf("subject %s: %q, %v", bob, got, err)
	}
	if c.Project() != "workspacetest-project" {
		t.Errorf("project %q", c.Project())
	}
}

func TestADCNoneFound(t *testing.T) {
	workspace.SetFindDefaultCredentials(t, func(context.Context, []string) (*auth.DefaultCredentials, error) {
		return nil, auth.ErrNoDefaultCredentials
	})
	_, err := workspace.NewClient(t.Context())
	if !errors.Is(err, auth.ErrNoDefaultCredentials) {
		t.Fatalf("error %v", err)
	}
	for _, w := range []string{"no credentials", "WithCredentialsFile", "Application Default Credentials", "GOOGLE_APPLICATION_CREDENTIALS"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}

func TestADCMetadataCannotImpersonateWithoutServiceAccount(t *testing.T) {
	// GCE_METADATA_HOST (a closed port, from TestMain) makes the metadata
	// server the credentials found; nothing is fetched from it here.
	_, err := workspace.NewClient(t.Context(), workspace.WithEndpoint("http://127.0.0.1:1"), workspace.WithSubject("admin@example.com"))
	if err == nil || !strings.Contains(err.Error(), "metadata server") || !strings.Contains(err.Error(), "WithServiceAccount") {
		t.Fatalf("error %v", err)
	}
}

// headerRecorder is an API endpoint that records the headers it is sent.
type headerRecorder struct {
	*httptest.Server
	mu      sync.Mutex
	headers []http.Header
}

func newHeaderRecorder(t *testing.T) *headerRecorder {
	h := &headerRecorder{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.headers = append(h.headers, r.Header.Clone())
		h.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{}`)
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *headerRecorder) last() http.Header {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.headers[len(h.headers)-1]
}

func TestQuotaProjectAndUserAgent(t *testing.T) {
	srv := newHeaderRecorder(t)
	c := newClient(t, srv.URL, workspace.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: "t"})),
		workspace.WithQuotaProject("billing-project"), workspace.WithUserAgent("migrator/1.2"))
	call := &core.Call{API: workspace.APIGmail, Method: "users.getProfile"}
	hc, _ := c.HTTPClient("")
	req, _ := http.NewRequestWithContext(core.WithCall(t.Context(), call), "GET", srv.URL+"/gmail/v1/users/me/profile", nil)
	req.Header.Set("User-Agent", "google-api-go-client/0.5")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	h := srv.last()
	if got := h.Get("X-Goog-User-Project"); got != "billing-project" {
		t.Errorf("x-goog-user-project %q", got)
	}
	if got := h.Get("User-Agent"); got != "migrator/1.2 google-api-go-client/0.5" {
		t.Errorf("User-Agent %q", got)
	}
	if req.Header.Get("X-Goog-User-Project") != "" {
		t.Error("the caller's request was modified")
	}
}

func TestQuotaProjectFromUserCredentials(t *testing.T) {
	srv := workspacetest.NewServer()
	defer srv.Close()
	rec := newHeaderRecorder(t)
	var user map[string]string
	json.Unmarshal(srv.AuthorizedUserKey(), &user)
	user["quota_project_id"] = "gcloud-quota"
	data, _ := json.Marshal(user)
	path := filepath.Join(t.TempDir(), "adc.json")
	os.WriteFile(path, data, 0o600)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)

	c := newClient(t, rec.URL)
	if _, err := get(t, c, &core.Call{API: workspace.APIGmail, Method: "users.getProfile"}, "gmail/v1/users/me/profile"); err != nil {
		t.Fatal(err)
	}
	if got := rec.last().Get("X-Goog-User-Project"); got != "gcloud-quota" {
		t.Errorf("x-goog-user-project %q, want the file's quota_project_id", got)
	}
	// WithQuotaProject wins.
	c = newClient(t, rec.URL, workspace.WithQuotaProject("explicit"))
	if _, err := get(t, c, &core.Call{API: workspace.APIGmail, Method: "users.getProfile"}, "gmail/v1/users/me/profile"); err != nil {
		t.Fatal(err)
	}
	if got := rec.last().Get("X-Goog-User-Project"); got != "explicit" {
		t.Errorf("x-goog-user-project %q, want WithQuotaProject's", got)
	}
}

func TestNewOptionsValidate(t *testing.T) {
	for name, o := range map[string]workspace.Option{
		"service account": workspace.WithServiceAccount("robot"),
		"user agent":      workspace.WithUserAgent(" "),
		"user agent CRLF": workspace.WithUserAgent("a\r\nX-Evil: 1"),
		"quota project":   workspace.WithQuotaProject(""),
	} {
		if _, err := workspace.NewClient(t.Context(), workspace.WithoutAuthentication(), o); err == nil {
			t.Errorf("%s: NewClient succeeded", name)
		}
	}
	_, err := workspace.NewClient(t.Context(), workspace.WithoutAuthentication(), workspace.WithServiceAccount("sa@p.iam.gserviceaccount.com"))
	if err == nil {
		t.Error("WithServiceAccount with WithoutAuthentication accepted")
	}
}
