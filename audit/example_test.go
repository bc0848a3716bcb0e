package audit_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/audit"
	"github.com/gwsadmin/workspace/workspacetest"
)

func Example_monitors() {
	ctx := context.Background()
	srv := workspacetest.NewServer()
	defer srv.Close()
	srv.AddUser("alice@example.com")
	srv.AddUser("auditor@example.com")
	c, err := workspace.NewClient(ctx, workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()))
	if err != nil {
		log.Fatal(err)
	}
	a := audit.New(c, "example.com")

	_, err = a.Monitors.Create(ctx, "alice", &audit.Monitor{
		Destination: "auditor@example.com", // reduced to the username
		End:         time.Now().Add(30 * 24 * time.Hour),
		Outgoing:    audit.HeaderOnly,
	})
	if err != nil {
		log.Fatal(err)
	}
	ms, err := a.Monitors.List(ctx, "alice")
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range ms {
		fmt.Println(m.Source, "->", m.Destination, m.Incoming, m.Outgoing, m.Draft)
	}
	// Output:
	// alice -> auditor FULL_MESSAGE HEADER_ONLY NONE
}

func Example_exports() {
	ctx := context.Background()
	srv := workspacetest.NewServer()
	defer srv.Close()
	srv.SetExportTiming(time.Second, time.Second)
	srv.AddUser("alice@example.com")
	srv.AddMail("alice@example.com", []byte("From: bob@example.com\r\nSubject: hi\r\n\r\nhello\r\n"))
	c, err := workspace.NewClient(ctx, workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()))
	if err != nil {
		log.Fatal(err)
	}
	a := audit.New(c, "example.com")

	kp, err := audit.GenerateKey("example.com", &audit.KeyOptions{Bits: 2048})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := a.PublicKey.Upload(ctx, kp.Public); err != nil {
		log.Fatal(err)
	}
	x, err := a.Exports.Create(ctx, "alice", nil)
	if err != nil {
		log.Fatal(err)
	}
	x, err = a.Exports.Wait(ctx, "alice", x.RequestID, &audit.WaitOptions{
		WaitOptions: workspace.WaitOptions{Interval: 200 * time.Millisecond},
	})
	if err != nil {
		log.Fatal(err)
	}
	dir, cleanup := tempDir()
	defer cleanup()
	files, err := a.Exports.Download(ctx, x, dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	keys := []*audit.KeyPair{kp}
	res, err := audit.DecryptFile(ctx, dir+"/alice.mbox", files[0].Path, entityList(keys), nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(x.Status, len(files), "file,", res.Messages, "message")
	// Output:
	// COMPLETED 1 file, 1 message
}
