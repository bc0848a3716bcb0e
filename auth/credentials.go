package auth

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/jwt"
)

// DefaultTokenURL is Google's OAuth 2.0 token endpoint. It is used when a
// credentials file has no token_uri.
const DefaultTokenURL = "https://oauth2.googleapis.com/token"

// CredentialsType names the kind of a credentials file, as its "type" field
// spells it.
type CredentialsType string

// The credentials types ParseCredentials accepts.
const (
	// TypeServiceAccount is a service account key file. It can impersonate
	// users of a Workspace domain (domain-wide delegation).
	TypeServiceAccount CredentialsType = "service_account"
	// TypeAuthorizedUser is a user's refresh token with the OAuth client it
	// was issued to, as written by "gcloud auth application-default login".
	// It always acts as that user.
	TypeAuthorizedUser CredentialsType = "authorized_user"
)

// ErrSubjectNotSupported is returned (wrapped) when a subject to impersonate
// is asked of credentials that cannot impersonate anyone: authorized-user
// credentials and caller-supplied token sources. Only a service account with
// domain-wide delegation can act as another user.
var ErrSubjectNotSupported = errors.New("auth: these credentials cannot impersonate a subject; domain-wide delegation needs a service account")

// Credentials are parsed service-account or authorized-user credentials. A
// Credentials is immutable and safe for concurrent use. Its String form never
// shows key material.
type Credentials struct {
	typ          CredentialsType
	projectID    string
	quotaProject string
	tokenURL     string

	// service account
	clientEmail  string
	privateKey   []byte // PEM, as in the file; parsed once at load time to validate it
	privateKeyID string

	// authorized user
	clientID     string
	clientSecret string
	refreshToken string
}

// credentialsFile is the union of the fields both file types may carry.
type credentialsFile struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	TokenURI     string `json:"token_uri"`
	ClientEmail  string `json:"client_email"`
	PrivateKey   string `json:"private_key"`
	PrivateKeyID string `json:"private_key_id"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	RefreshToken string `json:"refresh_token"`
	// QuotaProjectID is the project an authorized user's calls are billed to.
	QuotaProjectID string `json:"quota_project_id"`
}

// ParseCredentials parses a Google credentials JSON file: a service account
// key (type "service_account": client_email, private_key, and optionally
// private_key_id, token_uri, project_id) or authorized-user credentials (type
// "authorized_user": client_id, client_secret, refresh_token, and optionally
// token_uri). A missing token_uri means [DefaultTokenURL].
//
// A missing required field is reported by name. Error messages never contain
// the private key, client secret or refresh token, nor any part of the input.
func ParseCredentials(data []byte) (*Credentials, error) {
	var f credentialsFile
	if err := json.Unmarshal(data, &f); err != nil {
		// The decoder's messages can quote input characters, so only the
		// offset is reported.
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("auth: credentials are not valid JSON (syntax error at byte %d)", se.Offset)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("auth: credentials field %q has the wrong JSON type (%s)", te.Field, te.Value)
		}
		return nil, errors.New("auth: credentials are not a JSON object")
	}
	c := &Credentials{
		typ:       CredentialsType(f.Type),
		projectID: f.ProjectID,
		tokenURL:  f.TokenURI,
	}
	if c.tokenURL == "" {
		c.tokenURL = DefaultTokenURL
	}
	switch c.typ {
	case "":
		return nil, errors.New(`auth: credentials: missing field "type"`)
	case TypeServiceAccount:
		if err := required(c.typ, "client_email", f.ClientEmail, "private_key", f.PrivateKey); err != nil {
			return nil, err
		}
		if err := checkPrivateKey([]byte(f.PrivateKey)); err != nil {
			return nil, err
		}
		c.clientEmail = f.ClientEmail
		c.clientID = f.ClientID // optional: named in error remedies
		c.privateKey = []byte(f.PrivateKey)
		c.privateKeyID = f.PrivateKeyID
	case TypeAuthorizedUser:
		if err := required(c.typ, "client_id", f.ClientID, "client_secret", f.ClientSecret, "refresh_token", f.RefreshToken); err != nil {
			return nil, err
		}
		c.clientID = f.ClientID
		c.clientSecret = f.ClientSecret
		c.refreshToken = f.RefreshToken
		c.quotaProject = f.QuotaProjectID
		if c.projectID == "" {
			c.projectID = f.QuotaProjectID
		}
	default:
		const max = 40
		t := f.Type
		if len(t) > max {
			t = t[:max] + "..."
		}
		return nil, fmt.Errorf("auth: unsupported credentials type %q (want %q or %q)", t, TypeServiceAccount, TypeAuthorizedUser)
	}
	return c, nil
}

// required checks name/value pairs and reports the first empty value by name.
func required(typ CredentialsType, nameValues ...string) error {
	for i := 0; i+1 < len(nameValues); i += 2 {
		if nameValues[i+1] == "" {
			return fmt.Errorf("auth: %s credentials: missing field %q", typ, nameValues[i])
		}
	}
	return nil
}

// checkPrivateKey verifies that key holds a PEM-encoded RSA private key in
// PKCS #8 or PKCS #1 form, without ever putting key bytes in the error.
func checkPrivateKey(key []byte) error {
	block, _ := pem.Decode(key)
	if block == nil {
		return errors.New(`auth: service_account credentials: field "private_key" is not PEM encoded`)
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		if _, ok := k.(*rsa.PrivateKey); !ok {
			return errors.New(`auth: service_account credentials: field "private_key" is not an RSA key`)
		}
		return nil
	}
	if _, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return nil
	}
	return errors.New(`auth: service_account credentials: field "private_key" is not a PKCS #8 or PKCS #1 RSA private key`)
}

// Type reports whether c is a service account or an authorized user.
func (c *Credentials) Type() CredentialsType { return c.typ }

// ProjectID returns the project_id of a service account key, or the
// quota_project_id of authorized-user credentials; it may be empty.
func (c *Credentials) ProjectID() string { return c.projectID }

// QuotaProjectID returns the quota_project_id of authorized-user
// credentials (the project their API calls are billed and counted to, which
// gcloud writes), or "".
func (c *Credentials) QuotaProjectID() string { return c.quotaProject }

// ClientID returns the OAuth2 client id: for a service account, its unique
// id (the key file's client_id, which the Admin console's domain-wide
// delegation page asks for; "" when the file has none); for authorized-user
// credentials, the OAuth client the refresh token was issued to.
func (c *Credentials) ClientID() string { return c.clientID }

// ClientEmail returns a service account's email address (its client_email),
// or "" for authorized-user credentials.
func (c *Credentials) ClientEmail() string { return c.clientEmail }

// TokenURL returns the token endpoint the credentials use: the file's
// token_uri, or [DefaultTokenURL].
func (c *Credentials) TokenURL() string { return c.tokenURL }

// String describes c without any secret, so that printing or logging a
// Credentials is safe.
func (c *Credentials) String() string {
	switch c.typ {
	case TypeServiceAccount:
		return fmt.Sprintf("auth.Credentials{type: %s, client_email: %s}", c.typ, c.clientEmail)
	default:
		return fmt.Sprintf("auth.Credentials{type: %s, client_id: %s}", c.typ, c.clientID)
	}
}

// GoString is like String, so that %#v does not print secrets either.
func (c *Credentials) GoString() string { return c.String() }

// TokenSource returns a token source for subject with the given scopes. The
// tokens are cached and refreshed one minute before they expire. ctx is used
// for every token request the source makes, for as long as it is used; put
// an *http.Client under the [oauth2.HTTPClient] key to choose how the token
// endpoint is reached (it must not be a client that itself adds tokens).
//
// For a service account, subject is the user to impersonate through
// domain-wide delegation; "" means the service account itself. The token is
// obtained with a JWT bearer assertion signed by the account's key
// (golang.org/x/oauth2/jwt), sent to the file's token_uri.
//
// Authorized-user credentials always act as their own user: subject must be
// "" (anything else fails with [ErrSubjectNotSupported]), and scopes are
// ignored because a refresh token keeps the scopes it was granted.
//
// Long-running programs that impersonate many users should use a [Pool],
// which also lets [Transport] force a refresh after a 401.
func (c *Credentials) TokenSource(ctx context.Context, subject string, scopes []string) (oauth2.TokenSource, error) {
	var hc *http.Client
	if v, ok := ctx.Value(oauth2.HTTPClient).(*http.Client); ok {
		hc = v
	}
	f, err := c.fetcher(subject, scopes, hc)
	if err != nil {
		return nil, err
	}
	s := newSource(f, DefaultEarlyExpiry, nil)
	s.subject = subject
	s.hint = remedyHint{serviceAccount: c.clientEmail, clientID: c.clientID, keyID: c.privateKeyID,
		scopes: normalizeScopes(scopes), user: c.typ == TypeAuthorizedUser}
	return s.TokenSource(ctx), nil
}

// fetchFunc obtains a new token on every call; it never caches.
type fetchFunc func(ctx context.Context) (*oauth2.Token, error)

// fetcher returns a function that fetches a fresh token for subject and
// scopes through hc (nil means the client in each call's ctx, or
// http.DefaultClient).
func (c *Credentials) fetcher(subject string, scopes []string, hc *http.Client) (fetchFunc, error) {
	// withClient hands the oauth2 packages hc, with its network failures
	// recorded in failed.
	withClient := func(ctx context.Context, failed *netFailures) context.Context {
		return context.WithValue(ctx, oauth2.HTTPClient, failed.client(hc))
	}
	switch c.typ {
	case TypeServiceAccount:
		if len(scopes) == 0 {
			return nil, errors.New("auth: a service account token needs at least one scope")
		}
		cfg := &jwt.Config{
			Email:        c.clientEmail,
			PrivateKey:   c.privateKey,
			PrivateKeyID: c.privateKeyID,
			Subject:      subject,
			Scopes:       append([]string(nil), scopes...),
			TokenURL:     c.tokenURL,
		}
		return func(ctx context.Context) (*oauth2.Token, error) {
			// A new jwt token source starts empty, so Token always signs a
			// new assertion and asks the endpoint: caching is the caller's.
			var failed netFailures
			tok, err := cfg.TokenSource(withClient(ctx, &failed)).Token()
			return tok, failed.explain(withErrorCode(err))
		}, nil
	case TypeAuthorizedUser:
		if subject != "" {
			return nil, fmt.Errorf("%w (asked for subject %q with authorized_user credentials)", ErrSubjectNotSupported, subject)
		}
		cfg := &oauth2.Config{
			ClientID:     c.clientID,
			ClientSecret: c.clientSecret,
			Endpoint:     oauth2.Endpoint{TokenURL: c.tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		}
		var mu sync.Mutex
		refresh := c.refreshToken
		return func(ctx context.Context) (*oauth2.Token, error) {
			mu.Lock()
			rt := refresh
			mu.Unlock()
			// A token with only a refresh token is expired, so the source
			// refreshes at once.
			var failed netFailures
			tok, err := cfg.TokenSource(withClient(ctx, &failed), &oauth2.Token{RefreshToken: rt}).Token()
			if err != nil {
				return nil, failed.explain(err)
			}
			if tok.RefreshToken != "" && tok.RefreshToken != rt {
				mu.Lock()
				refresh = tok.RefreshToken // the server rotated it
				mu.Unlock()
			}
			return tok, nil
		}, nil
	default:
		return nil, fmt.Errorf("auth: unsupported credentials type %q", c.typ)
	}
}

// withErrorCode fills in the "error", "error_description" and "error_uri"
// of a token endpoint's JSON refusal when the oauth2 package that read it
// did not (golang.org/x/oauth2/jwt keeps only the body).
func withErrorCode(err error) error {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "" {
		return err
	}
	var body struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		ErrorURI         string `json:"error_uri"`
	}
	if json.Unmarshal(re.Body, &body) == nil {
		re.ErrorCode, re.ErrorDescription, re.ErrorURI = body.Error, body.ErrorDescription, body.ErrorURI
	}
	return err
}

// The oauth2 packages flatten a network failure on the way to the token
// endpoint into text ("oauth2: cannot fetch token: %v"), which hides
// whether it was a refused connection or a reset. netFailures keeps the
// original error so that callers (the retry layer) can tell a failure of
// the network or of the endpoint, worth another try, from credentials the
// endpoint refused.

// netFailures holds the last network failure of one token fetch.
type netFailures struct {
	mu  sync.Mutex
	err error
}

// client returns a copy of hc (http.DefaultClient when nil) whose
// transport records its failures in n. (The oauth2 packages do not give
// their requests a context to carry n in.)
func (n *netFailures) client(hc *http.Client) *http.Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	cp := *hc
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cp.Transport = &failureRecorder{base: base, n: n}
	return &cp
}

func (n *netFailures) set(err error) {
	n.mu.Lock()
	n.err = err
	n.mu.Unlock()
}

// explain returns err, or, when a network failure was seen, an error with
// err's text that unwraps to that failure.
func (n *netFailures) explain(err error) error {
	if err == nil {
		return nil
	}
	n.mu.Lock()
	cause := n.err
	n.mu.Unlock()
	if cause == nil || errors.Is(err, cause) {
		return err
	}
	return &netError{text: err.Error(), cause: cause}
}

type netError struct {
	text  string
	cause error
}

func (e *netError) Error() string { return e.text }
func (e *netError) Unwrap() error { return e.cause }

// failureRecorder records the failures of its base transport, and of
// reading the answers' bodies, in n.
type failureRecorder struct {
	base http.RoundTripper
	n    *netFailures
}

func (f *failureRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	n := f.n
	resp, err := f.base.RoundTrip(req)
	if err != nil {
		n.set(&url.Error{Op: urlOp(req.Method), URL: req.URL.Redacted(), Err: err})
		return resp, err
	}
	resp.Body = &recordedBody{ReadCloser: resp.Body, n: n, url: req.URL.Redacted()}
	return resp, nil
}

type recordedBody struct {
	io.ReadCloser
	n   *netFailures
	url string
}

func (b *recordedBody) Read(p []byte) (int, error) {
	k, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		b.n.set(&url.Error{Op: "Read", URL: b.url, Err: err})
	}
	return k, err
}

func urlOp(method string) string {
	if method == "" {
		return "Get"
	}
	return method[:1] + strings.ToLower(method[1:])
}
