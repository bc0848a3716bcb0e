package workspacetest_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gwsadmin/workspace/workspacetest"
)

// TestGmailUserLimitBelowDocumented: a user whose real limit is below
// Gmail's documented one is refused at it, with a second's burst by
// default; other users keep the documented limit.
func TestGmailUserLimitBelowDocumented(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := newGmailServer(t, workspacetest.WithClock(clock.now))
	// 600 units a minute: 10 a second, and a burst of 10 (two messages.list).
	s.SetGmailUserLimit("Bob@example.com", workspacetest.GmailLimit{UnitsPerMinute: 600})
	bob := gmailFor(t, s, "bob@example.com")
	for i := range 2 {
		if _, err := bob.Users.Messages.List("me").Do(); err != nil {
			t.Fatalf("list %d: %v", i, err)
		}
	}
	_, err := bob.Users.Messages.List("me").Do()
	if ge := apiError(t, err); ge.Code != 403 || reason(ge) != "userRateLimitExceeded" || ge.Header.Get("Retry-After") == "" {
		t.Fatalf("third list: %v %v", ge, ge.Header)
	}
	dave := gmailFor(t, s, "dave@example.com")
	for i := range 5 {
		if _, err := dave.Users.Messages.List("me").Do(); err != nil {
			t.Fatalf("dave's list %d: %v", i, err)
		}
	}
	clock.advance(500 * time.Millisecond) // 5 units back: one list
	if _, err := bob.Users.Messages.List("me").Do(); err != nil {
		t.Errorf("after half a second: %v", err)
	}
	// A minute's burst, like the documented limits.
	s.SetGmailUserLimit("bob@example.com", workspacetest.GmailLimit{UnitsPerMinute: 600, Burst: -1})
	for i := range 100 {
		if _, err := bob.Users.Messages.List("me").Do(); err != nil {
			t.Fatalf("minute's burst, list %d: %v", i, err)
		}
	}
	// Zero restores the configured limit.
	s.SetGmailUserLimit("bob@example.com", workspacetest.GmailLimit{})
	for i := range 200 {
		if _, err := bob.Users.Messages.List("me").Do(); err != nil {
			t.Fatalf("restored limit, list %d: %v", i, err)
		}
	}
}

// TestGmailProjectLimitBelowDocumented: a project whose real limit is
// below the documented one refuses every user at it.
func TestGmailProjectLimitBelowDocumented(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := newGmailServer(t, workspacetest.WithClock(clock.now))
	var key struct {
		ProjectID string `json:"project_id"`
	}
	if err := json.Unmarshal(s.ServiceAccountKey(), &key); err != nil || key.ProjectID == "" {
		t.Fatalf("project: %q %v", key.ProjectID, err)
	}
	// 1,200 units a minute: 20 a second, a burst of four messages.list.
	s.SetGmailProjectLimit(key.ProjectID, workspacetest.GmailLimit{UnitsPerMinute: 1200})
	bob, dave := gmailFor(t, s, "bob@example.com"), gmailFor(t, s, "dave@example.com")
	for i := range 2 {
		if _, err := bob.Users.Messages.List("me").Do(); err != nil {
			t.Fatalf("bob %d: %v", i, err)
		}
		if _, err := dave.Users.Messages.List("me").Do(); err != nil {
			t.Fatalf("dave %d: %v", i, err)
		}
	}
	_, err := dave.Users.Messages.List("me").Do()
	if ge := apiError(t, err); ge.Code != 403 || reason(ge) != "rateLimitExceeded" {
		t.Fatalf("fifth list: %v", ge)
	}
	s.SetGmailProjectLimit(key.ProjectID, workspacetest.GmailLimit{})
	if _, err := dave.Users.Messages.List("me").Do(); err != nil {
		t.Errorf("restored limit: %v", err)
	}
}
