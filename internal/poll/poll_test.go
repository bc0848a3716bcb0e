package poll

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// step is one poll of a script: the state it reads or the error it fails
// with, and how long it takes on the simulated clock.
type step struct {
	state string // "done", "failed" (finished in failure) or anything else (pending)
	err   error
	takes time.Duration
}

var (
	errTemp = errors.New("temporary failure")
	errPerm = errors.New("permanent failure")
	errOp   = errors.New("finished in failure")
)

func pending(s string) step { return step{state: s} }
func fail(err error) step   { return step{err: err} }
func slow(s step, d time.Duration) step {
	s.takes = d
	return s
}

// sim is a simulated clock and sleeper: a sleep records the pause and, when
// advance is set, moves the clock (real time emulated); otherwise it only
// records (a test's recording sleeper, with a clock that stands still).
type sim struct {
	now     time.Time
	advance bool
	pauses  []time.Duration
	// pollTimes are the clock's times at each poll, from the start.
	pollTimes []time.Duration
	start     time.Time
	// cancelAt cancels ctx at the given pause (1-based) instead of
	// sleeping; cancelInPoll cancels it during the given poll, which
	// then fails with a wrapped context error.
	cancelAt, cancelInPoll int
	cancel                 context.CancelFunc
	progress               []string
	waiting                []string
	// pausesAtPoll and pausesAtProgress are len(pauses) when each poll
	// started and when each Progress call came: equal when Progress is
	// called before the pause that follows its poll.
	pausesAtPoll, pausesAtProgress []int
}

func (s *sim) Now() time.Time { return s.now }

func (s *sim) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.pauses = append(s.pauses, d)
	if len(s.pauses) == s.cancelAt {
		s.cancel()
		return ctx.Err()
	}
	if s.advance {
		s.now = s.now.Add(d)
	}
	return nil
}

func TestWait(t *testing.T) {
	type want struct {
		state   string
		err     error  // matched with errors.Is; nil: none
		same    bool   // err must be want.err itself (ctx.Err())
		msg     string // a part of the error's text
		pauses  []time.Duration
		polls   int
		pollsAt []time.Duration // clock times of the polls, when checked
	}
	s := time.Second
	for _, tc := range []struct {
		name    string
		opts    Options
		script  []step // the last step repeats
		advance bool   // the sleeper moves the clock
		minimum time.Duration
		cancel  int // cancel ctx at this pause
		cancelP int // cancel ctx during this poll
		want    want
	}{
		{
			name:   "pauses grow by half up to MaxInterval",
			opts:   Options{Interval: s, MaxInterval: 3 * s},
			script: []step{pending("a"), pending("a"), pending("a"), pending("a"), pending("a"), pending("done")},
			want:   want{state: "done", pauses: []time.Duration{s, 1500 * time.Millisecond, 2250 * time.Millisecond, 3 * s, 3 * s}, polls: 6},
		},
		{
			name:   "Interval above MaxInterval raises MaxInterval",
			opts:   Options{Interval: 10 * s, MaxInterval: 2 * s}.WithDefaults(time.Minute, time.Hour),
			script: []step{pending("a"), pending("a"), pending("a"), pending("done")},
			want:   want{state: "done", pauses: []time.Duration{10 * s, 10 * s, 10 * s}, polls: 4},
		},
		{
			name:   "defaults",
			opts:   Options{}.WithDefaults(5*s, 6*s),
			script: []step{pending("a"), pending("a"), pending("a"), pending("done")},
			want:   want{state: "done", pauses: []time.Duration{5 * s, 6 * s, 6 * s}, polls: 4},
		},
		{
			name:    "timeout: the last pause is cut and a last poll is made at the timeout (real time emulated)",
			opts:    Options{Interval: 10 * s, MaxInterval: time.Hour, Timeout: 30 * s},
			script:  []step{pending("p1"), pending("p2"), pending("p3"), pending("p4"), pending("p5")},
			advance: true,
			want: want{state: "p4", err: context.DeadlineExceeded, msg: "still p4 after 30s (4 polls)",
				pauses: []time.Duration{10 * s, 15 * s, 5 * s}, polls: 4, pollsAt: []time.Duration{0, 10 * s, 25 * s, 30 * s}},
		},
		{
			name:   "timeout with a recording sleeper (the clock stands still)",
			opts:   Options{Interval: 10 * s, MaxInterval: time.Hour, Timeout: 30 * s},
			script: []step{pending("p1"), pending("p2"), pending("p3"), pending("p4"), pending("p5")},
			want:   want{state: "p4", err: context.DeadlineExceeded, pauses: []time.Duration{10 * s, 15 * s, 5 * s}, polls: 4},
		},
		{
			name:    "timeout: done at the last poll is success",
			opts:    Options{Interval: 10 * s, MaxInterval: time.Hour, Timeout: 30 * s},
			script:  []step{pending("a"), pending("a"), pending("a"), pending("done")},
			advance: true,
			want:    want{state: "done", pauses: []time.Duration{10 * s, 15 * s, 5 * s}, polls: 4},
		},
		{
			name: "timeout: slow polls count (elapsed is the larger of the pauses and the clock)",
			opts: Options{Interval: 10 * s, MaxInterval: time.Hour, Timeout: 30 * s},
			// 8 s a poll: the second pause (15 s) would end at 41 s.
			script:  []step{slow(pending("a"), 8*s)},
			advance: true,
			want: want{state: "a", err: context.DeadlineExceeded, pauses: []time.Duration{10 * s, 4 * s}, polls: 3,
				pollsAt: []time.Duration{0, 18 * s, 30 * s}},
		},
		{
			name:    "timeout: a poll that outlasts it leaves no pause, and one more poll is made",
			opts:    Options{Interval: 10 * s, MaxInterval: time.Hour, Timeout: 30 * s},
			script:  []step{slow(pending("a"), 40*s), pending("b")},
			advance: true,
			want:    want{state: "b", err: context.DeadlineExceeded, polls: 2},
		},
		{
			name:   "timeout: a temporary failure at the last poll keeps the last state and says so",
			opts:   Options{Interval: 10 * s, MaxInterval: time.Hour, Timeout: 30 * s},
			script: []step{pending("a"), pending("b"), fail(errTemp)},
			want: want{state: "b", err: context.DeadlineExceeded, msg: "last poll failed: temporary failure",
				pauses: []time.Duration{10 * s, 15 * s, 5 * s}, polls: 4},
		},
		{
			name:   "timeout: nothing read",
			opts:   Options{Interval: 10 * s, MaxInterval: time.Hour, Timeout: 30 * s},
			script: []step{fail(errTemp)},
			want:   want{err: context.DeadlineExceeded, msg: "nothing read in 4 polls", pauses: []time.Duration{10 * s, 15 * s, 5 * s}, polls: 4},
		},
		{
			name:   "ctx canceled during a pause: the last state and ctx.Err() itself",
			opts:   Options{Interval: s, MaxInterval: time.Hour},
			script: []step{pending("a"), pending("b"), pending("c")},
			cancel: 2,
			want:   want{state: "b", err: context.Canceled, same: true, pauses: []time.Duration{s, 1500 * time.Millisecond}, polls: 2},
		},
		{
			name:    "ctx canceled during a poll: the last state read and ctx.Err() itself",
			opts:    Options{Interval: s, MaxInterval: time.Hour, Timeout: time.Hour},
			script:  []step{pending("a"), pending("b"), pending("c")},
			cancelP: 3,
			want:    want{state: "b", err: context.Canceled, same: true, pauses: []time.Duration{s, 1500 * time.Millisecond}, polls: 3},
		},
		{
			name:    "ctx canceled during the first poll: no state",
			opts:    Options{Interval: s, MaxInterval: time.Hour},
			script:  []step{pending("a")},
			cancelP: 1,
			want:    want{err: context.Canceled, same: true, polls: 1},
		},
		{
			name:   "temporary failures are tried again at the next pause",
			opts:   Options{Interval: s, MaxInterval: time.Hour},
			script: []step{pending("a"), fail(errTemp), fail(errTemp), pending("done")},
			want:   want{state: "done", pauses: []time.Duration{s, 1500 * time.Millisecond, 2250 * time.Millisecond}, polls: 4},
		},
		{
			name:   "a permanent failure ends the wait with the last state",
			opts:   Options{Interval: s, MaxInterval: time.Hour},
			script: []step{pending("a"), fail(errTemp), fail(errPerm)},
			want:   want{state: "a", err: errPerm, same: true, pauses: []time.Duration{s, 1500 * time.Millisecond}, polls: 3},
		},
		{
			name:   "a permanent failure at the first poll: no state",
			opts:   Options{Interval: s, MaxInterval: time.Hour},
			script: []step{fail(errPerm)},
			want:   want{err: errPerm, same: true, polls: 1},
		},
		{
			name:   "finished in failure: the state and the caller's error",
			opts:   Options{Interval: s, MaxInterval: time.Hour},
			script: []step{pending("a"), pending("failed")},
			want:   want{state: "failed", err: errOp, same: true, pauses: []time.Duration{s}, polls: 2},
		},
		{
			name:    "MinPause lengthens a pause without changing the growth",
			opts:    Options{Interval: s, MaxInterval: 4 * s},
			script:  []step{pending("slow"), pending("a"), pending("a"), pending("done")},
			minimum: 5 * s,
			want:    want{state: "done", pauses: []time.Duration{5 * s, 1500 * time.Millisecond, 2250 * time.Millisecond}, polls: 4},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			sm := &sim{now: time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), advance: tc.advance, cancelAt: tc.cancel, cancelInPoll: tc.cancelP, cancel: cancel}
			sm.start = sm.now
			polls := 0
			p := &Poller[string]{
				Options: tc.opts,
				Sleep:   sm.Sleep,
				Now:     sm.Now,
				Poll: func(ctx context.Context) (string, error) {
					st := tc.script[min(polls, len(tc.script)-1)]
					polls++
					sm.pollTimes = append(sm.pollTimes, sm.now.Sub(sm.start))
					sm.pausesAtPoll = append(sm.pausesAtPoll, len(sm.pauses))
					sm.now = sm.now.Add(st.takes)
					if polls == sm.cancelInPoll {
						cancel()
						return "", fmt.Errorf("request: %w", ctx.Err())
					}
					return st.state, st.err
				},
				Done: func(s string) (bool, error) {
					switch s {
					case "done":
						return true, nil
					case "failed":
						return true, errOp
					}
					return false, nil
				},
				Temporary: func(err error) bool { return errors.Is(err, errTemp) },
				Progress: func(s string, err error) {
					if err != nil {
						s = "error"
					}
					sm.progress = append(sm.progress, s)
					sm.pausesAtProgress = append(sm.pausesAtProgress, len(sm.pauses))
				},
				Waiting: func(_ context.Context, d time.Duration, last string, err error) {
					sm.waiting = append(sm.waiting, fmt.Sprint(d))
				},
				TimedOut: func(to Timeout[string]) string {
					if !to.Read {
						return fmt.Sprintf("nothing read in %d polls: %v", to.Polls, to.Err)
					}
					msg := fmt.Sprintf("still %s after %v (%d polls)", to.Last, to.After, to.Polls)
					if to.Err != nil {
						msg += fmt.Sprintf("; the last poll failed: %v", to.Err)
					}
					return msg
				},
			}
			if tc.minimum > 0 {
				p.MinPause = func(s string) time.Duration {
					if s == "slow" {
						return tc.minimum
					}
					return 0
				}
			}
			got, err := Wait(ctx, p)
			w := tc.want
			if got != w.state {
				t.Errorf("state %q, want %q", got, w.state)
			}
			switch {
			case w.err == nil && err != nil:
				t.Errorf("err = %v, want none", err)
			case w.err != nil && !errors.Is(err, w.err):
				t.Errorf("err = %v, want one matching %v", err, w.err)
			case w.same && err != w.err:
				t.Errorf("err = %#v, want %v itself", err, w.err)
			}
			if w.err == context.DeadlineExceeded && errors.Is(err, context.Canceled) {
				t.Errorf("a timeout matches context.Canceled: %v", err)
			}
			if w.msg != "" && (err == nil || !strings.Contains(err.Error(), w.msg)) {
				t.Errorf("err = %v, want it to say %q", err, w.msg)
			}
			if !slices.Equal(sm.pauses, w.pauses) {
				t.Errorf("pauses %v, want %v", sm.pauses, w.pauses)
			}
			if polls != w.polls {
				t.Errorf("%d polls, want %d", polls, w.polls)
			}
			if w.pollsAt != nil && !slices.Equal(sm.pollTimes, w.pollsAt) {
				t.Errorf("polls at %v, want %v", sm.pollTimes, w.pollsAt)
			}
			// Progress sees every poll (the last one, the one at the
			// timeout and failed ones included), before the pause that
			// follows it.
			if len(sm.progress) != polls || !slices.Equal(sm.pausesAtProgress, sm.pausesAtPoll) {
				t.Errorf("Progress saw %v after %d polls (pauses before each: %v, before each poll: %v)", sm.progress, polls, sm.pausesAtProgress, sm.pausesAtPoll)
			}
			if (tc.cancelP > 0 || w.err == errPerm) && sm.progress[len(sm.progress)-1] != "error" {
				t.Errorf("Progress did not see the failed last poll: %v", sm.progress)
			}
			if len(sm.waiting) != len(sm.pauses) {
				t.Errorf("Waiting saw %v, pauses %v", sm.waiting, sm.pauses)
			}
		})
	}
}

// A ctx that has already ended: no poll.
func TestWaitEndedContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	polled := false
	_, err := Wait(ctx, &Poller[int]{Options: Options{Interval: time.Second, MaxInterval: time.Second},
		Poll: func(context.Context) (int, error) { polled = true; return 0, nil },
		Done: func(int) (bool, error) { return false, nil }})
	if err != context.Canceled || polled {
		t.Errorf("err = %v, polled %v", err, polled)
	}
}

// A sleeper that fails without ctx ending ends the wait with its error.
func TestWaitSleepError(t *testing.T) {
	boom := errors.New("no sleep")
	got, err := Wait(t.Context(), &Poller[int]{Options: Options{Interval: time.Second, MaxInterval: time.Second},
		Sleep: func(context.Context, time.Duration) error { return boom },
		Poll:  func(context.Context) (int, error) { return 7, nil },
		Done:  func(int) (bool, error) { return false, nil }})
	if got != 7 || err != boom {
		t.Errorf("Wait = %v, %v", got, err)
	}
}

// Without Temporary, every failure ends the wait; without TimedOut the
// timeout error still names the timeout and the last failure.
func TestWaitBareHooks(t *testing.T) {
	n := 0
	_, err := Wait(t.Context(), &Poller[int]{Options: Options{Interval: time.Second, MaxInterval: time.Second},
		Sleep: func(context.Context, time.Duration) error { return nil },
		Poll:  func(context.Context) (int, error) { n++; return 0, errTemp },
		Done:  func(int) (bool, error) { return false, nil }})
	if err != errTemp || n != 1 {
		t.Errorf("err = %v after %d polls", err, n)
	}
	_, err = Wait(t.Context(), &Poller[int]{Options: Options{Interval: time.Second, MaxInterval: time.Second, Timeout: 2 * time.Second},
		Sleep:     func(context.Context, time.Duration) error { return nil },
		Poll:      func(context.Context) (int, error) { return 0, errTemp },
		Done:      func(int) (bool, error) { return false, nil },
		Temporary: func(error) bool { return true }})
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "not done after 2s (3 polls); the last poll failed: temporary failure") {
		t.Errorf("err = %v", err)
	}
}

func TestNegative(t *testing.T) {
	for _, tc := range []struct {
		o    Options
		want string
	}{
		{Options{}, ""},
		{Options{Interval: time.Second, MaxInterval: time.Minute, Timeout: time.Hour}, ""},
		{Options{Interval: -1}, "Interval"},
		{Options{MaxInterval: -time.Second}, "MaxInterval"},
		{Options{Timeout: -time.Minute}, "Timeout"},
		{Options{Interval: -1, Timeout: -1}, "Interval"},
	} {
		if got := tc.o.Negative(); got != tc.want {
			t.Errorf("%+v.Negative() = %q, want %q", tc.o, got, tc.want)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	for _, tc := range []struct {
		in, want Options
	}{
		{Options{}, Options{Interval: 5 * time.Second, MaxInterval: 2 * time.Minute}},
		{Options{Interval: time.Minute, Timeout: time.Hour}, Options{Interval: time.Minute, MaxInterval: 2 * time.Minute, Timeout: time.Hour}},
		{Options{Interval: 10 * time.Minute}, Options{Interval: 10 * time.Minute, MaxInterval: 10 * time.Minute}},
		{Options{MaxInterval: time.Second}, Options{Interval: 5 * time.Second, MaxInterval: 5 * time.Second}},
	} {
		if got := tc.in.WithDefaults(5*time.Second, 2*time.Minute); got != tc.want {
			t.Errorf("%+v.WithDefaults = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

func TestGrow(t *testing.T) {
	for _, tc := range []struct{ d, maxd, want time.Duration }{
		{time.Second, time.Hour, 1500 * time.Millisecond},
		{time.Second, 1200 * time.Millisecond, 1200 * time.Millisecond},
		{time.Hour, time.Hour, time.Hour},
		{math.MaxInt64 / 2, math.MaxInt64, math.MaxInt64/2 + math.MaxInt64/4},
		{math.MaxInt64 / 4 * 3, math.MaxInt64, math.MaxInt64}, // no overflow
		{math.MaxInt64 - 1, math.MaxInt64, math.MaxInt64},
	} {
		if got := grow(tc.d, tc.maxd); got != tc.want {
			t.Errorf("grow(%v, %v) = %v, want %v", tc.d, tc.maxd, got, tc.want)
		}
	}
}

func TestTransport(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&net.OpError{Op: "dial", Err: errors.New("connection refused")}, true},
		{fmt.Errorf("get: %w", &net.DNSError{Err: "timeout", IsTimeout: true}), true},
		{fmt.Errorf("reading: %w", errUnexpectedEOF()), true},
		{errors.New("bad JSON"), false},
	} {
		if got := Transport(tc.err); got != tc.want {
			t.Errorf("Transport(%v) = %v", tc.err, got)
		}
	}
}

func errUnexpectedEOF() error { return fmt.Errorf("body: %w", io.ErrUnexpectedEOF) }

// The timer sleeper ends with ctx.
func TestTimerSleep(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := Sleep(ctx, time.Hour); err != context.Canceled {
		t.Errorf("Sleep = %v", err)
	}
	if err := Sleep(t.Context(), time.Nanosecond); err != nil {
		t.Errorf("Sleep = %v", err)
	}
}
