package workspacetest_test

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gwsadmin/workspace/workspacetest"
	gmail "google.golang.org/api/gmail/v1"
)

func TestGmailUserQuotaLegacyScaled(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	// Speed 0.01: the legacy 15,000 units a minute become 150.
	s := newGmailServer(t, workspacetest.WithClock(clock.now), workspacetest.WithSpeed(0.01))
	svc := gmailFor(t, s, "bob@example.com")
	raw := base64.URLEncoding.EncodeToString([]byte(mailMsg("bob@example.com", "dave@example.com", "s", "b")))
	if _, err := svc.Users.Messages.Send("me", &gmail.Message{Raw: raw}).Do(); err != nil {
		t.Fatal(err)
	}
	_, err := svc.Users.Messages.Send("me", &gmail.Message{Raw: raw}).Do()
	ge := apiError(t, err)
	if ge.Code != 403 || reason(ge) != "userRateLimitExceeded" || ge.Errors[0].Message == "" || ge.Header.Get("Retry-After") == "" {
		t.Fatalf("second send: %v %v", ge, ge.Header)
	}
	if !strings.Contains(ge.Body, `"domain":"usageLimits"`) {
		t.Errorf("body: %s", ge.Body)
	}
	// Another user of the same project is not affected.
	if _, err := gmailFor(t, s, "dave@example.com").Users.Messages.Send("me", &gmail.Message{Raw: raw}).Do(); err != nil {
		t.Errorf("dave: %v", err)
	}
	if u := s.GmailUnits("bob@example.com"); u != 100 {
		t.Errorf("bob's units = %d", u)
	}
	clock.advance(time.Minute)
	if _, err := svc.Users.Messages.Send("me", &gmail.Message{Raw: raw}).Do(); err != nil {
		t.Errorf("a minute later: %v", err)
	}
	if got := s.Stats()["gmail"].Rejected["userRateLimitExceeded"]; got != 1 {
		t.Errorf("stats userRateLimitExceeded = %d", got)
	}
}

func TestGmail2026RegimeCosts(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)}
	s := newGmailServer(t, workspacetest.WithClock(clock.now), workspacetest.WithSpeed(0.01))
	s.SetGmailConfig(workspacetest.GmailConfig{Regime: workspacetest.Gmail2026Regime}) // 60 units a minute here
	id := s.AddGmailMessage("bob@example.com", []byte(mailMsg("a@example.org", "bob@example.com", "s", "b")), "INBOX")
	svc := gmailFor(t, s, "bob@example.com")
	for i := range 3 { // messages.get costs 20 in the 2026 regime
		if _, err := svc.Users.Messages.Get("me", id).Do(); err != nil {
			t.Fatalf("get %d: %v", i, err)
		}
	}
	_, err := svc.Users.Messages.Get("me", id).Do()
	if ge := apiError(t, err); ge.Code != 403 || reason(ge) != "userRateLimitExceeded" {
		t.Errorf("fourth get: %v", ge)
	}
	if u := s.GmailUnits("bob@example.com"); u != 60 {
		t.Errorf("units = %d", u)
	}
	for _, c := range []struct {
		method      string
		legacy, new int
	}{{"messages.get", 5, 20}, {"threads.get", 10, 40}, {"messages.send", 100, 100}, {"messages.trash", 5, 20}, {"history.list", 2, 2}} {
		if l, n := workspacetest.GmailMethodCost(c.method, workspacetest.GmailLegacyRegime), workspacetest.GmailMethodCost(c.method, workspacetest.Gmail2026Regime); l != c.legacy || n != c.new {
			t.Errorf("%s costs %d/%d, want %d/%d", c.method, l, n, c.legacy, c.new)
		}
	}
}

func TestGmailProjectQuota(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := newGmailServer(t, workspacetest.WithClock(clock.now))
	s.SetGmailConfig(workspacetest.GmailConfig{ProjectUnitsPerMinute: 10})
	for range 2 {
		if _, err := gmailFor(t, s, "bob@example.com").Users.Messages.List("me").Do(); err != nil {
			t.Fatal(err)
		}
	}
	_, err := gmailFor(t, s, "dave@example.com").Users.Messages.List("me").Do()
	if ge := apiError(t, err); ge.Code != 403 || reason(ge) != "rateLimitExceeded" {
		t.Errorf("project quota: %v", ge)
	}
}

func TestGmailConcurrencyCap(t *testing.T) {
	t.Parallel()
	s := newGmailServer(t)
	bob := gmailFor(t, s, "bob@example.com")
	hold := s.HoldGmail("bob@example.com")
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			_, err := bob.Users.GetProfile("me").Do()
			errs <- err
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := hold.Wait(ctx, 10); err != nil {
		t.Fatal(err)
	}
	_, err := bob.Users.GetProfile("me").Do()
	ge := apiError(t, err)
	if ge.Code != 429 || ge.Message != "Too many concurrent requests for user" {
		t.Errorf("11th request: %v", ge)
	}
	// Other users are not held back.
	if _, err := gmailFor(t, s, "dave@example.com").Users.GetProfile("me").Do(); err != nil {
		t.Errorf("dave: %v", err)
	}
	hold.Release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("held request: %v", err)
		}
	}
	if _, err := bob.Users.GetProfile("me").Do(); err != nil {
		t.Errorf("after release: %v", err)
	}
}

func TestGmailDailySendLimit(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := newGmailServer(t, workspacetest.WithClock(clock.now), workspacetest.WithTokenLifetime(48*time.Hour))
	s.SetGmailConfig(workspacetest.GmailConfig{DailySendLimit: 2})
	svc := gmailFor(t, s, "bob@example.com")
	raw := base64.URLEncoding.EncodeToString([]byte(mailMsg("bob@example.com", "x@example.org", "s", "b")))
	for range 2 {
		if _, err := svc.Users.Messages.Send("me", &gmail.Message{Raw: raw}).Do(); err != nil {
			t.Fatal(err)
		}
		clock.advance(time.Hour)
	}
	_, err := svc.Users.Messages.Send("me", &gmail.Message{Raw: raw}).Do()
	ge := apiError(t, err)
	if ge.Code != 429 || !strings.Contains(ge.Message, "User-rate limit exceeded") || !strings.HasSuffix(ge.Message, "(Mail sending)") ||
		ge.Header.Get("Retry-After") != "79200" {
		t.Errorf("third send: %v Retry-After %q", ge, ge.Header.Get("Retry-After"))
	}
	clock.advance(22 * time.Hour)
	if _, err := svc.Users.Messages.Send("me", &gmail.Message{Raw: raw}).Do(); err != nil {
		t.Errorf("after the oldest send left the window: %v", err)
	}
}

func TestGmailHistoryMaxAge(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	s := newGmailServer(t, workspacetest.WithClock(clock.now), workspacetest.WithTokenLifetime(24*time.Hour))
	s.SetGmailConfig(workspacetest.GmailConfig{HistoryMaxAge: time.Hour})
	const bob = "bob@example.com"
	start := s.GmailHistoryID(bob)
	s.AddGmailMessage(bob, []byte(mailMsg("a@example.org", bob, "old", "x")), "INBOX")
	svc := gmailFor(t, s, bob)
	h, err := svc.Users.History.List("me").StartHistoryId(start).Do()
	if err != nil || len(h.History) != 1 {
		t.Fatalf("fresh history: %+v %v", h, err)
	}
	if step := h.History[0].Id - start; step < 1 || step > 5 {
		t.Errorf("history id step %d, want 1 to 5", step)
	}
	clock.advance(2 * time.Hour)
	_, err = svc.Users.History.List("me").StartHistoryId(start).Do()
	if ge := apiError(t, err); ge.Code != 404 {
		t.Errorf("start older than the window: %v", ge)
	}
}
