package workspacetest

// How to add an API to the fake server
//
// Each API lives in its own file (migration.go, datatransfer.go,
// directory.go, ...) with one registration method, called from
// newMux below:
//
//	func (s *Server) registerAudit(mux *http.ServeMux) {
//		s.setQuota("audit", quotaRule{PerSecond: 1, Status: 503})
//		s.handle(mux, "POST /a/feeds/compliance/audit/mail/monitor/{domain}/{user}", endpoint{
//			api:    "audit",                // key for quotas, faults and Stats
//			method: "monitor.create",       // shown in logs and FaultLog
//			scopes: []string{scopeAudit},   // any one admits the call
//			style:  styleGData,             // error dialect of auth/quota/fault replies
//			h:      s.auditCreateMonitor,   // an ordinary http.HandlerFunc
//		})
//	}
//
// s.handle wraps the handler with, in order: token check (401/403 in the
// endpoint's style), setup failures set by DenyAPI, fault injection, quota
// (per project, scaled by speed), logging and Stats. Inside the handler:
//
//   - callerFrom(r) gives the acting user (the token's subject) and project;
//   - lock s.mu around any read or write of server state (one mutex);
//   - refuse with writeError(w, code, reason, msg) or writeGoogleError for
//     Google JSON, writeGDataError for legacy XML feeds; reply with
//     writeJSON; page lists with paginate;
//   - use s.now() for time and s.scaled(d) for any delay, never time.Now.
//
// State for a new API goes in a new field of Server (e.g. a map), created
// in NewUnstartedServer, with seeding (AddX, panicking on misuse) and
// inspection methods in the API's file.

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is a fake Google Workspace server listening on a loopback address,
// shaped like httptest.Server. Create it with NewServer, point Google's
// clients (or this module's) at URL, authenticate with Client or with the
// key from ServiceAccountKey, and Close it when done.
//
// All state is in memory behind one mutex; every method is safe for
// concurrent use.
type Server struct {
	// URL is the base URL of the server, of the form http://ipaddr:port
	// with no trailing slash. It is set by Start (NewServer starts).
	URL string

	cfg    config
	hts    *httptest.Server
	client *http.Client
	closed chan struct{}
	once   sync.Once

	mu sync.Mutex // guards everything below

	// clock
	nowFunc func() time.Time

	// auth
	tokens        map[string]*token // access token -> token
	refreshTokens map[string]string // refresh token -> subject
	clientToken   string            // token used by Client()
	tokenSeq      int

	// directory
	customerID   string
	users        []*user
	usersByEmail map[string]*user
	usersByID    map[string]*user

	// groups migration
	groups map[string]*group

	// data transfer
	transfers   []*transfer
	transferSeq int

	// setup failures set by DenyAPI, by API
	denied map[string]DenyKind

	// routes lists every pattern registered by handle, in order; set
	// before Start and read-only afterwards (tests check their scopes).
	routes []route

	// quota, faults, stats
	quotaRules map[string]quotaRule
	quotas     map[quotaKey]*quotaState
	faults     faultState
	stats      map[string]*APIStats
}

// NewServer starts and returns a new fake server. The caller should call
// Close when finished, to shut it down. NewServer panics on invalid options.
func NewServer(opts ...Option) *Server {
	s := NewUnstartedServer(opts...)
	s.Start()
	return s
}

// NewUnstartedServer returns a new server that is not yet listening, so
// that callers can seed it before any request arrives. Start it with Start.
func NewUnstartedServer(opts ...Option) *Server {
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		panic("workspacetest: " + err.Error())
	}
	s := &Server{
		cfg:           cfg,
		closed:        make(chan struct{}),
		nowFunc:       cfg.now,
		tokens:        map[string]*token{},
		refreshTokens: map[string]string{},
		customerID:    "C03az79cb",
		usersByEmail:  map[string]*user{},
		usersByID:     map[string]*user{},
		groups:        map[string]*group{},
		denied:        map[string]DenyKind{},
		quotaRules:    map[string]quotaRule{},
		quotas:        map[quotaKey]*quotaState{},
		stats:         map[string]*APIStats{},
	}
	s.faults.init(cfg.faults)
	s.addUser(s.AdminEmail(), true)
	if cfg.gmail != nil {
		s.SetGmailConfig(*cfg.gmail)
	}
	s.hts = httptest.NewUnstartedServer(s.newMux())
	if cfg.addr != "" {
		l, err := net.Listen("tcp", cfg.addr)
		if err != nil {
			panic(fmt.Sprintf("workspacetest: listen on %s: %v", cfg.addr, err))
		}
		s.hts.Listener.Close()
		s.hts.Listener = l
	}
	return s
}

// Start starts a server from NewUnstartedServer. It panics if called twice.
func (s *Server) Start() {
	if s.URL != "" {
		panic("workspacetest: Server already started")
	}
	s.hts.Start()
	s.URL = s.hts.URL
	s.client = &http.Client{Transport: &authTransport{s: s, base: s.hts.Client().Transport}}
}

// Close shuts down the server and blocks until all outstanding requests on
// it have completed. Slow-reply faults in progress end at once.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closed) })
	if s.hts != nil {
		s.hts.Close()
	}
}

// Client returns an HTTP client that talks to the server and sends a bearer
// token the server accepts, acting as the default admin (AdminEmail) with
// every scope. When the token expires or is expired by ExpireTokens or a
// fault, the next request gets a fresh one, as an oauth2 transport would.
// Hand it to Google's clients with option.WithHTTPClient.
func (s *Server) Client() *http.Client {
	if s.client == nil {
		panic("workspacetest: Client called before Start")
	}
	return s.client
}

// Domain returns the primary domain of the fake customer ("example.com"
// unless WithDomain says otherwise).
func (s *Server) Domain() string { return s.cfg.domain }

// AdminEmail returns the default admin, admin@<domain>, seeded at creation.
// Client and WithoutAuth act as this user.
func (s *Server) AdminEmail() string { return "admin@" + s.cfg.domain }

// CustomerID returns the fake customer's id, which "my_customer" stands for.
func (s *Server) CustomerID() string { return s.customerID }

// SetTimeNowFunc replaces the server's clock. Token expiry, quota windows
// and transfer progress all read it. Safe to call while serving.
func (s *Server) SetTimeNowFunc(f func() time.Time) {
	if f == nil {
		f = time.Now
	}
	s.mu.Lock()
	s.nowFunc = f
	s.mu.Unlock()
}

// now reads the server clock. Callers may hold s.mu or not.
func (s *Server) now() time.Time {
	s.mu.Lock()
	f := s.nowFunc
	s.mu.Unlock()
	return f()
}

// nowLocked reads the server clock while s.mu is held.
func (s *Server) nowLocked() time.Time { return s.nowFunc() }

// scaled divides a Google-sized delay by the speed factor.
func (s *Server) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) / s.cfg.speed)
}

// sleep waits d of real time, or less when the request ends or the server
// closes. It reports whether the full delay elapsed.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.closed:
		return false
	}
}

// errorStyle is the dialect an endpoint uses for refusals made by the
// wrapper (auth, quota, faults).
type errorStyle int

const (
	styleJSON  errorStyle = iota // Google JSON errors (REST APIs)
	styleGData                   // GData XML errors (legacy feeds)
	styleOAuth                   // OAuth2 token endpoint errors
)

// endpoint describes one route for s.handle.
type endpoint struct {
	api    string   // quota, fault and stats key, e.g. "groupsmigration"
	method string   // API method name, e.g. "archive.insert"
	scopes []string // the token needs one of these; nil: any token
	// adminOnly refuses subjects that are not seeded admins (403 forbidden).
	adminOnly bool
	noAuth    bool // no token needed (the token endpoint)
	style     errorStyle
	// cost is the quota cost of one call; 0 means 1.
	cost int
	// decorate, when set, adjusts every Google JSON error this endpoint
	// writes (the Groups Migration API adds responseCode).
	decorate func(*googleError)
	// faultOK, when set, says whether a fault kind applies to a request;
	// kinds it refuses are skipped (queued ones wait for a later request).
	faultOK func(FaultKind, *http.Request) bool
	h       http.HandlerFunc
}

// newMux builds the routes of every API. Add a register call per API.
func (s *Server) newMux() *http.ServeMux {
	mux := http.NewServeMux()
	s.registerOAuth(mux)
	s.registerMigration(mux)
	s.registerDataTransfer(mux)
	s.registerDirectory(mux)
	s.registerAudit(mux)
	s.registerSettings(mux)
	s.registerDirectoryCustomer(mux)
	s.registerCloudIdentity(mux)
	s.registerGmail(mux)
	s.registerIAMCredentials(mux)
	s.registerMetadata(mux)
	// Later APIs: s.registerAudit(mux), s.registerSettings(mux),
	// s.registerCloudIdentity(mux), s.registerGmail(mux).
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.cfg.logger.Warn("workspacetest: no route", "method", r.Method, "path", r.URL.Path)
		writeError(w, http.StatusNotFound, "notFound",
			errorf("workspacetest: no fake endpoint for %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// handle registers e under pattern with the shared pipeline: auth, setup
// failures (DenyAPI), faults, quota, then e.h; logging and Stats around it
// all.
func (s *Server) handle(mux *http.ServeMux, pattern string, e endpoint) {
	ep := e
	s.routes = append(s.routes, route{pattern: pattern, ep: &ep})
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		rw := &respWriter{ResponseWriter: w, ep: &ep}
		start := time.Now()
		var fault FaultKind
		defer func() {
			s.record(&ep, rw, fault)
			s.cfg.logger.Debug("workspacetest request",
				"api", ep.api, "method", ep.method, "http_method", r.Method,
				"path", r.URL.Path, "status", rw.status, "reason", rw.reason,
				"fault", string(fault), "elapsed", time.Since(start))
		}()

		c, ok := s.authenticate(rw, r, &ep)
		if !ok {
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), callerKey{}, c))
		if s.refuseDenied(rw, &ep, c) {
			return
		}

		fault = s.nextFault(&ep, r)
		if fault != "" && s.applyFault(rw, r, &ep, c, fault) {
			return
		}
		if !s.admit(rw, &ep, c) {
			return
		}
		switch fault {
		case FaultRepeatPageToken:
			hr := httptest.NewRecorder()
			rec := &respWriter{ResponseWriter: hr, ep: &ep}
			ep.h(rec, r)
			rw.status, rw.reason = rec.status, rec.reason
			repeatPageToken(w, hr, r.URL.Query().Get("pageToken"))
			return
		case FaultResetAfterProcessing, FaultStoredUnreadableReply:
			hr := httptest.NewRecorder()
			rec := &respWriter{ResponseWriter: hr, ep: &ep}
			ep.h(rec, r)
			rw.status, rw.reason = rec.status, rec.reason
			if fault == FaultResetAfterProcessing {
				resetConn(w)
			} else {
				truncatedReply(w, hr)
			}
			return
		}
		ep.h(rw, r)
	})
}

// route is one registered pattern and its endpoint.
type route struct {
	pattern string
	ep      *endpoint
}

// respWriter remembers the status and refusal reason of a reply.
type respWriter struct {
	http.ResponseWriter
	ep          *endpoint
	status      int
	reason      string
	wroteHeader bool
}

// WriteHeader records the status.
func (w *respWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200.
func (w *respWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *respWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// resetConn drops the client connection with a TCP reset where possible.
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// repeatPageToken sends rec's reply with its JSON nextPageToken set to
// token (the one the request came with). Other replies go out unchanged.
func repeatPageToken(w http.ResponseWriter, rec *httptest.ResponseRecorder, token string) {
	body := rec.Body.Bytes()
	var m map[string]json.RawMessage
	if rec.Code < 300 && json.Unmarshal(body, &m) == nil {
		m["nextPageToken"], _ = json.Marshal(token)
		body, _ = json.Marshal(m)
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// truncatedReply sends rec's status line and headers, with a
// Content-Length for the whole body, then the first half of the body, and
// closes the connection, so the client sees the status and then an
// unexpected end of the body.
func truncatedReply(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	res := rec.Result()
	body := rec.Body.Bytes()
	res.Header.Set("Content-Length", strconv.Itoa(len(body)))
	res.Header.Del("Transfer-Encoding")
	_, _ = fmt.Fprintf(buf, "HTTP/1.1 %03d %s\r\n", res.StatusCode, http.StatusText(res.StatusCode))
	_ = res.Header.Write(buf)
	_, _ = buf.WriteString("Connection: close\r\n\r\n")
	_, _ = buf.Write(body[:len(body)/2])
	_ = buf.Flush()
}

// validEmail is a loose check: one @, something on both sides.
func validEmail(e string) bool {
	at := strings.IndexByte(e, '@')
	return at > 0 && at == strings.LastIndexByte(e, '@') && at < len(e)-1 && !strings.ContainsAny(e, " \t\r\n")
}

// domainOf returns the lower-cased domain of an email address.
func domainOf(e string) string {
	if at := strings.LastIndexByte(e, '@'); at >= 0 {
		return strings.ToLower(e[at+1:])
	}
	return ""
}
