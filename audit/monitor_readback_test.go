package audit

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/internal/gdata"
	"github.com/gwsadmin/workspace/quota"
)

// monitorWrites are creates and updates of one (source, destination)
// pair, each with fields left empty.
var monitorWrites = []struct {
	name string
	m    Monitor
}{
	{"create, levels and begin left empty", Monitor{Destination: "izumi", End: start.Add(72 * time.Hour)}},
	{"update, one level and a begin", Monitor{Destination: "izumi@example.com", Begin: start.Add(2 * time.Hour),
		End: start.Add(96 * time.Hour), Outgoing: HeaderOnly}},
	{"update, every level", Monitor{Destination: "izumi", End: start.Add(24 * time.Hour),
		Incoming: HeaderOnly, Outgoing: HeaderOnly, Draft: FullMessage, Chat: HeaderOnly}},
	{"update, chat None", Monitor{Destination: "izumi", End: start.Add(24 * time.Hour), Draft: None, Chat: None}},
}

// ignoreServerFields leaves out what only a list shows.
var ignoreServerFields = cmpopts.IgnoreFields(Monitor{}, "RequestID", "ID", "Updated")

// Create returns the monitor as the server then lists it, after a create
// and after each update, fields left empty included.
func TestMonitorCreateReturnsWhatIsStored(t *testing.T) {
	e := newEnv(t)
	e.srv.AddUser("amal@example.com")
	e.srv.AddUser("izumi@example.com")
	for _, w := range monitorWrites {
		t.Run(w.name, func(t *testing.T) {
			m := w.m
			got, err := e.a.Monitors.Create(t.Context(), "amal", &m)
			if err != nil {
				t.Fatal(err)
			}
			list, err := e.a.Monitors.List(t.Context(), "amal")
			if err != nil || len(list) != 1 {
				t.Fatalf("list: %v, %v", list, err)
			}
			if diff := cmp.Diff(list[0], got, ignoreServerFields); diff != "" {
				t.Errorf("Create returned (-listed +returned):\n%s", diff)
			}
		})
	}
}

// echoServer is a compatible server whose answer to a monitor write
// echoes only the properties it was sent.
func echoServer(t *testing.T) (*httptest.Server, *[]map[string]string) {
	var mu sync.Mutex
	var got []map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/a/feeds/compliance/audit/mail/monitor/example.com/amal" {
			http.Error(w, "unexpected "+r.Method+" "+r.URL.Path, http.StatusBadRequest)
			return
		}
		in, err := gdata.DecodeEntry(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, in.Map())
		mu.Unlock()
		w.Header().Set("Content-Type", "application/atom+xml")
		w.WriteHeader(http.StatusCreated)
		w.Write(gdata.NewEntry(in.Properties...).Encode())
	}))
	t.Cleanup(srv.Close)
	return srv, &got
}

// Against a server that echoes only what it was given, Create still
// returns the whole monitor: dates and levels as the server applies them.
func TestMonitorCreateEchoOnly(t *testing.T) {
	srv, sent := echoServer(t)
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(srv.URL), workspace.WithoutAuthentication(),
		workspace.WithQuota(quota.Unlimited()))
	if err != nil {
		t.Fatal(err)
	}
	a := New(core, "example.com")
	a.now = func() time.Time { return start.Add(30 * time.Second) }
	want := []Monitor{
		{Source: "amal", Destination: "izumi", Begin: start, End: start.Add(72 * time.Hour),
			Incoming: FullMessage, Outgoing: FullMessage, Draft: None},
		{Source: "amal", Destination: "izumi", Begin: start.Add(2 * time.Hour), End: start.Add(96 * time.Hour),
			Incoming: FullMessage, Outgoing: HeaderOnly, Draft: None},
		{Source: "amal", Destination: "izumi", Begin: start, End: start.Add(24 * time.Hour),
			Incoming: HeaderOnly, Outgoing: HeaderOnly, Draft: FullMessage, Chat: HeaderOnly},
		{Source: "amal", Destination: "izumi", Begin: start, End: start.Add(24 * time.Hour),
			Incoming: FullMessage, Outgoing: FullMessage, Draft: None},
	}
	for i, w := range monitorWrites {
		t.Run(w.name, func(t *testing.T) {
			m := w.m
			got, err := a.Monitors.Create(t.Context(), "amal", &m)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&want[i], got, ignoreServerFields); diff != "" {
				t.Errorf("Create returned (-want +got):\n%s\nthe server was sent %v", diff, (*sent)[len(*sent)-1])
			}
		})
	}
	// The echo really was partial: the first write sent no begin date and
	// no level.
	if first := (*sent)[0]; first["beginDate"] != "" || first["incomingEmailMonitorLevel"] != "" {
		t.Errorf("first write sent %v", first)
	}
}
