package auth_test

import (
	"context"
	"fmt"
	"log"

	"golang.org/x/oauth2"

	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/workspacetest"
)

// Keyless domain-wide delegation with the caller's own credentials. Here
// the fake server plays Google; a real program gets the caller's token
// source from Application Default Credentials and leaves TokenURL and
// IAMCredentialsURL empty.
func ExampleKeyless() {
	srv := workspacetest.NewServer()
	defer srv.Close()
	srv.GrantTokenCreator("user:ops@example.org", srv.ServiceAccountEmail())
	// In production: auth.FindDefaultCredentials(ctx, []string{auth.ScopeCloudPlatform}),
	// and its Credentials or TokenSource.
	callerTS := oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.CallerToken("ops@example.org")})

	caller, err := (&auth.Pool{TokenSource: callerTS}).Source("", nil)
	if err != nil {
		log.Fatal(err)
	}
	pool := &auth.Pool{Keyless: &auth.Keyless{
		ServiceAccount:    srv.ServiceAccountEmail(),
		Caller:            caller,
		TokenURL:          srv.TokenURL(),
		IAMCredentialsURL: srv.IAMCredentialsURL(),
	}}
	src, err := pool.Source(srv.AdminEmail(), []string{"https://www.googleapis.com/auth/gmail.readonly"})
	if err != nil {
		log.Fatal(err)
	}
	tok, err := src.Token(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.AccessToken != "", src.Subject())
	// Output: true admin@example.com
}
