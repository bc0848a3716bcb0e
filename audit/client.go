package audit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/internal/apierr"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/internal/gdata"
)

// DateLayout is the layout of every Email Audit date: 24-hour, minutes,
// always UTC.
const DateLayout = "2006-01-02 15:04"

// Client gives access to the Email Audit API of one domain. Make one with
// New; it is safe for concurrent use.
type Client struct {
	core   *workspace.Client
	domain string

	// Monitors creates, lists and deletes email monitors.
	Monitors *MonitorsService
	// PublicKey uploads the domain's OpenPGP public key.
	PublicKey *PublicKeyService
	// Exports requests, follows, downloads and deletes mailbox exports.
	Exports *ExportsService

	now func() time.Time // tests
}

// New returns a Client for domain (the Workspace domain, e.g.
// "example.com") that sends its calls through c, acting as c's default
// subject, who must be an administrator of the domain.
func New(c *workspace.Client, domain string) *Client {
	a := &Client{core: c, domain: strings.ToLower(strings.TrimSpace(domain)), now: time.Now}
	a.Monitors = &MonitorsService{a: a}
	a.PublicKey = &PublicKeyService{a: a}
	a.Exports = &ExportsService{a: a}
	return a
}

// Domain returns the domain the client audits.
func (a *Client) Domain() string { return a.domain }

// feedURL returns the URL of an Email Audit path below
// /a/feeds/compliance/audit/; each segment is path-escaped.
func (a *Client) feedURL(segments ...string) string {
	var b strings.Builder
	b.WriteString(core.Of(a.core).BaseURL(workspace.APIAudit))
	b.WriteString("a/feeds/compliance/audit")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

func (a *Client) httpClient() (*http.Client, error) {
	return a.core.HTTPClient("", auth.ScopeEmailAudit)
}

// call describes a request to the quota and retry layers. user is the user
// the call is about; calls for the whole domain are keyed by the acting
// administrator.
func (a *Client) call(ctx context.Context, method, user string) context.Context {
	if user == "" {
		user = a.core.Subject()
	} else if !strings.Contains(user, "@") {
		user += "@" + a.domain
	}
	return core.WithCall(ctx, &core.Call{API: workspace.APIAudit, Method: method, Domain: a.domain, User: user})
}

// send makes one request. body, when not nil, is an Atom entry. The
// caller closes the response body.
func (a *Client) send(ctx context.Context, httpMethod, method, user, u string, body []byte) (*http.Response, error) {
	hc, err := a.httpClient()
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(a.call(ctx, method, user), httpMethod, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", gdata.ContentType)
	}
	req.Header.Set("Accept", "application/atom+xml, text/xml")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, apiError(err)
	}
	return resp, nil
}

// entry sends a request and decodes the Atom entry it answers.
func (a *Client) entry(ctx context.Context, httpMethod, method, user, u string, body []byte) (*gdata.Entry, error) {
	resp, err := a.send(ctx, httpMethod, method, user, u, body)
	if err != nil {
		return nil, err
	}
	defer drain(resp)
	e, err := gdata.DecodeEntry(resp.Body)
	if err != nil {
		return nil, decodeError(method, err)
	}
	return e, nil
}

// feed GETs u and decodes the Atom feed it answers.
func (a *Client) feed(ctx context.Context, method, user, u string) (*gdata.Feed, error) {
	resp, err := a.send(ctx, http.MethodGet, method, user, u, nil)
	if err != nil {
		return nil, err
	}
	defer drain(resp)
	f, err := gdata.DecodeFeed(resp.Body)
	if err != nil {
		return nil, decodeError(method, err)
	}
	return f, nil
}

// del sends a DELETE and ignores the body of the answer.
func (a *Client) del(ctx context.Context, method, user, u string) error {
	resp, err := a.send(ctx, http.MethodDelete, method, user, u, nil)
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// logWait tells the client's logger, at Info, about a pause longer than a
// second before it starts, so that a long job never looks stuck.
func (a *Client) logWait(ctx context.Context, msg string, d time.Duration, attrs ...slog.Attr) {
	l := core.Of(a.core).Logger
	if d <= time.Second || !l.Enabled(ctx, slog.LevelInfo) {
		return
	}
	l.LogAttrs(ctx, slog.LevelInfo, msg, append(attrs, slog.Duration("wait", d))...)
}

func drain(resp *http.Response) {
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

// decodeError words a body the client could not read. An
// AppsForYourDomainErrors document sent with a success status keeps its
// *gdata.Errors in the chain.
func decodeError(method string, err error) error {
	return fmt.Errorf("audit: %s: reading the answer: %w", method, err)
}

// apiError strips the *url.Error that net/http wraps around the core's
// *workspace.Error, so messages do not repeat the request URL.
func apiError(err error) error { return apierr.StripURL(err) }

// username returns the username (local part) for u, which may be a
// username or an address in the client's domain.
func (a *Client) username(op, field, u string) (string, error) {
	u = strings.ToLower(strings.TrimSpace(u))
	if u == "" {
		return "", &workspace.InputError{Op: op, Field: field, Reason: "a username is required"}
	}
	if local, dom, ok := strings.Cut(u, "@"); ok {
		if dom != a.domain {
			return "", &workspace.InputError{Op: op, Field: field, Reason: fmt.Sprintf("%q is not in the domain %s; the Email Audit API only audits users of its own domain", u, a.domain)}
		}
		u = local
	}
	if u == "" || strings.ContainsAny(u, "@/?#%\\ \t\r\n") {
		return "", &workspace.InputError{Op: op, Field: field, Reason: fmt.Sprintf("%q is not a valid username", u)}
	}
	return u, nil
}

// formatDate renders t in the Email Audit layout, in UTC.
func formatDate(t time.Time) string { return t.UTC().Format(DateLayout) }

// parseDate reads an Email Audit date (UTC). Like Google's server it
// accepts an hour that is not zero-padded. A date it cannot read is zero.
func parseDate(v string) time.Time {
	v = strings.TrimSpace(v)
	for _, layout := range []string{DateLayout, time.RFC3339} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t.UTC()
		}
	}
	return time.Time{}
}
