package datatransfer_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

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

// List every transferable application, page by page.
func ExampleApplicationsService_All() {
	srv := workspacetest.NewServer()
	defer srv.Close()
	ctx := context.Background()
	c, err := workspace.NewClient(ctx, workspace.WithEndpoint(srv.URL),
		workspace.WithHTTPClient(srv.Client()), workspace.WithoutAuthentication())
	if err != nil {
		log.Fatal(err)
	}
	for app, err := range datatransfer.New(c).Applications.All(ctx, &workspace.ListOptions{PageSize: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(app.ID, app.Name)
	}
	// Output:
	// 55656082996 Drive and Docs
	// 435070579839 Calendar
	// 810260081642 Looker Studio
}

// Give a departing user's Drive files to their manager and wait until the
// transfer is done. A transfer that ends in failure is a
// *workspace.OperationError.
func ExampleTransfersService_Wait() {
	srv := workspacetest.NewServer(workspacetest.WithTransferTiming(0, 0)) // the fake's transfers finish at once
	defer srv.Close()
	leaver, manager := "leaver@"+srv.Domain(), "manager@"+srv.Domain()
	srv.AddUser(leaver)
	srv.AddUser(manager)
	ctx := context.Background()
	c, err := workspace.NewClient(ctx, workspace.WithEndpoint(srv.URL),
		workspace.WithHTTPClient(srv.Client()), workspace.WithoutAuthentication())
	if err != nil {
		log.Fatal(err)
	}
	dt := datatransfer.New(c)
	tr, err := dt.Transfers.Insert(ctx, &datatransfer.TransferRequest{From: leaver, To: manager, Drive: &datatransfer.DriveTransfer{}})
	if err != nil {
		log.Fatal(err)
	}
	final, err := dt.Transfers.Wait(ctx, tr.ID, &datatransfer.WaitOptions{
		WaitOptions: workspace.WaitOptions{Interval: 10 * time.Second, Timeout: time.Hour},
	})
	var failed *workspace.OperationError
	switch {
	case errors.As(err, &failed):
		fmt.Println("failed:", failed.Message)
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Println("transfer", final.Status)
	}
	// Output:
	// transfer completed
}
