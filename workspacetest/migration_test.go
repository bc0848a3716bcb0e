package workspacetest_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gwsadmin/workspace/workspacetest"
	"google.golang.org/api/googleapi"
	groupsmigration "google.golang.org/api/groupsmigration/v1"
)

func migrationService(t *testing.T, s *workspacetest.Server) *groupsmigration.Service {
	t.Helper()
	svc, err := groupsmigration.NewService(t.Context(), clientOptions(s)...)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func insert(svc *groupsmigration.Service, group, msg string) (*groupsmigration.Groups, error) {
	return svc.Archive.Insert(group).
		Media(strings.NewReader(msg), googleapi.ContentType("message/rfc822"), googleapi.ChunkSize(0)).
		Do()
}

func TestMigrationInsertSuccess(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddGroup("archive@example.com")
	svc := migrationService(t, s)

	got, err := insert(svc, "archive@example.com", message("m1@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("SUCCESS", got.ResponseCode); diff != "" {
		t.Errorf("responseCode (-want +got):\n%s", diff)
	}
	if got.Kind != "groupsmigration#groups" {
		t.Errorf("kind = %q", got.Kind)
	}
	msgs := s.GroupMessages("archive@example.com")
	if len(msgs) != 1 || msgs[0].MessageID != "<m1@example.com>" || string(msgs[0].Raw) != message("m1@example.com") {
		t.Errorf("stored = %+v", msgs)
	}
}

func TestMigrationInsertInvalid(t *testing.T) {
	t.Parallel()
	s := newServer(t, workspacetest.WithSpeed(1000))
	s.AddGroup("archive@example.com")
	svc := migrationService(t, s)

	tests := []struct {
		name, group, msg string
		wantCode         int
		wantReason       string
	}{
		{"empty", "archive@example.com", "", 400, "invalid"},
		{"no From", "archive@example.com", crlf("To: a@example.com\nDate: Mon, 2 Jan 2006 15:04:05 -0700\n\nx\n"), 400, "invalid"},
		{"no To", "archive@example.com", crlf("From: a@example.com\nDate: Mon, 2 Jan 2006 15:04:05 -0700\n\nx\n"), 400, "invalid"},
		{"no Date", "archive@example.com", crlf("From: a@example.com\nTo: b@example.com\n\nx\n"), 400, "invalid"},
		{"bad Date", "archive@example.com", crlf("From: a@example.com\nTo: b@example.com\nDate: yesterday\n\nx\n"), 400, "invalid"},
		{"bare LF", "archive@example.com", "From: a@example.com\r\nTo: b@example.com\r\nDate: Mon, 2 Jan 2006 15:04:05 -0700\r\n\r\nline\nnext\r\n", 400, "invalid"},
		{"unknown group", "nobody@example.com", message("x@example.com"), 400, "notFound"},
		{"oversize", "archive@example.com", message("big@example.com") + strings.Repeat("a", workspacetest.MaxMessageSize), 400, "uploadTooLarge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := insert(svc, tt.group, tt.msg)
			ge := apiError(t, err)
			got := [2]any{ge.Code, reason(ge)}
			if diff := cmp.Diff([2]any{tt.wantCode, tt.wantReason}, got); diff != "" {
				t.Errorf("code, reason (-want +got):\n%s\nbody: %s", diff, ge.Body)
			}
			if !strings.Contains(ge.Body, `"responseCode":"INVALID MESSAGE FAILURE"`) {
				t.Errorf("body lacks responseCode: %s", ge.Body)
			}
		})
	}
	if n := s.GroupMessageCount("archive@example.com"); n != 0 {
		t.Errorf("stored %d invalid messages", n)
	}
}

func TestMigrationParallelInsert(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddGroup("archive@example.com")
	s.AddGroup("other@example.com")
	svc := migrationService(t, s)

	release := s.HoldGroup("archive@example.com")
	_, err := insert(svc, "archive@example.com", message("p1@example.com"))
	ge := apiError(t, err)
	if ge.Code != 400 || reason(ge) != "unsupportedParallelOperation" || !strings.Contains(ge.Body, `"responseCode":"UNSUPPORTED_PARALLEL_OPERATION"`) {
		t.Errorf("got %d %q %s", ge.Code, reason(ge), ge.Body)
	}
	// Other groups are not blocked.
	if _, err := insert(svc, "other@example.com", message("p2@example.com")); err != nil {
		t.Errorf("insert into another group: %v", err)
	}
	release()
	if _, err := insert(svc, "archive@example.com", message("p1@example.com")); err != nil {
		t.Errorf("insert after release: %v", err)
	}
}

func TestMigrationMediaUploadAndPaths(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddGroup("archive@example.com")
	for i, path := range []string{
		"/upload/groups/v1/groups/archive%40example.com/archive?uploadType=media",
		"/groups/v1/groups/archive@example.com/archive?uploadType=media",
	} {
		resp, err := s.Client().Post(s.URL+path, "message/rfc822", strings.NewReader(message("d@example.com")))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: status %d", path, resp.StatusCode)
		}
		if got := s.GroupMessageCount("archive@example.com"); got != i+1 {
			t.Errorf("count = %d, want %d", got, i+1)
		}
	}
	if diff := cmp.Diff([]string{"<d@example.com>"}, s.Duplicates("archive@example.com")); diff != "" {
		t.Errorf("Duplicates (-want +got):\n%s", diff)
	}
}
