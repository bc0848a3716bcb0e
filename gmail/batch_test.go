package gmail_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

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
