package auth

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"

	"golang.org/x/oauth2"
)

// Transport is an http.RoundTripper that adds a bearer token from Source to
// each request whose host AllowHost accepts. It is the innermost layer of
// the client's chain (retry, quota, auth, base).
//
// When the server answers 401 Unauthorized to a request that carried a
// token, Transport closes that response, invalidates the token, and sends the
// request once more with a fresh token, provided the body can be replayed
// (no body, or Request.GetBody set). A second 401 is returned to the caller,
// as is the first one when the request cannot be replayed or the fresh token
// is the same as the refused one.
//
// Transport never modifies the caller's request (it sends a clone) and
// never logs or returns the token. Because Go's http.Client sends a
// redirected request through the same Transport, the host check also keeps
// the token from following a redirect to a host AllowHost refuses.
type Transport struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper

	// Source supplies tokens; it is required.
	Source *Source

	// AllowHost reports whether a request to host (URL.Host, which may
	// include a port) may carry the token. nil means [GoogleHost]. The core
	// client passes a function that accepts Google's API hosts and the
	// configured endpoint's host.
	AllowHost func(host string) bool

	// Logger receives a debug record when a new token is put to use and
	// when a token is refused and refreshed; nil means no logging. Tokens
	// are never logged.
	Logger *slog.Logger

	last atomic.Pointer[oauth2.Token] // the token of the last request, to log a new one
}

// maxDrain bounds how much of a refused response is read so that the
// connection can be reused.
const maxDrain = 64 << 10

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	allow := t.AllowHost
	if allow == nil {
		allow = GoogleHost
	}
	if !allow(req.URL.Host) {
		// Never attach the credential; send the request unchanged.
		return base.RoundTrip(req)
	}
	if t.Source == nil {
		closeBody(req)
		return nil, errors.New("auth: Transport has no Source")
	}
	ctx := req.Context()
	tok, err := t.Source.Token(ctx)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	if prev := t.last.Swap(tok); prev != tok && t.Logger != nil && (prev == nil || prev.AccessToken != tok.AccessToken) {
		t.Logger.LogAttrs(ctx, slog.LevelDebug, "auth: using a new access token",
			slog.String("subject", t.Source.Subject()), slog.Time("expiry", tok.Expiry))
	}
	resp, err := base.RoundTrip(withToken(req, tok, req.Body))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}

	// 401 although the token looked valid (revoked, rotated key, clock
	// skew). Retry once if the body can be sent again.
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil
	}
	t.Source.Invalidate(tok)
	fresh, err := t.Source.Token(ctx)
	if err != nil {
		drainClose(resp)
		return nil, err
	}
	if fresh.AccessToken == tok.AccessToken {
		// The source cannot give a different token; retrying is pointless.
		return resp, nil
	}
	body := req.Body
	if req.GetBody != nil && req.Body != nil && req.Body != http.NoBody {
		if body, err = req.GetBody(); err != nil {
			// Keep the server's answer rather than an obscure rewind error.
			return resp, nil
		}
	}
	drainClose(resp)
	if t.Logger != nil {
		t.Logger.LogAttrs(ctx, slog.LevelDebug, "auth: token refused with 401, retrying with a fresh token",
			slog.String("subject", t.Source.Subject()),
			slog.String("method", req.Method),
			slog.String("host", req.URL.Host))
	}
	return base.RoundTrip(withToken(req, fresh, body))
}

// withToken returns a shallow clone of req with its own header map carrying
// the bearer token, and body as its body.
func withToken(req *http.Request, tok *oauth2.Token, body io.ReadCloser) *http.Request {
	r := new(http.Request)
	*r = *req // the URL and the rest are shared, never modified here
	h := make(http.Header, len(req.Header)+1)
	for k, v := range req.Header {
		h[k] = v // values are not modified: only the Authorization key is set anew
	}
	h["Authorization"] = []string{"Bearer " + tok.AccessToken}
	r.Header = h
	r.Body = body
	return r
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

func drainClose(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, maxDrain))
	resp.Body.Close()
}

// GoogleHost reports whether host (with or without a port) is one of
// Google's API hosts: googleapis.com and its subdomains, and
// apps-apis.google.com (the legacy GData feeds). It is the default
// [Transport.AllowHost].
func GoogleHost(host string) bool {
	h := strings.ToLower(hostname(host))
	return h == "googleapis.com" || strings.HasSuffix(h, ".googleapis.com") ||
		h == "apps-apis.google.com"
}

// AllowHosts returns an AllowHost function that accepts Google's API hosts
// (see [GoogleHost]) and exactly the given hosts. A host given with a port
// matches only that port; one given without a port matches any port.
// Comparison ignores case.
func AllowHosts(hosts ...string) func(host string) bool {
	exact := make(map[string]bool, len(hosts))
	for _, h := range hosts {
		exact[strings.ToLower(h)] = true
	}
	return func(host string) bool {
		h := strings.ToLower(host)
		return GoogleHost(h) || exact[h] || exact[hostname(h)]
	}
}

// hostname strips the port from host, keeping IPv6 literals intact.
func hostname(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.Trim(host, "[]")
}

// RedirectPolicy is an http.Client CheckRedirect function: it stops after
// 10 redirects and removes the Authorization header whenever a redirect
// leaves the original request's host (host and port compared exactly).
// Go's default policy keeps the header for a redirect to a subdomain or
// another port; this one does not.
func RedirectPolicy(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("auth: stopped after 10 redirects")
	}
	if len(via) > 0 && !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
		req.Header.Del("Authorization")
	}
	return nil
}
