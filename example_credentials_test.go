package workspace_test

import (
	"context"
	"fmt"
	"log"

	"golang.org/x/oauth2"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/core"
	"github.com/gwsadmin/workspace/workspacetest"
)

// Keyless domain-wide delegation: the caller's own identity (here a token
// from the fake; in production Application Default Credentials, such as a
// gcloud login or a VM's identity, when no credentials option is given)
// has IAM Credentials sign the delegation JWT for the service account.
// Against Google, leave out WithEndpoint and WithTokenSource:
//
//	c, err := workspace.NewClient(ctx,
//		workspace.WithServiceAccount("dwd@my-project.iam.gserviceaccount.com"),
//		workspace.WithSubject("admin@example.com"),
//		workspace.WithQuotaProject("my-project"))
func ExampleWithServiceAccount() {
	srv := workspacetest.NewServer()
	defer srv.Close()
	srv.GrantTokenCreator("user:ops@example.org", srv.ServiceAccountEmail())

	ctx := context.Background()
	c, err := workspace.NewClient(ctx,
		workspace.WithEndpoint(srv.URL),
		workspace.WithTokenSource(oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.CallerToken("ops@example.org")})),
		workspace.WithServiceAccount(srv.ServiceAccountEmail()),
		workspace.WithSubject(srv.AdminEmail()),
	)
	if err != nil {
		log.Fatal(err)
	}
	hc, err := c.HTTPClient("", "https://www.googleapis.com/auth/gmail.readonly")
	if err != nil {
		log.Fatal(err)
	}
	resp, err := hc.Get(core.Of(c).BaseURL(workspace.APIGmail) + "gmail/v1/users/me/profile")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	// Output: 200 OK
}
