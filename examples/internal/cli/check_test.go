package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gwsadmin/workspace/workspacetest"
)

func TestCheckConnection(t *testing.T) {
	srv := workspacetest.NewServer()
	defer srv.Close()
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	key := write("sa.json", srv.ServiceAccountKey())
	badKey := write("bad.json", []byte(`{"type":"service_account","client_email":"x@y.example","private_key":"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}`))
	notJSON := write("not.json", []byte("hello"))
	user := write("user.json", []byte(`{"type":"authorized_user","client_id":"a","client_secret":"b","refresh_token":"c"}`))
	tests := []struct {
		name                           string
		credentials, subject, endpoint string
		wantErr                        string // "" for none
	}{
		{"endpoint only", "", "", "http://127.0.0.1:8080", ""},
		{"https endpoint", "", "", "https://proxy.example.com/base", ""},
		{"key and subject", key, "admin@example.com", srv.URL, ""},
		{"authorized user without subject", user, "", "", ""},
		{"no scheme", "", "", "127.0.0.1:8080", "want an http:// or https:// URL"},
		{"no host", "", "", "http://", "no host"},
		{"plain http remote", "", "", "http://proxy.example.com", "plain http only to a loopback"},
		{"query", "", "", "https://x.example.com/?a=b", "no query"},
		{"user info", "", "", "https://u:p@x.example.com/", "no user or password"},
		{"bad port", "", "", "http://127.0.0.1:99999", "bad port"},
		{"missing file", filepath.Join(dir, "nope.json"), "admin@example.com", "", "-credentials"},
		{"not JSON", notJSON, "admin@example.com", "", "not valid JSON"},
		{"bad private key", badKey, "admin@example.com", "", "private_key"},
		{"key without subject", key, "", "", "give -subject"},
		{"subject not an address", key, "admin", "", "not an e-mail address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckConnection(tt.credentials, tt.subject, tt.endpoint)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("err = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
