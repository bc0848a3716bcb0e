package gmail_test

import (
	"errors"
	"net/http"
	"testing"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/gmail"
)

// TestThreadsGetRefusesRaw: threads.get documents the formats full,
// metadata and minimal; "raw" is refused before any request, as
// Messages.Get refuses a format it does not know, instead of being
// replaced by another format behind the caller's back.
func TestThreadsGetRefusesRaw(t *testing.T) {
	e := newEnv(t, nil)
	sent := 0
	e.onRequest(func(r *http.Request) {
		if r.URL.Path != "/token" {
			sent++
		}
	})
	_, err := e.g.Threads.Get(t.Context(), e.user, "t1", &gmail.GetOptions{Format: "raw"})
	var ie *workspace.InputError
	if !errors.Is(err, workspace.ErrInvalidInput) || !errors.As(err, &ie) || ie.Field != "Format" {
		t.Errorf("Format raw: got %v, want a *workspace.InputError on Format", err)
	}
	if sent != 0 {
		t.Errorf("%d requests sent for a refused call", sent)
	}
}
