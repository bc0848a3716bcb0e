package datatransfer_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/datatransfer"
	"github.com/gwsadmin/workspace/internal/itertest"
	"github.com/gwsadmin/workspace/workspacetest"
)

func TestApplications(t *testing.T) {
	e := newEnv(t, nil)
	var names []string
	for app, err := range e.dt.Applications.All(t.Context(), &workspace.ListOptions{PageSize: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, app.Name)
	}
	if len(names) < 2 {
		t.Fatalf("applications %v", names)
	}
	page, err := e.dt.Applications.List(t.Context(), &workspace.ListOptions{PageSize: 1})
	if err != nil || len(page.Items) != 1 || page.NextPageToken == "" {
		t.Fatalf("first page: %v %+v", err, page)
	}
	next, err := e.dt.Applications.List(t.Context(), &workspace.ListOptions{PageSize: 1, PageToken: page.NextPageToken})
	if err != nil || len(next.Items) != 1 || next.Items[0].Name != names[1] {
		t.Fatalf("second page: %v %+v", err, next)
	}
	drive, err := e.dt.Applications.Get(t.Context(), datatransfer.DriveApplicationID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"PRIVATE", "SHARED"}, drive.Params["PRIVACY_LEVEL"]); diff != "" {
		t.Errorf("Drive params (-want +got):\n%s", diff)
	}
}

// All starts at the first page whatever PageToken says.
func TestAllStartsAtFirstPage(t *testing.T) {
	e := newEnv(t, nil)
	var want []string
	for app, err := range e.dt.Applications.All(t.Context(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, app.Name)
	}
	var got []string
	for app, err := range e.dt.Applications.All(t.Context(), &workspace.ListOptions{PageSize: 1, PageToken: "not-a-token"}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, app.Name)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("All with a PageToken (-want +got):\n%s", diff)
	}
	for _, err := range e.dt.Transfers.All(t.Context(), &datatransfer.TransferListOptions{ListOptions: workspace.ListOptions{PageToken: "not-a-token"}}) {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A page size outside discovery's 1–500 for maxResults is refused before
// any request; 0 (the server's default), 1 and 500 are sent.
func TestPageSizeRange(t *testing.T) {
	e := newEnv(t, nil)
	for _, n := range []int64{-1, 501} {
		lo := workspace.ListOptions{PageSize: n}
		tlo := &datatransfer.TransferListOptions{ListOptions: lo}
		errs := map[string]error{}
		_, errs["Applications.List"] = e.dt.Applications.List(t.Context(), &lo)
		_, errs["Transfers.List"] = e.dt.Transfers.List(t.Context(), tlo)
		errs["Applications.All"] = itertest.OneError(e.dt.Applications.All(t.Context(), &lo))
		errs["Transfers.All"] = itertest.OneError(e.dt.Transfers.All(t.Context(), tlo))
		for m, err := range errs {
			var ie *workspace.InputError
			if !errors.As(err, &ie) || ie.Field != "PageSize" || !errors.Is(err, workspace.ErrInvalidInput) {
				t.Errorf("%s PageSize %d: err = %v, want an *InputError for PageSize", m, n, err)
			}
		}
	}
	if st := e.srv.Stats(); len(st) != 0 {
		t.Errorf("requests reached the server: %+v", st)
	}
	for _, n := range []int64{0, 1, 500} {
		if _, err := e.dt.Applications.List(t.Context(), &workspace.ListOptions{PageSize: n}); err != nil {
			t.Errorf("Applications.List PageSize %d: %v", n, err)
		}
		if _, err := e.dt.Transfers.List(t.Context(), &datatransfer.TransferListOptions{ListOptions: workspace.ListOptions{PageSize: n}}); err != nil {
			t.Errorf("Transfers.List PageSize %d: %v", n, err)
		}
	}
}

func TestTransferLifecycle(t *testing.T) {
	clk := newFakeClock()
	e := newEnvSleep(t, nil, clk.Sleep, workspacetest.WithClock(clk.Now),
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
		Progress: func(t *datatransfer.Transfer, err error) {
			if err != nil {
				seen = append(seen, "error: "+err.Error())
				return
			}
			seen = append(seen, t.Status)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if final.Status != "completed" || seen[0] != "new" || seen[len(seen)-1] != "completed" {
		t.Errorf("final %q, seen %v", final.Status, seen)
	}
	// The default first pause, through the client's sleep.
	if diff := cmp.Diff([]time.Duration{5 * time.Second}, clk.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	page, err := e.dt.Transfers.List(t.Context(), &datatransfer.TransferListOptions{OldOwner: "leaver@example.com"})
	if err != nil || len(page.Items) != 1 || page.Items[0].ID != tr.ID {
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

// The pauses start at Interval and grow by half up to MaxInterval.
func TestTransferWaitPauses(t *testing.T) {
	clk := newFakeClock()
	// Speed 1000: an hour pending and an hour running last 7.2 s.
	e := newEnvSleep(t, nil, clk.Sleep, workspacetest.WithClock(clk.Now),
		workspacetest.WithTransferTiming(time.Hour, time.Hour))
	e.srv.AddUser("a@example.com")
	e.srv.AddUser("b@example.com")
	tr, err := e.dt.Transfers.Insert(t.Context(), &datatransfer.TransferRequest{From: "a@example.com", To: "b@example.com", Drive: &datatransfer.DriveTransfer{}})
	if err != nil {
		t.Fatal(err)
	}
	final, err := e.dt.Transfers.Wait(t.Context(), tr.ID, &datatransfer.WaitOptions{
		WaitOptions: workspace.WaitOptions{Interval: time.Second, MaxInterval: 2 * time.Second}})
	if err != nil || final.Status != "completed" {
		t.Fatalf("Wait = %+v, %v", final, err)
	}
	want := []time.Duration{time.Second, 1500 * time.Millisecond, 2 * time.Second, 2 * time.Second, 2 * time.Second}
	if diff := cmp.Diff(want, clk.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

// A transfer that ends "failed" is a *workspace.OperationError naming the
// applications left behind, returned with the final state.
func TestTransferFailedIsAnOperationError(t *testing.T) {
	clk := newFakeClock()
	e := newEnvSleep(t, nil, clk.Sleep, workspacetest.WithClock(clk.Now))
	e.srv.AddUser("a@example.com")
	e.srv.AddUser("b@example.com")
	e.srv.InjectFault("datatransfer", workspacetest.FaultTransferFailed, 1)
	tr, err := e.dt.Transfers.Insert(t.Context(), &datatransfer.TransferRequest{From: "a@example.com", To: "b@example.com",
		Drive: &datatransfer.DriveTransfer{}, Calendar: &datatransfer.CalendarTransfer{}})
	if err != nil {
		t.Fatal(err)
	}
	final, err := e.dt.Transfers.Wait(t.Context(), tr.ID, nil)
	var oe *workspace.OperationError
	if !errors.As(err, &oe) {
		t.Fatalf("err = %v (%T), want a *workspace.OperationError", err, err)
	}
	want := &workspace.OperationError{API: workspace.APIDataTransfer, Operation: "transfer", ID: tr.ID, Status: "failed",
		Message: "not transferred: Drive and Docs (application 55656082996) failed, Calendar (application 435070579839) failed"}
	if diff := cmp.Diff(want, oe); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	if final == nil || final.ID != tr.ID || final.Status != "failed" || !final.Done() {
		t.Errorf("final state %+v", final)
	}
}

// When Timeout passes, Wait returns the last state read and an error
// matching context.DeadlineExceeded.
func TestTransferWaitTimeout(t *testing.T) {
	clk := newFakeClock()
	e := newEnvSleep(t, nil, clk.Sleep, workspacetest.WithClock(clk.Now),
		workspacetest.WithTransferTiming(1000*time.Hour, time.Hour)) // an hour pending at speed 1000
	e.srv.AddUser("a@example.com")
	e.srv.AddUser("b@example.com")
	tr, err := e.dt.Transfers.Insert(t.Context(), &datatransfer.TransferRequest{From: "a@example.com", To: "b@example.com", Drive: &datatransfer.DriveTransfer{}})
	if err != nil {
		t.Fatal(err)
	}
	polls := 0
	last, err := e.dt.Transfers.Wait(t.Context(), tr.ID, &datatransfer.WaitOptions{
		WaitOptions: workspace.WaitOptions{Timeout: 70 * time.Second},
		Progress:    func(*datatransfer.Transfer, error) { polls++ },
	})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), tr.ID) {
		t.Fatalf("err = %v, want one matching context.DeadlineExceeded", err)
	}
	var oe *workspace.OperationError
	if errors.As(err, &oe) {
		t.Errorf("a timeout is not a failed transfer: %v", err)
	}
	if last == nil || last.ID != tr.ID || last.Status != "new" {
		t.Errorf("last state %+v", last)
	}
	if !strings.Contains(err.Error(), `still "new" after 1m10s (7 polls)`) {
		t.Errorf("timeout error %q does not say what is pending", err)
	}
	// 5 s growing by half, through a sleeper that only records: the sixth
	// pause (38 s) would pass 70 s, so it is cut to end there and a last
	// poll is made.
	want := []time.Duration{5 * time.Second, 7500 * time.Millisecond, 11250 * time.Millisecond,
		16875 * time.Millisecond, 25312500 * time.Microsecond, 4062500 * time.Microsecond}
	if diff := cmp.Diff(want, clk.Waits()); diff != "" || polls != 7 {
		t.Errorf("%d polls, waits (-want +got):\n%s", polls, diff)
	}
}

// A poll that fails with a temporary error (503s outlasting the retries)
// is tried again at the next pause, and the wait goes on; one that fails
// for good ends it at once.
func TestTransferWaitRetriesTemporaryFailure(t *testing.T) {
	clk := newFakeClock()
	e := newEnvSleep(t, nil, clk.Sleep, workspacetest.WithClock(clk.Now),
		workspacetest.WithTransferTiming(time.Minute, time.Minute))
	e.srv.AddUser("a@example.com")
	e.srv.AddUser("b@example.com")
	tr, err := e.dt.Transfers.Insert(t.Context(), &datatransfer.TransferRequest{From: "a@example.com", To: "b@example.com", Drive: &datatransfer.DriveTransfer{}})
	if err != nil {
		t.Fatal(err)
	}
	// 10 consecutive 503s: more than one Get's attempts.
	e.srv.InjectFault("datatransfer", workspacetest.FaultHTTP503, 10)
	var seen []string
	failed := 0
	final, err := e.dt.Transfers.Wait(t.Context(), tr.ID, &datatransfer.WaitOptions{
		Progress: func(tr *datatransfer.Transfer, err error) {
			if err != nil {
				var we *workspace.Error
				if tr != nil || !errors.As(err, &we) || !we.Temporary() {
					t.Errorf("a failed poll gave %+v, %v; want nil and the temporary error", tr, err)
				}
				failed++
				return
			}
			seen = append(seen, tr.Status)
		},
	})
	if err != nil || final.Status != "completed" {
		t.Fatalf("Wait = %+v, %v; want the completed transfer", final, err)
	}
	if len(seen) == 0 || seen[len(seen)-1] != "completed" || failed == 0 {
		t.Errorf("Progress saw %v and %d failed polls; want the failed poll too", seen, failed)
	}
	var long []time.Duration
	for _, w := range clk.Waits() {
		if w >= time.Second { // the retry layer's pauses are 1 ms
			long = append(long, w)
		}
	}
	if len(long) == 0 || long[0] != 5*time.Second {
		t.Errorf("Wait's pauses %v: the failed poll was not tried again after the first pause", long)
	}
	// All 10 faults were served to Wait's polls: at least one poll failed
	// after all its attempts, and the wait went on.
	if n := len(e.srv.FaultLog()); n != 10 {
		t.Errorf("%d faults served, want 10", n)
	}

	// An unknown transfer is not temporary: no pause. Progress sees that
	// last, failed poll too.
	before := len(clk.Waits())
	var lastErr error
	last, err := e.dt.Transfers.Wait(t.Context(), "no-such-transfer", &datatransfer.WaitOptions{
		Progress: func(_ *datatransfer.Transfer, err error) { lastErr = err },
	})
	if !errors.Is(err, workspace.ErrNotFound) || last != nil || len(clk.Waits()) != before || lastErr != err {
		t.Errorf("Wait on an unknown transfer = %+v, %v after %d pauses; Progress saw %v", last, err, len(clk.Waits())-before, lastErr)
	}
}

// Negative durations are refused before any request; an Interval above
// MaxInterval raises MaxInterval to it.
func TestTransferWaitOptions(t *testing.T) {
	clk := newFakeClock()
	e := newEnvSleep(t, nil, clk.Sleep, workspacetest.WithClock(clk.Now),
		workspacetest.WithTransferTiming(time.Hour, time.Hour))
	for _, tc := range []struct {
		w     workspace.WaitOptions
		field string
	}{
		{workspace.WaitOptions{Interval: -1}, "Interval"},
		{workspace.WaitOptions{MaxInterval: -time.Second}, "MaxInterval"},
		{workspace.WaitOptions{Timeout: -time.Minute}, "Timeout"},
	} {
		var ie *workspace.InputError
		last, err := e.dt.Transfers.Wait(t.Context(), "123", &datatransfer.WaitOptions{WaitOptions: tc.w})
		if last != nil || !errors.As(err, &ie) || ie.Field != tc.field || ie.Op != "datatransfer: Transfers.Wait" {
			t.Errorf("%+v: %+v, %v; want an *InputError on %s", tc.w, last, err, tc.field)
		}
	}
	if st := e.srv.Stats(); len(st) != 0 {
		t.Errorf("requests reached the server: %+v", st)
	}
	e.srv.AddUser("a@example.com")
	e.srv.AddUser("b@example.com")
	tr, err := e.dt.Transfers.Insert(t.Context(), &datatransfer.TransferRequest{From: "a@example.com", To: "b@example.com", Drive: &datatransfer.DriveTransfer{}})
	if err != nil {
		t.Fatal(err)
	}
	// Speed 1000: two hours of the fake's time last 7.2 s.
	if _, err := e.dt.Transfers.Wait(t.Context(), tr.ID, &datatransfer.WaitOptions{
		WaitOptions: workspace.WaitOptions{Interval: 3 * time.Second, MaxInterval: time.Second}}); err != nil {
		t.Fatal(err)
	}
	if w := clk.Waits(); len(w) != 3 || w[0] != 3*time.Second || w[1] != 3*time.Second || w[2] != 3*time.Second {
		t.Errorf("waits %v, want 3 s each", w)
	}
}

// When ctx ends, Wait returns the last state read and ctx's error.
func TestTransferWaitCanceled(t *testing.T) {
	clk := newFakeClock()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sleeps := 0
	e := newEnvSleep(t, nil, func(c context.Context, d time.Duration) error {
		if sleeps++; sleeps == 2 {
			cancel()
		}
		return clk.Sleep(c, d)
	}, workspacetest.WithClock(clk.Now), workspacetest.WithTransferTiming(1000*time.Hour, time.Hour))
	e.srv.AddUser("a@example.com")
	e.srv.AddUser("b@example.com")
	tr, err := e.dt.Transfers.Insert(ctx, &datatransfer.TransferRequest{From: "a@example.com", To: "b@example.com", Drive: &datatransfer.DriveTransfer{}})
	if err != nil {
		t.Fatal(err)
	}
	last, err := e.dt.Transfers.Wait(ctx, tr.ID, &datatransfer.WaitOptions{WaitOptions: workspace.WaitOptions{Timeout: time.Hour}})
	if err != context.Canceled {
		t.Fatalf("err = %v, want context.Canceled itself", err)
	}
	if last == nil || last.Status != "new" {
		t.Errorf("last state %+v", last)
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
	var ie *workspace.InputError
	if _, err := e.dt.Transfers.Wait(t.Context(), "", nil); !errors.As(err, &ie) || ie.Op != "datatransfer: Transfers.Wait" || ie.Field != "id" {
		t.Errorf("Wait with no id: %v, want an *InputError of datatransfer: Transfers.Wait on id", err)
	}
	if _, err := e.dt.Users.ID(t.Context(), "ghost@example.com"); !errors.Is(err, workspace.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
}
