package workspacetest

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// methodScopes lists, per (api, method) of the fake, the scopes Google
// accepts for it: for the REST APIs the "scopes" of the method in its
// discovery document (google.golang.org/api v0.311.0: groupsmigration,
// admin datatransfer and directory, cloudidentity, gmail, iamcredentials;
// Gmail's add-on scopes left out, since they work only inside add-ons);
// for the legacy Email Audit and Admin Settings feeds the single scope
// their documents give (see /work/shared/docs/google-apis.md §1 and §2).
var methodScopes = map[[2]string][]string{
	{"groupsmigration", "archive.insert"}:                             {"https://www.googleapis.com/auth/apps.groups.migration"},
	{"datatransfer", "applications.get"}:                              {"https://www.googleapis.com/auth/admin.datatransfer", "https://www.googleapis.com/auth/admin.datatransfer.readonly"},
	{"datatransfer", "applications.list"}:                             {"https://www.googleapis.com/auth/admin.datatransfer", "https://www.googleapis.com/auth/admin.datatransfer.readonly"},
	{"datatransfer", "transfers.get"}:                                 {"https://www.googleapis.com/auth/admin.datatransfer", "https://www.googleapis.com/auth/admin.datatransfer.readonly"},
	{"datatransfer", "transfers.insert"}:                              {"https://www.googleapis.com/auth/admin.datatransfer"},
	{"datatransfer", "transfers.list"}:                                {"https://www.googleapis.com/auth/admin.datatransfer", "https://www.googleapis.com/auth/admin.datatransfer.readonly"},
	{"directory", "customers.get"}:                                    {"https://www.googleapis.com/auth/admin.directory.customer", "https://www.googleapis.com/auth/admin.directory.customer.readonly"},
	{"directory", "customers.patch"}:                                  {"https://www.googleapis.com/auth/admin.directory.customer"},
	{"directory", "customers.update"}:                                 {"https://www.googleapis.com/auth/admin.directory.customer"},
	{"directory", "domains.delete"}:                                   {"https://www.googleapis.com/auth/admin.directory.domain"},
	{"directory", "domains.get"}:                                      {"https://www.googleapis.com/auth/admin.directory.domain", "https://www.googleapis.com/auth/admin.directory.domain.readonly"},
	{"directory", "domains.insert"}:                                   {"https://www.googleapis.com/auth/admin.directory.domain"},
	{"directory", "domains.list"}:                                     {"https://www.googleapis.com/auth/admin.directory.domain", "https://www.googleapis.com/auth/admin.directory.domain.readonly"},
	{"directory", "users.get"}:                                        {"https://www.googleapis.com/auth/admin.directory.user", "https://www.googleapis.com/auth/admin.directory.user.readonly"},
	{"directory", "users.list"}:                                       {"https://www.googleapis.com/auth/admin.directory.user", "https://www.googleapis.com/auth/admin.directory.user.readonly", "https://www.googleapis.com/auth/cloud-platform"},
	{"cloudidentity", "inboundSamlSsoProfiles.create"}:                {"https://www.googleapis.com/auth/cloud-identity.inboundsso", "https://www.googleapis.com/auth/cloud-platform"},
	{"cloudidentity", "inboundSamlSsoProfiles.delete"}:                {"https://www.googleapis.com/auth/cloud-identity.inboundsso", "https://www.googleapis.com/auth/cloud-platform"},
	{"cloudidentity", "inboundSamlSsoProfiles.get"}:                   {"https://www.googleapis.com/auth/cloud-identity.inboundsso", "https://www.googleapis.com/auth/cloud-identity.inboundsso.readonly", "https://www.googleapis.com/auth/cloud-platform"},
	{"cloudidentity", "inboundSamlSsoProfiles.list"}:                  {"https://www.googleapis.com/auth/cloud-identity.inboundsso", "https://www.googleapis.com/auth/cloud-identity.inboundsso.readonly", "https://www.googleapis.com/auth/cloud-platform"},
	{"cloudidentity", "inboundSamlSsoProfiles.patch"}:                 {"https://www.googleapis.com/auth/cloud-identity.inboundsso", "https://www.googleapis.com/auth/cloud-platform"},
	{"cloudidentity", "inboundSamlSsoProfiles.idpCredentials.add"}:    {"https://www.googleapis.com/auth/cloud-identity.inboundsso", "https://www.googleapis.com/auth/cloud-platform"},
	{"cloudidentity", "inboundSamlSsoProfiles.idpCredentials.delete"}: {"https://www.googleapis.com/auth/cloud-identity.inboundsso", "https://www.googleapis.com/auth/cloud-platform"},
	{"cloudidentity", "inboundSamlSsoProfiles.idpCredentials.get"}:    {"https://www.googleapis.com/auth/cloud-identity.inboundsso", "https://www.googleapis.com/auth/cloud-identity.inboundsso.readonly", "https://www.googleapis.com/auth/cloud-platform"},
	{"cloudidentity", "inboundSamlSsoProfiles.idpCredentials.list"}:   {"https://www.googleapis.com/auth/cloud-identity.inboundsso", "https://www.googleapis.com/auth/cloud-identity.inboundsso.readonly", "https://www.googleapis.com/auth/cloud-platform"},
	{"cloudidentity", "inboundSsoAssignments.create"}:                 {"https://www.googleapis.com/auth/cloud-identity.inboundsso", "https://www.googleapis.com/auth/cloud-platform"},
	{"cloudidentity", "inboundSsoAssignments.delete"}:                 {"https://www.googleapis.com/auth/cloud-identity.inboundsso", "https://www.googleapis.com/auth/cloud-platform"},
	{"cloudidentity", "inboundSsoAssignments.get"}:                    {"https://www.googleapis.com/auth/cloud-identity.inboundsso", "https://www.googleapis.com/auth/cloud-identity.inboundsso.readonly", "https://www.googleapis.com/auth/cloud-platform"},
	{"cloudidentity", "inboundSsoAssignments.list"}:                   {"https://www.googleapis.com/auth/cloud-identity.inboundsso", "https://www.googleapis.com/auth/cloud-identity.inboundsso.readonly", "https://www.googleapis.com/auth/cloud-platform"},
	{"cloudidentity", "inboundSsoAssignments.patch"}:                  {"https://www.googleapis.com/auth/cloud-identity.inboundsso", "https://www.googleapis.com/auth/cloud-platform"},
	{"gmail", "getProfile"}:                                           {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.compose", "https://www.googleapis.com/auth/gmail.metadata", "https://www.googleapis.com/auth/gmail.modify", "https://www.googleapis.com/auth/gmail.readonly"},
	{"gmail", "labels.create"}:                                        {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.labels", "https://www.googleapis.com/auth/gmail.modify"},
	{"gmail", "labels.delete"}:                                        {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.labels", "https://www.googleapis.com/auth/gmail.modify"},
	{"gmail", "labels.get"}:                                           {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.labels", "https://www.googleapis.com/auth/gmail.metadata", "https://www.googleapis.com/auth/gmail.modify", "https://www.googleapis.com/auth/gmail.readonly"},
	{"gmail", "labels.list"}:                                          {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.labels", "https://www.googleapis.com/auth/gmail.metadata", "https://www.googleapis.com/auth/gmail.modify", "https://www.googleapis.com/auth/gmail.readonly"},
	{"gmail", "labels.patch"}:                                         {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.labels", "https://www.googleapis.com/auth/gmail.modify"},
	{"gmail", "labels.update"}:                                        {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.labels", "https://www.googleapis.com/auth/gmail.modify"},
	{"gmail", "messages.batchDelete"}:                                 {"https://mail.google.com/"},
	{"gmail", "messages.batchModify"}:                                 {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.modify"},
	{"gmail", "messages.delete"}:                                      {"https://mail.google.com/"},
	{"gmail", "messages.get"}:                                         {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.metadata", "https://www.googleapis.com/auth/gmail.modify", "https://www.googleapis.com/auth/gmail.readonly"},
	{"gmail", "messages.import"}:                                      {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.insert", "https://www.googleapis.com/auth/gmail.modify"},
	{"gmail", "messages.insert"}:                                      {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.insert", "https://www.googleapis.com/auth/gmail.modify"},
	{"gmail", "messages.list"}:                                        {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.metadata", "https://www.googleapis.com/auth/gmail.modify", "https://www.googleapis.com/auth/gmail.readonly"},
	{"gmail", "messages.modify"}:                                      {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.modify"},
	{"gmail", "messages.send"}:                                        {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.compose", "https://www.googleapis.com/auth/gmail.modify", "https://www.googleapis.com/auth/gmail.send"},
	{"gmail", "messages.trash"}:                                       {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.modify"},
	{"gmail", "messages.untrash"}:                                     {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.modify"},
	{"gmail", "messages.attachments.get"}:                             {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.modify", "https://www.googleapis.com/auth/gmail.readonly"},
	{"iamcredentials", "projects.serviceAccounts.signJwt"}:            {"https://www.googleapis.com/auth/cloud-platform"},
	{"gmail", "threads.delete"}:                                       {"https://mail.google.com/"},
	{"gmail", "threads.get"}:                                          {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.metadata", "https://www.googleapis.com/auth/gmail.modify", "https://www.googleapis.com/auth/gmail.readonly"},
	{"gmail", "threads.list"}:                                         {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.metadata", "https://www.googleapis.com/auth/gmail.modify", "https://www.googleapis.com/auth/gmail.readonly"},
	{"gmail", "threads.modify"}:                                       {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.modify"},
	{"gmail", "threads.trash"}:                                        {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.modify"},
	{"gmail", "threads.untrash"}:                                      {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.modify"},
	{"gmail", "history.list"}:                                         {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.metadata", "https://www.googleapis.com/auth/gmail.modify", "https://www.googleapis.com/auth/gmail.readonly"},
}

func init() {
	for _, m := range []string{"monitor.create", "monitor.list", "monitor.delete", "publickey.create",
		"export.create", "export.get", "export.list", "export.delete", "export.download", "account.removed"} {
		methodScopes[[2]string{"audit", m}] = []string{scopeAudit}
	}
}

// TestEndpointScopesMatchDiscovery checks every registered endpoint
// accepts exactly the scopes Google lists for its method.
func TestEndpointScopesMatchDiscovery(t *testing.T) {
	s := NewUnstartedServer()
	for _, r := range s.routes {
		ep := r.ep
		if ep.noAuth || ep.api == gmailBatchAPI {
			continue
		}
		want, ok := methodScopes[[2]string{ep.api, ep.method}]
		if ep.api == "adminsettings" {
			want, ok = []string{scopeAdminSettings}, true
		}
		if !ok {
			t.Errorf("%s (%s %s): no scopes known from Google's documents", r.pattern, ep.api, ep.method)
			continue
		}
		got := slices.Sorted(slices.Values(ep.scopes))
		want = slices.Sorted(slices.Values(want))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (%s %s) scopes (-discovery +fake):\n%s", r.pattern, ep.api, ep.method, diff)
		}
	}
}

// TestEndpointScopeGate calls every endpoint as the admin with a token
// holding only one of its scopes (it must pass the scope check, whatever
// the handler then says of the dummy request) and with a token holding an
// unrelated scope (it must get 403 insufficientPermissions).
func TestEndpointScopeGate(t *testing.T) {
	s := NewServer()
	defer s.Close()
	const unrelated = "https://www.googleapis.com/auth/drive"
	for _, r := range s.routes {
		ep := r.ep
		if ep.noAuth || len(ep.scopes) == 0 {
			continue
		}
		method, path, ok := strings.Cut(r.pattern, " ")
		if !ok {
			method, path = "GET", r.pattern
		}
		path = fillPattern(path)
		do := func(scope string) (int, string) {
			req, _ := http.NewRequestWithContext(t.Context(), method, s.URL+path, strings.NewReader("{}"))
			req.Header.Set("Authorization", "Bearer "+s.IssueToken(s.AdminEmail(), scope))
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", r.pattern, err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		refused := func(code int, body string) bool {
			if ep.style == styleGData {
				// The GData form of the scope refusal.
				return code == http.StatusForbidden && strings.Contains(body, `errorCode="1000"`)
			}
			return code == http.StatusForbidden && strings.Contains(body, `"insufficientPermissions"`)
		}
		for _, sc := range ep.scopes {
			if code, body := do(sc); refused(code, body) {
				t.Errorf("%s with only %s: refused (%d %s)", r.pattern, sc, code, body)
			}
		}
		if code, body := do(unrelated); !refused(code, body) {
			t.Errorf("%s with an unrelated scope: %d %s, want 403 insufficientPermissions", r.pattern, code, body)
		}
	}
}

// fillPattern replaces each {wildcard} of a ServeMux path with a dummy
// value ("me" for Gmail's userId).
func fillPattern(p string) string {
	var b strings.Builder
	for {
		i := strings.IndexByte(p, '{')
		if i < 0 {
			b.WriteString(p)
			return b.String()
		}
		j := strings.IndexByte(p[i:], '}')
		name := p[i+1 : i+j]
		b.WriteString(p[:i])
		switch name {
		case "userId":
			b.WriteString("me")
		case "project":
			b.WriteString("-")
		case "domain":
			b.WriteString("example.com")
		default:
			b.WriteString("x1")
		}
		p = p[i+j+1:]
	}
}
