package gmail_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gwsadmin/workspace"
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
	n, err := drain(g.Messages.All(t.Context(), user, &gmail.MessageListOptions{ListOptions: workspace.ListOptions{PageSize: 5}}))
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
	n, err := drain(g.History.All(t.Context(), user, prof.HistoryId, &gmail.HistoryListOptions{ListOptions: workspace.ListOptions{PageSize: 1}}))
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

// A negative page size, or one that does not fit maxResults' uint32, is
// refused before any request, by List and by All. One above 500 is not: Gmail's schema sets no maximum and it answers
// with at most 500 (TestPageSizeAbove500Sent).
func TestPageSizeRefusedBeforeAnyRequest(t *testing.T) {
	_, g, pc, user := countedEnv(t)
	ctx := t.Context()
	for _, size := range []int64{-1, 1 << 33} {
		lo := workspace.ListOptions{PageSize: size}
		var errs []error
		_, err := g.Messages.List(ctx, user, &gmail.MessageListOptions{ListOptions: lo})
		errs = append(errs, err)
		_, err = g.Threads.List(ctx, user, &gmail.ThreadListOptions{ListOptions: lo})
		errs = append(errs, err)
		_, err = g.History.List(ctx, user, 1, &gmail.HistoryListOptions{ListOptions: lo})
		errs = append(errs, err)
		_, err = drain(g.Messages.All(ctx, user, &gmail.MessageListOptions{ListOptions: lo}))
		errs = append(errs, err)
		_, err = drain(g.Threads.All(ctx, user, &gmail.ThreadListOptions{ListOptions: lo}))
		errs = append(errs, err)
		_, err = drain(g.History.All(ctx, user, 1, &gmail.HistoryListOptions{ListOptions: lo}))
		errs = append(errs, err)
		for i, err := range errs {
			var ie *workspace.InputError
			if !errors.As(err, &ie) || ie.Field != "PageSize" {
				t.Errorf("PageSize %d, call %d: err = %v, want a *workspace.InputError for PageSize", size, i, err)
			}
		}
	}
	if n := pc.count(""); n != 0 {
		t.Errorf("%d requests sent for refused page sizes", n)
	}
}

// All starts at the first page whatever PageToken says; List starts at
// the page it names.
func TestAllIgnoresPageToken(t *testing.T) {
	srv, g, _, user := countedEnv(t)
	for i := range 5 {
		srv.AddGmailMessage(user, mail(i), "INBOX")
	}
	ctx := t.Context()
	first, err := g.Messages.List(ctx, user, &gmail.MessageListOptions{ListOptions: workspace.ListOptions{PageSize: 2}})
	if err != nil || first.NextPageToken == "" {
		t.Fatalf("first page: %v, %v", first, err)
	}
	lo := workspace.ListOptions{PageSize: 2, PageToken: first.NextPageToken}
	second, err := g.Messages.List(ctx, user, &gmail.MessageListOptions{ListOptions: lo})
	if err != nil || len(second.Messages) != 2 || second.Messages[0].Id == first.Messages[0].Id {
		t.Fatalf("second page: %v, %v", second, err)
	}
	if n, err := drain(g.Messages.All(ctx, user, &gmail.MessageListOptions{ListOptions: lo})); err != nil || n != 5 {
		t.Errorf("Messages.All with a PageToken: %d messages, %v; want all 5", n, err)
	}
	if n, err := drain(g.Threads.All(ctx, user, &gmail.ThreadListOptions{ListOptions: lo})); err != nil || n != 5 {
		t.Errorf("Threads.All with a PageToken: %d threads, %v; want all 5", n, err)
	}
}

// A page size above 500 is sent as it is (Gmail's schema sets no maximum
// for maxResults) and the answer holds what Gmail gives, at most 500.
func TestPageSizeAbove500Sent(t *testing.T) {
	srv, g, pc, user := countedEnv(t)
	for i := range 501 {
		srv.AddGmailMessage(user, mail(i), "INBOX")
	}
	page, err := g.Messages.List(t.Context(), user, &gmail.MessageListOptions{ListOptions: workspace.ListOptions{PageSize: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 500 || page.NextPageToken == "" {
		t.Errorf("got %d messages, next %q; want Gmail's 500 and a next page", len(page.Messages), page.NextPageToken)
	}
	if n := pc.count(""); n == 0 {
		t.Error("no request sent")
	}
}
