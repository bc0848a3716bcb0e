package workspacetest_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/gwsadmin/workspace/workspacetest"
	"google.golang.org/api/googleapi"
	groupsmigration "google.golang.org/api/groupsmigration/v1"
	"google.golang.org/api/option"
)

func ExampleNewServer() {
	srv := workspacetest.NewServer(workspacetest.WithSpeed(100))
	defer srv.Close()
	srv.AddGroup("archive@example.com")

	ctx := context.Background()
	svc, err := groupsmigration.NewService(ctx,
		option.WithEndpoint(srv.URL+"/"),
		option.WithHTTPClient(srv.Client()))
	if err != nil {
		log.Fatal(err)
	}
	msg := "From: alice@example.com\r\nTo: archive@example.com\r\n" +
		"Date: Mon, 2 Jan 2006 15:04:05 -0700\r\nMessage-ID: <1@example.com>\r\n" +
		"Subject: hello\r\n\r\nHello, archive.\r\n"
	res, err := svc.Archive.Insert("archive@example.com").
		Media(strings.NewReader(msg), googleapi.ContentType("message/rfc822"), googleapi.ChunkSize(0)).
		Do()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.ResponseCode)
	fmt.Println(srv.GroupMessageCount("archive@example.com"))
	// Output:
	// SUCCESS
	// 1
}
