package workspacetest_test

// Conformance of the library's wire traffic with Google's published API
// definitions.
//
// TestConformance drives every exported method of the API packages' client
// types (and the root Client's delegation checks) against a
// workspacetest.Server, through real OAuth (the fake's service-account key,
// domain-wide delegation), with a base transport that records every request.
// It then checks each recorded request against the discovery documents
// shipped in the google.golang.org/api module (read at test time) or, for
// the legacy GData feeds and the infrastructure endpoints that have no
// discovery document, against the documented endpoints listed in
// legacyEndpoints:
//
//   - the request matches exactly one method: HTTP method and path template
//     (discovery path, flatPath, or mediaUpload simple/resumable path with
//     an uploadType that protocol allows);
//   - it carries the method's required query parameters, sends no query
//     parameter the method does not define, and keeps enum parameters
//     within their enum;
//   - its bearer token holds at least one of the scopes the method lists
//     (the token's scopes are those of the JWT assertion the library sent
//     to the token endpoint for it);
//   - no library method asked for a scope that authorizes none of the
//     methods it called with that token (fewest scopes each call needs).
//
// TestConformanceCoverage parses the API packages and fails when an
// exported method of their client types is neither in conformanceCalls nor
// in noRequestMethods, so that a new method cannot escape the check.
//
// go test ./workspacetest -run Conformance -wiremd FILE writes the
// endpoint tables of docs/wire.md, as recorded, to FILE.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	gmailapi "google.golang.org/api/gmail/v1"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/audit"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/gmail"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/retry"
	"github.com/gwsadmin/workspace/settings"
	"github.com/gwsadmin/workspace/workspacetest"
)

var wireMD = flag.String("wiremd", "", "write the recorded endpoint tables (for docs/wire.md) to this file")

// ---------------------------------------------------------------------------
// Discovery documents.

// discoveryFiles are the discovery documents of the APIs the library calls,
// relative to the google.golang.org/api module root, with the library's API
// name (workspace.API*) whose BaseURL must be the document's rootUrl ("" when
// the API is not one of the workspace.API* names).
var discoveryFiles = []struct{ file, api string }{
	{"groupsmigration/v1/groupsmigration-api.json", workspace.APIGroupsMigration},
	{"admin/datatransfer/v1/admin-api.json", workspace.APIDataTransfer},
	{"admin/directory/v1/admin-api.json", workspace.APIDirectory},
	{"cloudidentity/v1/cloudidentity-api.json", workspace.APICloudIdentity},
	{"gmail/v1/gmail-api.json", workspace.APIGmail},
	{"iamcredentials/v1/iamcredentials-api.json", ""},
}

type discoParam struct {
	Description string   `json:"description"`
	Location    string   `json:"location"`
	Required    bool     `json:"required"`
	Pattern     string   `json:"pattern"`
	Enum        []string `json:"enum"`
	Repeated    bool     `json:"repeated"`
}

type discoProtocol struct {
	Multipart bool   `json:"multipart"`
	Path      string `json:"path"`
}

type discoMethod struct {
	ID         string                `json:"id"`
	Path       string                `json:"path"`
	FlatPath   string                `json:"flatPath"`
	HTTPMethod string                `json:"httpMethod"`
	Parameters map[string]discoParam `json:"parameters"`
	Scopes     []string              `json:"scopes"`
	Request    *struct {
		Ref string `json:"$ref"`
	} `json:"request"`
	MediaUpload *struct {
		Accept    []string `json:"accept"`
		MaxSize   string   `json:"maxSize"`
		Protocols struct {
			Simple    *discoProtocol `json:"simple"`
			Resumable *discoProtocol `json:"resumable"`
		} `json:"protocols"`
	} `json:"mediaUpload"`
}

type discoResource struct {
	Methods   map[string]discoMethod   `json:"methods"`
	Resources map[string]discoResource `json:"resources"`
}

type discoDoc struct {
	Name        string                   `json:"name"`
	Version     string                   `json:"version"`
	Revision    string                   `json:"revision"`
	RootURL     string                   `json:"rootUrl"`
	ServicePath string                   `json:"servicePath"`
	BatchPath   string                   `json:"batchPath"`
	Parameters  map[string]discoParam    `json:"parameters"`
	Methods     map[string]discoMethod   `json:"methods"`
	Resources   map[string]discoResource `json:"resources"`
	Schemas     map[string]*discoSchema  `json:"schemas"`
}

// discoSchema is the part of a discovery schema the body check reads.
type discoSchema struct {
	Ref                  string                  `json:"$ref"`
	Type                 string                  `json:"type"`
	Properties           map[string]*discoSchema `json:"properties"`
	Items                *discoSchema            `json:"items"`
	AdditionalProperties *discoSchema            `json:"additionalProperties"`
}

// endpoint is one thing a request may be: a discovery method reached
// through one of its paths, or a documented endpoint without discovery.
type endpoint struct {
	ID         string // discovery method id, or the legacy endpoint's name
	Source     string // "gmail/v1 (rev 2026…)" or the documentation URL
	HTTPMethod string
	Templates  []string // full path templates, as documented
	res        []*regexp.Regexp
	// Kind: "rest", "upload" (mediaUpload path), "upload-session" (a PUT
	// to a resumable session URI), "legacy", "batch", "infra".
	Kind string
	// UploadTypes are the uploadType values this path takes (uploads).
	UploadTypes []string
	// Query lists the query parameters the method defines (global ones
	// included); nil means not checked (legacy feeds document no list).
	Query map[string]discoParam
	// Scopes authorize the method (any one of them). Nil for infra.
	Scopes []string
	// Accept are the media types an upload takes (mediaUpload.accept),
	// checked on uploadType=media.
	Accept []string
	// Request is the schema of a JSON body (discovery request.$ref), with
	// the document's schemas to resolve references.
	Request string
	schemas map[string]*discoSchema
	// Params are the method's parameters (path ones included).
	Params map[string]discoParam
	// MyCustomer: the document offers the my_customer alias for the
	// account's customer id (in some parameter description).
	MyCustomer bool
}

func (e *endpoint) String() string {
	return e.HTTPMethod + " " + strings.Join(e.Templates, " | ") + " (" + e.ID + ", " + e.Kind + ")"
}

func (e *endpoint) matchPath(p string) bool {
	for _, re := range e.res {
		if re.MatchString(p) {
			return true
		}
	}
	return false
}

// templateRE turns a discovery path template into an anchored regexp:
// {x} is one path segment, {+x} the parameter's pattern (without its
// anchors) or anything non-empty.
func templateRE(tmpl string, params map[string]discoParam) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for tmpl != "" {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(regexp.QuoteMeta(tmpl))
			break
		}
		b.WriteString(regexp.QuoteMeta(tmpl[:i]))
		j := strings.IndexByte(tmpl[i:], '}')
		name := tmpl[i+1 : i+j]
		tmpl = tmpl[i+j+1:]
		n, plus := strings.CutPrefix(name, "+")
		group := "("
		if validGroupName.MatchString(n) {
			group = "(?P<" + n + ">"
		}
		if plus {
			pat := strings.TrimSuffix(strings.TrimPrefix(params[n].Pattern, "^"), "$")
			if pat == "" {
				pat = ".+"
			}
			b.WriteString(group + "(?:" + pat + "))")
		} else {
			b.WriteString(group + "[^/]+)")
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

var validGroupName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// pathValues returns the path parameters of p by name, unescaped, from the
// first of ep's templates that matches.
func (e *endpoint) pathValues(p string) map[string]string {
	for _, re := range e.res {
		m := re.FindStringSubmatch(p)
		if m == nil {
			continue
		}
		out := make(map[string]string)
		for i, n := range re.SubexpNames() {
			if n != "" {
				v, err := url.PathUnescape(m[i])
				if err != nil {
					v = m[i]
				}
				out[n] = v
			}
		}
		return out
	}
	return nil
}

// apiModuleDir finds the google.golang.org/api module as the go command
// resolves it for this module.
func apiModuleDir(t testing.TB) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "google.golang.org/api")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		t.Fatalf("cannot locate the google.golang.org/api module for its discovery documents (go list -m -f '{{.Dir}}' google.golang.org/api): %v", err)
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatal("go list -m google.golang.org/api gave no directory: run `go mod download google.golang.org/api`")
	}
	return dir
}

var (
	discoOnce sync.Once
	discoDocs map[string]*discoDoc // by file
	discoEPs  []*endpoint
	discoErr  error
)

// loadDiscovery reads the discovery documents and builds one endpoint per
// method and path kind.
func loadDiscovery(t testing.TB) ([]*endpoint, map[string]*discoDoc) {
	t.Helper()
	dir := apiModuleDir(t)
	discoOnce.Do(func() {
		discoDocs = make(map[string]*discoDoc)
		for _, f := range discoveryFiles {
			data, err := os.ReadFile(filepath.Join(dir, f.file))
			if err != nil {
				discoErr = fmt.Errorf("discovery document %s: %w", f.file, err)
				return
			}
			d := new(discoDoc)
			if err := json.Unmarshal(data, d); err != nil {
				discoErr = fmt.Errorf("discovery document %s: %w", f.file, err)
				return
			}
			discoDocs[f.file] = d
			eps := docEndpoints(d)
			for _, ep := range eps {
				ep.MyCustomer = bytes.Contains(data, []byte("my_customer"))
			}
			discoEPs = append(discoEPs, eps...)
		}
	})
	if discoErr != nil {
		t.Fatal(discoErr)
	}
	return discoEPs, discoDocs
}

func docEndpoints(d *discoDoc) []*endpoint {
	var out []*endpoint
	source := fmt.Sprintf("discovery %s/%s rev %s", d.Name, d.Version, d.Revision)
	root, _ := url.Parse(d.RootURL)
	base := root.Path + d.ServicePath // "/" + ""
	var walk func(ms map[string]discoMethod, rs map[string]discoResource)
	walk = func(ms map[string]discoMethod, rs map[string]discoResource) {
		for _, m := range ms {
			query := make(map[string]discoParam)
			for n, p := range d.Parameters {
				query[n] = p
			}
			for n, p := range m.Parameters {
				if p.Location == "query" {
					query[n] = p
				}
			}
			full := func(p string) string {
				if strings.HasPrefix(p, "/") {
					return p
				}
				return base + p
			}
			rest := &endpoint{ID: m.ID, Source: source, HTTPMethod: m.HTTPMethod, Kind: "rest", Query: query, Scopes: m.Scopes, schemas: d.Schemas, Params: m.Parameters}
			if m.Request != nil {
				rest.Request = m.Request.Ref
			}
			for _, p := range []string{m.Path, m.FlatPath} {
				if p != "" && !slices.Contains(rest.Templates, full(p)) {
					rest.Templates = append(rest.Templates, full(p))
					rest.res = append(rest.res, templateRE(full(p), m.Parameters))
				}
			}
			out = append(out, rest)
			if m.MediaUpload == nil {
				continue
			}
			pr := m.MediaUpload.Protocols
			if s := pr.Simple; s != nil {
				// Google's generated clients send every upload
				// protocol to the simple path, uploadType saying
				// which; resumable only where discovery lists it.
				ut := []string{"media"}
				if s.Multipart {
					ut = append(ut, "multipart")
				}
				if pr.Resumable != nil {
					ut = append(ut, "resumable")
				}
				out = append(out, &endpoint{ID: m.ID, Source: source + " mediaUpload.protocols.simple", HTTPMethod: m.HTTPMethod,
					Templates: []string{s.Path}, res: []*regexp.Regexp{templateRE(s.Path, m.Parameters)},
					Kind: "upload", UploadTypes: ut, Query: query, Scopes: m.Scopes, Accept: m.MediaUpload.Accept})
			}
			if r := pr.Resumable; r != nil {
				out = append(out, &endpoint{ID: m.ID, Source: source + " mediaUpload.protocols.resumable", HTTPMethod: m.HTTPMethod,
					Templates: []string{r.Path}, res: []*regexp.Regexp{templateRE(r.Path, m.Parameters)},
					Kind: "upload", UploadTypes: []string{"resumable"}, Query: query, Scopes: m.Scopes, Accept: m.MediaUpload.Accept})
				// The session URI the server gives is the upload
				// path plus upload_id; the bytes go there with PUT.
				sq := map[string]discoParam{"upload_id": {Location: "query", Required: true}}
				for n, p := range query {
					sq[n] = p
				}
				var tmpls []string
				var res []*regexp.Regexp
				for _, p := range []*discoProtocol{pr.Simple, r} {
					if p != nil {
						tmpls = append(tmpls, p.Path)
						res = append(res, templateRE(p.Path, m.Parameters))
					}
				}
				out = append(out, &endpoint{ID: m.ID, Source: source + " mediaUpload.protocols.resumable (session URI)", HTTPMethod: http.MethodPut,
					Templates: tmpls, res: res, Kind: "upload-session", UploadTypes: []string{"resumable"}, Query: sq, Scopes: m.Scopes})
			}
		}
		for _, r := range rs {
			walk(r.Methods, r.Resources)
		}
	}
	walk(d.Methods, d.Resources)
	return out
}

// ---------------------------------------------------------------------------
// Documented endpoints that have no discovery document.

// Scopes of the legacy GData APIs, from their documentation (see
// shared/docs/google-apis.md §1.1 and §2): written out here, not taken from
// the library's constants, so that a changed constant fails.
const (
	docScopeEmailAudit    = "https://apps-apis.google.com/a/feeds/compliance/audit/"
	docScopeAdminSettings = "https://apps-apis.google.com/a/feeds/domain/"

	docEmailAuditMonitors = "https://developers.google.com/workspace/admin/email-audit/monitor-email"
	docEmailAuditExport   = "https://developers.google.com/workspace/admin/email-audit/download-mailbox"
	docAdminSettings      = "https://developers.google.com/workspace/admin/admin-settings"
	docGmailBatch         = "https://developers.google.com/workspace/gmail/api/guides/batch"
	docTokenEndpoint      = "https://developers.google.com/identity/protocols/oauth2/service-account#authorizingrequests"
	docMetadataServer     = "https://cloud.google.com/compute/docs/metadata/overview"
)

func legacy(id, doc, method, tmpl, scope string, query ...string) *endpoint {
	e := &endpoint{ID: id, Source: doc, HTTPMethod: method, Templates: []string{tmpl},
		res: []*regexp.Regexp{templateRE(tmpl, nil)}, Kind: "legacy"}
	if scope != "" {
		e.Scopes = []string{scope}
	}
	if query != nil {
		e.Query = make(map[string]discoParam)
		for _, q := range query {
			e.Query[q] = discoParam{Location: "query"}
		}
	}
	return e
}

// legacyEndpoints are the endpoints the library may call that no discovery
// document describes: the Email Audit and Admin Settings GData feeds (as
// their documentation gives them), Gmail's batch endpoint, and the
// infrastructure (OAuth2 token endpoint, metadata server).
var legacyEndpoints = []*endpoint{
	legacy("emailaudit.monitor.create", docEmailAuditMonitors, "POST", "/a/feeds/compliance/audit/mail/monitor/{domain}/{sourceUser}", docScopeEmailAudit, []string{}...),
	legacy("emailaudit.monitor.list", docEmailAuditMonitors, "GET", "/a/feeds/compliance/audit/mail/monitor/{domain}/{sourceUser}", docScopeEmailAudit, []string{}...),
	legacy("emailaudit.monitor.delete", docEmailAuditMonitors, "DELETE", "/a/feeds/compliance/audit/mail/monitor/{domain}/{sourceUser}/{destUser}", docScopeEmailAudit, []string{}...),
	legacy("emailaudit.publickey.upload", docEmailAuditExport, "POST", "/a/feeds/compliance/audit/publickey/{domain}", docScopeEmailAudit, []string{}...),
	legacy("emailaudit.export.create", docEmailAuditExport, "POST", "/a/feeds/compliance/audit/mail/export/{domain}/{sourceUser}", docScopeEmailAudit, []string{}...),
	legacy("emailaudit.export.get", docEmailAuditExport, "GET", "/a/feeds/compliance/audit/mail/export/{domain}/{sourceUser}/{requestId}", docScopeEmailAudit, []string{}...),
	// The list pages through <link rel='next'> URLs the server gives:
	// their query is the server's, not checked.
	legacy("emailaudit.export.list", docEmailAuditExport, "GET", "/a/feeds/compliance/audit/mail/export/{domain}", docScopeEmailAudit),
	legacy("emailaudit.export.delete", docEmailAuditExport, "DELETE", "/a/feeds/compliance/audit/mail/export/{domain}/{sourceUser}/{requestId}", docScopeEmailAudit, []string{}...),
	// An export's fileUrlN (https://apps-apis.google.com/a/data/compliance/audit/…).
	legacy("emailaudit.export.file", docEmailAuditExport, "GET", "/a/data/compliance/audit/{+file}", docScopeEmailAudit),

	legacy("adminsettings.sso.general.get", docAdminSettings, "GET", "/a/feeds/domain/2.0/{domain}/sso/general", docScopeAdminSettings, []string{}...),
	legacy("adminsettings.sso.general.update", docAdminSettings, "PUT", "/a/feeds/domain/2.0/{domain}/sso/general", docScopeAdminSettings, []string{}...),
	legacy("adminsettings.sso.signingkey.get", docAdminSettings, "GET", "/a/feeds/domain/2.0/{domain}/sso/signingkey", docScopeAdminSettings, []string{}...),
	legacy("adminsettings.sso.signingkey.update", docAdminSettings, "PUT", "/a/feeds/domain/2.0/{domain}/sso/signingkey", docScopeAdminSettings, []string{}...),
	legacy("adminsettings.email.gateway.get", docAdminSettings, "GET", "/a/feeds/domain/2.0/{domain}/email/gateway", docScopeAdminSettings, []string{}...),
	legacy("adminsettings.email.gateway.update", docAdminSettings, "PUT", "/a/feeds/domain/2.0/{domain}/email/gateway", docScopeAdminSettings, []string{}...),
	legacy("adminsettings.emailrouting.create", docAdminSettings, "POST", "/a/feeds/domain/2.0/{domain}/emailrouting", docScopeAdminSettings, []string{}...),

	// Gmail's batch endpoint: discovery gives batchPath "batch"; the batch
	// guide names the per-API path. Each part is checked on its own.
	{ID: "gmail.batch", Source: docGmailBatch + " (and discovery gmail/v1 batchPath)", HTTPMethod: "POST",
		Templates: []string{"/batch/gmail/v1", "/batch"}, res: []*regexp.Regexp{regexp.MustCompile(`^/batch/gmail/v1$`), regexp.MustCompile(`^/batch$`)},
		Kind: "batch", Query: map[string]discoParam{}},

	{ID: "oauth2.token", Source: docTokenEndpoint, HTTPMethod: "POST", Templates: []string{"/token"},
		res: []*regexp.Regexp{regexp.MustCompile(`^/token$`)}, Kind: "infra", Query: map[string]discoParam{}},
	{ID: "metadata", Source: docMetadataServer, HTTPMethod: "GET", Templates: []string{"/computeMetadata/v1/{+path}"},
		res: []*regexp.Regexp{regexp.MustCompile(`^/computeMetadata/v1/.+$`)}, Kind: "infra"},
}

// ---------------------------------------------------------------------------
// Recording.

type recorded struct {
	Call   string // the conformance call (library method) that sent it
	Method string
	URL    *url.URL
	Header http.Header
	Body   []byte // kept for batches only
	Status int
}

type tokenGrant struct {
	Call    string
	Scopes  []string // from the JWT assertion's scope claim
	Subject string
	Grant   string
}

// recorder is the base transport: it records every request and learns,
// from token-endpoint exchanges, which scopes each access token holds.
type recorder struct {
	next http.RoundTripper

	mu     sync.Mutex
	call   string
	reqs   []*recorded
	tokens map[string]*tokenGrant // access token -> grant
	grants []*tokenGrant
}

func newRecorder() *recorder {
	return &recorder{next: http.DefaultTransport, tokens: make(map[string]*tokenGrant)}
}

func (r *recorder) setCall(name string) {
	r.mu.Lock()
	r.call = name
	r.mu.Unlock()
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	rec := &recorded{Call: r.call, Method: req.Method, URL: req.URL, Header: req.Header.Clone()}
	r.mu.Unlock()
	isToken := req.URL.Path == "/token"
	var grant *tokenGrant
	ct, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if req.Body != nil && (isToken || strings.HasPrefix(req.URL.Path, "/batch") || ct == "application/json") {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(b))
		rec.Body = b
		if isToken {
			grant = parseGrant(b)
			grant.Call = rec.Call
		}
	}
	resp, err := r.next.RoundTrip(req)
	if resp != nil {
		rec.Status = resp.StatusCode
	}
	if grant != nil && err == nil && resp.StatusCode == http.StatusOK {
		b, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if rerr == nil {
			var tr struct {
				AccessToken string `json:"access_token"`
			}
			if json.Unmarshal(b, &tr) == nil && tr.AccessToken != "" {
				r.mu.Lock()
				r.tokens[tr.AccessToken] = grant
				r.mu.Unlock()
			}
		}
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	if grant != nil {
		r.grants = append(r.grants, grant)
	}
	r.mu.Unlock()
	return resp, err
}

// parseGrant reads a token request's form: the JWT bearer assertion's
// scope and sub claims.
func parseGrant(body []byte) *tokenGrant {
	g := &tokenGrant{}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return g
	}
	g.Grant = form.Get("grant_type")
	parts := strings.Split(form.Get("assertion"), ".")
	if len(parts) != 3 {
		return g
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return g
	}
	var claims struct {
		Scope string `json:"scope"`
		Sub   string `json:"sub"`
	}
	if json.Unmarshal(payload, &claims) == nil {
		g.Scopes, g.Subject = strings.Fields(claims.Scope), claims.Sub
	}
	return g
}

func (r *recorder) snapshot() ([]*recorded, map[string]*tokenGrant, []*tokenGrant) {
	r.mu.Lock()
	defer r.mu.Unlock()
	toks := make(map[string]*tokenGrant, len(r.tokens))
	for k, v := range r.tokens {
		toks[k] = v
	}
	return slices.Clone(r.reqs), toks, slices.Clone(r.grants)
}

// ---------------------------------------------------------------------------
// The calls.

// confEnv is one fake server, one core client and the API clients, with the
// state the calls pass on to each other (ids created by earlier calls).
type confEnv struct {
	t        *testing.T
	srv      *workspacetest.Server
	rec      *recorder
	core     *workspace.Client
	keyless  *workspace.Client
	a        *audit.Client
	dt       *datatransfer.Client
	s        *settings.Client
	g        *gmail.Client
	readOnly bool

	domain, admin, alice, bob, group string
	dir                              string

	msgID, threadID string
	labelID         string
	export          *audit.Export
	transferID      string
	profile         string
	credential      string
	assignment      string
	domainName      string
}

func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// conformanceRetry retries like the defaults but never waits.
func conformanceRetry(o *retry.Options) {
	o.Default.Initial, o.Default.Max, o.Default.Jitter = time.Millisecond, time.Millisecond, 0
	o.Budget = retry.Unbudgeted()
	o.Sleep = noSleep
}

const confMail = "From: carol@example.org\r\nTo: %s\r\nDate: Mon, 2 Jan 2006 15:04:05 +0000\r\nSubject: conformance %d\r\nMessage-ID: <conf-%d@example.org>\r\n\r\nbody %d\r\n"

func (e *confEnv) mail(n int, to string) []byte {
	return fmt.Appendf(nil, confMail, to, n, n, n)
}

// mbox writes an mbox file of n messages to to, and returns its path.
func (e *confEnv) mbox(name string, first, n int, to string) string {
	var b bytes.Buffer
	for i := first; i < first+n; i++ {
		b.WriteString("From carol@example.org Mon Jan  2 15:04:05 2006\n")
		b.WriteString(strings.ReplaceAll(string(e.mail(i, to)), "\r\n", "\n"))
		b.WriteString("\n")
	}
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func ptr[T any](v T) *T { return &v }

func collect[T any](seq func(func(T, error) bool)) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}

var (
	auditKeyOnce sync.Once
	auditKey     *audit.KeyPair
	auditKeyErr  error
)

type confCall struct {
	method  string // "pkg.Type.Method", as TestConformanceCoverage names it
	variant string // what this entry exercises, when a method has several
	run     func(ctx context.Context, e *confEnv) error
}

func (c confCall) name() string {
	if c.variant == "" {
		return c.method
	}
	return c.method + " (" + c.variant + ")"
}

// conformanceCalls call every request-making method with valid arguments
// against the fake's seeded data, in order (later calls use what earlier
// ones created).
var conformanceCalls = []confCall{
	// Root package: the delegation checks ask the token endpoint only.
	{method: "workspace.Client.CheckDelegation", run: func(ctx context.Context, e *confEnv) error {
		r, err := e.core.CheckDelegation(ctx, "")
		if err == nil && !r.OK() {
			err = fmt.Errorf("scopes refused: %v", r.Missing())
		}
		return err
	}},
	{method: "workspace.Client.CheckScopes", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.core.CheckScopes(ctx, "", "https://www.googleapis.com/auth/gmail.readonly")
		return err
	}},
	{method: "workspace.Client.CheckScopes", variant: "keyless: IAM Credentials signJwt", run: func(ctx context.Context, e *confEnv) error {
		r, err := e.keyless.CheckScopes(ctx, e.admin, "https://www.googleapis.com/auth/admin.directory.domain.readonly")
		if err == nil && !r.OK() {
			err = fmt.Errorf("scopes refused: %v", r.Missing())
		}
		return err
	}},

	// audit
	{method: "audit.MonitorsService.Create", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.a.Monitors.Create(ctx, "alice", &audit.Monitor{Destination: "bob", End: time.Now().Add(48 * time.Hour)})
		return err
	}},
	{method: "audit.MonitorsService.List", run: func(ctx context.Context, e *confEnv) error {
		ms, err := e.a.Monitors.List(ctx, "alice")
		if err == nil && len(ms) != 1 {
			err = fmt.Errorf("%d monitors", len(ms))
		}
		return err
	}},
	{method: "audit.MonitorsService.Delete", run: func(ctx context.Context, e *confEnv) error {
		return e.a.Monitors.Delete(ctx, "alice", "bob")
	}},
	{method: "audit.PublicKeyService.Upload", run: func(ctx context.Context, e *confEnv) error {
		auditKeyOnce.Do(func() {
			auditKey, auditKeyErr = audit.GenerateKey(e.domain, &audit.KeyOptions{Bits: 2048})
		})
		if auditKeyErr != nil {
			return auditKeyErr
		}
		_, err := e.a.PublicKey.Upload(ctx, auditKey.Public)
		return err
	}},
	{method: "audit.ExportsService.Create", run: func(ctx context.Context, e *confEnv) error {
		x, err := e.a.Exports.Create(ctx, "alice", &audit.ExportRequest{})
		e.export = x
		return err
	}},
	{method: "audit.ExportsService.Get", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.a.Exports.Get(ctx, "alice", e.export.RequestID)
		return err
	}},
	{method: "audit.ExportsService.Wait", run: func(ctx context.Context, e *confEnv) error {
		x, err := e.a.Exports.Wait(ctx, "alice", e.export.RequestID, nil)
		if x != nil {
			e.export = x
		}
		return err
	}},
	{method: "audit.ExportsService.List", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.a.Exports.List(ctx, nil)
		return err
	}},
	{method: "audit.ExportsService.All", run: func(ctx context.Context, e *confEnv) error {
		return collect(e.a.Exports.All(ctx, &audit.ExportListOptions{}))
	}},
	{method: "audit.ExportsService.Download", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.a.Exports.Download(ctx, e.export, filepath.Join(e.dir, "export"), nil)
		return err
	}},
	{method: "audit.ExportsService.Delete", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.a.Exports.Delete(ctx, "alice", e.export.RequestID, nil)
		return err
	}},

	// datatransfer
	{method: "datatransfer.ArchiveService.Insert", run: func(ctx context.Context, e *confEnv) error {
		return e.dt.Archive.Insert(ctx, e.group, e.mail(1, e.group))
	}},
	{method: "datatransfer.Client.ArchiveSink", variant: "Sink.Insert", run: func(ctx context.Context, e *confEnv) error {
		return e.dt.ArchiveSink().Insert(ctx, e.group, e.mail(2, e.group))
	}},
	{method: "datatransfer.Client.Migrate", run: func(ctx context.Context, e *confEnv) error {
		src := e.mbox("group.mbox", 3, 2, e.group)
		r, err := e.dt.Migrate(ctx, []migrate.Job{{Source: src, Target: e.group}}, &migrate.Options{Workers: 1})
		if err == nil && !r.OK() {
			err = fmt.Errorf("report not OK: %d failed", len(r.Failed))
		}
		return err
	}},
	{method: "datatransfer.UsersService.ID", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.dt.Users.ID(ctx, e.alice)
		return err
	}},
	{method: "datatransfer.ApplicationsService.List", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.dt.Applications.List(ctx, &workspace.ListOptions{PageSize: 2})
		return err
	}},
	{method: "datatransfer.ApplicationsService.All", run: func(ctx context.Context, e *confEnv) error {
		return collect(e.dt.Applications.All(ctx, &workspace.ListOptions{PageSize: 1}))
	}},
	{method: "datatransfer.ApplicationsService.Get", run: func(ctx context.Context, e *confEnv) error {
		id, _ := strconv.ParseInt(workspacetest.AppDriveAndDocs, 10, 64)
		_, err := e.dt.Applications.Get(ctx, id)
		return err
	}},
	{method: "datatransfer.TransfersService.Insert", run: func(ctx context.Context, e *confEnv) error {
		tr, err := e.dt.Transfers.Insert(ctx, &datatransfer.TransferRequest{From: e.alice, To: e.bob,
			Drive: &datatransfer.DriveTransfer{}, Calendar: &datatransfer.CalendarTransfer{}})
		if tr != nil {
			e.transferID = tr.ID
		}
		return err
	}},
	{method: "datatransfer.TransfersService.Get", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.dt.Transfers.Get(ctx, e.transferID)
		return err
	}},
	{method: "datatransfer.TransfersService.Wait", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.dt.Transfers.Wait(ctx, e.transferID, nil) // the client's sleep is noSleep
		return err
	}},
	{method: "datatransfer.TransfersService.List", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.dt.Transfers.List(ctx, &datatransfer.TransferListOptions{OldOwner: e.alice, NewOwner: e.bob, Status: "completed"})
		return err
	}},
	{method: "datatransfer.TransfersService.All", run: func(ctx context.Context, e *confEnv) error {
		return collect(e.dt.Transfers.All(ctx, nil))
	}},

	// settings: legacy feeds
	{method: "settings.SSOService.Get", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.SSO.Get(ctx)
		return err
	}},
	{method: "settings.SSOService.Update", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.SSO.Update(ctx, &settings.SSOUpdate{Enabled: ptr(false), SignOnURI: ptr("https://idp.example.org/sso"),
			Whitelist: []string{"10.0.0.0/8"}})
		return err
	}},
	{method: "settings.SSOService.SigningKey", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.SSO.SigningKey(ctx)
		return err
	}},
	{method: "settings.SSOService.UpdateSigningKey", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.SSO.UpdateSigningKey(ctx, testCert(e.t))
		return err
	}},
	{method: "settings.GatewayService.Get", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.Gateway.Get(ctx)
		return err
	}},
	{method: "settings.GatewayService.Update", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.Gateway.Update(ctx, &settings.GatewayUpdate{SmartHost: ptr("smtp.example.org"), Mode: ptr(settings.SMTP)})
		return err
	}},
	{method: "settings.RoutingService.Create", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.Routing.Create(ctx, &settings.Route{Destination: "mx.example.org", Enabled: true, AccountHandling: settings.AllAccounts})
		return err
	}},
	// settings: Cloud Identity
	{method: "settings.ProfilesService.Create", run: func(ctx context.Context, e *confEnv) error {
		p, err := e.s.Profiles.Create(ctx, &settings.Profile{DisplayName: "IdP", IdP: settings.IdPConfig{
			EntityID: "https://idp.example.org/", SignOnURI: "https://idp.example.org/sso"}})
		if p != nil {
			e.profile = p.Name
		}
		return err
	}},
	{method: "settings.ProfilesService.Create", variant: "operation not done: multi-party approval", run: func(ctx context.Context, e *confEnv) error {
		// The operation is left pending: the library must report it,
		// not poll it (discovery has no method to read an operation).
		e.srv.SetMultiPartyApproval(true)
		defer e.srv.SetMultiPartyApproval(false)
		_, err := e.s.Profiles.Create(ctx, &settings.Profile{DisplayName: "Pending", IdP: settings.IdPConfig{
			EntityID: "https://idp2.example.org/", SignOnURI: "https://idp2.example.org/sso"}})
		if _, ok := errors.AsType[*settings.ApprovalPendingError](err); ok {
			return nil
		}
		return fmt.Errorf("want *settings.ApprovalPendingError, got %v", err)
	}},
	{method: "settings.ProfilesService.Get", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.Profiles.Get(ctx, e.profile)
		return err
	}},
	{method: "settings.ProfilesService.List", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.Profiles.List(ctx, &workspace.ListOptions{PageSize: 10})
		return err
	}},
	{method: "settings.ProfilesService.All", run: func(ctx context.Context, e *confEnv) error {
		return collect(e.s.Profiles.All(ctx, nil))
	}},
	{method: "settings.ProfilesService.Update", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.Profiles.Update(ctx, e.profile, &settings.ProfileUpdate{DisplayName: ptr("IdP 2")})
		return err
	}},
	{method: "settings.ProfilesService.AddCredential", run: func(ctx context.Context, e *confEnv) error {
		c, err := e.s.Profiles.AddCredential(ctx, e.profile, testCert(e.t))
		if c != nil {
			e.credential = c.Name
		}
		return err
	}},
	{method: "settings.ProfilesService.GetCredential", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.Profiles.GetCredential(ctx, e.credential)
		return err
	}},
	{method: "settings.ProfilesService.ListCredentials", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.Profiles.ListCredentials(ctx, e.profile, nil)
		return err
	}},
	{method: "settings.ProfilesService.AllCredentials", run: func(ctx context.Context, e *confEnv) error {
		return collect(e.s.Profiles.AllCredentials(ctx, e.profile, nil))
	}},
	{method: "settings.AssignmentsService.Create", run: func(ctx context.Context, e *confEnv) error {
		a, err := e.s.Assignments.Create(ctx, &settings.Assignment{TargetGroup: "groups/01abc", Rank: 1, Mode: settings.SAMLSSO, SAMLProfile: e.profile})
		if a != nil {
			e.assignment = a.Name
		}
		return err
	}},
	{method: "settings.AssignmentsService.Get", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.Assignments.Get(ctx, e.assignment)
		return err
	}},
	{method: "settings.AssignmentsService.List", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.Assignments.List(ctx, nil)
		return err
	}},
	{method: "settings.AssignmentsService.All", run: func(ctx context.Context, e *confEnv) error {
		return collect(e.s.Assignments.All(ctx, nil))
	}},
	{method: "settings.AssignmentsService.Update", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.Assignments.Update(ctx, e.assignment, &settings.AssignmentUpdate{Rank: ptr(int64(2))})
		return err
	}},
	{method: "settings.AssignmentsService.Delete", run: func(ctx context.Context, e *confEnv) error {
		return e.s.Assignments.Delete(ctx, e.assignment)
	}},
	{method: "settings.ProfilesService.DeleteCredential", run: func(ctx context.Context, e *confEnv) error {
		return e.s.Profiles.DeleteCredential(ctx, e.credential)
	}},
	{method: "settings.ProfilesService.Delete", run: func(ctx context.Context, e *confEnv) error {
		return e.s.Profiles.Delete(ctx, e.profile)
	}},
	// settings: Directory
	{method: "settings.CustomerService.Get", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.Customer.Get(ctx)
		return err
	}},
	{method: "settings.CustomerService.Update", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.Customer.Update(ctx, &settings.CustomerUpdate{Language: ptr("en-GB"), OrganizationName: ptr("Example Org"),
			CountryCode: ptr("IT"), AlternateEmail: ptr("admin@example.org"), PhoneNumber: ptr("+390612345678")})
		return err
	}},
	{method: "settings.DomainsService.Insert", run: func(ctx context.Context, e *confEnv) error {
		d, err := e.s.Domains.Insert(ctx, "conformance.example.net")
		if d != nil {
			e.domainName = d.Name
		}
		return err
	}},
	{method: "settings.DomainsService.Get", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.Domains.Get(ctx, e.domain)
		return err
	}},
	{method: "settings.DomainsService.List", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.Domains.List(ctx)
		return err
	}},
	{method: "settings.DomainsService.Delete", run: func(ctx context.Context, e *confEnv) error {
		return e.s.Domains.Delete(ctx, "conformance.example.net")
	}},
	{method: "settings.Client.Get", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.s.Get(ctx, nil)
		return err
	}},

	// gmail
	{method: "gmail.MessagesService.Insert", run: func(ctx context.Context, e *confEnv) error {
		m, err := e.g.Messages.Insert(ctx, e.alice, e.mail(10, e.alice), &gmail.InsertOptions{LabelIDs: []string{"INBOX"}, InternalDateSource: "dateHeader"})
		if m != nil {
			e.msgID = m.Id
		}
		return err
	}},
	{method: "gmail.MessagesService.Insert", variant: "resumable upload", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.Messages.Insert(ctx, e.alice, e.mail(11, e.alice), &gmail.InsertOptions{ResumableThreshold: 1})
		return err
	}},
	{method: "gmail.MessagesService.Import", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.Messages.Import(ctx, e.alice, e.mail(12, e.alice), &gmail.InsertOptions{NeverMarkSpam: true, ProcessForCalendar: true})
		return err
	}},
	{method: "gmail.MessagesService.Import", variant: "resumable upload", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.Messages.Import(ctx, e.alice, e.mail(13, e.alice), &gmail.InsertOptions{ResumableThreshold: 1})
		return err
	}},
	{method: "gmail.MessagesService.Send", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.Messages.Send(ctx, e.alice, e.mail(14, e.bob), nil)
		return err
	}},
	{method: "gmail.MessagesService.Send", variant: "resumable upload", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.Messages.Send(ctx, e.alice, e.mail(15, e.bob), &gmail.SendOptions{ResumableThreshold: 1})
		return err
	}},
	{method: "gmail.MessagesService.Get", run: func(ctx context.Context, e *confEnv) error {
		m, err := e.g.Messages.Get(ctx, e.alice, e.msgID, nil)
		if m != nil {
			e.threadID = m.ThreadId
		}
		return err
	}},
	{method: "gmail.MessagesService.Get", variant: "format metadata", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.Messages.Get(ctx, e.alice, e.msgID, &gmail.GetOptions{Format: "metadata", MetadataHeaders: []string{"Subject"}, Fields: "id,payload/headers"})
		return err
	}},
	{method: "gmail.MessagesService.GetMany", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.Messages.GetMany(ctx, e.alice, []string{e.msgID}, &gmail.GetOptions{Format: "minimal"})
		return err
	}},
	{method: "gmail.MessagesService.List", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.Messages.List(ctx, e.alice, &gmail.MessageListOptions{ListOptions: workspace.ListOptions{PageSize: 10}, Query: "from:carol@example.org", LabelIDs: []string{"INBOX"}, Fields: "messages(id)"})
		return err
	}},
	{method: "gmail.MessagesService.All", run: func(ctx context.Context, e *confEnv) error {
		return collect(e.g.Messages.All(ctx, e.alice, &gmail.MessageListOptions{ListOptions: workspace.ListOptions{PageSize: 2}, IncludeSpamTrash: true}))
	}},
	{method: "gmail.MessagesService.Modify", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.Messages.Modify(ctx, e.alice, e.msgID, []string{"STARRED"}, []string{"UNREAD"})
		return err
	}},
	{method: "gmail.MessagesService.ModifyMany", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.Messages.ModifyMany(ctx, e.alice, []gmail.Modification{{ID: e.msgID, RemoveLabelIDs: []string{"STARRED"}}}, nil)
		return err
	}},
	{method: "gmail.MessagesService.LabelMany", run: func(ctx context.Context, e *confEnv) error {
		return e.g.Messages.LabelMany(ctx, e.alice, []string{e.msgID}, []string{"IMPORTANT"}, nil)
	}},
	{method: "gmail.ThreadsService.Get", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.Threads.Get(ctx, e.alice, e.threadID, nil)
		return err
	}},
	{method: "gmail.ThreadsService.Get", variant: "format minimal", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.Threads.Get(ctx, e.alice, e.threadID, &gmail.GetOptions{Format: "minimal"})
		return err
	}},
	{method: "gmail.ThreadsService.List", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.Threads.List(ctx, e.alice, &gmail.ThreadListOptions{ListOptions: workspace.ListOptions{PageSize: 5}})
		return err
	}},
	{method: "gmail.ThreadsService.All", run: func(ctx context.Context, e *confEnv) error {
		return collect(e.g.Threads.All(ctx, e.alice, nil))
	}},
	{method: "gmail.LabelsService.Create", run: func(ctx context.Context, e *confEnv) error {
		l, err := e.g.Labels.Create(ctx, e.alice, &gmailapi.Label{Name: "Conformance"})
		if l != nil {
			e.labelID = l.Id
		}
		return err
	}},
	{method: "gmail.LabelsService.List", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.Labels.List(ctx, e.alice, &gmail.LabelListOptions{Fields: "labels(id,name)"})
		return err
	}},
	{method: "gmail.LabelsService.All", run: func(ctx context.Context, e *confEnv) error {
		return collect(e.g.Labels.All(ctx, e.alice, nil))
	}},
	{method: "gmail.LabelsService.Delete", run: func(ctx context.Context, e *confEnv) error {
		return e.g.Labels.Delete(ctx, e.alice, e.labelID)
	}},
	{method: "gmail.Client.Profile", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.Profile(ctx, e.alice)
		return err
	}},
	{method: "gmail.HistoryService.List", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.History.List(ctx, e.alice, 1, &gmail.HistoryListOptions{ListOptions: workspace.ListOptions{PageSize: 10}, Types: []string{"messageAdded"}})
		return err
	}},
	{method: "gmail.HistoryService.All", run: func(ctx context.Context, e *confEnv) error {
		return collect(e.g.History.All(ctx, e.alice, 1, nil))
	}},
	{method: "gmail.Client.Batch", run: func(ctx context.Context, e *confEnv) error {
		calls := []*gmail.BatchCall{{Method: "users.messages.get", Path: "users/" + url.PathEscape(e.alice) + "/messages/" + e.msgID,
			Query: url.Values{"format": {"minimal"}}, Result: new(gmailapi.Message)}}
		return e.g.Batch(ctx, e.alice, calls, nil)
	}},
	{method: "gmail.Client.FullSync", run: func(ctx context.Context, e *confEnv) error {
		_, err := e.g.FullSync(ctx, e.alice, gmail.NewMemoryStore(), nil)
		return err
	}},
	{method: "gmail.Client.Sync", run: func(ctx context.Context, e *confEnv) error {
		st := gmail.NewMemoryStore()
		if _, err := e.g.Sync(ctx, e.alice, st, nil); err != nil { // full: no history id yet
			return err
		}
		if _, err := e.g.Messages.Insert(ctx, e.alice, e.mail(16, e.alice), nil); err != nil {
			return err
		}
		_, err := e.g.Sync(ctx, e.alice, st, nil) // incremental
		return err
	}},
	{method: "gmail.Client.ImportMbox", run: func(ctx context.Context, e *confEnv) error {
		r, err := e.g.ImportMbox(ctx, e.alice, e.mbox("user.mbox", 20, 2, e.alice), nil)
		if err == nil && !r.OK() {
			err = fmt.Errorf("report not OK: %d failed", len(r.Failed))
		}
		return err
	}},
	{method: "gmail.Client.ImportSink", variant: "Sink.Insert, messages.insert", run: func(ctx context.Context, e *confEnv) error {
		return e.g.ImportSink(&gmail.ImportMboxOptions{Insert: true}).Insert(ctx, e.alice, e.mail(30, e.alice))
	}},
	{method: "gmail.MessagesService.Trash", run: func(ctx context.Context, e *confEnv) error {
		return e.g.Messages.Trash(ctx, e.alice, e.msgID)
	}},
	{method: "gmail.MessagesService.Delete", run: func(ctx context.Context, e *confEnv) error {
		return e.g.Messages.Delete(ctx, e.alice, e.msgID)
	}},
}

// noRequestMethods are the exported methods of the client types that send
// no request themselves, each with the reason.
var noRequestMethods = map[string]string{
	"workspace.Client.HTTPClient":    "builds an *http.Client; the requests sent through it are the API packages' (checked here)",
	"workspace.Client.Limiter":       "accessor",
	"workspace.Client.Project":       "accessor",
	"workspace.Client.Stats":         "local counters",
	"workspace.Client.Subject":       "accessor",
	"audit.Client.Domain":            "accessor",
	"settings.Client.Domain":         "accessor",
	"settings.Client.CheckMX":        "DNS lookups through a Resolver, no HTTP request",
	"settings.Client.WaitMX":         "DNS lookups through a Resolver, no HTTP request",
	"gmail.Client.BatchStats":        "local counters",
	"gmail.Client.Service":           "builds google.golang.org/api/gmail/v1's Service over the core's client; it sends nothing until the caller calls it",
	"gmail.Client.ServiceWithScopes": "as Service, with the caller's scopes",
}

// clientTypes reports whether a receiver type of package pkg is one of the
// client types the coverage test walks.
func clientType(pkg, typ string) bool {
	if pkg == "workspace" {
		return typ == "Client"
	}
	return typ == "Client" || strings.HasSuffix(typ, "Service")
}

// ---------------------------------------------------------------------------
// Tests.

// TestConformanceCoverage fails when an exported method of a client type
// is neither called by conformanceCalls nor listed in noRequestMethods.
func TestConformanceCoverage(t *testing.T) {
	dirs := map[string]string{"workspace": "..", "audit": "../audit", "datatransfer": "../datatransfer", "settings": "../settings", "gmail": "../gmail"}
	var found []string
	for pkg, dir := range dirs {
		fset := token.NewFileSet()
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var files []*ast.File
		for _, de := range entries {
			n := de.Name()
			if de.IsDir() || !strings.HasSuffix(n, ".go") || strings.HasSuffix(n, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, n), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			if f.Name.Name == pkg {
				files = append(files, f)
			}
		}
		if len(files) == 0 {
			t.Fatalf("package %s not found in %s", pkg, dir)
		}
		for _, f := range files {
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if !ok || fd.Recv == nil || !fd.Name.IsExported() {
					continue
				}
				rt := fd.Recv.List[0].Type
				if st, ok := rt.(*ast.StarExpr); ok {
					rt = st.X
				}
				id, ok := rt.(*ast.Ident)
				if !ok || !id.IsExported() || !clientType(pkg, id.Name) {
					continue
				}
				found = append(found, pkg+"."+id.Name+"."+fd.Name.Name)
			}
		}
	}
	sort.Strings(found)
	called := make(map[string]bool)
	for _, c := range conformanceCalls {
		called[c.method] = true
	}
	var covered, exempt int
	for _, m := range found {
		_, ex := noRequestMethods[m]
		switch {
		case called[m] && ex:
			t.Errorf("%s is both called and listed as making no request", m)
		case called[m]:
			covered++
		case ex:
			exempt++
		default:
			t.Errorf("%s is an exported method of a client type, but conformanceCalls does not call it and noRequestMethods does not list it: add a call (or, if it sends nothing, a reason)", m)
		}
	}
	for m := range called {
		if !slices.Contains(found, m) {
			t.Errorf("conformanceCalls names %s, which is not an exported method of a client type", m)
		}
	}
	for m := range noRequestMethods {
		if !slices.Contains(found, m) {
			t.Errorf("noRequestMethods names %s, which is not an exported method of a client type", m)
		}
	}
	t.Logf("%d client methods: %d called, %d exempt", len(found), covered, exempt)
}

// testCert is a self-signed RSA certificate (PEM) for the signing key and
// IdP credential calls.
func testCert(t *testing.T) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "conformance", "idp-cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func newConfEnv(t *testing.T, readOnly bool) *confEnv {
	t.Helper()
	// Tokens outlive the test: WithSpeed would otherwise shorten them
	// below oauth2's expiry margin and every request would fetch one.
	srv := workspacetest.NewServer(workspacetest.WithSpeed(1000), workspacetest.WithProcessingDelay(0),
		workspacetest.WithTransferTiming(0, 0), workspacetest.WithTokenLifetime(24*time.Hour*1000))
	t.Cleanup(srv.Close)
	srv.SetExportTiming(0, 0)
	rec := newRecorder()
	hc := &http.Client{Transport: rec}
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()),
		workspace.WithHTTPClient(hc), workspace.WithRetry(conformanceRetry), workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	// Keyless delegation: the caller's own token (cloud-platform, as
	// CallerToken documents) asks IAM Credentials to sign the JWTs.
	const caller = "ops@example.org"
	srv.GrantTokenCreator(caller, srv.ServiceAccountEmail())
	callerTok := srv.CallerToken(caller)
	rec.tokens[callerTok] = &tokenGrant{Call: "(caller token)", Scopes: []string{"https://www.googleapis.com/auth/cloud-platform"}, Grant: "workspacetest.Server.CallerToken"}
	keyless, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL),
		workspace.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: callerTok})),
		workspace.WithServiceAccount(srv.ServiceAccountEmail()),
		workspace.WithHTTPClient(hc), workspace.WithRetry(conformanceRetry), workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	e := &confEnv{t: t, srv: srv, rec: rec, core: core, keyless: keyless, readOnly: readOnly,
		domain: srv.Domain(), admin: srv.AdminEmail(), dir: t.TempDir()}
	e.alice, e.bob, e.group = "alice@"+e.domain, "bob@"+e.domain, "archive@"+e.domain
	srv.AddUser(e.alice)
	srv.AddUser(e.bob)
	srv.AddGroup(e.group)
	srv.AddMail(e.alice, e.mail(100, e.alice))
	e.a = audit.New(core, e.domain)
	e.dt = datatransfer.New(core)
	e.dt.ReadOnlyScopes = readOnly
	e.s = settings.New(core, e.domain)
	e.s.ReadOnlyScopes = readOnly
	e.g = gmail.New(core)
	e.g.ReadOnlyScopes = readOnly
	return e
}

// TestConformance records every request of conformanceCalls, with the
// API packages' default scopes and with ReadOnlyScopes, and checks them
// against discovery and the documented legacy endpoints.
func TestConformance(t *testing.T) {
	eps, docs := loadDiscovery(t)
	all := append(slices.Clone(eps), legacyEndpoints...)

	// Hosts: each API's default base URL is its discovery rootUrl.
	plain, err := workspace.NewClient(t.Context(), workspace.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range discoveryFiles {
		if f.api == "" {
			continue
		}
		if got, want := core.Of(plain).BaseURL(f.api), docs[f.file].RootURL; got != want {
			t.Errorf("BaseURL(%q) = %q; discovery %s rootUrl is %q", f.api, got, f.file, want)
		}
	}

	var wire []*wireRow
	for _, mode := range []struct {
		name     string
		readOnly bool
	}{{"default scopes", false}, {"ReadOnlyScopes", true}} {
		t.Run(strings.ReplaceAll(mode.name, " ", "_"), func(t *testing.T) {
			e := newConfEnv(t, mode.readOnly)
			for _, c := range conformanceCalls {
				e.rec.setCall(c.name())
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				err := c.run(ctx, e)
				cancel()
				if err != nil {
					t.Errorf("%s: %v", c.name(), err)
				}
			}
			e.rec.setCall("")
			reqs, tokens, grants := e.rec.snapshot()
			rows := checkRequests(t, all, reqs, tokens, grants)
			for _, c := range conformanceCalls {
				if !slices.ContainsFunc(reqs, func(r *recorded) bool { return r.Call == c.name() }) {
					t.Errorf("%s sent no request: add it to noRequestMethods if that is right", c.name())
				}
			}
			for _, r := range rows {
				r.Mode = mode.name
			}
			wire = append(wire, rows...)
		})
	}
	if *wireMD != "" {
		if err := os.WriteFile(*wireMD, renderWire(wire), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// wireRow is what one library method did at one endpoint, with one token.
type wireRow struct {
	Mode     string
	Call     string
	EP       *endpoint
	Asked    string // the token's scopes, space-separated
	Requests int
}

// match finds the endpoints req may be, and says why none fits when none
// does.
func match(all []*endpoint, method, path string) (hits []*endpoint, samePath []*endpoint) {
	seen := make(map[string]bool)
	for _, ep := range all {
		if !ep.matchPath(path) {
			continue
		}
		if ep.HTTPMethod != method {
			samePath = append(samePath, ep)
			continue
		}
		key := ep.ID + "\x00" + ep.Kind
		if !seen[key] {
			seen[key] = true
			hits = append(hits, ep)
		}
	}
	return hits, samePath
}

// nearest lists the three templates closest to method and path: most
// leading segments in common ({x} matches any segment), then same segment
// count, then same HTTP method.
func nearest(all []*endpoint, method, path string) []string {
	type cand struct {
		score int
		s     string
	}
	segs := strings.Split(path, "/")
	var cs []cand
	for _, ep := range all {
		for _, tm := range ep.Templates {
			ts := strings.Split(tm, "/")
			n := 0
			for n < len(ts) && n < len(segs) && (ts[n] == segs[n] || (strings.HasPrefix(ts[n], "{") && segs[n] != "")) {
				n++
			}
			score := 4 * n
			if len(ts) == len(segs) {
				score += 2
			}
			if ep.HTTPMethod == method {
				score++
			}
			cs = append(cs, cand{score, ep.HTTPMethod + " " + tm + " (" + ep.ID + ")"})
		}
	}
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].score > cs[j].score })
	var out []string
	for _, c := range cs {
		if len(out) == 3 {
			break
		}
		if !slices.Contains(out, c.s) {
			out = append(out, c.s)
		}
	}
	return out
}

// use is a library method and the scope set of a token it sent.
type use struct {
	call, scopes string
}

func checkRequests(t *testing.T, all []*endpoint, reqs []*recorded, tokens map[string]*tokenGrant, grants []*tokenGrant) []*wireRow {
	t.Helper()
	// Every scope a token was asked for exists: some discovery method or
	// documented feed lists it.
	known := make(map[string]bool)
	for _, ep := range all {
		for _, s := range ep.Scopes {
			known[s] = true
		}
	}
	for _, g := range grants {
		if len(g.Scopes) == 0 && g.Grant == "urn:ietf:params:oauth:grant-type:jwt-bearer" {
			t.Errorf("%s: token request with no scope claim", g.Call)
		}
		for _, s := range g.Scopes {
			if !known[s] {
				t.Errorf("%s: asked the token endpoint for scope %q, which no discovery method and no documented legacy feed accepts", g.Call, s)
			}
		}
	}

	rows := make(map[string]*wireRow)
	usedBy := make(map[use][]*endpoint) // endpoints a call reached with a token
	var order []string
	addRow := func(call string, ep *endpoint, asked string) {
		k := call + "\x00" + ep.ID + "\x00" + ep.Kind + "\x00" + ep.HTTPMethod + "\x00" + asked
		r, ok := rows[k]
		if !ok {
			r = &wireRow{Call: call, EP: ep, Asked: asked}
			rows[k] = r
			order = append(order, k)
		}
		r.Requests++
	}

	bodies := 0
	var checkOne func(rq *recorded, method string, u *url.URL, hdr http.Header, body []byte, part string)
	checkOne = func(rq *recorded, method string, u *url.URL, hdr http.Header, body []byte, part string) {
		sent := method + " " + u.RequestURI() + part
		if part == "" && rq.Status != 0 {
			sent += fmt.Sprintf(" (answered %d)", rq.Status)
		}
		hits, samePath := match(all, method, u.EscapedPath())
		if len(hits) == 0 {
			if len(samePath) > 0 {
				var ws []string
				for _, ep := range samePath {
					ws = append(ws, ep.String())
				}
				t.Errorf("%s: sent %s; discovery has this path only for other HTTP methods: %s", rq.Call, sent, strings.Join(ws, "; "))
			} else {
				t.Errorf("%s: sent %s, which matches no discovery method and no documented legacy endpoint; nearest: %s", rq.Call, sent, strings.Join(nearest(all, method, u.EscapedPath()), "; "))
			}
			return
		}
		// A path that matches several methods is sorted out by
		// uploadType (simple vs resumable start on one path).
		if len(hits) > 1 {
			ut := u.Query().Get("uploadType")
			var byType []*endpoint
			for _, ep := range hits {
				if slices.Contains(ep.UploadTypes, ut) || (ep.UploadTypes == nil && ut == "") {
					byType = append(byType, ep)
				}
			}
			if len(byType) > 0 {
				hits = byType
			}
		}
		if len(hits) > 1 {
			var ws []string
			for _, ep := range hits {
				ws = append(ws, ep.String())
			}
			t.Errorf("%s: sent %s, which matches %d methods: %s", rq.Call, sent, len(hits), strings.Join(ws, "; "))
			return
		}
		ep := hits[0]
		// The my_customer alias only in an API whose discovery
		// document offers it (Directory and Cloud Identity do; Data
		// Transfer's never mentions it: it takes the real id).
		aliasOK := func(kind, n, v string, p discoParam) {
			if strings.Contains(v, "my_customer") && !ep.MyCustomer && !strings.Contains(p.Description, "my_customer") {
				t.Errorf("%s: sent %s with %s parameter %s=%q; discovery %s describes %s as %q, and its document offers no my_customer alias",
					rq.Call, sent, kind, n, v, ep.ID, n, p.Description)
			}
		}
		pv := ep.pathValues(u.EscapedPath())
		for _, n := range slices.Sorted(maps.Keys(pv)) {
			p, ok := ep.Params[n]
			if !ok {
				continue
			}
			aliasOK("path", n, pv[n], p)
			if p.Pattern != "" && !regexp.MustCompile(p.Pattern).MatchString(pv[n]) {
				t.Errorf("%s: sent %s with path parameter %s=%q; discovery %s wants the pattern %s", rq.Call, sent, n, pv[n], ep.ID, p.Pattern)
			}
		}
		if ep.Kind == "infra" {
			return
		}
		q := u.Query()
		if ep.UploadTypes != nil && !slices.Contains(ep.UploadTypes, q.Get("uploadType")) {
			t.Errorf("%s: sent %s with uploadType=%q; %s takes uploadType %v (%s)", rq.Call, sent, q.Get("uploadType"), ep.Templates[0], ep.UploadTypes, ep.Source)
		}
		if q.Get("uploadType") == "media" && len(ep.Accept) > 0 {
			ct, _, _ := mime.ParseMediaType(hdr.Get("Content-Type"))
			if !slices.ContainsFunc(ep.Accept, func(a string) bool { return mediaMatch(a, ct) }) {
				t.Errorf("%s: sent %s with Content-Type %q; %s accepts %v (%s mediaUpload.accept)", rq.Call, sent, hdr.Get("Content-Type"), ep.ID, ep.Accept, ep.Source)
			}
		}
		if ep.Query != nil {
			var names []string
			for n := range ep.Query {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				if p := ep.Query[n]; p.Required && q.Get(n) == "" {
					t.Errorf("%s: sent %s without the required query parameter %q of %s (%s)", rq.Call, sent, n, ep.ID, ep.Source)
				}
			}
			for n, vs := range q {
				p, ok := ep.Query[n]
				if !ok {
					t.Errorf("%s: sent %s with query parameter %q, which %s does not define (%s defines %v)", rq.Call, sent, n, ep.ID, ep.Source, names)
					continue
				}
				if len(vs) > 1 && !p.Repeated {
					t.Errorf("%s: sent %s with %d values of %q, which %s does not repeat", rq.Call, sent, len(vs), n, ep.ID)
				}
				for _, v := range vs {
					aliasOK("query", n, v, p)
					if len(p.Enum) > 0 && !slices.Contains(p.Enum, v) {
						t.Errorf("%s: sent %s with %s=%q; discovery %s allows %v", rq.Call, sent, n, v, ep.ID, p.Enum)
					}
					if ex := customerFilterExamples(p.Description); n == "filter" && ex != nil &&
						!slices.ContainsFunc(ex, func(re *regexp.Regexp) bool { return re.MatchString(v) }) {
						t.Errorf("%s: sent %s with filter=%s; discovery %s documents the filter as %v", rq.Call, sent, v, ep.ID, ex)
					}
				}
			}
		}
		if ep.Kind == "batch" {
			checkBatch(t, rq, checkOne)
			return
		}
		if ct, _, _ := mime.ParseMediaType(hdr.Get("Content-Type")); ep.Request != "" && ct == "application/json" && len(body) > 0 {
			var v any
			bodies++
			if err := json.Unmarshal(body, &v); err != nil {
				t.Errorf("%s: sent %s with a JSON body that does not parse: %v", rq.Call, sent, err)
			} else {
				for _, p := range checkSchema(ep.schemas, &discoSchema{Ref: ep.Request}, v, ep.Request) {
					t.Errorf("%s: sent %s with %s (%s request schema %s)", rq.Call, sent, p, ep.ID, ep.Request)
				}
			}
		}
		// Authorization.
		authz := hdr.Get("Authorization")
		tok, ok := strings.CutPrefix(authz, "Bearer ")
		if !ok {
			t.Errorf("%s: sent %s without a bearer token; %s needs one of %v", rq.Call, sent, ep.ID, ep.Scopes)
			return
		}
		g, ok := tokens[tok]
		if !ok {
			t.Errorf("%s: sent %s with a token the recorder never saw issued", rq.Call, sent)
			return
		}
		if !slices.ContainsFunc(g.Scopes, func(s string) bool { return slices.Contains(ep.Scopes, s) }) {
			t.Errorf("%s: sent %s with a token for scopes %v; %s (%s) accepts only %v", rq.Call, sent, g.Scopes, ep.ID, ep.Source, ep.Scopes)
		}
		asked := strings.Join(g.Scopes, " ")
		addRow(rq.Call, ep, asked)
		k := use{rq.Call, asked}
		if !slices.Contains(usedBy[k], ep) {
			usedBy[k] = append(usedBy[k], ep)
		}
	}
	for _, rq := range reqs {
		checkOne(rq, rq.Method, rq.URL, rq.Header, rq.Body, "")
	}
	t.Logf("%d requests recorded; %d JSON bodies (batch parts included) checked against their request schema", len(reqs), bodies)

	// Fewest scopes: each scope of a token a call used authorizes at
	// least one method the call reached with it.
	var keys []use
	for k := range usedBy {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].call != keys[j].call {
			return keys[i].call < keys[j].call
		}
		return keys[i].scopes < keys[j].scopes
	})
	for _, k := range keys {
		var ids []string
		for _, ep := range usedBy[k] {
			ids = append(ids, ep.ID)
		}
		for _, s := range strings.Fields(k.scopes) {
			if !slices.ContainsFunc(usedBy[k], func(ep *endpoint) bool { return slices.Contains(ep.Scopes, s) }) {
				t.Errorf("%s: asked for scope %q, which authorizes none of the methods it called with that token (%s); they accept: %s",
					k.call, s, strings.Join(ids, ", "), scopesOf(usedBy[k]))
			}
		}
	}
	out := make([]*wireRow, 0, len(order))
	for _, k := range order {
		out = append(out, rows[k])
	}
	return out
}

var filterExampleRE = regexp.MustCompile("`(customer==[^`]+)`")

// customerFilterExamples turns the customer filters a parameter
// description gives as examples (`customer=="customers/C0123abc"`) into
// patterns that take any customer id, quoting kept as documented; nil when
// the description gives none.
func customerFilterExamples(desc string) []*regexp.Regexp {
	var out []*regexp.Regexp
	for _, m := range filterExampleRE.FindAllStringSubmatch(desc, -1) {
		pat := regexp.QuoteMeta(m[1])
		for _, id := range []string{"C0123abc", "my_customer"} {
			pat = strings.ReplaceAll(pat, "customers/"+id, "customers/[A-Za-z0-9_]+")
		}
		re := regexp.MustCompile("^" + pat + "$")
		if !slices.ContainsFunc(out, func(x *regexp.Regexp) bool { return x.String() == re.String() }) {
			out = append(out, re)
		}
	}
	return out
}

// checkSchema lists the fields of v that schema s (of schemas) does not
// define, and values of the wrong JSON type, by path.
func checkSchema(schemas map[string]*discoSchema, s *discoSchema, v any, path string) []string {
	for s != nil && s.Ref != "" {
		s = schemas[s.Ref]
	}
	if s == nil || v == nil {
		return nil
	}
	var out []string
	switch s.Type {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s = %v, not an object", path, v)}
		}
		names := slices.Sorted(func(yield func(string) bool) {
			for k := range obj {
				if !yield(k) {
					return
				}
			}
		})
		for _, k := range names {
			p, ok := s.Properties[k]
			if !ok && s.AdditionalProperties == nil {
				var known []string
				for n := range s.Properties {
					known = append(known, n)
				}
				sort.Strings(known)
				out = append(out, fmt.Sprintf("field %s.%s, which the schema does not define (it has %v)", path, k, known))
				continue
			}
			if !ok {
				p = s.AdditionalProperties
			}
			out = append(out, checkSchema(schemas, p, obj[k], path+"."+k)...)
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s = %v, not an array", path, v)}
		}
		for i, x := range arr {
			out = append(out, checkSchema(schemas, s.Items, x, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case "string":
		if _, ok := v.(string); !ok {
			out = append(out, fmt.Sprintf("%s = %v, not a string", path, v))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			out = append(out, fmt.Sprintf("%s = %v, not a boolean", path, v))
		}
	case "integer", "number":
		if _, ok := v.(float64); !ok {
			out = append(out, fmt.Sprintf("%s = %v, not a number", path, v))
		}
	}
	return out
}

// mediaMatch reports whether media type ct fits pattern ("message/*",
// "message/rfc822", "*/*").
func mediaMatch(pattern, ct string) bool {
	if pattern == "*/*" || pattern == ct {
		return true
	}
	pre, ok := strings.CutSuffix(pattern, "*")
	return ok && strings.HasPrefix(ct, pre)
}

func scopesOf(eps []*endpoint) string {
	var parts []string
	for _, ep := range eps {
		parts = append(parts, ep.ID+" "+fmt.Sprint(ep.Scopes))
	}
	return strings.Join(parts, "; ")
}

// checkBatch checks each part of a multipart/mixed batch as a request of
// its own, with the outer request's headers (the batch guide: outer
// headers apply to every part unless the part sets them).
func checkBatch(t *testing.T, rq *recorded, checkOne func(*recorded, string, *url.URL, http.Header, []byte, string)) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(rq.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Errorf("%s: batch %s %s with Content-Type %q; the batch guide (%s) wants multipart/mixed", rq.Call, rq.Method, rq.URL.RequestURI(), rq.Header.Get("Content-Type"), docGmailBatch)
		return
	}
	mr := multipart.NewReader(bytes.NewReader(rq.Body), params["boundary"])
	for i := 0; ; i++ {
		p, err := mr.NextPart()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Errorf("%s: batch body: %v", rq.Call, err)
			return
		}
		if ct := p.Header.Get("Content-Type"); ct != "application/http" {
			t.Errorf("%s: batch part %d has Content-Type %q; the batch guide wants application/http", rq.Call, i, ct)
		}
		inner, err := http.ReadRequest(bufio.NewReader(p))
		if err != nil {
			t.Errorf("%s: batch part %d: %v", rq.Call, i, err)
			continue
		}
		hdr := rq.Header.Clone()
		for k, v := range inner.Header {
			hdr[k] = v
		}
		body, err := io.ReadAll(inner.Body)
		if err != nil {
			t.Errorf("%s: batch part %d body: %v", rq.Call, i, err)
		}
		checkOne(rq, inner.Method, inner.URL, hdr, body, fmt.Sprintf(" (part %d of batch %s)", i, rq.URL.Path))
	}
}

// renderWire writes the recorded endpoint tables for docs/wire.md.
func renderWire(rows []*wireRow) []byte {
	type agg struct {
		ep      *endpoint
		calls   []string
		asked   []string
		roAsked []string
		source  string
	}
	groups := make(map[string]map[string]*agg)
	var apis []string
	for _, r := range rows {
		api := apiOf(r.EP)
		if groups[api] == nil {
			groups[api] = make(map[string]*agg)
			apis = append(apis, api)
		}
		k := r.EP.HTTPMethod + " " + r.EP.ID + " " + r.EP.Kind
		a := groups[api][k]
		if a == nil {
			a = &agg{ep: r.EP, source: r.EP.Source}
			groups[api][k] = a
		}
		call, _, _ := strings.Cut(r.Call, " (")
		if !slices.Contains(a.calls, call) {
			a.calls = append(a.calls, call)
		}
		asked := shortScopes(strings.Fields(r.Asked))
		if r.Mode == "ReadOnlyScopes" {
			if !slices.Contains(a.roAsked, asked) {
				a.roAsked = append(a.roAsked, asked)
			}
		} else if !slices.Contains(a.asked, asked) {
			a.asked = append(a.asked, asked)
		}
	}
	sort.Strings(apis)
	var b bytes.Buffer
	b.WriteString("<!-- generated by: go test ./workspacetest -run 'TestConformance$' -wiremd FILE -->\n")
	for _, api := range apis {
		fmt.Fprintf(&b, "\n#### %s\n\n| HTTP | path | method id | library methods | scopes asked | scopes discovery/doc accepts | source |\n|---|---|---|---|---|---|---|\n", api)
		var ks []string
		for k := range groups[api] {
			ks = append(ks, k)
		}
		sort.Slice(ks, func(i, j int) bool {
			ti, tj := slices.Max(groups[api][ks[i]].ep.Templates), slices.Max(groups[api][ks[j]].ep.Templates)
			if ti != tj {
				return ti < tj
			}
			return ks[i] < ks[j]
		})
		for _, k := range ks {
			a := groups[api][k]
			sort.Strings(a.calls)
			path := "`" + strings.Join(a.ep.Templates, "` or `") + "`"
			if a.ep.UploadTypes != nil {
				path += " uploadType=" + strings.Join(a.ep.UploadTypes, "/")
			}
			asked := strings.Join(a.asked, "; ")
			if ro := strings.Join(a.roAsked, "; "); ro != asked {
				asked += "; with ReadOnlyScopes: " + ro
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", a.ep.HTTPMethod, path, a.ep.ID,
				strings.Join(a.calls, ", "), asked, shortScopes(a.ep.Scopes), a.source)
		}
	}
	return b.Bytes()
}

func apiOf(ep *endpoint) string {
	switch {
	case strings.HasPrefix(ep.ID, "emailaudit."):
		return "Email Audit"
	case strings.HasPrefix(ep.ID, "adminsettings."):
		return "Admin Settings"
	case strings.HasPrefix(ep.ID, "gmail"):
		return "Gmail"
	case strings.HasPrefix(ep.ID, "groupsmigration."):
		return "Groups Migration"
	case strings.HasPrefix(ep.ID, "datatransfer."):
		return "Data Transfer"
	case strings.HasPrefix(ep.ID, "directory."):
		return "Directory"
	case strings.HasPrefix(ep.ID, "cloudidentity."):
		return "Cloud Identity"
	case strings.HasPrefix(ep.ID, "iamcredentials."):
		return "IAM Credentials"
	}
	return ep.ID
}

func shortScopes(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		s = strings.TrimPrefix(s, "https://www.googleapis.com/auth/")
		out[i] = s
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestConformanceMatcher checks the matcher on hand-made requests: a
// changed path segment or a wrong scope is reported.
func TestConformanceMatcher(t *testing.T) {
	eps, _ := loadDiscovery(t)
	all := append(slices.Clone(eps), legacyEndpoints...)
	for _, tc := range []struct {
		method, path string
		want         []string
	}{
		{"GET", "/admin/datatransfer/v1/transfers/abc", []string{"datatransfer.transfers.get rest"}},
		{"GET", "/admin/datatransfer/v1/transfer/abc", nil},
		{"POST", "/upload/groups/v1/groups/g%40example.com/archive", []string{"groupsmigration.archive.insert upload"}},
		{"GET", "/v1/inboundSamlSsoProfiles/p1/idpCredentials/c1", []string{"cloudidentity.inboundSamlSsoProfiles.idpCredentials.get rest"}},
		{"GET", "/v1/inboundSamlSsoProfiles/p1", []string{"cloudidentity.inboundSamlSsoProfiles.get rest"}},
		{"GET", "/v1/operations/op1", nil},
		{"PUT", "/a/feeds/domain/2.0/example.com/email/gateway", []string{"adminsettings.email.gateway.update legacy"}},
		{"POST", "/v1/projects/-/serviceAccounts/sa%40p.iam.gserviceaccount.com:signJwt", []string{"iamcredentials.projects.serviceAccounts.signJwt rest"}},
	} {
		hits, _ := match(all, tc.method, tc.path)
		var got []string
		for _, h := range hits {
			got = append(got, h.ID+" "+h.Kind)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s %s (-want +got):\n%s", tc.method, tc.path, diff)
		}
	}
}

// TestConformanceEmptyArguments calls the methods that take an id or a
// user with that argument empty. The design refuses bad input before any
// request is sent; whatever a call does send must still be a request
// discovery (or a documented feed) allows, never a path with an empty
// segment.
func TestConformanceEmptyArguments(t *testing.T) {
	eps, _ := loadDiscovery(t)
	all := append(slices.Clone(eps), legacyEndpoints...)
	e := newConfEnv(t, false)
	probes := []confCall{
		{method: "audit.MonitorsService.List", variant: "source \"\"", run: func(ctx context.Context, e *confEnv) error { _, err := e.a.Monitors.List(ctx, ""); return err }},
		{method: "audit.MonitorsService.Delete", variant: "destination \"\"", run: func(ctx context.Context, e *confEnv) error { return e.a.Monitors.Delete(ctx, "alice", "") }},
		{method: "audit.ExportsService.Get", variant: "requestID \"\"", run: func(ctx context.Context, e *confEnv) error { _, err := e.a.Exports.Get(ctx, "alice", ""); return err }},
		{method: "datatransfer.ArchiveService.Insert", variant: "group \"\"", run: func(ctx context.Context, e *confEnv) error {
			return e.dt.Archive.Insert(ctx, "", e.mail(1, "x@example.com"))
		}},
		{method: "datatransfer.TransfersService.Get", variant: "id \"\"", run: func(ctx context.Context, e *confEnv) error { _, err := e.dt.Transfers.Get(ctx, ""); return err }},
		{method: "datatransfer.UsersService.ID", variant: "user \"\"", run: func(ctx context.Context, e *confEnv) error { _, err := e.dt.Users.ID(ctx, ""); return err }},
		{method: "settings.ProfilesService.Get", variant: "name \"\"", run: func(ctx context.Context, e *confEnv) error { _, err := e.s.Profiles.Get(ctx, ""); return err }},
		{method: "settings.ProfilesService.GetCredential", variant: "name \"\"", run: func(ctx context.Context, e *confEnv) error { _, err := e.s.Profiles.GetCredential(ctx, ""); return err }},
		{method: "settings.AssignmentsService.Get", variant: "name \"\"", run: func(ctx context.Context, e *confEnv) error { _, err := e.s.Assignments.Get(ctx, ""); return err }},
		{method: "settings.DomainsService.Get", variant: "name \"\"", run: func(ctx context.Context, e *confEnv) error { _, err := e.s.Domains.Get(ctx, ""); return err }},
		{method: "gmail.MessagesService.Get", variant: "id \"\"", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.g.Messages.Get(ctx, e.alice, "", nil)
			return err
		}},
		{method: "gmail.MessagesService.Get", variant: "user \"\"", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.g.Messages.Get(ctx, "", "18c2f", nil)
			return err
		}},
		{method: "gmail.MessagesService.Modify", variant: "id \"\"", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.g.Messages.Modify(ctx, e.alice, "", []string{"STARRED"}, nil)
			return err
		}},
		{method: "gmail.MessagesService.Trash", variant: "id \"\"", run: func(ctx context.Context, e *confEnv) error { return e.g.Messages.Trash(ctx, e.alice, "") }},
		{method: "gmail.MessagesService.Delete", variant: "id \"\"", run: func(ctx context.Context, e *confEnv) error { return e.g.Messages.Delete(ctx, e.alice, "") }},
		{method: "gmail.ThreadsService.Get", variant: "id \"\"", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.g.Threads.Get(ctx, e.alice, "", nil)
			return err
		}},
		{method: "audit.MonitorsService.Create", variant: "source \"\"", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.a.Monitors.Create(ctx, "", &audit.Monitor{Destination: "bob", End: time.Now().Add(time.Hour)})
			return err
		}},
		{method: "audit.ExportsService.Create", variant: "user \"\"", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.a.Exports.Create(ctx, "", &audit.ExportRequest{})
			return err
		}},
		{method: "audit.ExportsService.Delete", variant: "requestID \"\"", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.a.Exports.Delete(ctx, "alice", "", &audit.DeleteOptions{NoWait: true})
			return err
		}},
		{method: "audit.ExportsService.Wait", variant: "requestID \"\"", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.a.Exports.Wait(ctx, "alice", "", nil)
			return err
		}},
		{method: "datatransfer.TransfersService.Wait", variant: "id \"\"", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.dt.Transfers.Wait(ctx, "", nil)
			return err
		}},
		{method: "datatransfer.ApplicationsService.Get", variant: "id 0", run: func(ctx context.Context, e *confEnv) error { _, err := e.dt.Applications.Get(ctx, 0); return err }},
		{method: "settings.ProfilesService.Update", variant: "name \"\"", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.s.Profiles.Update(ctx, "", &settings.ProfileUpdate{DisplayName: ptr("x")})
			return err
		}},
		{method: "settings.ProfilesService.Delete", variant: "name \"\"", run: func(ctx context.Context, e *confEnv) error { return e.s.Profiles.Delete(ctx, "") }},
		{method: "settings.ProfilesService.AddCredential", variant: "profile \"\"", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.s.Profiles.AddCredential(ctx, "", testCert(e.t))
			return err
		}},
		{method: "settings.ProfilesService.ListCredentials", variant: "profile \"\"", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.s.Profiles.ListCredentials(ctx, "", nil)
			return err
		}},
		{method: "settings.ProfilesService.DeleteCredential", variant: "name \"\"", run: func(ctx context.Context, e *confEnv) error { return e.s.Profiles.DeleteCredential(ctx, "") }},
		{method: "settings.AssignmentsService.Update", variant: "name \"\"", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.s.Assignments.Update(ctx, "", &settings.AssignmentUpdate{Rank: ptr(int64(1))})
			return err
		}},
		{method: "settings.AssignmentsService.Delete", variant: "name \"\"", run: func(ctx context.Context, e *confEnv) error { return e.s.Assignments.Delete(ctx, "") }},
		{method: "settings.DomainsService.Insert", variant: "name \"\"", run: func(ctx context.Context, e *confEnv) error { _, err := e.s.Domains.Insert(ctx, ""); return err }},
		{method: "settings.DomainsService.Delete", variant: "name \"\"", run: func(ctx context.Context, e *confEnv) error { return e.s.Domains.Delete(ctx, "") }},
		{method: "gmail.MessagesService.Insert", variant: "user \"\"", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.g.Messages.Insert(ctx, "", e.mail(1, e.alice), nil)
			return err
		}},
		{method: "gmail.MessagesService.List", variant: "user \"\"", run: func(ctx context.Context, e *confEnv) error { _, err := e.g.Messages.List(ctx, "", nil); return err }},
		{method: "gmail.ThreadsService.Get", variant: "user \"\"", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.g.Threads.Get(ctx, "", "18c2f", nil)
			return err
		}},
		{method: "gmail.LabelsService.Create", variant: "user \"\"", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.g.Labels.Create(ctx, "", &gmailapi.Label{Name: "x"})
			return err
		}},
		{method: "gmail.HistoryService.List", variant: "start 0", run: func(ctx context.Context, e *confEnv) error {
			_, err := e.g.History.List(ctx, e.alice, 0, nil)
			return err
		}},
		{method: "gmail.Client.Profile", variant: "user \"\"", run: func(ctx context.Context, e *confEnv) error { _, err := e.g.Profile(ctx, ""); return err }},
		{method: "gmail.LabelsService.Delete", variant: "id \"\"", run: func(ctx context.Context, e *confEnv) error { return e.g.Labels.Delete(ctx, e.alice, "") }},
	}
	for _, c := range probes {
		e.rec.setCall(c.name())
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		if err := c.run(ctx, e); err == nil {
			t.Errorf("%s: succeeded", c.name())
		} else if !errors.Is(err, workspace.ErrInvalidInput) {
			t.Logf("%s: %v (not ErrInvalidInput)", c.name(), err)
		}
		cancel()
	}
	e.rec.setCall("")
	reqs, tokens, grants := e.rec.snapshot()
	checkRequests(t, all, reqs, tokens, grants)
}

// TestConformanceBodySchema checks the JSON body check on hand-made
// bodies.
func TestConformanceBodySchema(t *testing.T) {
	_, docs := loadDiscovery(t)
	schemas := docs["gmail/v1/gmail-api.json"].Schemas
	got := checkSchema(schemas, &discoSchema{Ref: "ModifyMessageRequest"},
		map[string]any{"addLabelIds": []any{"A", 1.0}, "labels": []any{"B"}}, "ModifyMessageRequest")
	want := []string{
		"ModifyMessageRequest.addLabelIds[1] = 1, not a string",
		"field ModifyMessageRequest.labels, which the schema does not define (it has [addClassificationLabels addLabelIds removeClassificationLabelIds removeLabelIds])",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
