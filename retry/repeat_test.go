package retry_test

import (
	"bytes"
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/retry"
)

func TestDocPrintsTable(t *testing.T) {
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	for line := range strings.Lines(retry.Table()) {
		want.WriteString("//\t" + line)
	}
	if !strings.Contains(string(doc), want.String()) {
		t.Errorf("doc.go does not print retry.Table() as it now stands; paste this in:\n%s", want.String())
	}
}

func TestRuleFor(t *testing.T) {
	for _, tt := range []struct {
		api, method, http string
		want              retry.Repeat
	}{
		{"gmail", "users.messages.send", "POST", retry.OnProof},
		{"gmail", "users.messages.get", "GET", retry.Safe},
		{"gmail", "users.messages.modify", "POST", retry.Safe},
		{"datatransfer", "transfers.insert", "POST", retry.OnProof},
		{"audit", "export.create", "POST", retry.OnProof},
		{"audit", "monitor.create", "POST", retry.OnProof},
		{"groupsmigration", "archive.insert", "POST", retry.OnProof},
		{"settings", "sso.general.update", "PUT", retry.Safe},
		{"", "gmail.batch", "POST", retry.Never},
		// Not in the table: by HTTP method.
		{"gmail", "users.somethingNew", "POST", retry.OnProof},
		{"gmail", "users.somethingNew", "PATCH", retry.OnProof},
		{"gmail", "users.somethingNew", "GET", retry.Safe},
		{"", "", "DELETE", retry.Safe},
	} {
		if got := retry.RuleFor(tt.api, tt.method, tt.http); got != tt.want {
			t.Errorf("RuleFor(%q, %q, %s) = %v, want %v", tt.api, tt.method, tt.http, got, tt.want)
		}
	}
}

// call sends one request through a Transport for api and method and
// returns the hits the server saw and the report.
func call(t *testing.T, api, method, httpMethod string, ctx context.Context, answers ...func(http.ResponseWriter)) (int, retry.Report, *recorder) {
	t.Helper()
	s := &script{answers: answers}
	srv := httptest.NewServer(s)
	defer srv.Close()
	rec := &recorder{}
	tr := &retry.Transport{Next: http.DefaultTransport,
		Options:  &retry.Options{Default: fixed, Sleep: rec.sleep, Budget: retry.Unbudgeted()},
		Describe: func(*http.Request) (string, string) { return api, method }}
	var rep retry.Report
	req, _ := http.NewRequestWithContext(retry.WithReport(ctx, &rep), httpMethod, srv.URL, strings.NewReader("body"))
	resp, _ := tr.RoundTrip(req)
	if resp != nil {
		resp.Body.Close()
	}
	return s.count(), rep, rec
}

func TestWritesRepeatedOnlyOnProof(t *testing.T) {
	html502 := status(502, "<html>bad gateway</html>")
	for _, tt := range []struct {
		name        string
		api, method string
		answer      func(http.ResponseWriter)
		hits        int
		unknown     bool
	}{
		{"send 500", "gmail", "users.messages.send", status(500, jsonErr(500, "backendError", "x")), 1, true},
		{"send 502", "gmail", "users.messages.send", html502, 1, true},
		{"send 504", "gmail", "users.messages.send", status(504, ""), 1, true},
		{"send 503", "gmail", "users.messages.send", status(503, jsonErr(503, "backendError", "x")), 1, true},
		{"send reset after the request", "gmail", "users.messages.send", hijack, 1, true},
		{"send 429", "gmail", "users.messages.send", status(429, jsonErr(429, "rateLimitExceeded", "x")), 2, false},
		{"send 403 userRateLimitExceeded", "gmail", "users.messages.send", status(403, jsonErr(403, "userRateLimitExceeded", "x")), 2, false},
		{"transfer 502", "datatransfer", "transfers.insert", html502, 1, true},
		{"transfer legacy 503 backendError", "datatransfer", "transfers.insert", status(503, jsonErr(503, "backendError", "x")), 1, true},
		{"transfer legacy 503 rateLimitExceeded", "datatransfer", "transfers.insert", status(503, jsonErr(503, "rateLimitExceeded", "x")), 2, false},
		{"archive parallel insert", "groupsmigration", "archive.insert", status(400, `{"error":{"code":400,"message":"UNSUPPORTED_PARALLEL_OPERATION","errors":[{"reason":"UNSUPPORTED_PARALLEL_OPERATION"}]}}`), 2, false},
		{"export gdata 500", "audit", "export.create", status(500, ""), 1, true},
		{"export gdata ServerBusy 503", "audit", "export.create", status(503, `<AppsForYourDomainErrors><error errorCode="1001" invalidInput="" reason="ServerBusy"/></AppsForYourDomainErrors>`), 2, false},
		{"read 502", "gmail", "users.messages.get", html502, 2, false},
		{"read reset", "gmail", "users.messages.get", hijack, 2, false},
		{"PUT 500", "settings", "sso.general.update", status(500, ""), 2, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			httpMethod := "POST"
			if strings.HasSuffix(tt.method, ".get") {
				httpMethod = "GET"
			} else if strings.HasSuffix(tt.method, ".update") {
				httpMethod = "PUT"
			}
			hits, rep, _ := call(t, tt.api, tt.method, httpMethod, t.Context(), tt.answer)
			if hits != tt.hits {
				t.Errorf("hits = %d, want %d (report %+v)", hits, tt.hits, rep)
			}
			if rep.OutcomeUnknown != tt.unknown {
				t.Errorf("OutcomeUnknown = %v, want %v", rep.OutcomeUnknown, tt.unknown)
			}
			if tt.unknown && rep.GiveUp != "ambiguous" {
				t.Errorf("GiveUp = %q, want ambiguous", rep.GiveUp)
			}
		})
	}
}

func TestAmbiguousRepeatsOptIn(t *testing.T) {
	ctx := retry.AllowAmbiguousRepeats(t.Context())
	hits, rep, _ := call(t, "gmail", "users.messages.send", "POST", ctx, status(502, "<html/>"))
	if hits != 2 || !rep.Twice || rep.OutcomeUnknown {
		t.Errorf("hits %d, report %+v: want a repeat that succeeded and may have happened twice", hits, rep)
	}
	if !retry.MayHaveHappenedTwice(ctx) {
		t.Error("MayHaveHappenedTwice = false after a repeat following a 502")
	}

	// Failing to the end: the outcome is unknown, and may be twice over.
	ctx = retry.AllowAmbiguousRepeats(t.Context())
	fail := status(500, "")
	hits, rep, _ = call(t, "gmail", "users.messages.send", "POST", ctx, fail, fail, fail, fail)
	if hits != fixed.MaxAttempts || !rep.OutcomeUnknown || !rep.Twice {
		t.Errorf("hits %d, report %+v", hits, rep)
	}

	// A 429 proves the first attempt did nothing: once at most.
	ctx = retry.AllowAmbiguousRepeats(t.Context())
	_, rep, _ = call(t, "gmail", "users.messages.send", "POST", ctx, status(429, ""))
	if rep.Twice || retry.MayHaveHappenedTwice(ctx) {
		t.Errorf("report %+v: a 429 then a success cannot have happened twice", rep)
	}

	// Never calls stay sent once, opt-in or not.
	hits, rep, _ = call(t, "", "gmail.batch", "POST", retry.AllowAmbiguousRepeats(t.Context()), status(429, ""))
	if hits != 1 || rep.GiveUp != "never" {
		t.Errorf("gmail.batch: hits %d, report %+v", hits, rep)
	}
}

// The hook the core uses for requests marked internal/sendonce: one
// attempt, and the outcome is left to the caller.
func TestMaxAttemptsHookSendsOnce(t *testing.T) {
	for _, answer := range []func(http.ResponseWriter){status(502, ""), status(429, ""), hijack} {
		s := &script{answers: []func(http.ResponseWriter){answer}}
		srv := httptest.NewServer(s)
		tr := &retry.Transport{Next: http.DefaultTransport,
			Options:     &retry.Options{Default: fixed, Sleep: (&recorder{}).sleep, Budget: retry.Unbudgeted()},
			Describe:    func(*http.Request) (string, string) { return "groupsmigration", "archive.insert" },
			MaxAttempts: func(*http.Request) int { return 1 }}
		var rep retry.Report
		req, _ := http.NewRequestWithContext(retry.WithReport(t.Context(), &rep), "POST", srv.URL, &onceReader{strings.NewReader("m")})
		resp, _ := tr.RoundTrip(req)
		if resp != nil {
			resp.Body.Close()
		}
		srv.Close()
		if s.count() != 1 || rep.OutcomeUnknown || (rep.GiveUp != "attempts") {
			t.Errorf("hits %d, report %+v: want one attempt given up for attempts, outcome left to the caller", s.count(), rep)
		}
	}
}

func TestThrottlesSpareTheBudget(t *testing.T) {
	s := &script{}
	for range 3 {
		s.answers = append(s.answers, status(429, ""), status(503, `{"error":{"code":503,"errors":[{"reason":"rateLimitExceeded"}]}}`))
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	b := retry.NewBudget(10, 5, 10, 1)
	p := fixed
	p.MaxAttempts = 10
	tr := newTransport("datatransfer", p, &recorder{}, b)
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || s.count() != 7 {
		t.Errorf("status %d after %d hits: six throttles should be waited out", resp.StatusCode, s.count())
	}
	if b.Available() != 10 {
		t.Errorf("budget left %d of 10: throttles must not spend it", b.Available())
	}
}

// dialFailer fails every attempt as a refused connection or a DNS failure.
type dialFailer struct {
	err   error
	calls int
}

func (d *dialFailer) RoundTrip(r *http.Request) (*http.Response, error) {
	d.calls++
	if r.Body != nil {
		r.Body.Close()
	}
	return nil, d.err
}

func TestUnreachableFailsFast(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	dns := &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "wrong.example", IsNotFound: true}}
	for _, tt := range []struct {
		name     string
		err      error
		wantHost string
	}{
		{"refused", refused, "api.example:443"},
		{"dns", dns, "wrong.example"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			next := &dialFailer{err: tt.err}
			rec := &recorder{}
			tr := &retry.Transport{Next: next, Options: &retry.Options{Default: retry.DefaultPolicy("audit"), Sleep: rec.sleep},
				Describe: func(*http.Request) (string, string) { return "datatransfer", "transfers.insert" }}
			var rep retry.Report
			req, _ := http.NewRequestWithContext(retry.WithReport(t.Context(), &rep), "POST", "https://api.example:443/x", strings.NewReader("b"))
			_, err := tr.RoundTrip(req)
			if err == nil {
				t.Fatal("no error")
			}
			var total time.Duration
			for _, w := range rec.waits {
				total += w
			}
			if next.calls != retry.FastFailAttempts || total > 3*time.Second {
				t.Errorf("%d attempts over %v of waits: want %d quick tries", next.calls, total, retry.FastFailAttempts)
			}
			if rep.GiveUp != "unreachable" || rep.Host != tt.wantHost {
				t.Errorf("report %+v, want unreachable %s", rep, tt.wantHost)
			}
		})
	}

	// Once the client has had an answer, a refused connection is an
	// outage: the API's policy applies.
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	contact := new(retry.Contact)
	ok := &retry.Transport{Next: http.DefaultTransport, Contact: contact}
	resp, err := ok.RoundTrip(httptest.NewRequest("GET", srv.URL, nil).WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	next := &dialFailer{err: refused}
	tr := &retry.Transport{Next: next, Contact: contact, Options: &retry.Options{Default: fixed, Sleep: (&recorder{}).sleep, Budget: retry.Unbudgeted()}}
	req, _ := http.NewRequest("GET", "https://api.example/x", nil)
	if _, err := tr.RoundTrip(req); err == nil {
		t.Fatal("no error")
	}
	if next.calls != fixed.MaxAttempts {
		t.Errorf("after contact: %d attempts, want the policy's %d", next.calls, fixed.MaxAttempts)
	}
}

// tokenFailer fails the first attempts as the auth layer does when the
// token endpoint fails, then answers 200.
type tokenFailer struct {
	fail  []error
	calls int
}

func (f *tokenFailer) RoundTrip(r *http.Request) (*http.Response, error) {
	f.calls++
	if r.Body != nil {
		r.Body.Close()
	}
	if f.calls <= len(f.fail) {
		return nil, f.fail[f.calls-1]
	}
	return &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
}

func tokenErr(status int) error {
	return &auth.TokenError{Subject: "a@example.com", Err: &oauth2.RetrieveError{
		Response: &http.Response{StatusCode: status, Header: http.Header{}}, Body: []byte(`{"error":"x"}`)}}
}

func TestTokenEndpointFailuresRetried(t *testing.T) {
	for _, tt := range []struct {
		name  string
		err   error
		class retry.Class
		calls int
	}{
		{"503", tokenErr(503), retry.Transient, 2},
		{"500", tokenErr(500), retry.Transient, 2},
		{"429", tokenErr(429), retry.Throttle, 2},
		{"network", &auth.TokenError{Err: &net.OpError{Op: "dial", Err: syscall.ECONNRESET}}, retry.Transient, 2},
		{"invalid_grant", tokenErr(400), retry.Auth, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if d := retry.Classify("gmail", nil, tt.err); d.Class != tt.class || !d.NothingDone || !d.Token {
				t.Errorf("Classify = %+v, want %v, nothing done, token", d, tt.class)
			}
			next := &tokenFailer{fail: []error{tt.err}}
			tr := &retry.Transport{Next: next, Options: &retry.Options{Default: fixed, Sleep: (&recorder{}).sleep, Budget: retry.Unbudgeted()},
				Describe: func(*http.Request) (string, string) { return "gmail", "users.messages.send" }}
			req, _ := http.NewRequest("POST", "https://gmail.googleapis.com/x", strings.NewReader("b"))
			resp, _ := tr.RoundTrip(req)
			if resp != nil {
				resp.Body.Close()
			}
			if next.calls != tt.calls {
				t.Errorf("%d attempts, want %d", next.calls, tt.calls)
			}
		})
	}
}

func TestRetriesAreLoggedBeforeTheWait(t *testing.T) {
	var buf bytes.Buffer
	s := &script{answers: []func(http.ResponseWriter){status(429, "", "Retry-After", "7")}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	var logged bool
	tr := &retry.Transport{Next: http.DefaultTransport,
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Options: &retry.Options{Default: fixed, Budget: retry.Unbudgeted(), Sleep: func(ctx context.Context, d time.Duration) error {
			logged = strings.Contains(buf.String(), "wait=7s")
			return nil
		}}}
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !logged {
		t.Errorf("no Info record with the wait before waiting; log:\n%s", buf.String())
	}
	if diff := cmp.Diff(1, strings.Count(buf.String(), "level=INFO")); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}

	// A read repeated after a 502 is no duplicate: no warning about one.
	buf.Reset()
	s = &script{answers: []func(http.ResponseWriter){status(502, "")}}
	srv2 := httptest.NewServer(s)
	defer srv2.Close()
	tr.Describe = func(*http.Request) (string, string) { return "gmail", "users.messages.get" }
	req, _ = http.NewRequest("GET", srv2.URL, nil)
	resp, err = tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if strings.Contains(buf.String(), "level=WARN") {
		t.Errorf("a repeated read warned about a duplicate:\n%s", buf.String())
	}
}

// TestRetryLogNamesUnreachableHost: a retry after no answer says which host
// and what failed, without the URL.
func TestRetryLogNamesUnreachableHost(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close() // a closed port: connection refused
	var buf bytes.Buffer
	tr := &retry.Transport{Next: http.DefaultTransport,
		Logger:  slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})),
		Options: &retry.Options{Default: fixed, Budget: retry.Unbudgeted(), Sleep: func(ctx context.Context, d time.Duration) error { return nil }}}
	req, _ := http.NewRequest("GET", "http://"+addr+"/x?pageToken=secret-ish", nil)
	if _, err := tr.RoundTrip(req); err == nil {
		t.Fatal("a closed port answered")
	}
	out := buf.String()
	for _, w := range []string{"host=" + addr, "connection refused"} {
		if !strings.Contains(out, w) {
			t.Errorf("retry record lacks %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "pageToken") {
		t.Errorf("retry record repeats the URL:\n%s", out)
	}
}

// methodLike matches the method names API packages put in their Calls.
var methodLike = regexp.MustCompile(`^(users|transfers|applications|customers|domains|export|monitor|publickey|sso|email|emailrouting|inboundSamlSsoProfiles|inboundSsoAssignments|operations|archive)\.[A-Za-z.]+$`)

// TestEveryMethodSentIsListed reads the API packages for method names and
// checks that each has a row in Methods, so that no call is sent under
// the fallback rule by oversight.
func TestEveryMethodSentIsListed(t *testing.T) {
	listed := map[string]bool{}
	for _, r := range retry.Methods {
		listed[r.Method] = true
	}
	fset := token.NewFileSet()
	found := 0
	for _, dir := range []string{"../audit", "../datatransfer", "../settings", "../gmail"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range files {
			if strings.HasSuffix(name, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				lit, ok := n.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					return true
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil || !methodLike.MatchString(s) {
					return true
				}
				found++
				if !listed[s] {
					t.Errorf("%s: method %q has no row in retry.Methods", fset.Position(lit.Pos()), s)
				}
				return true
			})
		}
	}
	t.Logf("%d method names found", found)
	if found < 40 {
		t.Errorf("found only %d method names: the scan is broken", found)
	}
}
