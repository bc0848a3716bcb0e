package workspacetest_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gwsadmin/workspace/workspacetest"
	"google.golang.org/api/googleapi"
)

func TestFaultPlanIsReproducible(t *testing.T) {
	t.Parallel()
	plan := workspacetest.FaultPlan{
		Seed:  42,
		Rate:  0.3,
		Kinds: []workspacetest.FaultKind{workspacetest.FaultHTTP500, workspacetest.FaultHTTP503, workspacetest.FaultHTTP429, workspacetest.FaultSlowReply},
		APIs:  []string{"datatransfer"},
	}
	run := func() ([]workspacetest.FaultEvent, []int) {
		s := newServer(t, workspacetest.WithFaults(plan), workspacetest.WithSpeed(1000))
		var codes []int
		for range 30 {
			resp, err := s.Client().Get(s.URL + "/admin/datatransfer/v1/applications")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			codes = append(codes, resp.StatusCode)
			if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
		}
		// Directory requests are outside the plan.
		resp, err := s.Client().Get(s.URL + "/admin/directory/v1/users/admin@example.com")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return s.FaultLog(), codes
	}
	log1, codes1 := run()
	log2, codes2 := run()
	if len(log1) == 0 {
		t.Fatal("no faults injected at rate 0.3")
	}
	if diff := cmp.Diff(log1, log2); diff != "" {
		t.Errorf("fault logs differ (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(codes1, codes2); diff != "" {
		t.Errorf("status codes differ (-first +second):\n%s", diff)
	}
	for _, e := range log1 {
		if e.API != "datatransfer" {
			t.Errorf("fault outside the plan's APIs: %+v", e)
		}
	}
}

func TestInjectedConnectionFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind       workspacetest.FaultKind
		wantStored int
	}{
		{workspacetest.FaultResetBeforeBody, 0},
		{workspacetest.FaultResetAfterProcessing, 1},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			t.Parallel()
			s := newServer(t, workspacetest.WithSpeed(100))
			s.AddGroup("archive@example.com")
			svc := migrationService(t, s)
			s.InjectFault("groupsmigration", tt.kind, 1)
			_, err := insert(svc, "archive@example.com", message("r@example.com"))
			if err == nil {
				t.Fatal("insert succeeded through a connection reset")
			}
			if got := s.GroupMessageCount("archive@example.com"); got != tt.wantStored {
				t.Errorf("stored %d, want %d (err %v)", got, tt.wantStored, err)
			}
			// The next insert goes through; after a reset after processing
			// the archive now holds a duplicate.
			if _, err := insert(svc, "archive@example.com", message("r@example.com")); err != nil {
				t.Fatal(err)
			}
			wantDups := []string(nil)
			if tt.wantStored == 1 {
				wantDups = []string{"<r@example.com>"}
			}
			if diff := cmp.Diff(wantDups, s.Duplicates("archive@example.com")); diff != "" {
				t.Errorf("Duplicates (-want +got):\n%s", diff)
			}
			if got := s.Stats()["groupsmigration"].Faults[tt.kind]; got != 1 {
				t.Errorf("fault count %d", got)
			}
		})
	}
}

func TestInjectedHTTPFaults(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddGroup("archive@example.com")
	svc := migrationService(t, s)
	tests := []struct {
		kind     workspacetest.FaultKind
		wantCode int
	}{
		{workspacetest.FaultHTTP500, 500},
		{workspacetest.FaultHTTP502, 502},
		{workspacetest.FaultHTTP503, 503},
		{workspacetest.FaultHTTP504, 504},
		{workspacetest.FaultHTTP429, 429},
		{workspacetest.FaultTokenExpiry, 401},
	}
	for _, tt := range tests {
		s.InjectFault("groupsmigration", tt.kind, 1)
		_, err := insert(svc, "archive@example.com", message("h@example.com"))
		if ge := apiError(t, err); ge.Code != tt.wantCode {
			t.Errorf("%s: code %d, want %d", tt.kind, ge.Code, tt.wantCode)
		}
	}
	// After the token-expiry fault, Client gets a new token.
	if _, err := insert(svc, "archive@example.com", message("h@example.com")); err != nil {
		t.Errorf("after faults: %v", err)
	}
	if got := s.GroupMessageCount("archive@example.com"); got != 1 {
		t.Errorf("stored %d, want 1", got)
	}
}

// TestStoredUnreadableReply shows FaultStoredUnreadableReply on
// archive.insert: the message is stored, the client gets a 200 whose body
// ends early, so Google's client reports an error that is not a
// *googleapi.Error, and a retry stores a duplicate.
func TestStoredUnreadableReply(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddGroup("archive@example.com")
	svc := migrationService(t, s)

	s.InjectFault("groupsmigration", workspacetest.FaultStoredUnreadableReply, 1)
	_, err := insert(svc, "archive@example.com", message("u@example.com"))
	var ge *googleapi.Error
	if err == nil || errors.As(err, &ge) {
		t.Fatalf("insert error = %v (%T), want a body read error", err, err)
	}
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("error %v does not wrap io.ErrUnexpectedEOF", err)
	}
	if got := s.GroupMessageCount("archive@example.com"); got != 1 {
		t.Fatalf("stored %d, want 1", got)
	}
	if _, err := insert(svc, "archive@example.com", message("u@example.com")); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"<u@example.com>"}, s.Duplicates("archive@example.com")); diff != "" {
		t.Errorf("Duplicates (-want +got):\n%s", diff)
	}

	// On the wire: status 200 and JSON headers, then half a body.
	s.InjectFault("groupsmigration", workspacetest.FaultStoredUnreadableReply, 1)
	resp, err := s.Client().Post(s.URL+"/upload/groups/v1/groups/archive@example.com/archive?uploadType=media",
		"message/rfc822", strings.NewReader(message("w@example.com")))
	if err != nil {
		t.Fatal(err)
	}
	b, rerr := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if !errors.Is(rerr, io.ErrUnexpectedEOF) || len(b) == 0 || json.Valid(b) {
		t.Errorf("read %q, err %v; want part of a JSON body and io.ErrUnexpectedEOF", b, rerr)
	}
	if got := s.GroupMessageCount("archive@example.com"); got != 3 {
		t.Errorf("stored %d, want 3", got)
	}
	// The server counts a request after its handler returns, which may be
	// just after the client saw the connection close.
	deadline := time.Now().Add(5 * time.Second)
	st := s.Stats()["groupsmigration"]
	for (st.Faults[workspacetest.FaultStoredUnreadableReply] != 2 || st.Accepted != 3) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
		st = s.Stats()["groupsmigration"]
	}
	if st.Faults[workspacetest.FaultStoredUnreadableReply] != 2 || st.Accepted != 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestResetAfterProcessingStoresWholeMessage shows that
// FaultResetAfterProcessing on archive.insert stores the complete message,
// in media and multipart uploads, before the connection is dropped.
func TestResetAfterProcessingStoresWholeMessage(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.AddGroup("archive@example.com")
	svc := migrationService(t, s)
	big := message("big@example.com") + strings.Repeat("0123456789abcdef\r\n", 1<<16) // about 1.2 MB

	s.InjectFault("groupsmigration", workspacetest.FaultResetAfterProcessing, 2)
	if _, err := insert(svc, "archive@example.com", big); err == nil {
		t.Error("multipart insert succeeded through a reset")
	}
	resp, err := s.Client().Post(s.URL+"/upload/groups/v1/groups/archive@example.com/archive?uploadType=media",
		"message/rfc822", strings.NewReader(big))
	if err == nil {
		resp.Body.Close()
		t.Error("media insert succeeded through a reset")
	}
	msgs := s.GroupMessages("archive@example.com")
	if len(msgs) != 2 {
		t.Fatalf("stored %d, want 2", len(msgs))
	}
	for _, m := range msgs {
		if string(m.Raw) != big {
			t.Errorf("stored %d bytes, want %d", len(m.Raw), len(big))
		}
	}
}

// TestDefaultFaultKindsLeaveOutOptIns shows that a plan without Kinds
// never draws the opt-in kinds, so seeded plans draw as before they were
// added.
func TestDefaultFaultKindsLeaveOutOptIns(t *testing.T) {
	t.Parallel()
	s := newServer(t, workspacetest.WithSpeed(1000), workspacetest.WithFaults(workspacetest.FaultPlan{
		Seed: 7, Rate: 1, APIs: []string{"datatransfer"},
	}))
	for range 200 {
		resp, err := s.Client().Get(s.URL + "/admin/datatransfer/v1/applications")
		if err == nil {
			resp.Body.Close()
		}
	}
	seen := map[workspacetest.FaultKind]bool{}
	for _, e := range s.FaultLog() {
		seen[e.Kind] = true
	}
	for _, k := range []workspacetest.FaultKind{workspacetest.FaultStoredUnreadableReply, workspacetest.FaultTransferFailed} {
		if seen[k] {
			t.Errorf("default plan drew %s", k)
		}
	}
	if len(seen) < 5 {
		t.Errorf("only %d kinds drawn in 200 faults: %v", len(seen), seen)
	}
}
