package migrate_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/migrate"
	"github.com/gwsadmin/workspace/workspacetest"
)

// Migrate a small mbox, with a bounce message and a message without a
// Date, into a group archive of the fake server, with the Repair policy.
func ExampleRun() {
	srv := workspacetest.NewServer(workspacetest.WithSpeed(100))
	defer srv.Close()
	srv.AddGroup("list@example.com")
	ctx := context.Background()
	c, err := workspace.NewClient(ctx, workspace.WithEndpoint(srv.URL),
		workspace.WithHTTPClient(srv.Client()), workspace.WithoutAuthentication())
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "list.mbox")
	mbox := "From alice@example.com Mon Mar  2 09:00:00 2026\n" +
		"From: Alice <alice@example.com>\nTo: list@example.com\nDate: Mon, 2 Mar 2026 09:00:00 +0000\nSubject: hello\n\nhi\n\n" +
		"From MAILER-DAEMON Tue Mar  3 10:00:00 2026\n" +
		"From: Mail Delivery Subsystem <MAILER-DAEMON>\nTo: postmaster\nDate: Tue, 03 Mar 2026 10:00:00 +0000\nSubject: bounce\n\nundeliverable\n\n" +
		"From bob@example.com Wed Mar  4 11:00:00 2026\n" +
		"From: Bob <bob@example.com>\nTo: list@example.com\nSubject: no date\n\nhello\n"
	if err := os.WriteFile(src, []byte(mbox), 0o600); err != nil {
		log.Fatal(err)
	}
	rep, err := migrate.Run(ctx, []migrate.Job{{Source: src, Target: "list@example.com"}},
		datatransfer.New(c).ArchiveSink(), &migrate.Options{Policy: migrate.Repair})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored:", rep.Inserted, "refused:", len(rep.RefusedLocally)+len(rep.RefusedByGoogle))
	for _, it := range rep.Repaired {
		fmt.Printf("message %d: %q\n", it.Index, it.Repairs)
	}
	fmt.Println("in the archive:", srv.GroupMessageCount("list@example.com"))
	// Output:
	// stored: 3 refused: 0
	// message 0: ["line endings converted to CRLF"]
	// message 1: ["line endings converted to CRLF"]
	// message 2: ["line endings converted to CRLF" "Date added from the envelope line"]
	// in the archive: 3
}
