package workspacetest_test

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gwsadmin/workspace/workspacetest"
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
