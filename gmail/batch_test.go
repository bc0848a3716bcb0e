package gmail_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	gmailapi "google.golang.org/api/gmail/v1"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/gmail"
	"github.com/gwsadmin/workspace/workspacetest"
)

// TestGetManyMixedOutcomes: in one batch, one call is not found, one is
// throttled (429) then succeeds, the rest succeed at once; every call ends
// with the right outcome and the successful ones are not sent again.
func TestGetManyMixedOutcomes(t *testing.T) {
	e := newEnv(t, nil)
	ids := e.seed(10)
	ask := append([]string{"doesnotexist"}, ids...)
	// The fault goes to the first Gmail call the server runs: part 0, a
	// real message, which is throttled first. Part 1 does not exist.
	e.srv.InjectFault("gmail", workspacetest.FaultHTTP429, 1)
	ask[0], ask[1] = ask[1], ask[0]
	msgs, err := e.g.Messages.GetMany(t.Context(), e.user, ask, &gmail.GetOptions{Format: "metadata", Batch: e.batchOpts(50)})
	var be *gmail.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 {
		t.Fatalf("err = %v, want a BatchError with one failure", err)
	}
	if !errors.Is(err, workspace.ErrNotFound) || be.Failed[0].StatusCode != 404 {
		t.Errorf("failure = %v (status %d), want 404 not found", be.Failed[0].Err, be.Failed[0].StatusCode)
	}
	for i, m := range msgs {
		switch {
		case i == 1:
			if m != nil {
				t.Errorf("msgs[1] = %v, want nil for the missing message", m.Id)
			}
		case m == nil || m.Id != ask[i]:
			t.Errorf("msgs[%d] = %v, want message %s", i, m, ask[i])
		}
	}
	st := e.g.BatchStats()
	want := gmail.BatchStats{Requests: 2, Parts: 12, Retried: 1, Throttled: 1, Failed: 1}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("BatchStats (-want +got):\n%s", diff)
	}
	if len(e.sleeps) != 1 {
		t.Errorf("slept %v, want one backoff before the retry round", e.sleeps)
	}
}

// batchRequests counts the outer batch requests the fake saw.
func batchRequests(srv *workspacetest.Server) int { return len(srv.GmailBatchLog()) }

// onlyGets reports whether the fake's log of batch request n (from 0)
// holds get calls only, and how many.
func onlyGets(t *testing.T, srv *workspacetest.Server, n int) int {
	t.Helper()
	log := srv.GmailBatchLog()
	if n >= len(log) {
		t.Errorf("no batch request %d in the fake's log", n)
		return 0
	}
	for _, c := range log[n].Calls {
		if !strings.HasPrefix(c, "GET ") {
			t.Errorf("batch request %d holds %q, want gets only", n, c)
		}
	}
	return len(log[n].Calls)
}

// sendsAndGets builds a batch of send calls (subjects "outgoing N") then
// get calls for ids.
func (e *env) sendsAndGets(sends int, ids []string) []*gmail.BatchCall {
	var calls []*gmail.BatchCall
	for i := range sends {
		raw := fmt.Appendf(nil, "From: %s\r\nTo: bob@example.org\r\nSubject: outgoing %d\r\n\r\nhi\r\n", e.user, i)
		calls = append(calls, &gmail.BatchCall{Method: "users.messages.send", HTTPMethod: "POST",
			Path: "users/" + e.user + "/messages/send", Body: &gmailapi.Message{Raw: base64.URLEncoding.EncodeToString(raw)},
			Result: &gmailapi.Message{}})
	}
	for _, id := range ids {
		calls = append(calls, &gmail.BatchCall{Method: "users.messages.get", Path: "users/" + e.user + "/messages/" + id,
			Query: url.Values{"format": {"minimal"}}, Result: &gmailapi.Message{}})
	}
	return calls
}

// sent counts, per subject, the messages the fake sent (stored in the
// sender's mailbox).
func (e *env) sent() map[string]int {
	out := map[string]int{}
	for _, m := range e.srv.GmailMessages(e.user) {
		if i := bytes.Index(m.Raw, []byte("Subject: outgoing ")); i >= 0 {
			line, _, _ := bytes.Cut(m.Raw[i+len("Subject: "):], []byte("\r\n"))
			out[string(line)]++
		}
	}
	return out
}

// checkOutcomes checks that every send call ended with an outcome-unknown
// error (wantUnknown) or succeeded, and every get call succeeded with its
// message.
func checkOutcomes(t *testing.T, calls []*gmail.BatchCall, ids []string, wantUnknown bool) {
	t.Helper()
	g := 0
	for i, c := range calls {
		if c.Method == "users.messages.get" {
			if m := c.Result.(*gmailapi.Message); c.Err != nil || m.Id != ids[g] {
				t.Errorf("calls[%d] (get %s): err %v, id %q", i, ids[g], c.Err, m.Id)
			}
			g++
			continue
		}
		var ou *gmail.OutcomeUnknownError
		switch {
		case !wantUnknown && c.Err != nil:
			t.Errorf("calls[%d] (send): err %v, want success", i, c.Err)
		case wantUnknown && (!errors.As(c.Err, &ou) || ou.Method != "users.messages.send" || ou.Err == nil):
			t.Errorf("calls[%d] (send): err %v, want an *OutcomeUnknownError for users.messages.send with its cause", i, c.Err)
		case wantUnknown && c.Attempts != 1:
			t.Errorf("calls[%d] (send): sent %d times, want once", i, c.Attempts)
		}
	}
}

// TestBatchLostSendsNotResent: when a batch with send and get calls is
// lost (the connection drops after the server ran its calls, or after
// the first call, or the reply breaks off), no send is sent again: each
// comes back as an *OutcomeUnknownError, while the gets are retried and
// succeed. On the old code, every send went out twice.
func TestBatchLostSendsNotResent(t *testing.T) {
	for _, tc := range []struct {
		name     string
		api      string
		kind     workspacetest.FaultKind
		wantSent map[string]int // sends the fake carried out
	}{
		// The connection drops after the server ran every call.
		{"outer reset after processing", "gmail.batch", workspacetest.FaultResetAfterProcessing, map[string]int{"outgoing 0": 1, "outgoing 1": 1}},
		// The first call (a send) ran, then the connection dropped: the
		// calls after it never ran, which the client cannot know.
		{"reset in the first call", "gmail", workspacetest.FaultResetAfterProcessing, map[string]int{"outgoing 0": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			ids := e.seed(3)
			calls := e.sendsAndGets(2, ids)
			e.srv.InjectFault(tc.api, tc.kind, 1)
			err := e.g.Batch(t.Context(), e.user, calls, e.batchOpts(50))
			var be *gmail.BatchError
			if !errors.As(err, &be) || len(be.Failed) != 2 {
				t.Fatalf("err = %v, want a BatchError with the two sends", err)
			}
			var ou *gmail.OutcomeUnknownError
			if !errors.As(err, &ou) {
				t.Errorf("errors.As(err, *OutcomeUnknownError) = false")
			}
			checkOutcomes(t, calls, ids, true)
			if diff := cmp.Diff(tc.wantSent, e.sent()); diff != "" {
				t.Errorf("messages sent (-want +got):\n%s", diff)
			}
			if n := batchRequests(e.srv); n != 2 {
				t.Errorf("fake saw %d batch requests, want 2 (the lost one, then the gets)", n)
			}
			if n := onlyGets(t, e.srv, 1); n != 3 {
				t.Errorf("second batch: %d calls, want the 3 gets", n)
			}
			want := gmail.BatchStats{Requests: 2, Parts: 5 + 3, Retried: 3, Failed: 2, Unknown: 2}
			if diff := cmp.Diff(want, e.g.BatchStats()); diff != "" {
				t.Errorf("BatchStats (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBatchOne503RetriesReads: one 503 on the batch request costs one
// more batch holding only the get calls (the transport does not repeat
// the batch); the send comes back as outcome unknown. A batch endpoint
// that keeps answering 503 costs MaxAttempts requests, not 36 (6 rounds
// of 6 transport attempts, as before).
func TestBatchOne503RetriesReads(t *testing.T) {
	e := newEnv(t, nil)
	ids := e.seed(5)
	calls := e.sendsAndGets(1, ids)
	e.srv.InjectFault("gmail.batch", workspacetest.FaultHTTP503, 1)
	err := e.g.Batch(t.Context(), e.user, calls, e.batchOpts(50))
	var be *gmail.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || be.Failed[0] != calls[0] {
		t.Fatalf("err = %v, want a BatchError with the send only", err)
	}
	checkOutcomes(t, calls, ids, true)
	if n := batchRequests(e.srv); n != 2 {
		t.Errorf("fake saw %d batch requests, want 2", n)
	}
	if n := onlyGets(t, e.srv, 1); n != 5 {
		t.Errorf("second batch: %d calls, want the 5 gets", n)
	}
	if st := e.srv.Stats()["gmail"]; st.Accepted != 5 {
		t.Errorf("fake ran %d calls, want the 5 gets (the 503 ran none)", st.Accepted)
	}
	if got := e.sent(); len(got) != 0 {
		t.Errorf("sent %v, want nothing (the 503 came before any call ran)", got)
	}
	want := gmail.BatchStats{Requests: 2, Parts: 6 + 5, Retried: 5, Failed: 1, Unknown: 1}
	if diff := cmp.Diff(want, e.g.BatchStats()); diff != "" {
		t.Errorf("BatchStats (-want +got):\n%s", diff)
	}
	if len(e.sleeps) != 1 {
		t.Errorf("slept %v, want one backoff", e.sleeps)
	}

	// A batch endpoint that answers 503 every time.
	e = newEnv(t, nil)
	ids = e.seed(5)
	calls = e.sendsAndGets(1, ids)
	e.srv.InjectFault("gmail.batch", workspacetest.FaultHTTP503, 100)
	err = e.g.Batch(t.Context(), e.user, calls, e.batchOpts(50))
	if !errors.As(err, &be) || len(be.Failed) != 6 {
		t.Fatalf("err = %v, want every call failed", err)
	}
	if n := batchRequests(e.srv); n != 6 {
		t.Errorf("fake saw %d batch requests, want 6 (MaxAttempts)", n)
	}
	for _, c := range calls[1:] {
		var we *workspace.Error
		if !errors.As(c.Err, &we) || we.StatusCode != 503 || c.Attempts != 6 {
			t.Errorf("get: err %v after %d attempts, want the 503 after 6", c.Err, c.Attempts)
		}
	}
}

// TestBatchWriteThrottledIsRetried: a send whose own answer is a throttle
// (429) was not carried out and is sent again; a modify, safe to repeat
// by the core's table, is sent again after a 503.
func TestBatchWriteThrottledIsRetried(t *testing.T) {
	e := newEnv(t, nil)
	ids := e.seed(2)
	calls := e.sendsAndGets(1, ids)
	e.srv.InjectFault("gmail", workspacetest.FaultHTTP429, 1) // the send, first call of the batch
	if err := e.g.Batch(t.Context(), e.user, calls, e.batchOpts(50)); err != nil {
		t.Fatal(err)
	}
	checkOutcomes(t, calls, ids, false)
	if calls[0].Attempts != 2 {
		t.Errorf("send attempts = %d, want 2", calls[0].Attempts)
	}
	if diff := cmp.Diff(map[string]int{"outgoing 0": 1}, e.sent()); diff != "" {
		t.Errorf("messages sent (-want +got):\n%s", diff)
	}

	// A modify sets labels: repeating it is safe (retry.Methods), so a
	// 503 on it is retried like a read, and both modifies are done.
	e.srv.InjectFault("gmail", workspacetest.FaultHTTP503, 1) // the first modify
	msgs, err := e.g.Messages.ModifyMany(t.Context(), e.user, []gmail.Modification{
		{ID: ids[0], AddLabelIDs: []string{"STARRED"}}, {ID: ids[1], AddLabelIDs: []string{"STARRED"}}}, e.batchOpts(50))
	if err != nil || msgs[0] == nil || msgs[1] == nil {
		t.Fatalf("ModifyMany: err %v, msgs %v; want both modifies done", err, msgs)
	}
	if st := e.srv.Stats()["gmail"]; st.Accepted != 2+1+2 {
		t.Errorf("fake ran %d calls, want 5 (send and 2 gets, then both modifies)", st.Accepted)
	}
}

// TestBatchUnreadableReply: the batch's reply breaks off halfway: the
// calls answered in the readable half keep their outcome, the gets
// without an answer are sent again, the sends without one are outcome
// unknown, and no send is carried out twice.
func TestBatchUnreadableReply(t *testing.T) {
	e := newEnv(t, nil)
	ids := e.seed(4)
	calls := e.sendsAndGets(0, ids[:2])
	calls = append(calls, e.sendsAndGets(2, ids[2:])...) // get, get, send, send, get, get
	e.srv.InjectFault("gmail.batch", workspacetest.FaultStoredUnreadableReply, 1)
	err := e.g.Batch(t.Context(), e.user, calls, e.batchOpts(50))
	var be *gmail.BatchError
	if !errors.As(err, &be) || len(be.Failed) == 0 {
		t.Fatalf("err = %v, want the sends without an answer to fail", err)
	}
	for _, c := range be.Failed {
		var ou *gmail.OutcomeUnknownError
		if c.Method != "users.messages.send" || !errors.As(c.Err, &ou) {
			t.Errorf("failed call %s: %v, want only sends, outcome unknown", c.Method, c.Err)
		}
	}
	attempts := map[int]int{} // gets by attempts
	for _, c := range calls {
		if c.Method == "users.messages.get" {
			attempts[c.Attempts]++
			if c.Err != nil {
				t.Errorf("get: %v", c.Err)
			}
		}
		if c.Method == "users.messages.send" && c.Attempts != 1 {
			t.Errorf("send sent %d times", c.Attempts)
		}
	}
	if attempts[1] == 0 || attempts[2] == 0 || len(attempts) != 2 {
		t.Errorf("gets by attempts: %v, want some answered in the broken reply, the others sent once more", attempts)
	}
	if diff := cmp.Diff(map[string]int{"outgoing 0": 1, "outgoing 1": 1}, e.sent()); diff != "" {
		t.Errorf("messages sent (-want +got):\n%s", diff)
	}
}
