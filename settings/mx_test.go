package settings_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gwsadmin/workspace"
	"github.com/gwsadmin/workspace/settings"
)

// dnsDouble answers MX lookups from a script: each lookup of a domain
// takes the next answer (the last one repeats).
type dnsDouble struct {
	mu      sync.Mutex
	answers map[string][]answer
	calls   map[string]int
}

type answer struct {
	recs []settings.MX
	err  error
}

func (d *dnsDouble) LookupMX(ctx context.Context, domain string) ([]settings.MX, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.calls == nil {
		d.calls = map[string]int{}
	}
	script := d.answers[domain]
	if len(script) == 0 {
		return nil, nil
	}
	i := min(d.calls[domain], len(script)-1)
	d.calls[domain]++
	return script[i].recs, script[i].err
}

var (
	googleRecs = []settings.MX{
		{Host: "ALT1.ASPMX.L.GOOGLE.COM.", Pref: 5, TTL: time.Hour},
		{Host: "aspmx.l.google.com.", Pref: 1, TTL: time.Hour},
		{Host: "alt2.aspmx.l.google.com", Pref: 5, TTL: 30 * time.Minute},
	}
	oldRecs = []settings.MX{{Host: "mx.oldhost.example.net.", Pref: 10, TTL: 5 * time.Minute}}
)

func TestCheckMX(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	r := &dnsDouble{answers: map[string][]answer{
		"google.example":    {{recs: googleRecs}},
		"smtp.example":      {{recs: []settings.MX{{Host: "smtp.google.com.", Pref: 1, TTL: 300 * time.Second}}}},
		"mixed.example":     {{recs: append([]settings.MX{{Host: "backup.example.net", Pref: 20, TTL: time.Minute}}, googleRecs...)}},
		"old.example":       {{recs: oldRecs}},
		"lookalike.example": {{recs: []settings.MX{{Host: "aspmx.l.google.com.evil.example", Pref: 1}, {Host: "altx.aspmx.l.google.com", Pref: 2}}}},
		"null.example":      {{recs: []settings.MX{{Host: ".", Pref: 0, TTL: time.Minute}}}},
		"broken.example":    {{err: errors.New("SERVFAIL")}},
	}}
	for _, tc := range []struct {
		domain  string
		google  bool
		foreign []string
		ttl     time.Duration
		first   string
	}{
		{"google.example", true, nil, 30 * time.Minute, "aspmx.l.google.com"},
		{"smtp.example", true, nil, 5 * time.Minute, "smtp.google.com"},
		{"mixed.example", false, []string{"backup.example.net"}, time.Minute, "aspmx.l.google.com"},
		{"old.example", false, []string{"mx.oldhost.example.net"}, 5 * time.Minute, "mx.oldhost.example.net"},
		{"lookalike.example", false, []string{"aspmx.l.google.com.evil.example", "altx.aspmx.l.google.com"}, settings.DefaultMXTTL, "aspmx.l.google.com.evil.example"},
		{"null.example", false, []string{"."}, time.Minute, "."},
		{"empty.example", false, nil, settings.DefaultMXTTL, ""},
	} {
		t.Run(tc.domain, func(t *testing.T) {
			rep, err := settings.CheckMX(t.Context(), settings.WithMXHooks(&settings.MXOptions{Resolver: r, Domain: tc.domain}, nil, func() time.Time { return now }))
			if err != nil {
				t.Fatal(err)
			}
			if rep.PointsAtGoogle != tc.google || rep.TTL != tc.ttl || rep.Checks != 1 || !rep.Checked.Equal(now) {
				t.Errorf("report: %+v", rep)
			}
			if diff := cmp.Diff(tc.foreign, rep.Foreign); diff != "" {
				t.Errorf("foreign: %s", diff)
			}
			if tc.first != "" && rep.Records[0].Host != tc.first {
				t.Errorf("first record %q, want %q (sorted by preference, lower case, no final dot)", rep.Records[0].Host, tc.first)
			}
		})
	}
	if _, err := settings.CheckMX(t.Context(), &settings.MXOptions{Resolver: r, Domain: "broken.example"}); err == nil {
		t.Error("lookup failure not reported")
	}
	if _, err := settings.CheckMX(t.Context(), &settings.MXOptions{Resolver: r, Domain: "bad domain"}); !errors.Is(err, workspace.ErrInvalidInput) {
		t.Errorf("bad domain: %v", err)
	}
}

func TestIsGoogleMX(t *testing.T) {
	for h, want := range map[string]bool{
		"aspmx.l.google.com": true, "ASPMX.L.GOOGLE.COM.": true, "alt4.aspmx.l.google.com": true, "alt12.aspmx.l.google.com": true,
		"smtp.google.com": true, "aspmx3.googlemail.com": true,
		"google.com": false, "mx.google.com.example": false, "alt.aspmx.l.google.com": false, "xalt1.aspmx.l.google.com": false, "": false,
	} {
		if got := settings.IsGoogleMX(h); got != want {
			t.Errorf("IsGoogleMX(%q) = %v", h, got)
		}
	}
}

// sleeps records WaitMX's waits instead of sleeping.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
	// cancel, when set, is called at the given wait number.
	cancelAt int
	cancel   context.CancelFunc
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	n := len(s.d)
	s.mu.Unlock()
	if s.cancel != nil && n == s.cancelAt {
		s.cancel()
	}
	return ctx.Err()
}

func TestWaitMXHonoursTTLAndBacksOff(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script []answer
		want   []time.Duration
	}{
		{
			// TTL (5 min) above the backoff: every wait is the TTL.
			name:   "ttl wins",
			script: []answer{{recs: oldRecs}, {recs: oldRecs}, {recs: googleRecs}},
			want:   []time.Duration{5 * time.Minute, 5 * time.Minute},
		},
		{
			// Short TTL: the backoff grows by half from Interval up to
			// MaxInterval.
			name: "backoff wins",
			script: []answer{
				{recs: []settings.MX{{Host: "mx.old.example", TTL: 10 * time.Second}}},
				{recs: []settings.MX{{Host: "mx.old.example", TTL: 10 * time.Second}}},
				{recs: []settings.MX{{Host: "mx.old.example", TTL: 10 * time.Second}}},
				{recs: []settings.MX{{Host: "mx.old.example", TTL: 10 * time.Second}}},
				{recs: []settings.MX{{Host: "mx.old.example", TTL: 10 * time.Second}}},
				{recs: googleRecs},
			},
			want: []time.Duration{time.Minute, 90 * time.Second, 135 * time.Second, 202500 * time.Millisecond, 4 * time.Minute},
		},
		{
			// A failed lookup is retried, with the backoff only (no TTL known).
			name:   "lookup error",
			script: []answer{{err: errors.New("i/o timeout")}, {recs: googleRecs}},
			want:   []time.Duration{time.Minute},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// Client.WaitMX waits through the workspace.Client's sleep.
			var sl sleeps
			e := newEnvSleep(t, sl.sleep)
			r := &dnsDouble{answers: map[string][]answer{e.srv.Domain(): tc.script}}
			// Progress sees every lookup, failed ones and the last (the
			// one that points at Google) included, before the wait that
			// follows it.
			var progress []string
			rep, err := e.s.WaitMX(t.Context(), &settings.MXOptions{Resolver: r,
				WaitOptions: workspace.WaitOptions{Interval: time.Minute, MaxInterval: 4 * time.Minute},
				Progress: func(rep *settings.MXReport, err error) {
					switch {
					case err != nil && rep == nil:
						progress = append(progress, fmt.Sprintf("failed after %d waits", len(sl.d)))
					case err == nil && rep != nil:
						progress = append(progress, fmt.Sprintf("check %d google=%v after %d waits", rep.Checks, rep.PointsAtGoogle, len(sl.d)))
					default:
						t.Errorf("Progress(%+v, %v)", rep, err)
					}
				}})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.PointsAtGoogle || rep.Checks != len(tc.script) {
				t.Errorf("report: %+v", rep)
			}
			if diff := cmp.Diff(tc.want, sl.d); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			var want []string
			for i, a := range tc.script {
				if a.err != nil {
					want = append(want, fmt.Sprintf("failed after %d waits", i))
				} else {
					want = append(want, fmt.Sprintf("check %d google=%v after %d waits", i+1, i == len(tc.script)-1, i))
				}
			}
			if diff := cmp.Diff(want, progress); diff != "" {
				t.Errorf("Progress (-want +got):\n%s", diff)
			}
			if e.rec.count() != 0 {
				t.Error("the MX check called an API")
			}
		})
	}
}

func TestWaitMXStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	r := &dnsDouble{answers: map[string][]answer{"example.org": {{recs: oldRecs}}}}
	sl := &sleeps{cancelAt: 3, cancel: cancel}
	rep, err := settings.WaitMX(ctx, settings.WithMXHooks(&settings.MXOptions{Resolver: r, Domain: "example.org"}, sl.sleep, nil))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if rep == nil || rep.PointsAtGoogle || rep.Checks != 3 || len(sl.d) != 3 {
		t.Errorf("last report %+v after %d waits", rep, len(sl.d))
	}
	// Defaults: first wait is the larger of 1 minute and the TTL (5 min).
	if sl.d[0] != 5*time.Minute {
		t.Errorf("first wait %v", sl.d[0])
	}
}

// Timeout bounds the whole wait: the last pause is cut to end at the
// timeout, a last check is made there, and its report comes back with an
// error matching context.DeadlineExceeded.
func TestWaitMXTimeout(t *testing.T) {
	r := &dnsDouble{answers: map[string][]answer{"example.org": {{recs: oldRecs}}}}
	var sl sleeps
	rep, err := settings.WaitMX(t.Context(), settings.WithMXHooks(&settings.MXOptions{Resolver: r, Domain: "example.org",
		WaitOptions: workspace.WaitOptions{Timeout: 12 * time.Minute}}, sl.sleep, nil))
	if !errors.Is(err, context.DeadlineExceeded) || t.Context().Err() != nil {
		t.Fatalf("err = %v", err)
	}
	if rep == nil || rep.PointsAtGoogle || rep.Checks != 4 || rep.Domain != "example.org" {
		t.Errorf("last report %+v", rep)
	}
	if diff := cmp.Diff([]time.Duration{5 * time.Minute, 5 * time.Minute, 2 * time.Minute}, sl.d); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}

	// The records change at the last check: success.
	r = &dnsDouble{answers: map[string][]answer{"example.org": {{recs: oldRecs}, {recs: oldRecs}, {recs: googleRecs}}}}
	sl = sleeps{}
	rep, err = settings.WaitMX(t.Context(), settings.WithMXHooks(&settings.MXOptions{Resolver: r, Domain: "example.org",
		WaitOptions: workspace.WaitOptions{Timeout: 7 * time.Minute}}, sl.sleep, nil))
	if err != nil || !rep.PointsAtGoogle || rep.Checks != 3 {
		t.Errorf("report %+v, err %v", rep, err)
	}
	if diff := cmp.Diff([]time.Duration{5 * time.Minute, 2 * time.Minute}, sl.d); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

// Negative durations are refused before any lookup.
func TestWaitMXRefusesNegative(t *testing.T) {
	r := &dnsDouble{answers: map[string][]answer{"example.org": {{recs: googleRecs}}}}
	for _, w := range []workspace.WaitOptions{{Interval: -1}, {MaxInterval: -time.Second}, {Timeout: -time.Minute}} {
		_, err := settings.WaitMX(t.Context(), &settings.MXOptions{Resolver: r, Domain: "example.org", WaitOptions: w})
		var ie *workspace.InputError
		if !errors.As(err, &ie) || ie.Op != "settings: WaitMX" {
			t.Errorf("%+v: %v", w, err)
		}
	}
	if len(r.calls) != 0 {
		t.Errorf("lookups made: %v", r.calls)
	}
	// CheckMX ignores the wait options.
	if _, err := settings.CheckMX(t.Context(), &settings.MXOptions{Resolver: r, Domain: "example.org", WaitOptions: workspace.WaitOptions{Interval: -1}}); err != nil {
		t.Error(err)
	}
}

// WaitMX keeps the last good report: a failed lookup at the check at the
// timeout, or while ctx ends, does not lose it, and the timeout error says
// that the lookups failed rather than that the records are not Google's.
func TestWaitMXKeepsLastReport(t *testing.T) {
	servfail := answer{err: errors.New("SERVFAIL")}
	for _, tc := range []struct {
		name    string
		script  []answer
		timeout time.Duration
		cancel  int // cancel ctx during this lookup
		report  bool
		err     error
		msg     string
		checks  int
	}{
		{
			name:   "records not Google's at the timeout",
			script: []answer{{recs: oldRecs}}, timeout: 7 * time.Minute,
			report: true, err: context.DeadlineExceeded, checks: 3,
			msg: "after 7m0s (3 checks) the MX records still do not point at Google (example.org: 10 mx.oldhost.example.net",
		},
		{
			name:   "the check at the timeout fails",
			script: []answer{{recs: oldRecs}, {recs: oldRecs}, servfail}, timeout: 7 * time.Minute,
			report: true, err: context.DeadlineExceeded, checks: 3,
			msg: "after 7m0s (3 checks) the last lookups failed: settings: mx.check: looking up MX of example.org: SERVFAIL; the last records seen",
		},
		{
			name:   "every lookup fails",
			script: []answer{servfail}, timeout: 7 * time.Minute,
			err: context.DeadlineExceeded, checks: 5,
			msg: "after 7m0s (5 checks) the lookups failed: settings: mx.check: looking up MX of example.org: SERVFAIL",
		},
		{
			name:   "ctx ends during a failed lookup",
			script: []answer{{recs: oldRecs}, servfail, servfail},
			cancel: 3, report: true, err: context.Canceled, checks: 3,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			r := &cancellingResolver{dnsDouble: dnsDouble{answers: map[string][]answer{"example.org": tc.script}}, at: tc.cancel, cancel: cancel}
			var sl sleeps
			var seen []error // the error each Progress call saw
			rep, err := settings.WaitMX(ctx, settings.WithMXHooks(&settings.MXOptions{Resolver: r, Domain: "example.org",
				WaitOptions: workspace.WaitOptions{Timeout: tc.timeout},
				Progress:    func(_ *settings.MXReport, err error) { seen = append(seen, err) }}, sl.sleep, nil))
			if !errors.Is(err, tc.err) || (tc.err == context.Canceled && err != context.Canceled) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %q, want it to say %q", err, tc.msg)
			}
			if (rep != nil) != tc.report {
				t.Fatalf("report %+v, want one: %v", rep, tc.report)
			}
			if rep != nil && (rep.PointsAtGoogle || len(rep.Records) != 1 || rep.Checks != tc.checks) {
				t.Errorf("report %+v, want the last good one with Checks %d", rep, tc.checks)
			}
			// Progress saw every check, the last one (failed or not) too.
			lastFailed := tc.script[min(tc.checks, len(tc.script))-1].err != nil || tc.cancel > 0
			if len(seen) != tc.checks || (seen[len(seen)-1] != nil) != lastFailed {
				t.Errorf("Progress saw %v, want %d checks, the last failed: %v", seen, tc.checks, lastFailed)
			}
			if !strings.HasPrefix(err.Error(), "settings: WaitMX: ") && tc.err == context.DeadlineExceeded {
				t.Errorf("err = %q, want it to name settings: WaitMX", err)
			}
		})
	}
}

// cancellingResolver cancels ctx during its at-th lookup, which then
// fails.
type cancellingResolver struct {
	dnsDouble
	n      int
	at     int
	cancel context.CancelFunc
}

func (r *cancellingResolver) LookupMX(ctx context.Context, domain string) ([]settings.MX, error) {
	r.n++
	if r.n == r.at {
		r.cancel()
		return nil, &net.DNSError{Err: "operation was canceled", Name: domain}
	}
	return r.dnsDouble.LookupMX(ctx, domain)
}

// Timeout holds with real time too: lookups that take time count, and an
// Interval above MaxInterval raises MaxInterval to it.
func TestWaitMXTimeoutCountsLookups(t *testing.T) {
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	short := []settings.MX{{Host: "mx.old.example", TTL: time.Second}}
	r := &slowResolver{recs: short, takes: 3 * time.Minute, now: &now}
	var sl sleeps
	sleep := func(ctx context.Context, d time.Duration) error {
		now = now.Add(d)
		return sl.sleep(ctx, d)
	}
	rep, err := settings.WaitMX(t.Context(), settings.WithMXHooks(&settings.MXOptions{Resolver: r, Domain: "example.org",
		WaitOptions: workspace.WaitOptions{Interval: 10 * time.Minute, MaxInterval: 2 * time.Minute, Timeout: 25 * time.Minute}}, sleep, clock))
	if !errors.Is(err, context.DeadlineExceeded) || rep == nil || rep.Checks != 3 {
		t.Fatalf("WaitMX = %+v, %v", rep, err)
	}
	// Lookups at 0, 13 min (3 + 10) and 25 min (26 - 1 is past it: the
	// second wait is cut to 9 min).
	if diff := cmp.Diff([]time.Duration{10 * time.Minute, 9 * time.Minute}, sl.d); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

// slowResolver answers recs, each lookup moving *now by takes.
type slowResolver struct {
	recs  []settings.MX
	takes time.Duration
	now   *time.Time
}

func (r *slowResolver) LookupMX(ctx context.Context, domain string) ([]settings.MX, error) {
	*r.now = r.now.Add(r.takes)
	return r.recs, nil
}
