package datatransfer_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/workspacetest"
)

func TestApplications(t *testing.T) {
	e := newEnv(t, nil)
	var names []string
	for app, err := range e.dt.Applications.All(t.Context(), &datatransfer.ListOptions{PageSize: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, app.Name)
	}
	if len(names) < 2 {
		t.Fatalf("applications %v", names)
	}
	drive, err := e.dt.Applications.Get(t.Context(), datatransfer.DriveApplicationID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"PRIVATE", "SHARED"}, drive.Params["PRIVACY_LEVEL"]); diff != "" {
		t.Errorf("Drive params (-want +got):\n%s", diff)
	}
	if _, err := e.dt.Applications.List(t.Context(), &datatransfer.ListOptions{PageSize: 501}); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("PageSize 501: %v", err)
	}
}

func TestTransferLifecycle(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	e := newEnv(t, nil, workspacetest.WithClock(func() time.Time { return clock() }),
		workspacetest.WithTransferTiming(time.Minute, time.Minute))
	e.srv.AddUser("leaver@example.com")
	e.srv.AddUser("manager@example.com")

	tr, err := e.dt.Transfers.Insert(t.Context(), &datatransfer.TransferRequest{
		From: "leaver@example.com", To: "manager@example.com",
		Drive:    &datatransfer.DriveTransfer{PrivacyLevels: []datatransfer.PrivacyLevel{datatransfer.PrivacyPrivate}},
		Calendar: &datatransfer.CalendarTransfer{ReleaseResources: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	if tr.OldOwnerID != e.srv.UserID("leaver@example.com") || tr.NewOwnerID != e.srv.UserID("manager@example.com") {
		t.Errorf("owner ids %+v", tr)
	}
	if len(tr.Apps) != 2 || tr.Apps[1].Params["RELEASE_RESOURCES"][0] != "TRUE" {
		t.Errorf("apps %+v", tr.Apps)
	}
	var seen []string
	final, err := e.dt.Transfers.Wait(t.Context(), tr.ID, &datatransfer.WaitOptions{
		Sleep: func(ctx context.Context, d time.Duration) error {
			now = now.Add(d) // the fake's clock moves instead of us sleeping
			return nil
		},
		Progress: func(t *datatransfer.Transfer) { seen = append(seen, t.Status) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != "completed" || seen[0] != "new" {
		t.Errorf("final %q, seen %v", final.Status, seen)
	}
	page, err := e.dt.Transfers.List(t.Context(), &datatransfer.TransferListOptions{OldOwner: "leaver@example.com"})
	if err != nil || len(page.Transfers) != 1 || page.Transfers[0].ID != tr.ID {
		t.Errorf("list: %v %+v", err, page)
	}
	n := 0
	for _, err := range e.dt.Transfers.All(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 1 {
		t.Errorf("All yielded %d", n)
	}
}

func TestTransferFailedIsAnError(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	e := newEnv(t, nil, workspacetest.WithClock(func() time.Time { return now }))
	e.srv.AddUser("a@example.com")
	e.srv.AddUser("b@example.com")
	e.srv.InjectFault("datatransfer", workspacetest.FaultTransferFailed, 1)
	tr, err := e.dt.Transfers.Insert(t.Context(), &datatransfer.TransferRequest{From: "a@example.com", To: "b@example.com", Drive: &datatransfer.DriveTransfer{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.dt.Transfers.Wait(t.Context(), tr.ID, &datatransfer.WaitOptions{Sleep: func(ctx context.Context, d time.Duration) error {
		now = now.Add(d)
		return nil
	}})
	if err == nil {
		t.Fatal("failed transfer returned no error")
	}
}

func TestTransferValidation(t *testing.T) {
	e := newEnv(t, nil)
	e.srv.AddUser("a@example.com")
	for _, req := range []*datatransfer.TransferRequest{
		nil,
		{From: "a@example.com", To: "a@example.com", Drive: &datatransfer.DriveTransfer{}},
		{From: "a@example.com", To: "b@example.com"},
		{From: "a@example.com", To: "b@example.com", Drive: &datatransfer.DriveTransfer{PrivacyLevels: []datatransfer.PrivacyLevel{"PUBLIC"}}},
		{From: "not an id", To: "b@example.com", Drive: &datatransfer.DriveTransfer{}},
	} {
		if _, err := e.dt.Transfers.Insert(t.Context(), req); !errors.Is(err, workspace.ErrInvalidInput) {
			t.Errorf("Insert(%+v) = %v, want ErrInvalidInput", req, err)
		}
	}
	if _, err := e.dt.Users.ID(t.Context(), "ghost@example.com"); !errors.Is(err, workspace.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
}
