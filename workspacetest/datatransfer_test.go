package workspacetest_test

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gwsadmin/workspace/workspacetest"
	datatransfer "google.golang.org/api/admin/datatransfer/v1"
)

func dataTransferService(t *testing.T, s *workspacetest.Server) *datatransfer.Service {
	t.Helper()
	svc, err := datatransfer.NewService(t.Context(), clientOptions(s)...)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func TestDataTransferApplications(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	svc := dataTransferService(t, s)

	var names []string
	var pages int
	token := ""
	for {
		resp, err := svc.Applications.List().MaxResults(2).PageToken(token).Do()
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, a := range resp.Applications {
			names = append(names, a.Name)
		}
		if token = resp.NextPageToken; token == "" {
			break
		}
	}
	if diff := cmp.Diff([]string{"Drive and Docs", "Calendar", "Looker Studio"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if pages != 2 {
		t.Errorf("pages = %d, want 2", pages)
	}

	tests := []struct {
		id         int64
		wantName   string
		wantParams []*datatransfer.ApplicationTransferParam
	}{
		{55656082996, "Drive and Docs", []*datatransfer.ApplicationTransferParam{{Key: "PRIVACY_LEVEL", Value: []string{"PRIVATE", "SHARED"}}}},
		{435070579839, "Calendar", []*datatransfer.ApplicationTransferParam{{Key: "RELEASE_RESOURCES", Value: []string{"TRUE"}}}},
	}
	for _, tt := range tests {
		a, err := svc.Applications.Get(tt.id).Do()
		if err != nil {
			t.Fatal(err)
		}
		got := struct {
			ID     int64
			Name   string
			Params []*datatransfer.ApplicationTransferParam
		}{a.Id, a.Name, a.TransferParams}
		want := struct {
			ID     int64
			Name   string
			Params []*datatransfer.ApplicationTransferParam
		}{tt.id, tt.wantName, tt.wantParams}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("application %d (-want +got):\n%s", tt.id, diff)
		}
	}
	_, err := svc.Applications.Get(1).Do()
	if ge := apiError(t, err); ge.Code != 404 {
		t.Errorf("unknown app: code %d", ge.Code)
	}
}

func TestDataTransferLifecycle(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)}
	s := newServer(t, workspacetest.WithClock(clock.now), workspacetest.WithTransferTiming(time.Minute, 10*time.Minute))
	oldID := s.AddUser("leaver@example.com")
	newID := s.AddUser("manager@example.com")
	svc := dataTransferService(t, s)

	in := &datatransfer.DataTransfer{
		OldOwnerUserId: oldID,
		NewOwnerUserId: newID,
		ApplicationDataTransfers: []*datatransfer.ApplicationDataTransfer{
			{ApplicationId: 55656082996, ApplicationTransferParams: []*datatransfer.ApplicationTransferParam{{Key: "PRIVACY_LEVEL", Value: []string{"PRIVATE", "SHARED"}}}},
			{ApplicationId: 435070579839},
		},
	}
	created, err := svc.Transfers.Insert(in).Do()
	if err != nil {
		t.Fatal(err)
	}
	if created.Id == "" || created.OverallTransferStatusCode != "new" || created.RequestTime != "2026-04-01T12:00:00Z" {
		t.Errorf("created = %+v", created)
	}

	steps := []struct {
		advance time.Duration
		overall string
		perApp  []string
	}{
		{30 * time.Second, "new", []string{"new", "new"}},
		{time.Minute, "inProgress", []string{"inProgress", "inProgress"}},
		{5 * time.Minute, "inProgress", []string{"completed", "inProgress"}},
		{5 * time.Minute, "completed", []string{"completed", "completed"}},
	}
	for _, st := range steps {
		clock.advance(st.advance)
		got, err := svc.Transfers.Get(created.Id).Do()
		if err != nil {
			t.Fatal(err)
		}
		var perApp []string
		for _, a := range got.ApplicationDataTransfers {
			perApp = append(perApp, a.ApplicationTransferStatus)
		}
		if diff := cmp.Diff(st.perApp, perApp); diff != "" || got.OverallTransferStatusCode != st.overall {
			t.Errorf("after %v: overall %q want %q; per app (-want +got):\n%s", st.advance, got.OverallTransferStatusCode, st.overall, diff)
		}
	}

	// A second transfer, injected to fail, and list filters.
	s.InjectFault("datatransfer", workspacetest.FaultTransferFailed, 1)
	failing, err := svc.Transfers.Insert(&datatransfer.DataTransfer{
		OldOwnerUserId: newID, NewOwnerUserId: oldID,
		ApplicationDataTransfers: []*datatransfer.ApplicationDataTransfer{{ApplicationId: 435070579839}},
	}).Do()
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Hour)
	got, err := svc.Transfers.Get(failing.Id).Do()
	if err != nil {
		t.Fatal(err)
	}
	if got.OverallTransferStatusCode != "failed" {
		t.Errorf("injected failure: status %q", got.OverallTransferStatusCode)
	}

	listTests := []struct {
		name string
		call func() *datatransfer.TransfersListCall
		want []string
	}{
		{"all", func() *datatransfer.TransfersListCall { return svc.Transfers.List() }, []string{created.Id, failing.Id}},
		{"completed", func() *datatransfer.TransfersListCall { return svc.Transfers.List().Status("completed") }, []string{created.Id}},
		{"failed", func() *datatransfer.TransfersListCall { return svc.Transfers.List().Status("failed") }, []string{failing.Id}},
		{"old owner", func() *datatransfer.TransfersListCall { return svc.Transfers.List().OldOwnerUserId(newID) }, []string{failing.Id}},
		{"new owner", func() *datatransfer.TransfersListCall { return svc.Transfers.List().NewOwnerUserId(newID) }, []string{created.Id}},
		{"customer", func() *datatransfer.TransfersListCall { return svc.Transfers.List().CustomerId(s.CustomerID()) }, []string{created.Id, failing.Id}},
	}
	for _, tt := range listTests {
		t.Run(tt.name, func(t *testing.T) {
			var ids []string
			token := ""
			for {
				resp, err := tt.call().MaxResults(1).PageToken(token).Do()
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range resp.DataTransfers {
					ids = append(ids, d.Id)
				}
				if token = resp.NextPageToken; token == "" {
					break
				}
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDataTransferInsertInvalid(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	a, b := s.AddUser("a@example.com"), s.AddUser("b@example.com")
	svc := dataTransferService(t, s)
	drive := []*datatransfer.ApplicationDataTransfer{{ApplicationId: 55656082996}}
	tests := []struct {
		name string
		in   *datatransfer.DataTransfer
	}{
		{"same users", &datatransfer.DataTransfer{OldOwnerUserId: a, NewOwnerUserId: a, ApplicationDataTransfers: drive}},
		{"unknown user", &datatransfer.DataTransfer{OldOwnerUserId: a, NewOwnerUserId: "999", ApplicationDataTransfers: drive}},
		{"email not id", &datatransfer.DataTransfer{OldOwnerUserId: "a@example.com", NewOwnerUserId: b, ApplicationDataTransfers: drive}},
		{"unknown app", &datatransfer.DataTransfer{OldOwnerUserId: a, NewOwnerUserId: b, ApplicationDataTransfers: []*datatransfer.ApplicationDataTransfer{{ApplicationId: 42}}}},
		{"bad param", &datatransfer.DataTransfer{OldOwnerUserId: a, NewOwnerUserId: b, ApplicationDataTransfers: []*datatransfer.ApplicationDataTransfer{
			{ApplicationId: 55656082996, ApplicationTransferParams: []*datatransfer.ApplicationTransferParam{{Key: "PRIVACY_LEVEL", Value: []string{"PUBLIC"}}}}}}},
		{"no apps", &datatransfer.DataTransfer{OldOwnerUserId: a, NewOwnerUserId: b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := svc.Transfers.Insert(tt.in).Do()
			ge := apiError(t, err)
			if diff := cmp.Diff([2]any{400, "invalid"}, [2]any{ge.Code, reason(ge)}); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
