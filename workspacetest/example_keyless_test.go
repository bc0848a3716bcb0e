package workspacetest_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"strings"

	"github.com/gwsadmin/workspace/workspacetest"
	"golang.org/x/oauth2"
	directory "google.golang.org/api/admin/directory/v1"
	"google.golang.org/api/impersonate"
	"google.golang.org/api/option"
)

// Keyless domain-wide delegation: the caller's own credentials ask IAM
// Credentials signJwt to sign the delegation JWT, then the token endpoint
// exchanges it. Google's impersonate package has fixed endpoints, so its
// HTTP client goes through GoogleTransport.
func ExampleServer_GrantTokenCreator() {
	srv := workspacetest.NewServer()
	defer srv.Close()
	srv.DeleteServiceAccountKey() // no key file anywhere
	srv.SetDelegatedScopes(srv.ServiceAccountClientID(),
		"https://www.googleapis.com/auth/admin.directory.user.readonly")

	ctx := context.Background()
	caller := &http.Client{Transport: &oauth2.Transport{
		Source: oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.CallerToken("ops@example.com")}),
		Base:   srv.GoogleTransport(nil),
	}}
	ts, err := impersonate.CredentialsTokenSource(ctx, impersonate.CredentialsConfig{
		TargetPrincipal: srv.ServiceAccountEmail(),
		Subject:         srv.AdminEmail(),
		Scopes:          []string{"https://www.googleapis.com/auth/admin.directory.user.readonly"},
	}, option.WithHTTPClient(caller))
	if err != nil {
		log.Fatal(err)
	}
	_, err = ts.Token()
	fmt.Println(strings.Contains(fmt.Sprint(err), "iam.serviceAccounts.signJwt"))

	srv.GrantTokenCreator("user:ops@example.com", srv.ServiceAccountEmail())
	ts, _ = impersonate.CredentialsTokenSource(ctx, impersonate.CredentialsConfig{
		TargetPrincipal: srv.ServiceAccountEmail(),
		Subject:         srv.AdminEmail(),
		Scopes:          []string{"https://www.googleapis.com/auth/admin.directory.user.readonly"},
	}, option.WithHTTPClient(caller))
	svc, err := directory.NewService(ctx, option.WithEndpoint(srv.URL+"/"), option.WithTokenSource(ts))
	if err != nil {
		log.Fatal(err)
	}
	u, err := svc.Users.Get(srv.AdminEmail()).Do()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u.PrimaryEmail, u.IsAdmin)
	// Output:
	// true
	// admin@example.com true
}
