package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"google.golang.org/api/googleapi"
	iamcredentials "google.golang.org/api/iamcredentials/v1"
	"google.golang.org/api/option"
)

// DefaultIAMCredentialsURL is the base URL of Google's IAM Service Account
// Credentials API, which signs delegation JWTs for [Keyless].
const DefaultIAMCredentialsURL = "https://iamcredentials.googleapis.com/"

// ScopeCloudPlatform is the scope a caller's own token needs to call the
// IAM Credentials API (signJwt).
const ScopeCloudPlatform = "https://www.googleapis.com/auth/cloud-platform"

// jwtBearerGrant is the grant type of a signed JWT exchanged for a token
// (RFC 7523).
const jwtBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// Keyless is domain-wide delegation without a service-account key: the
// delegation JWT (iss the service account, sub the impersonated user,
// scope, aud the token URL, one hour long) is signed by the IAM
// Credentials API's signJwt method for ServiceAccount, with the Caller's
// own token, and then exchanged at TokenURL like a key-signed one. The
// caller (a user's gcloud login, a VM's or Cloud Run's identity, workload
// identity federation) needs roles/iam.serviceAccountTokenCreator on the
// service account, and the IAM Service Account Credentials API must be
// enabled in the caller's project. Set it as [Pool.Keyless]; the Pool then
// caches one token per (subject, scope set) as for a key file.
//
// No key is ever created or held: the private key stays with Google.
type Keyless struct {
	// ServiceAccount is the e-mail of the service account to act as; its
	// client id must be granted the scopes in the Admin console (Security
	// › API controls › Domain-wide delegation).
	ServiceAccount string

	// Caller supplies the caller's own tokens for signJwt calls; it must
	// hold a scope that allows IAM Credentials ([ScopeCloudPlatform]).
	// Required.
	Caller *Source

	// ClientID is the service account's OAuth2 client id (its unique id),
	// named in error remedies when known. Optional.
	ClientID string

	// TokenURL is where signed JWTs are exchanged for tokens and their
	// audience; "" means [DefaultTokenURL].
	TokenURL string

	// IAMCredentialsURL is the base URL of the IAM Credentials API; ""
	// means [DefaultIAMCredentialsURL]. Point it at a test server (such as
	// workspacetest) together with TokenURL.
	IAMCredentialsURL string

	// IAMClient sends the signJwt requests, with the caller's token added
	// below it; nil means the Pool's HTTPClient. The core client uses it to
	// add its User-Agent and quota project headers.
	IAMClient *http.Client

	once sync.Once
	svc  *iamcredentials.Service
	err  error
}

func (k *Keyless) tokenURL() string {
	if k.TokenURL == "" {
		return DefaultTokenURL
	}
	return k.TokenURL
}

func (k *Keyless) check() error {
	if k.ServiceAccount == "" || !strings.Contains(k.ServiceAccount, "@") {
		return fmt.Errorf("auth: Keyless.ServiceAccount %q is not a service account e-mail", k.ServiceAccount)
	}
	if k.Caller == nil {
		return errors.New("auth: Keyless has no Caller token source")
	}
	return nil
}

// service returns the IAM Credentials client, built once. Requests go
// through base, which is wrapped so that they carry the caller's token.
func (k *Keyless) service(base *http.Client) (*iamcredentials.Service, error) {
	k.once.Do(func() {
		if k.IAMClient != nil {
			base = k.IAMClient
		}
		if base == nil {
			base = http.DefaultClient
		}
		endpoint := k.IAMCredentialsURL
		if endpoint == "" {
			endpoint = DefaultIAMCredentialsURL
		}
		if !strings.HasSuffix(endpoint, "/") {
			endpoint += "/"
		}
		u, err := url.Parse(endpoint)
		if err != nil || u.Host == "" {
			k.err = fmt.Errorf("auth: Keyless.IAMCredentialsURL %q is not a URL", k.IAMCredentialsURL)
			return
		}
		host := u.Host
		rt := base.Transport
		if rt == nil {
			rt = http.DefaultTransport
		}
		hc := *base
		hc.Transport = &Transport{Base: rt, Source: k.Caller, AllowHost: func(h string) bool { return strings.EqualFold(h, host) }}
		k.svc, k.err = iamcredentials.NewService(context.Background(), option.WithHTTPClient(&hc), option.WithEndpoint(endpoint))
		if k.err != nil {
			k.err = fmt.Errorf("auth: IAM Credentials client: %w", k.err)
		}
	})
	return k.svc, k.err
}

// delegationClaims is the payload IAM signs.
type delegationClaims struct {
	Iss   string `json:"iss"`
	Sub   string `json:"sub,omitempty"`
	Scope string `json:"scope"`
	Aud   string `json:"aud"`
	Iat   int64  `json:"iat"`
	Exp   int64  `json:"exp"`
}

// fetcher returns a function that signs a new delegation JWT for subject
// and scopes with signJwt and exchanges it; it never caches.
func (k *Keyless) fetcher(subject string, scopes []string, hc *http.Client, now func() time.Time) (fetchFunc, error) {
	if err := k.check(); err != nil {
		return nil, err
	}
	if len(scopes) == 0 {
		return nil, errors.New("auth: a delegated token needs at least one scope")
	}
	if now == nil {
		now = time.Now
	}
	scope := strings.Join(scopes, " ")
	return func(ctx context.Context) (*oauth2.Token, error) {
		svc, err := k.service(hc)
		if err != nil {
			return nil, err
		}
		iat := now()
		payload, err := json.Marshal(delegationClaims{
			Iss: k.ServiceAccount, Sub: subject, Scope: scope, Aud: k.tokenURL(),
			Iat: iat.Unix(), Exp: iat.Add(time.Hour).Unix(),
		})
		if err != nil {
			return nil, err
		}
		name := "projects/-/serviceAccounts/" + k.ServiceAccount
		resp, err := svc.Projects.ServiceAccounts.SignJwt(name, &iamcredentials.SignJwtRequest{Payload: string(payload)}).Context(ctx).Do()
		if err != nil {
			return nil, signError(k.ServiceAccount, err)
		}
		if resp.SignedJwt == "" {
			return nil, fmt.Errorf("auth: signJwt for %s returned no signed JWT", k.ServiceAccount)
		}
		var failed netFailures
		tok, err := exchangeJWT(ctx, failed.client(hc), k.tokenURL(), resp.SignedJwt)
		return tok, failed.explain(err)
	}, nil
}

// SignJWTError is a refusal by the IAM Credentials API to sign a
// delegation JWT. errors.As also finds the *googleapi.Error it wraps and,
// for callers that read token endpoint answers, an *oauth2.RetrieveError
// with the same status (so a 5xx counts as the token endpoint failing,
// worth another try, and a 4xx as credentials refused).
type SignJWTError struct {
	ServiceAccount string
	Err            *googleapi.Error
	retrieve       *oauth2.RetrieveError
}

// Error implements the error interface.
func (e *SignJWTError) Error() string {
	msg := e.Err.Message
	if msg == "" {
		msg = http.StatusText(e.Err.Code)
	}
	return fmt.Sprintf("IAM Credentials signJwt for %s: %d %s", e.ServiceAccount, e.Err.Code, msg)
}

// Unwrap returns the API error and its token-endpoint form.
func (e *SignJWTError) Unwrap() []error { return []error{e.Err, e.retrieve} }

// signError wraps a signJwt failure. Network failures are returned as
// they are, so that the retry layer sees them.
func signError(sa string, err error) error {
	var ge *googleapi.Error
	if !errors.As(err, &ge) {
		return err
	}
	resp := &http.Response{StatusCode: ge.Code, Status: fmt.Sprintf("%d %s", ge.Code, http.StatusText(ge.Code)), Header: ge.Header}
	return &SignJWTError{ServiceAccount: sa, Err: ge, retrieve: &oauth2.RetrieveError{Response: resp, Body: []byte(ge.Body), ErrorCode: statusName(ge), ErrorDescription: ge.Message}}
}

// statusName returns the canonical status Google put in the error body
// (PERMISSION_DENIED...), or "".
func statusName(ge *googleapi.Error) string {
	var body struct {
		Error struct {
			Status string `json:"status"`
		} `json:"error"`
	}
	if json.Unmarshal([]byte(ge.Body), &body) == nil {
		return body.Error.Status
	}
	return ""
}

// exchangeJWT posts a signed JWT to tokenURL (RFC 7523) and returns the
// token, or an *oauth2.RetrieveError carrying the endpoint's "error" and
// "error_description".
func exchangeJWT(ctx context.Context, hc *http.Client, tokenURL, assertion string) (*oauth2.Token, error) {
	form := url.Values{"grant_type": {jwtBearerGrant}, "assertion": {assertion}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("auth: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var tr struct {
		AccessToken      string `json:"access_token"`
		TokenType        string `json:"token_type"`
		ExpiresIn        int64  `json:"expires_in"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
		ErrorURI         string `json:"error_uri"`
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	jsonErr := json.Unmarshal(body, &tr)
	if resp.StatusCode < 200 || resp.StatusCode > 299 || (jsonErr == nil && tr.Error != "") {
		re := &oauth2.RetrieveError{Response: resp, Body: body}
		if jsonErr == nil {
			re.ErrorCode, re.ErrorDescription, re.ErrorURI = tr.Error, tr.ErrorDescription, tr.ErrorURI
		}
		return nil, re
	}
	if jsonErr != nil {
		return nil, fmt.Errorf("auth: token endpoint answered %s that is not JSON", ct)
	}
	if tr.AccessToken == "" {
		return nil, errors.New("token endpoint returned no access token")
	}
	tok := &oauth2.Token{AccessToken: tr.AccessToken, TokenType: tr.TokenType, ExpiresIn: tr.ExpiresIn}
	if tr.ExpiresIn > 0 {
		tok.Expiry = time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	return tok, nil
}
