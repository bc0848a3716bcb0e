package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// isolateADC makes Application Default Credentials lookups in this test
// see only what the test puts there: no real metadata server (a closed
// loopback port, and onGCE false unless the test says otherwise), no
// gcloud login, no GOOGLE_APPLICATION_CREDENTIALS from the environment.
func isolateADC(t *testing.T) (dir string) {
	t.Helper()
	dir = t.TempDir()
	t.Setenv("GCE_METADATA_HOST", "127.0.0.1:1")
	t.Setenv("HOME", dir)
	t.Setenv("CLOUDSDK_CONFIG", filepath.Join(dir, "gcloud"))
	t.Setenv("APPDATA", dir)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "")
	old := onGCE
	onGCE = func() bool { return false }
	t.Cleanup(func() { onGCE = old })
	return dir
}

func TestFindDefaultCredentialsFromEnvironment(t *testing.T) {
	dir := isolateADC(t)
	ts := newTokenServer(t)
	path := filepath.Join(dir, "sa.json")
	if err := os.WriteFile(path, serviceAccountJSON(t, ts.tokenURL()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", path)
	dc, err := FindDefaultCredentials(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if dc.Credentials == nil || dc.Credentials.Type() != TypeServiceAccount || dc.Source != path || dc.TokenSource != nil {
		t.Fatalf("found %+v", dc)
	}
	// A key found by ADC delegates like a key file.
	src, err := (&Pool{Credentials: dc.Credentials}).Source("alice@example.com", []string{"s"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Token(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ts.claims[0].Sub != "alice@example.com" {
		t.Errorf("claims %+v", ts.claims[0])
	}
}

func TestFindDefaultCredentialsBadEnvironmentFile(t *testing.T) {
	dir := isolateADC(t)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", filepath.Join(dir, "missing.json"))
	if _, err := FindDefaultCredentials(t.Context(), nil); err == nil || !strings.Contains(err.Error(), "GOOGLE_APPLICATION_CREDENTIALS") {
		t.Errorf("error %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"type":"service_account","private_key":"SECRET"}`), 0o600)
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", bad)
	_, err := FindDefaultCredentials(t.Context(), nil)
	if err == nil || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error %v", err)
	}
}

func TestFindDefaultCredentialsGcloudFile(t *testing.T) {
	dir := isolateADC(t)
	gdir := filepath.Join(dir, "gcloud")
	os.MkdirAll(gdir, 0o700)
	user := `{"type":"authorized_user","client_id":"c","client_secret":"s","refresh_token":"r","quota_project_id":"billing-proj"}`
	if err := os.WriteFile(filepath.Join(gdir, "application_default_credentials.json"), []byte(user), 0o600); err != nil {
		t.Fatal(err)
	}
	dc, err := FindDefaultCredentials(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if dc.Credentials == nil || dc.Credentials.Type() != TypeAuthorizedUser || dc.Credentials.QuotaProjectID() != "billing-proj" {
		t.Fatalf("found %+v", dc)
	}
}

func TestFindDefaultCredentialsNone(t *testing.T) {
	isolateADC(t)
	_, err := FindDefaultCredentials(t.Context(), nil)
	if !errors.Is(err, ErrNoDefaultCredentials) {
		t.Fatalf("error %v", err)
	}
	for _, w := range []string{"GOOGLE_APPLICATION_CREDENTIALS", "gcloud auth application-default login"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}

func TestFindDefaultCredentialsMetadataServer(t *testing.T) {
	isolateADC(t)
	md := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Metadata-Flavor") != "Google" || !strings.HasSuffix(r.URL.Path, "/instance/service-accounts/default/token") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"vm-token","token_type":"Bearer","expires_in":3600}`)
	}))
	defer md.Close()
	t.Setenv("GCE_METADATA_HOST", strings.TrimPrefix(md.URL, "http://"))
	onGCE = func() bool { return true }
	dc, err := FindDefaultCredentials(t.Context(), []string{ScopeCloudPlatform})
	if err != nil {
		t.Fatal(err)
	}
	if dc.TokenSource == nil || dc.Source != "metadata server" {
		t.Fatalf("found %+v", dc)
	}
	tok, err := dc.TokenSource.Token()
	if err != nil || tok.AccessToken != "vm-token" {
		t.Fatalf("token %v, %v", tok, err)
	}
}
