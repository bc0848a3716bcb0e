package cli

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The core's wait records turn into one human line each when the wait is
// long; short waits and other records print nothing without -v.
func TestWaitLines(t *testing.T) {
	retrying := func(class string, status int, reason string, wait time.Duration) func(*slog.Logger) {
		return func(l *slog.Logger) {
			l.Info("workspace: retrying", "api", "gmail", "method", "users.messages.get", "attempt", 1,
				"class", class, "status", status, slog.Duration("wait", wait), "reason", reason)
		}
	}
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want string
	}{
		{"throttle", retrying("throttle", 403, "userRateLimitExceeded", 10*time.Second),
			"waiting 10s for Google's quota (403 userRateLimitExceeded) before retrying gmail users.messages.get\n"},
		{"server error", retrying("transient", 503, "", 5200*time.Millisecond),
			"waiting 5.2s after a server error (503) before retrying gmail users.messages.get\n"},
		{"network", retrying("transient", 0, "", 40*time.Second),
			"waiting 40s: no answer from the server; then retrying gmail users.messages.get\n"},
		{"token", retrying("auth", 503, "", 8*time.Second),
			"waiting 8s: no token could be had (503); then retrying gmail users.messages.get\n"},
		{"short wait", retrying("throttle", 429, "", time.Second), ""},
		{"short wait without an answer", retrying("transient", 0, "", 500*time.Millisecond),
			"waiting 500ms: no answer from the server; then retrying gmail users.messages.get\n"},
		{"paced after the fact", func(l *slog.Logger) {
			l.Info("workspace: paced by quota", "api", "audit", "method", "export.create", slog.Duration("wait", 12*time.Second))
		}, "waited 12s for the quota of audit export.create (paced to Google's documented limits)\n"},
		{"quota wait going on", func(l *slog.Logger) {
			l.Info(quotaWaitMsg, "api", "gmail", "method", "users.history.list", slog.Duration("waited", 3*time.Second))
		}, "waiting for Google's quota: gmail users.history.list has waited 3s so far (paced to the documented limits)\n"},
		{"other package", func(l *slog.Logger) {
			l.With("request", "70001").Info("audit: export not ready; polling again after a pause",
				"user", "alice", slog.Duration("wait", 90*time.Second), "access_token", "ya29.secret")
		}, "waiting 1m30s: export not ready; polling again after a pause (request 70001, user alice)\n"},
		{"no wait", func(l *slog.Logger) { l.Info("audit: something", "user", "alice") }, ""},
		{"debug", func(l *slog.Logger) { l.Debug("auth: token refused with 401, retrying with a fresh token") }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tt.log(NewLogger(&b, false))
			if diff := cmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}

// -v writes every record from Debug up, without tokens, keys or bodies.
func TestVerboseRedacts(t *testing.T) {
	var b bytes.Buffer
	l := NewLogger(&b, true)
	l.Debug("auth: token refused with 401, retrying with a fresh token", "subject", "admin@example.com", "host", "example.test")
	l.Info("workspace: retrying", "api", "gmail", "class", "throttle", "status", 429, slog.Duration("wait", 4*time.Second),
		"authorization", "Bearer ya29.a0AfH6SMB", "error", "Get x: header Authorization: Bearer abc.def", "body", "From: x",
		"private_key", "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----", "note", "token ya29.zzz refreshed")
	out := b.String()
	for _, want := range []string{"auth: token refused with 401", "subject=admin@example.com", "workspace: retrying",
		"wait=4s", "Bearer [removed]", "token [token removed] refreshed", "waiting 4s for Google's quota (429)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, leak := range []string{"ya29", "abc.def", "From: x", "MIIE", "PRIVATE KEY"} {
		if strings.Contains(out, leak) {
			t.Errorf("output holds %q:\n%s", leak, out)
		}
	}
}

// The quota watcher announces a call the limiter still holds after the
// threshold, and nothing for a quick one.
func TestWatchLimiter(t *testing.T) {
	var fire []func()
	old := AfterFunc
	AfterFunc = func(d time.Duration, f func()) func() bool {
		if d != WaitThreshold {
			t.Errorf("timer of %v, want %v", d, WaitThreshold)
		}
		fire = append(fire, f)
		return func() bool { return true }
	}
	defer func() { AfterFunc = old }()
	var b bytes.Buffer
	held := limiterFunc(func() { fire[len(fire)-1]() }) // the timer fires while Acquire blocks
	lim := WatchLimiter(held, NewLogger(&b, false))
	rel, err := lim.Acquire(context.Background(), &quotaRequest)
	if err != nil {
		t.Fatal(err)
	}
	rel(quotaOutcome)
	want := "waiting for Google's quota: gmail users.messages.list has waited 3s so far (paced to the documented limits)\n"
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
