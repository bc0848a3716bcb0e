package datatransfer_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/mailsource"
	"github.com/gwsadmin/workspace/mailsource/mailgen"
	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/workspacetest"
)

// Migrate an mbox into a group archive against the fake server. Against
// Google, build the client with WithCredentialsFile and WithSubject instead
// of WithEndpoint.
func ExampleClient_Migrate() {
	srv := workspacetest.NewServer(workspacetest.WithSpeed(100))
	defer srv.Close()
	srv.AddGroup("list@example.com")

	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "list.mbox")
	f, _ := os.Create(src)
	msgs := mailgen.Messages(1, 20)
	mailgen.WriteMbox(f, append(msgs, msgs[3]), mailsource.MboxRD) // one duplicate
	f.Close()

	ctx := context.Background()
	c, err := workspace.NewClient(ctx,
		workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()),
		workspace.WithSubject(srv.AdminEmail()),
		workspace.WithQuota(quota.Unlimited()), // the fake is scaled up; Google's 10/s would be the default
	)
	if err != nil {
		log.Fatal(err)
	}
	report, err := datatransfer.New(c).Migrate(ctx, []migrate.Job{{Source: src, Target: "list@example.com"}}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("inserted:", report.Inserted, "duplicates:", report.Duplicates, "ok:", report.OK())
	fmt.Println("in the archive:", srv.GroupMessageCount("list@example.com"))
	// Output:
	// inserted: 20 duplicates: 1 ok: true
	// in the archive: 20
}

// Insert refuses a message Google would refuse, before sending anything.
func ExampleArchiveService_Insert() {
	srv := workspacetest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	c, err := workspace.NewClient(ctx, workspace.WithEndpoint(srv.URL),
		workspace.WithHTTPClient(srv.Client()), workspace.WithoutAuthentication())
	if err != nil {
		log.Fatal(err)
	}
	err = datatransfer.New(c).Archive.Insert(ctx, "list@example.com", []byte("From: a@example.com\r\nSubject: no date, no recipient\r\n\r\nhi\r\n"))
	fmt.Println(err)
	// Output:
	// datatransfer: archive.insert: invalid To: the To header is missing; Google refuses messages without From, To and Date
}
