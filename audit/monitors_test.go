package audit

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/workspacetest"
)

func TestMonitorsCreateListUpdateDelete(t *testing.T) {
	e := newEnv(t)
	e.srv.AddUser("amal@example.com")
	e.srv.AddUser("izumi@example.com")
	ctx := t.Context()
	tokyo := time.FixedZone("JST", 9*3600)
	day := start.Truncate(24 * time.Hour)
	m, err := e.a.Monitors.Create(ctx, "Amal@Example.com", &Monitor{
		Destination: "izumi",
		Begin:       day.Add(24 * time.Hour).In(tokyo), // 00:00 UTC tomorrow
		End:         day.Add(28*24*time.Hour + 23*time.Hour + 20*time.Minute + 59*time.Second).In(tokyo),
		Incoming:    HeaderOnly,
		Draft:       FullMessage,
		Chat:        None,
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Destination != "izumi" || m.Source != "amal" || !m.Begin.Equal(day.Add(24*time.Hour)) {
		t.Errorf("created = %+v", m)
	}
	got := e.srv.AuditMonitors("amal")
	want := []workspacetest.AuditMonitor{{Source: "amal", Destination: "izumi", RequestID: got[0].RequestID,
		Begin: day.Add(24 * time.Hour), End: day.Add(28*24*time.Hour + 23*time.Hour + 20*time.Minute),
		Incoming: "HEADER_ONLY", Outgoing: "FULL_MESSAGE", Draft: "FULL_MESSAGE", Chat: ""}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("server state (-want +got):\n%s", d)
	}

	// Update: the same pair, last write wins.
	if _, err := e.a.Monitors.Create(ctx, "amal", &Monitor{Destination: "izumi@example.com", End: start.Add(48 * time.Hour), Chat: FullMessage}); err != nil {
		t.Fatal(err)
	}
	list, err := e.a.Monitors.List(ctx, "amal")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Chat != FullMessage || list[0].Incoming != FullMessage || list[0].RequestID == "" || !list[0].End.Equal(start.Add(48*time.Hour)) {
		t.Errorf("list after update = %+v", list[0])
	}
	if err := e.a.Monitors.Delete(ctx, "amal", "izumi"); err != nil {
		t.Fatal(err)
	}
	if list, err := e.a.Monitors.List(ctx, "amal"); err != nil || len(list) != 0 {
		t.Errorf("after delete: %v %v", list, err)
	}
	err = e.a.Monitors.Delete(ctx, "amal", "izumi")
	var we *workspace.Error
	if !errors.Is(err, workspace.ErrNotFound) || !errors.As(err, &we) || we.GDataCode != 1301 {
		t.Errorf("second delete: %v", err)
	}
	// A destination without a mailbox: the server's 403 EntityDoesNotExist.
	_, err = e.a.Monitors.Create(ctx, "amal", &Monitor{Destination: "ghost", End: start.Add(time.Hour)})
	if !errors.Is(err, workspace.ErrNotFound) {
		t.Errorf("unknown destination: %v", err)
	}
}

func TestMonitorsValidation(t *testing.T) {
	e := newEnv(t)
	e.srv.AddUser("amal@example.com")
	e.srv.AddUser("izumi@example.com")
	later := start.Add(time.Hour)
	tests := []struct {
		name   string
		source string
		m      *Monitor
		field  string
	}{
		{"nil", "amal", nil, "monitor"},
		{"no source", "", &Monitor{Destination: "izumi", End: later}, "source"},
		{"source in another domain", "amal@other.com", &Monitor{Destination: "izumi", End: later}, "source"},
		{"destination in another domain", "amal", &Monitor{Destination: "izumi@other.com", End: later}, "Destination"},
		{"destination with a slash", "amal", &Monitor{Destination: "a/b", End: later}, "Destination"},
		{"no end", "amal", &Monitor{Destination: "izumi"}, "End"},
		{"end before begin", "amal", &Monitor{Destination: "izumi", Begin: later, End: later.Add(-time.Minute)}, "End"},
		{"end equals begin to the minute", "amal", &Monitor{Destination: "izumi", Begin: later, End: later.Add(30 * time.Second)}, "End"},
		{"end in the past", "amal", &Monitor{Destination: "izumi", End: start.Add(-time.Hour)}, "End"},
		{"begin in the past", "amal", &Monitor{Destination: "izumi", Begin: start.Add(-time.Minute), End: later}, "Begin"},
		{"incoming NONE", "amal", &Monitor{Destination: "izumi", End: later, Incoming: None}, "Incoming"},
		{"unknown level", "amal", &Monitor{Destination: "izumi", End: later, Outgoing: "ALL"}, "Outgoing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.sent.n.Load()
			_, err := e.a.Monitors.Create(t.Context(), tt.source, tt.m)
			var ie *workspace.InputError
			if !errors.As(err, &ie) || !errors.Is(err, workspace.ErrInvalidInput) || ie.Field != tt.field {
				t.Fatalf("err = %v, want an InputError on %s", err, tt.field)
			}
			if n := e.sent.n.Load() - before; n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
	if err := e.a.Monitors.Delete(t.Context(), "amal", "x@other.com"); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("delete in another domain: %v", err)
	}
	if _, err := e.a.Monitors.List(t.Context(), ""); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("list without source: %v", err)
	}
}

func TestMonitorsQuota(t *testing.T) {
	e := newEnv(t)
	e.srv.AddUser("amal@example.com")
	e.srv.AddUser("izumi@example.com")
	e.srv.SetAuditQuota(1, 0)
	m := &Monitor{Destination: "izumi", End: start.Add(time.Hour)}
	if _, err := e.a.Monitors.Create(t.Context(), "amal", m); err != nil {
		t.Fatal(err)
	}
	// The server's daily budget is spent: 503, retried, then a throttle.
	_, err := e.a.Monitors.Create(t.Context(), "amal", m)
	var we *workspace.Error
	if !errors.Is(err, workspace.ErrRateLimited) || !errors.As(err, &we) || we.StatusCode != 503 {
		t.Errorf("over quota: %v", err)
	}
}
