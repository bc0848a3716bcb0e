package workspacetest_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gwsadmin/workspace/workspacetest"
)

func TestMigrationQuotaBurst(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)}
	s := newServer(t, workspacetest.WithClock(clock.now), workspacetest.WithProcessingDelay(0),
		workspacetest.WithRetryAfter(5*time.Second))
	s.AddGroup("archive@example.com")
	svc := migrationService(t, s)

	// Google allows 10 a second: with the clock frozen, the 11th is refused.
	for i := range 10 {
		if _, err := insert(svc, "archive@example.com", message("q@example.com")); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	_, err := insert(svc, "archive@example.com", message("q@example.com"))
	ge := apiError(t, err)
	got := [3]any{ge.Code, reason(ge), ge.Header.Get("Retry-After")}
	if diff := cmp.Diff([3]any{503, "rateLimitExceeded", "5"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !strings.Contains(ge.Body, `"responseCode":"BACKEND FAILURE"`) {
		t.Errorf("body: %s", ge.Body)
	}
	clock.advance(time.Second)
	if _, err := insert(svc, "archive@example.com", message("q@example.com")); err != nil {
		t.Errorf("after a second: %v", err)
	}
	st := s.Stats()["groupsmigration"]
	if diff := cmp.Diff(workspacetest.APIStats{Accepted: 11, Rejected: map[string]int{"rateLimitExceeded": 1}, Faults: map[workspacetest.FaultKind]int{}}, st); diff != "" {
		t.Errorf("Stats (-want +got):\n%s", diff)
	}
}

func TestQuotaSpeedAndDaily(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{t: time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)}
	s := newServer(t, workspacetest.WithClock(clock.now), workspacetest.WithSpeed(3))
	get := func() int {
		resp, err := s.Client().Get(s.URL + "/admin/datatransfer/v1/applications")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Speed 3: 30 a second.
	for i := range 30 {
		if code := get(); code != 200 {
			t.Fatalf("request %d: %d", i, code)
		}
	}
	if code := get(); code != http.StatusServiceUnavailable {
		t.Errorf("31st request: %d, want 503", code)
	}

	// A daily budget of 2 (x3 = 6), reset at midnight Pacific time.
	s.SetQuota("datatransfer", 0, 2)
	for range 6 {
		get()
	}
	if code := get(); code != http.StatusServiceUnavailable {
		t.Errorf("over the daily budget: %d", code)
	}
	if got := s.Stats()["datatransfer"].Rejected["dailyLimitExceeded"]; got != 1 {
		t.Errorf("dailyLimitExceeded count %d", got)
	}
	clock.advance(24 * time.Hour)
	if code := get(); code != 200 {
		t.Errorf("next day: %d", code)
	}
}
