package gmail_test

import (
	"path/filepath"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace/gmail"
	"github.com/gwsadmin/workspace/gmail/boltstore"
)

// liveIDs returns the sorted ids of the user's messages outside spam and
// trash, as the fake holds them.
func (e *env) liveIDs() []string {
	var out []string
	for _, m := range e.srv.GmailMessages(e.user) {
		if slices.Contains(m.LabelIDs, "TRASH") || slices.Contains(m.LabelIDs, "SPAM") {
			continue
		}
		out = append(out, m.ID)
	}
	sort.Strings(out)
	return out
}

func storedIDs(t *testing.T, st gmail.Store, user string) []string {
	t.Helper()
	msgs, err := st.Messages(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, m.ID)
	}
	sort.Strings(out)
	return out
}

// TestSync5000: a full sync of 5,000 messages (through the fake's per-user
// quota, so some batch parts are throttled and retried), then changes
// (3 added, 1 deleted, 1 trashed, 1 starred), then an incremental sync:
// the stored set equals the mailbox each time and the result names each
// change.
func TestSync5000(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 messages")
	}
	e := newEnv(t, nil)
	ids := e.seed(5000)
	st := gmail.NewMemoryStore()
	opts := &gmail.SyncOptions{Batch: e.batchOpts(0)}
	res, err := e.g.Sync(t.Context(), e.user, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Full || res.Reason != "first sync" || res.Messages != 5000 || len(res.Added) != 5000 {
		t.Fatalf("first sync: full=%v reason=%q messages=%d added=%d", res.Full, res.Reason, res.Messages, len(res.Added))
	}
	if diff := cmp.Diff(e.liveIDs(), storedIDs(t, st, e.user)); diff != "" {
		t.Fatalf("stored set after full sync (-mailbox +stored):\n%s", diff)
	}
	if got := res.Calls["users.messages.list"]; got != 10 {
		t.Errorf("messages.list pages = %d, want 10", got)
	}
	t.Logf("batch stats after full sync: %+v", e.g.BatchStats())
	if e.g.BatchStats().Throttled == 0 {
		t.Log("no part was throttled: the fake's quota did not bite")
	}
	m, _ := st.Message(t.Context(), e.user, ids[7])
	if m == nil || m.Headers["Subject"] != "message 7" || m.ThreadID == "" {
		t.Errorf("stored metadata of message 7 = %+v", m)
	}

	var added []string
	for i := range 3 {
		added = append(added, e.srv.AddGmailMessage(e.user, mail(9000+i), "INBOX"))
	}
	// The changes come later: the fake's per-user minute (spent by the
	// full sync on its clock) has passed.
	e.clock.Advance(2 * time.Minute)
	ctx := t.Context()
	if err := e.g.Messages.Delete(ctx, e.user, ids[0]); err != nil {
		t.Fatal(err)
	}
	if err := e.g.Messages.Trash(ctx, e.user, ids[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := e.g.Messages.Modify(ctx, e.user, ids[2], []string{"STARRED"}, nil); err != nil {
		t.Fatal(err)
	}
	res, err = e.g.Sync(ctx, e.user, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(added)
	want := &gmail.SyncResult{User: e.user, HistoryID: e.srv.GmailHistoryID(e.user), Added: added,
		Changed: []string{ids[2]}, Deleted: sorted(ids[0], ids[1]), Messages: 5001}
	if diff := cmp.Diff(want, res, cmpSync); diff != "" {
		t.Errorf("incremental sync (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(e.liveIDs(), storedIDs(t, st, e.user)); diff != "" {
		t.Errorf("stored set after incremental sync (-mailbox +stored):\n%s", diff)
	}
	if res.Calls["users.messages.get"] != 5 || res.Calls["users.history.list"] != 1 {
		t.Errorf("incremental calls = %v, want 5 gets (3 added, starred, trashed) and 1 history page", res.Calls)
	}
}

var cmpSync = cmp.FilterPath(func(p cmp.Path) bool {
	return p.Last().String() == ".Calls"
}, cmp.Ignore())

func sorted(s ...string) []string { sort.Strings(s); return s }

// TestSyncStaleHistory: when Gmail has forgotten the stored history id
// (404), Sync falls back to a full sync and still reports the changes.
func TestSyncStaleHistory(t *testing.T) {
	e := newEnv(t, nil)
	ids := e.seed(20)
	st := gmail.NewMemoryStore()
	if _, err := e.g.Sync(t.Context(), e.user, st, nil); err != nil {
		t.Fatal(err)
	}
	if err := e.g.Messages.Trash(t.Context(), e.user, ids[3]); err != nil {
		t.Fatal(err)
	}
	n := e.srv.AddGmailMessage(e.user, mail(100), "INBOX")
	e.srv.ExpireGmailHistory(e.user)
	res, err := e.g.Sync(t.Context(), e.user, st, &gmail.SyncOptions{Batch: e.batchOpts(0)})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Full || res.Reason != "history id expired" {
		t.Fatalf("full=%v reason=%q, want a full sync because the history id expired", res.Full, res.Reason)
	}
	if diff := cmp.Diff([]string{n}, res.Added); diff != "" {
		t.Errorf("Added (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{ids[3]}, res.Deleted); diff != "" {
		t.Errorf("Deleted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(e.liveIDs(), storedIDs(t, st, e.user)); diff != "" {
		t.Errorf("stored set (-mailbox +stored):\n%s", diff)
	}
	if res.Calls["users.history.list"] != 1 {
		t.Errorf("calls = %v, want the failed history.list counted", res.Calls)
	}
}

// TestSyncBoltResumes: the bbolt store keeps the history id across a
// close and reopen, so the next sync is incremental.
func TestSyncBoltResumes(t *testing.T) {
	e := newEnv(t, nil)
	e.seed(30)
	path := filepath.Join(t.TempDir(), "sync.db")
	st, err := boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.g.Sync(t.Context(), e.user, st, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	n := e.srv.AddGmailMessage(e.user, mail(500), "INBOX")
	st, err = boltstore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	res, err := e.g.Sync(t.Context(), e.user, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Full || !slices.Equal(res.Added, []string{n}) || res.Messages != 31 {
		t.Errorf("after reopen: full=%v added=%v messages=%d, want incremental with one added of 31", res.Full, res.Added, res.Messages)
	}
	if diff := cmp.Diff(e.liveIDs(), storedIDs(t, st, e.user)); diff != "" {
		t.Errorf("stored set (-mailbox +stored):\n%s", diff)
	}
}
