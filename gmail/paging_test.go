package gmail_test

import (
	"strings"
	"testing"

	"github.com/gwsadmin/workspace/gmail"
	"github.com/gwsadmin/workspace/workspacetest"
)

// drain runs seq to the end and returns the items and the error it ended
// with.
func drain[T any](seq func(func(*T, error) bool)) (n int, err error) {
	for _, err := range seq {
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// A list page that sends back the token it was asked with would make a
// listing loop: the iterator ends with an error that says so, after the
// items it had.
func TestMessagesAllRepeatedPageToken(t *testing.T) {
	srv, g, _, user := countedEnv(t)
	for i := range 12 {
		srv.AddGmailMessage(user, mail(i), "INBOX")
	}
	srv.InjectFault("gmail", workspacetest.FaultRepeatPageToken, 1)
	n, err := drain(g.Messages.All(t.Context(), user, &gmail.ListOptions{MaxResults: 5}))
	if err == nil || !strings.Contains(err.Error(), "page token") {
		t.Fatalf("err = %v after %d messages, want an error about a repeated page token", err, n)
	}
	if n != 10 {
		t.Errorf("%d messages before the error, want the two pages read (10)", n)
	}
}

func TestHistoryAllRepeatedPageToken(t *testing.T) {
	srv, g, _, user := countedEnv(t)
	prof, err := g.Profile(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		srv.AddGmailMessage(user, mail(i), "INBOX")
	}
	srv.InjectFault("gmail", workspacetest.FaultRepeatPageToken, 1)
	n, err := drain(g.History.All(t.Context(), user, prof.HistoryId, &gmail.HistoryOptions{MaxResults: 1}))
	if err == nil || !strings.Contains(err.Error(), "page token") {
		t.Fatalf("err = %v after %d records, want an error about a repeated page token", err, n)
	}
}

// A full sync whose message listing repeats a page token fails instead
// of storing part of the mailbox as if it were all of it.
func TestFullSyncRepeatedPageToken(t *testing.T) {
	srv, g, _, user := countedEnv(t)
	for i := range 501 { // the sync lists 500 a page
		srv.AddGmailMessage(user, mail(i), "INBOX")
	}
	srv.InjectFault("gmail", workspacetest.FaultRepeatPageToken, 1)
	st := gmail.NewMemoryStore()
	res, err := g.FullSync(t.Context(), user, st, nil)
	if err == nil || !strings.Contains(err.Error(), "page token") {
		t.Fatalf("err = %v (result with %d messages), want an error about a repeated page token", err, res.Messages)
	}
	if held, _ := st.Messages(t.Context(), user); len(held) != 0 {
		t.Errorf("the store holds %d messages after a failed sync", len(held))
	}
}
