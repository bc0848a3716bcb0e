package gmail_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/gmail"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/workspacetest"
)

// TestIterators: messages, threads, labels and history iterate over every
// page with query, label and fields options.
func TestIterators(t *testing.T) {
	e := newEnv(t, nil)
	ids := e.seed(12)
	ctx := t.Context()
	count := func(name string, seq func(func(any, error) bool)) int {
		n := 0
		for _, err := range seq {
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			n++
		}
		return n
	}
	msgs := count("messages", func(y func(any, error) bool) {
		for m, err := range e.g.Messages.All(ctx, e.user, &gmail.MessageListOptions{ListOptions: workspace.ListOptions{PageSize: 5}, LabelIDs: []string{"INBOX"}, Fields: "messages(id)"}) {
			if !y(m, err) {
				return
			}
		}
	})
	if msgs != 12 {
		t.Errorf("messages = %d, want 12 over 3 pages", msgs)
	}
	q := count("query", func(y func(any, error) bool) {
		for m, err := range e.g.Messages.All(ctx, e.user, &gmail.MessageListOptions{Query: `subject:"message 3"`}) {
			if !y(m, err) {
				return
			}
		}
	})
	if q != 1 {
		t.Errorf("query matched %d, want 1", q)
	}
	th := count("threads", func(y func(any, error) bool) {
		for th, err := range e.g.Threads.All(ctx, e.user, &gmail.ThreadListOptions{ListOptions: workspace.ListOptions{PageSize: 5}}) {
			if !y(th, err) {
				return
			}
		}
	})
	if th != 12 {
		t.Errorf("threads = %d, want 12", th)
	}
	var names []string
	for l, err := range e.g.Labels.All(ctx, e.user, &gmail.LabelListOptions{Fields: "labels(id,name)"}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, l.Name)
	}
	if len(names) == 0 {
		t.Error("no labels")
	}
	prof, err := e.g.Profile(ctx, e.user)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.g.Messages.ModifyMany(ctx, e.user, []gmail.Modification{{ID: ids[0], AddLabelIDs: []string{"STARRED"}},
		{ID: ids[1], RemoveLabelIDs: []string{"INBOX"}}}, nil); err != nil {
		t.Fatal(err)
	}
	h := count("history", func(y func(any, error) bool) {
		for h, err := range e.g.History.All(ctx, e.user, prof.HistoryId, &gmail.HistoryListOptions{ListOptions: workspace.ListOptions{PageSize: 1}}) {
			if !y(h, err) {
				return
			}
		}
	})
	if h != 2 {
		t.Errorf("history records = %d, want 2 (one page each)", h)
	}
	e.srv.ExpireGmailHistory(e.user)
	for _, err := range e.g.History.All(ctx, e.user, prof.HistoryId, nil) {
		if !errors.Is(err, workspace.ErrNotFound) {
			t.Errorf("stale history: err = %v, want ErrNotFound", err)
		}
	}
	if _, err := e.g.Messages.List(ctx, "me", nil); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("user me: err = %v, want ErrInvalidInput before any request", err)
	}
}

// TestBatchPacedNoRejections: with a limiter set to the fake's per-user
// quota, 600 gets in batches of 100, 3 batches in flight, spend the
// quota without one part refused by the server and without exceeding the
// fake's per-user concurrency cap.
func TestBatchPacedNoRejections(t *testing.T) {
	const speed = 50.0
	lim, err := quota.New(quota.WithRules(
		quota.Rate("gmail.user.rate", "gmail", quota.PerUser, 15000*speed, time.Minute).Units()))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, lim, workspacetest.WithSpeed(speed))
	// The fake's clock is the test's: let it follow real time for pacing.
	e.srv.SetTimeNowFunc(time.Now)
	e.srv.SetGmailConfig(workspacetest.GmailConfig{MaxConcurrentPerUser: 3})
	ids := e.seed(600)
	msgs, err := e.g.Messages.GetMany(t.Context(), e.user, ids, &gmail.GetOptions{Format: "minimal",
		Batch: &gmail.BatchOptions{Size: 100, Parallel: 3}})
	if err != nil {
		t.Fatal(err)
	}
	if msgs[599] == nil || msgs[599].Id != ids[599] {
		t.Errorf("last message = %v", msgs[599])
	}
	st := e.g.BatchStats()
	if st.Requests != 6 || st.Throttled != 0 || st.Retried != 0 {
		t.Errorf("BatchStats = %+v, want 6 requests and no throttle", st)
	}
	if rej := e.srv.Stats()["gmail"].Rejected; len(rej) != 0 {
		t.Errorf("server rejected %v", rej)
	}
}

func Example() {
	srv := workspacetest.NewServer()
	defer srv.Close()
	user := "alice@" + srv.Domain()
	srv.AddUser(user)
	for i := range 3 {
		srv.AddGmailMessage(user, fmt.Appendf(nil, "From: bob@example.org\r\nSubject: hello %d\r\n\r\nhi\r\n", i), "INBOX")
	}
	ctx := context.Background()
	c, err := workspace.NewClient(ctx, workspace.WithEndpoint(srv.URL),
		workspace.WithCredentialsJSON(srv.ServiceAccountKey()), workspace.WithSubject(srv.AdminEmail()))
	if err != nil {
		panic(err)
	}
	g := gmail.New(c)
	res, err := g.Sync(ctx, user, gmail.NewMemoryStore(), nil)
	if err != nil {
		panic(err)
	}
	fmt.Println("full:", res.Full, "messages:", res.Messages, "units:", res.Units(quota.GmailLegacy))
	// Output: full: true messages: 3 units: 21
}
