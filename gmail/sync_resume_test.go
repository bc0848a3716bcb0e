package gmail_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/auth"
	"github.com/gwsadmin/workspace/gmail"
	"github.com/gwsadmin/workspace/gmail/boltstore"
	"github.com/gwsadmin/workspace/quota"
	"github.com/gwsadmin/workspace/workspacetest"
)

// resumeStore is a CheckpointStore under test; reopen simulates a
// restart of the program between two runs (the bbolt file is closed and
// opened again; a MemoryStore lives on, as in a rerun in one process).
type resumeStore struct {
	gmail.CheckpointStore
	reopen func(t *testing.T) gmail.CheckpointStore
}

func resumeStores(t *testing.T) map[string]func(t *testing.T) *resumeStore {
	return map[string]func(t *testing.T) *resumeStore{
		"memory": func(t *testing.T) *resumeStore {
			st := gmail.NewMemoryStore()
			return &resumeStore{CheckpointStore: st, reopen: func(*testing.T) gmail.CheckpointStore { return st }}
		},
		"bolt": func(t *testing.T) *resumeStore {
			path := filepath.Join(t.TempDir(), "sync.db")
			st, err := boltstore.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			cur := st
			t.Cleanup(func() { cur.Close() })
			return &resumeStore{CheckpointStore: st, reopen: func(t *testing.T) gmail.CheckpointStore {
				if err := cur.Close(); err != nil {
					t.Fatal(err)
				}
				next, err := boltstore.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				cur = next
				return next
			}}
		},
	}
}

// snapshot is what a store holds for a user, comparable with cmp.Diff.
type snapshot struct {
	HistoryID uint64
	Messages  []*gmail.MessageMeta
}

func snap(t *testing.T, st gmail.Store, user string) snapshot {
	t.Helper()
	hid, err := st.HistoryID(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := st.Messages(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(msgs, func(i, j int) bool { return msgs[i].ID < msgs[j].ID })
	return snapshot{hid, msgs}
}

// cleanSync is the store an uninterrupted full sync of the mailbox as it
// is now gives.
func (e *env) cleanSync(t *testing.T, opts *gmail.SyncOptions) snapshot {
	t.Helper()
	st := gmail.NewMemoryStore()
	if _, err := e.g.FullSync(t.Context(), e.user, st, opts); err != nil {
		t.Fatal(err)
	}
	return snap(t, st, e.user)
}

func checkpointOf(t *testing.T, st gmail.CheckpointStore, user string) *gmail.Checkpoint {
	t.Helper()
	cp, err := st.Checkpoint(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// units returns the quota units the fake charged to the user so far.
func (e *env) units() int64 { return e.srv.GmailUnits(e.user) }

// getUnits is the cost of n messages.get, plus the history.list that
// checks the checkpoint's history id, under the fake's (legacy) regime.
func getUnits(n int) int64 {
	get, _ := quota.GmailCost(quota.GmailLegacy, "users.messages.get")
	hist, _ := quota.GmailCost(quota.GmailLegacy, "users.history.list")
	return get*int64(n) + hist
}

// TestFullSyncResume: a full sync of 1,200 messages (3 pages, 3
// checkpoints of 500 fetched) stops after its first checkpoint of fetched
// messages, by a cancelled context or by six messages.get that keep
// failing with 500; the rerun (after the program restarts, for bbolt)
// fetches only the messages not fetched yet, stores the history id read
// at the start of the first attempt, leaves no checkpoint, and ends with
// the store an uninterrupted full sync gives.
func TestFullSyncResume(t *testing.T) {
	for name, open := range resumeStores(t) {
		for _, stop := range []string{"cancel", "server errors"} {
			t.Run(name+"/"+stop, func(t *testing.T) {
				e := newEnv(t, nil)
				e.seed(1200)
				h0 := e.srv.GmailHistoryID(e.user)
				st := open(t)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				// After the first 500 messages, the context is cancelled,
				// or the first six messages.get of the next chunk fail
				// with 500 on each of their 6 attempts (6 faults queued
				// for the first round and before each retry round).
				var faulting bool
				inject := func() { e.srv.InjectFault("gmail", workspacetest.FaultHTTP500, 6) }
				e.beforeSleep = func() {
					if faulting {
						inject()
					}
				}
				opts := &gmail.SyncOptions{Batch: e.batchOpts(0), Progress: func(done, total int) {
					if done != 500 {
						return
					}
					if stop == "cancel" {
						cancel()
						return
					}
					faulting = true
					inject()
				}}
				_, err := e.g.FullSync(ctx, e.user, st, opts)
				wantFetched := 500
				switch stop {
				case "cancel":
					if !errors.Is(err, context.Canceled) {
						t.Fatalf("interrupted sync: err = %v, want context.Canceled", err)
					}
				default:
					var we *workspace.Error
					if !errors.As(err, &we) || we.StatusCode != 500 {
						t.Fatalf("interrupted sync: err = %v, want the 500 of a message that kept failing", err)
					}
					wantFetched = 1000 - 6 // the chunk's other messages were kept
				}
				if got := snap(t, st, e.user); got.HistoryID != 0 || len(got.Messages) != 0 {
					t.Fatalf("store after the interrupted sync: history id %d, %d messages; want it untouched", got.HistoryID, len(got.Messages))
				}
				cp := checkpointOf(t, st, e.user)
				if cp == nil || len(cp.IDs) != 1200 || len(cp.Messages) != wantFetched {
					t.Fatalf("checkpoint = %v ids, %v messages; want 1200 and %d", lenIDs(cp), lenMsgs(cp), wantFetched)
				}

				rerun := st.reopen(t)
				before := e.units()
				faulting, opts.Progress = false, nil
				res, err := e.g.FullSync(t.Context(), e.user, rerun, opts)
				if err != nil {
					t.Fatal(err)
				}
				remaining := 1200 - wantFetched
				if !res.Resumed || res.ResumedMessages != wantFetched || res.Messages != 1200 || len(res.Added) != 1200 {
					t.Errorf("rerun: resumed=%v resumedMessages=%d messages=%d added=%d; want resumed with %d, 1200 messages added",
						res.Resumed, res.ResumedMessages, res.Messages, len(res.Added), wantFetched)
				}
				wantCalls := map[string]int{"users.messages.get": remaining, "users.history.list": 1}
				if diff := cmp.Diff(wantCalls, res.Calls); diff != "" {
					t.Errorf("rerun calls (-want +got):\n%s", diff)
				}
				if got, want := e.units()-before, getUnits(remaining); got != want {
					t.Errorf("rerun cost the fake %d units, want %d (%d messages.get and one history.list)", got, want, remaining)
				}
				if res.HistoryID != h0 {
					t.Errorf("rerun history id = %d, want %d, read at the start of the first attempt", res.HistoryID, h0)
				}
				if cp := checkpointOf(t, rerun, e.user); cp != nil {
					t.Errorf("checkpoint left after the completed sync: %d ids, %d messages", len(cp.IDs), len(cp.Messages))
				}
				if diff := cmp.Diff(e.cleanSync(t, nil), snap(t, rerun, e.user)); diff != "" {
					t.Errorf("store after resume (-uninterrupted +resumed):\n%s", diff)
				}
			})
		}
	}
}

func lenIDs(cp *gmail.Checkpoint) any {
	if cp == nil {
		return "no checkpoint:"
	}
	return len(cp.IDs)
}

func lenMsgs(cp *gmail.Checkpoint) any {
	if cp == nil {
		return "-"
	}
	return len(cp.Messages)
}

// TestFullSyncResumeAfterChanges: between the interrupted attempt and the
// rerun, messages change. A message listed but not fetched yet that was
// deleted is dropped (not an error); messages fetched before the stop and
// then deleted, trashed or relabelled, and messages added, are caught by
// the next incremental sync, which starts from the history id of the
// first attempt: after it the store equals an uninterrupted full sync.
func TestFullSyncResumeAfterChanges(t *testing.T) {
	for name, open := range resumeStores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.seed(1200)
			h0 := e.srv.GmailHistoryID(e.user)
			st := open(t)
			opts := interruptFullSync(t, e, st, 500)
			cp := checkpointOf(t, st, e.user)
			fetched := map[string]bool{}
			for _, m := range cp.Messages {
				fetched[m.ID] = true
			}
			var done, todo []string
			for _, id := range cp.IDs {
				if fetched[id] {
					done = append(done, id)
				} else {
					todo = append(todo, id)
				}
			}
			c := t.Context()
			for _, id := range []string{todo[0], done[0]} {
				if err := e.g.Messages.Delete(c, e.user, id); err != nil {
					t.Fatal(err)
				}
			}
			if err := e.g.Messages.Trash(c, e.user, done[1]); err != nil {
				t.Fatal(err)
			}
			if _, err := e.g.Messages.Modify(c, e.user, done[2], []string{"STARRED"}, nil); err != nil {
				t.Fatal(err)
			}
			added := e.srv.AddGmailMessage(e.user, mail(5000), "INBOX")

			rerun := st.reopen(t)
			res, err := e.g.FullSync(c, e.user, rerun, opts)
			if err != nil {
				t.Fatalf("rerun: %v", err)
			}
			if !res.Resumed || res.ResumedMessages != 500 || res.Calls["users.messages.get"] != 700 {
				t.Errorf("rerun: resumed=%v resumedMessages=%d gets=%d, want resumed with 500 and 700 gets (one gone)",
					res.Resumed, res.ResumedMessages, res.Calls["users.messages.get"])
			}
			if h := e.srv.GmailHistoryID(e.user); res.HistoryID != h0 || h0 >= h {
				t.Errorf("rerun stored history id %d, want %d (the first attempt's start), before the changes (now %d)", res.HistoryID, h0, h)
			}
			if m, _ := rerun.Message(c, e.user, todo[0]); m != nil {
				t.Errorf("message %s, deleted before it was fetched, is stored", todo[0])
			}
			res, err = e.g.Sync(c, e.user, rerun, opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Full {
				t.Fatalf("sync after the resumed full sync was a full one (%s)", res.Reason)
			}
			want := &gmail.SyncResult{User: e.user, HistoryID: e.srv.GmailHistoryID(e.user), Added: []string{added},
				Changed: []string{done[2]}, Deleted: sorted(done[0], done[1]), Messages: 1198}
			if diff := cmp.Diff(want, res, cmpSync); diff != "" {
				t.Errorf("incremental sync after the resumed one (-want +got):\n%s", diff)
			}
			clean := e.cleanSync(t, nil)
			clean.HistoryID = e.srv.GmailHistoryID(e.user)
			if diff := cmp.Diff(clean, snap(t, rerun, e.user)); diff != "" {
				t.Errorf("store (-uninterrupted +resumed and synced):\n%s", diff)
			}
		})
	}
}

// stopListing cancels the sync when it asks for the page after pages
// pages of messages.list.
func (e *env) stopListing(cancel context.CancelFunc, pages int) {
	var mu sync.Mutex
	n := 0
	e.onRequest(func(r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/messages") || r.Method != http.MethodGet {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if n++; n > pages {
			cancel()
		}
	})
}

// TestFullSyncResumeListing: a sync stopped during the listing goes on
// from the stored page token; when Gmail refuses that token (400, as
// after it expired), the listing starts over from the first page and the
// sync still completes with the store of an uninterrupted one.
func TestFullSyncResumeListing(t *testing.T) {
	for name, open := range resumeStores(t) {
		for _, expired := range []bool{false, true} {
			sub := name + "/token valid"
			if expired {
				sub = name + "/token expired"
			}
			t.Run(sub, func(t *testing.T) {
				e := newEnv(t, nil)
				e.seed(1200)
				h0 := e.srv.GmailHistoryID(e.user)
				st := open(t)
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				e.stopListing(cancel, 1)
				if _, err := e.g.FullSync(ctx, e.user, st, nil); !errors.Is(err, context.Canceled) {
					t.Fatalf("interrupted sync: err = %v, want context.Canceled", err)
				}
				cp := checkpointOf(t, st, e.user)
				if cp == nil || len(cp.IDs) != 500 || len(cp.Messages) != 0 {
					t.Fatalf("checkpoint = %v ids, %v messages; want the first page's 500 ids", lenIDs(cp), lenMsgs(cp))
				}
				var refused []string
				e.onRequest(func(r *http.Request) {
					q := r.URL.Query()
					if tok := q.Get("pageToken"); expired && tok != "" && len(refused) == 0 {
						refused = append(refused, tok)
						q.Set("pageToken", "expired-"+tok)
						r.URL.RawQuery = q.Encode()
					}
				})
				rerun := st.reopen(t)
				res, err := e.g.FullSync(t.Context(), e.user, rerun, nil)
				if err != nil {
					t.Fatalf("rerun: %v", err)
				}
				lists := 2 // pages 2 and 3
				if expired {
					lists = 1 + 3 // the refused page, then all three
				}
				wantCalls := map[string]int{"users.messages.list": lists, "users.messages.get": 1200, "users.history.list": 1}
				if diff := cmp.Diff(wantCalls, res.Calls); diff != "" {
					t.Errorf("rerun calls (-want +got):\n%s", diff)
				}
				if !res.Resumed || res.ResumedMessages != 0 || res.HistoryID != h0 {
					t.Errorf("rerun: resumed=%v resumedMessages=%d history id %d; want resumed, 0, %d", res.Resumed, res.ResumedMessages, res.HistoryID, h0)
				}
				if diff := cmp.Diff(e.cleanSync(t, nil), snap(t, rerun, e.user)); diff != "" {
					t.Errorf("store after resume (-uninterrupted +resumed):\n%s", diff)
				}
			})
		}
	}
}

// TestFullSyncRelistKeepsFetched: the listing is started over while the
// checkpoint holds fetched messages (a stored page token Gmail refuses):
// those messages are not fetched again, and one no longer listed is not
// kept.
func TestFullSyncRelistKeepsFetched(t *testing.T) {
	e := newEnv(t, nil)
	ids := e.seed(1200)
	st := gmail.NewMemoryStore()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	e.stopListing(cancel, 1)
	if _, err := e.g.FullSync(ctx, e.user, st, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted sync: err = %v, want context.Canceled", err)
	}
	e.onRequest(nil)
	cp := checkpointOf(t, st, e.user)
	// Messages fetched by an earlier attempt: the first 10 listed, and one
	// that will not be listed any more.
	gone := e.srv.AddGmailMessage(e.user, mail(7000), "INBOX")
	g, err := e.g.Messages.Get(t.Context(), e.user, gone, &gmail.GetOptions{Format: "metadata"})
	if err != nil {
		t.Fatal(err)
	}
	var early []*gmail.MessageMeta
	for _, id := range cp.IDs[:10] {
		early = append(early, &gmail.MessageMeta{ID: id, ThreadID: "t-" + id, LabelIDs: []string{"INBOX"}})
	}
	early = append(early, &gmail.MessageMeta{ID: g.Id, ThreadID: g.ThreadId, LabelIDs: []string{"INBOX"}})
	if err := st.SaveCheckpoint(t.Context(), e.user, &gmail.Checkpoint{State: cp.State, Messages: early}); err != nil {
		t.Fatal(err)
	}
	if err := e.g.Messages.Delete(t.Context(), e.user, gone); err != nil {
		t.Fatal(err)
	}
	e.onRequest(func(r *http.Request) {
		q := r.URL.Query()
		if tok := q.Get("pageToken"); tok != "" && !strings.HasPrefix(tok, "x") {
			q.Set("pageToken", "x"+tok)
			r.URL.RawQuery = q.Encode()
			e.onRequest(nil)
		}
	})
	res, err := e.g.FullSync(t.Context(), e.user, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ResumedMessages != 10 || res.Calls["users.messages.get"] != 1190 || res.Calls["users.messages.list"] != 4 {
		t.Errorf("rerun: resumedMessages=%d calls=%v; want 10 resumed, 1190 gets, 4 list pages", res.ResumedMessages, res.Calls)
	}
	if m, _ := st.Message(t.Context(), e.user, ids[len(ids)-1]); m == nil {
		t.Errorf("message %s not stored", ids[len(ids)-1])
	}
	if m, _ := st.Message(t.Context(), e.user, cp.IDs[0]); m == nil || m.ThreadID != "t-"+cp.IDs[0] {
		t.Errorf("message %s = %+v, want the checkpoint's copy (not fetched again)", cp.IDs[0], m)
	}
	if m, _ := st.Message(t.Context(), e.user, gone); m != nil {
		t.Errorf("message %s, fetched by an earlier attempt but no longer listed, is stored", gone)
	}
	if got := storedIDs(t, st, e.user); !slices.Equal(got, e.liveIDs()) {
		t.Errorf("stored %d messages, want the %d of the mailbox", len(got), len(e.liveIDs()))
	}
}

// loggedEnv is e with a gmail client whose core logs to the returned
// buffer.
func (e *env) logged(t *testing.T) (*gmail.Client, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	base := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(base.CloseIdleConnections)
	core, err := workspace.NewClient(t.Context(), workspace.WithEndpoint(e.srv.URL),
		workspace.WithCredentialsJSON(e.srv.ServiceAccountKey()),
		workspace.WithSubject(e.srv.AdminEmail()),
		workspace.WithScopes(auth.ScopeGmailFull),
		workspace.WithHTTPClient(&http.Client{Transport: &wire{next: base}}),
		workspace.WithRetry(fastRetry), workspace.WithQuota(quota.Unlimited()),
		workspace.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	if err != nil {
		t.Fatal(err)
	}
	return gmail.New(core), &buf
}

// TestFullSyncResumeRefused: a checkpoint is not resumed, and the reason
// logged, when the sync options changed (another label, other headers)
// or when Gmail no longer has the history id it started at; the sync
// starts over. Headers that differ only in case and order are the same
// options.
func TestFullSyncResumeRefused(t *testing.T) {
	cases := []struct {
		name   string
		rerun  *gmail.SyncOptions
		expire bool
		log    string // "" when the checkpoint is resumed
	}{
		{"label", &gmail.SyncOptions{LabelID: "INBOX"}, false, "other sync options"},
		{"headers", &gmail.SyncOptions{Headers: []string{"From", "Subject"}}, false, "other sync options"},
		{"spam and trash", &gmail.SyncOptions{IncludeSpamTrash: true}, false, "other sync options"},
		{"history expired", nil, true, "no longer has the history id"},
		{"same headers", &gmail.SyncOptions{Headers: []string{"message-id", "date", "subject", "to", "from"}}, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.seed(700)
			st := gmail.NewMemoryStore()
			interruptFullSync(t, e, st, 500)
			if c.expire {
				e.srv.AddGmailMessage(e.user, mail(800), "INBOX")
				e.srv.ExpireGmailHistory(e.user)
			}
			g, logs := e.logged(t)
			rerun := &gmail.SyncOptions{Batch: e.batchOpts(0)}
			if c.rerun != nil {
				*rerun = *c.rerun
				rerun.Batch = e.batchOpts(0)
			}
			res, err := g.FullSync(t.Context(), e.user, st, rerun)
			if err != nil {
				t.Fatal(err)
			}
			if c.log == "" {
				if !res.Resumed || res.ResumedMessages != 500 || res.Calls["users.messages.get"] != 200 {
					t.Errorf("resumed=%v resumedMessages=%d calls=%v; want resumed with 500", res.Resumed, res.ResumedMessages, res.Calls)
				}
				return
			}
			if res.Resumed || res.ResumedMessages != 0 || res.Calls["users.getProfile"] != 1 || res.Calls["users.messages.get"] != res.Messages {
				t.Errorf("resumed=%v resumedMessages=%d calls=%v; want a sync from the start", res.Resumed, res.ResumedMessages, res.Calls)
			}
			if !strings.Contains(logs.String(), "full sync starts over: ") || !strings.Contains(logs.String(), c.log) {
				t.Errorf("log = %q, want the reason the sync starts over (%q)", logs.String(), c.log)
			}
			if diff := cmp.Diff(e.cleanSync(t, c.rerun), snap(t, st, e.user)); diff != "" {
				t.Errorf("store (-uninterrupted +after restart):\n%s", diff)
			}
		})
	}
}

// TestFullSyncNoCheckpointLeft: a full sync that completes leaves no
// checkpoint, and one after it starts from the beginning.
func TestFullSyncNoCheckpointLeft(t *testing.T) {
	for name, open := range resumeStores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, nil)
			e.seed(30)
			st := open(t)
			for i := range 2 {
				res, err := e.g.FullSync(t.Context(), e.user, st, nil)
				if err != nil {
					t.Fatal(err)
				}
				if res.Resumed || res.Calls["users.messages.get"] != 30 {
					t.Errorf("run %d: resumed=%v calls=%v, want a whole sync", i, res.Resumed, res.Calls)
				}
				if cp := checkpointOf(t, st, e.user); cp != nil {
					t.Errorf("run %d: checkpoint left: %d ids, %d messages", i, len(cp.IDs), len(cp.Messages))
				}
			}
		})
	}
}

// plainStore is a Store that keeps no checkpoint.
type plainStore struct{ gmail.Store }

// TestFullSyncPlainStore: with a Store that is not a CheckpointStore, a
// full sync that stopped starts over, as before checkpoints existed.
func TestFullSyncPlainStore(t *testing.T) {
	e := newEnv(t, nil)
	e.seed(700)
	st := plainStore{gmail.NewMemoryStore()}
	opts := interruptFullSync(t, e, st, 500)
	res, err := e.g.FullSync(t.Context(), e.user, st, opts)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"users.getProfile": 1, "users.messages.list": 2, "users.messages.get": 700}
	if diff := cmp.Diff(want, res.Calls); diff != "" || res.Resumed {
		t.Errorf("rerun: resumed=%v, calls (-want +got):\n%s", res.Resumed, diff)
	}
	if diff := cmp.Diff(e.cleanSync(t, nil), snap(t, st, e.user)); diff != "" {
		t.Errorf("store (-uninterrupted +rerun):\n%s", diff)
	}
}

// interruptFullSync starts a full sync of e's user into st and cancels it
// once n messages are fetched, failing the test unless it ends with
// context.Canceled. It returns the options it used, without Progress, for
// the rerun.
func interruptFullSync(t *testing.T, e *env, st gmail.Store, n int) *gmail.SyncOptions {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	opts := &gmail.SyncOptions{Batch: e.batchOpts(0), Progress: func(done, total int) {
		if done == n {
			cancel()
		}
	}}
	if _, err := e.g.FullSync(ctx, e.user, st, opts); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted sync: err = %v, want context.Canceled", err)
	}
	opts.Progress = nil
	return opts
}
