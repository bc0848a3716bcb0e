package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"cloud.google.com/go/compute/metadata"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// ErrNoDefaultCredentials is returned (wrapped) by [FindDefaultCredentials]
// when none of the places Application Default Credentials are looked for
// holds any.
var ErrNoDefaultCredentials = errors.New("auth: no Application Default Credentials found (set GOOGLE_APPLICATION_CREDENTIALS to a key file, run \"gcloud auth application-default login\", or run on Google Cloud)")

// DefaultCredentials are Application Default Credentials, as
// [FindDefaultCredentials] found them. Exactly one of Credentials and
// TokenSource is set.
type DefaultCredentials struct {
	// Credentials is set for a service-account key or authorized-user
	// file; a service-account key supports domain-wide delegation as a key
	// file does.
	Credentials *Credentials

	// TokenSource is set for every other kind: the metadata server (a
	// VM's, Cloud Run's or GKE's identity), workload identity federation
	// (external_account), impersonated service accounts. It acts as one
	// identity; domain-wide delegation then needs [Keyless].
	TokenSource oauth2.TokenSource

	// Source says where the credentials were found: the file's path, or
	// "metadata server".
	Source string
}

// onGCE reports whether the metadata server is reachable; tests replace
// it so that no test ever probes the real one.
var onGCE = metadata.OnGCE

// FindDefaultCredentials looks for Application Default Credentials where
// Google's libraries do, in order:
//
//  1. the file named by the GOOGLE_APPLICATION_CREDENTIALS environment
//     variable (an error if it cannot be read or parsed);
//  2. gcloud's file, application_default_credentials.json in
//     $CLOUDSDK_CONFIG, or ~/.config/gcloud (%APPDATA%\gcloud on Windows);
//  3. the metadata server, on Google Cloud (GCE_METADATA_HOST overrides
//     its address).
//
// Service-account and authorized-user files are parsed with
// [ParseCredentials]; other file types (external_account,
// impersonated_service_account...) and the metadata server give a token
// source from golang.org/x/oauth2/google for scopes. ctx supplies the
// *http.Client (key [oauth2.HTTPClient]) those token sources use, for as
// long as they are used: do not give a context that ends early. With none
// of the three, the error matches [ErrNoDefaultCredentials].
func FindDefaultCredentials(ctx context.Context, scopes []string) (*DefaultCredentials, error) {
	if name := os.Getenv("GOOGLE_APPLICATION_CREDENTIALS"); name != "" {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("auth: GOOGLE_APPLICATION_CREDENTIALS: %w", err)
		}
		dc, err := defaultFromJSON(ctx, data, scopes, name)
		if err != nil {
			return nil, fmt.Errorf("auth: GOOGLE_APPLICATION_CREDENTIALS=%s: %w", name, err)
		}
		return dc, nil
	}
	if name := gcloudFile(); name != "" {
		data, err := os.ReadFile(name)
		switch {
		case err == nil:
			dc, err := defaultFromJSON(ctx, data, scopes, name)
			if err != nil {
				return nil, fmt.Errorf("auth: %s: %w", name, err)
			}
			return dc, nil
		case !errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("auth: gcloud credentials: %w", err)
		}
	}
	if onGCE() {
		return &DefaultCredentials{TokenSource: google.ComputeTokenSource("", scopes...), Source: "metadata server"}, nil
	}
	return nil, ErrNoDefaultCredentials
}

// gcloudFile returns where gcloud keeps application default credentials.
func gcloudFile() string {
	const f = "application_default_credentials.json"
	if dir := os.Getenv("CLOUDSDK_CONFIG"); dir != "" {
		return filepath.Join(dir, f)
	}
	if runtime.GOOS == "windows" {
		if d := os.Getenv("APPDATA"); d != "" {
			return filepath.Join(d, "gcloud", f)
		}
		return ""
	}
	home := os.Getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return ""
		}
	}
	return filepath.Join(home, ".config", "gcloud", f)
}

// defaultFromJSON parses a credentials file found by ADC.
func defaultFromJSON(ctx context.Context, data []byte, scopes []string, source string) (*DefaultCredentials, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		// ParseCredentials words the error without quoting the input.
		_, perr := ParseCredentials(data)
		return nil, perr
	}
	switch CredentialsType(head.Type) {
	case TypeServiceAccount, TypeAuthorizedUser, "":
		c, err := ParseCredentials(data)
		if err != nil {
			return nil, err
		}
		return &DefaultCredentials{Credentials: c, Source: source}, nil
	}
	gc, err := google.CredentialsFromJSONWithTypeAndParams(ctx, data, google.CredentialsType(head.Type), google.CredentialsParams{Scopes: scopes})
	if err != nil {
		return nil, fmt.Errorf("auth: credentials of type %q: %w", head.Type, err)
	}
	return &DefaultCredentials{TokenSource: gc.TokenSource, Source: source}, nil
}
