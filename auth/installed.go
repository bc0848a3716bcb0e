package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"os"
	"time"

	"golang.org/x/oauth2"
)

// Google's OAuth 2.0 endpoints for installed applications.
const (
	DefaultAuthURL = "https://accounts.google.com/o/oauth2/auth"
)

// InstalledAppFlow gets a user's consent in the browser and returns their
// token, for people who have an OAuth client of type "Desktop app" but no
// service account. It follows Google's loopback flow for installed apps:
//
//   - it listens on a loopback address and uses http://127.0.0.1:PORT/ as
//     the redirect URI;
//   - it asks for consent with PKCE (S256 code challenge), offline access
//     (so a refresh token is issued) and a random state;
//   - it accepts only a redirect carrying that state, then exchanges the code
//     together with the PKCE verifier.
//
// Keep the token in a [FileCache] and use it with [InstalledAppFlow.TokenSource]
// and [CachedTokenSource].
type InstalledAppFlow struct {
	// ClientID and ClientSecret identify the OAuth client. (For installed
	// apps the secret is not confidential, but Google requires it.)
	ClientID     string
	ClientSecret string
	// Scopes are the permissions to ask for.
	Scopes []string
	// AuthURL and TokenURL are the authorization and token endpoints;
	// empty means Google's ([DefaultAuthURL], [DefaultTokenURL]).
	AuthURL  string
	TokenURL string
	// OpenBrowser opens url in the user's browser. nil means printing the
	// URL to standard error for the user to open.
	OpenBrowser func(url string) error
	// Listen is the loopback address to receive the redirect on; empty
	// means "127.0.0.1:0" (any free port). Non-loopback addresses are
	// refused.
	Listen string
	// HTTPClient reaches the token endpoint; nil means http.DefaultClient.
	HTTPClient *http.Client
}

func (f *InstalledAppFlow) config(redirectURL string) *oauth2.Config {
	authURL, tokenURL := f.AuthURL, f.TokenURL
	if authURL == "" {
		authURL = DefaultAuthURL
	}
	if tokenURL == "" {
		tokenURL = DefaultTokenURL
	}
	return &oauth2.Config{
		ClientID:     f.ClientID,
		ClientSecret: f.ClientSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL:  redirectURL,
		Scopes:       f.Scopes,
	}
}

func (f *InstalledAppFlow) ctx(ctx context.Context) context.Context {
	if f.HTTPClient != nil {
		return context.WithValue(ctx, oauth2.HTTPClient, f.HTTPClient)
	}
	return ctx
}

// TokenSource returns a token source that refreshes tok (typically from a
// previous Run, loaded from a cache) with this flow's client and token
// endpoint. ctx is used for every refresh.
func (f *InstalledAppFlow) TokenSource(ctx context.Context, tok *oauth2.Token) oauth2.TokenSource {
	return f.config("").TokenSource(f.ctx(ctx), tok)
}

type callbackResult struct {
	code string
	err  error
}

// Run performs the flow: it starts the loopback listener, opens the consent
// page, waits for the redirect (or for ctx to end, which is how to set a
// time limit), and exchanges the code for a token. Redirects with a wrong or
// missing state are answered 400 and ignored, so a forged request can
// neither complete nor abort the flow.
func (f *InstalledAppFlow) Run(ctx context.Context) (*oauth2.Token, error) {
	if f.ClientID == "" {
		return nil, errors.New("auth: InstalledAppFlow needs a ClientID")
	}
	listen := f.Listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("auth: installed-app flow: %w", err)
	}
	defer ln.Close()
	addr, ok := ln.Addr().(*net.TCPAddr)
	if !ok || !addr.IP.IsLoopback() {
		return nil, fmt.Errorf("auth: installed-app flow: %s is not a loopback address", ln.Addr())
	}

	state, err := randomString(32)
	if err != nil {
		return nil, err
	}
	verifier := oauth2.GenerateVerifier()
	cfg := f.config("http://" + addr.String() + "/")
	authURL := cfg.AuthCodeURL(state, oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(verifier))

	results := make(chan callbackResult, 1)
	srv := &http.Server{
		Handler:           callbackHandler(state, results),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go srv.Serve(ln)
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}()

	if f.OpenBrowser != nil {
		if err := f.OpenBrowser(authURL); err != nil {
			return nil, fmt.Errorf("auth: opening the browser: %w", err)
		}
	} else {
		fmt.Fprintf(os.Stderr, "Open this URL in your browser to authorize access:\n\n%s\n\n", authURL)
	}

	var res callbackResult
	select {
	case res = <-results:
	case <-ctx.Done():
		return nil, fmt.Errorf("auth: waiting for authorization: %w", context.Cause(ctx))
	}
	if res.err != nil {
		return nil, res.err
	}
	tok, err := cfg.Exchange(f.ctx(ctx), res.code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, fmt.Errorf("auth: exchanging the authorization code: %w", err)
	}
	return tok, nil
}

// callbackHandler serves the loopback redirect. It delivers at most one
// result: a code, or the authorization server's error, for the right state.
func callbackHandler(state string, results chan<- callbackResult) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(state)) != 1 {
			http.Error(w, "Invalid or missing state. Start the authorization again from the application.", http.StatusBadRequest)
			return
		}
		var res callbackResult
		switch code, e := q.Get("code"), q.Get("error"); {
		case e != "":
			if len(e) > 64 {
				e = e[:64]
			}
			res.err = fmt.Errorf("auth: authorization was refused: %q", e)
		case code == "":
			http.Error(w, "Missing authorization code.", http.StatusBadRequest)
			return
		default:
			res.code = code
		}
		select {
		case results <- res:
		default:
			http.Error(w, "This authorization was already handled.", http.StatusConflict)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		msg := "Authorization complete. You can close this window."
		if res.err != nil {
			msg = "Authorization failed: " + res.err.Error()
		}
		fmt.Fprintf(w, "<!doctype html><title>Authorization</title><p>%s</p>\n", html.EscapeString(msg))
	})
}

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("auth: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
