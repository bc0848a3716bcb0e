package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gwsadmin/workspace/auth"
	"golang.org/x/oauth2"
)

func ExampleParseCredentials() {
	data := []byte(`{
		"type": "authorized_user",
		"client_id": "123.apps.googleusercontent.com",
		"client_secret": "not-so-secret",
		"refresh_token": "1//refresh"
	}`)
	creds, err := auth.ParseCredentials(data)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(creds.Type(), creds.TokenURL())

	_, err = auth.ParseCredentials([]byte(`{"type": "service_account", "private_key": "..."}`))
	fmt.Println(err)
	// Output:
	// authorized_user https://oauth2.googleapis.com/token
	// auth: service_account credentials: missing field "client_email"
}

// fakeGoogle starts a token endpoint that accepts any JWT assertion and an
// API that reports whether a request carried a token. A real program talks
// to Google instead.
func fakeGoogle() (tokenURL string, api *httptest.Server, closeAll func()) {
	n := 0
	tokens := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"access-%d","token_type":"Bearer","expires_in":3600}`, n)
	}))
	api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "authorized=%v", strings.HasPrefix(r.Header.Get("Authorization"), "Bearer "))
	}))
	return tokens.URL + "/token", api, func() { tokens.Close(); api.Close() }
}

func serviceAccountKey(tokenURL string) []byte {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		log.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	data, _ := json.Marshal(map[string]string{
		"type":         "service_account",
		"client_email": "migrator@my-project.iam.gserviceaccount.com",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"token_uri":    tokenURL,
	})
	return data
}

// A Pool gives one cached token source per impersonated user; a Transport
// puts its tokens on requests to allowed hosts.
func ExamplePool() {
	tokenURL, api, closeAll := fakeGoogle()
	defer closeAll()

	creds, err := auth.ParseCredentials(serviceAccountKey(tokenURL)) // os.ReadFile("sa.json") in real life
	if err != nil {
		log.Fatal(err)
	}
	base := http.DefaultClient // the client below the auth layer
	pool := &auth.Pool{Credentials: creds, HTTPClient: base}

	for _, user := range []string{"alice@example.com", "bob@example.com"} {
		src, err := pool.Source(user, []string{auth.ScopeGroupsMigration})
		if err != nil {
			log.Fatal(err)
		}
		apiURL, _ := url.Parse(api.URL)
		client := &http.Client{
			Transport: &auth.Transport{
				Base:      base.Transport,
				Source:    src,
				AllowHost: auth.AllowHosts(apiURL.Host), // Google's hosts and the endpoint
			},
			CheckRedirect: auth.RedirectPolicy,
		}
		resp, err := client.Get(api.URL + "/upload/groups/v1/groups/g@example.com/archive")
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(src.Subject(), string(body))
	}
	// Output:
	// alice@example.com authorized=true
	// bob@example.com authorized=true
}

func ExampleFileCache() {
	dir, err := os.MkdirTemp("", "tokens")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	key := make([]byte, auth.KeySize) // or auth.KeyFromEnv("WORKSPACE_TOKEN_CACHE_KEY")
	rand.Read(key)
	cache := &auth.FileCache{Path: filepath.Join(dir, "user.token"), Key: key}

	if _, err := cache.Load(); errors.Is(err, fs.ErrNotExist) {
		fmt.Println("no cached token yet")
	}
	err = cache.Save(&oauth2.Token{AccessToken: "ya29.x", RefreshToken: "1//r", Expiry: time.Now().Add(time.Hour)})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := cache.Load()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("refresh token restored:", tok.RefreshToken != "")

	os.Chmod(cache.Path, 0o644)
	_, err = cache.Load()
	var insecure *auth.InsecureFileError
	fmt.Println("refused world-readable file:", errors.As(err, &insecure))
	// Output:
	// no cached token yet
	// refresh token restored: true
	// refused world-readable file: true
}

// A command-line tool for people without a service account: consent once in
// the browser, then reuse and refresh the token from an encrypted cache.
func ExampleInstalledAppFlow() {
	ctx := context.Background()
	key, err := auth.KeyFromEnv("WORKSPACE_TOKEN_CACHE_KEY")
	if err != nil {
		log.Fatal(err)
	}
	home, _ := os.UserConfigDir()
	cache := &auth.FileCache{Path: filepath.Join(home, "gwsadmin", "token"), Key: key}
	flow := &auth.InstalledAppFlow{
		ClientID:     "123.apps.googleusercontent.com",
		ClientSecret: "from the client's JSON",
		Scopes:       []string{auth.ScopeGmailReadOnly},
	}

	tok, err := cache.Load()
	if errors.Is(err, fs.ErrNotExist) {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		defer cancel()
		if tok, err = flow.Run(ctx); err != nil {
			log.Fatal(err)
		}
		if err := cache.Save(tok); err != nil {
			log.Fatal(err)
		}
	} else if err != nil {
		log.Fatal(err) // insecure or tampered cache: do not use it
	}
	ts := auth.CachedTokenSource(flow.TokenSource(ctx, tok), cache)
	_ = ts // workspace.NewClient(ctx, workspace.WithTokenSource(ts))
}
