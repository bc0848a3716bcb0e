// Package poll is the one polling loop behind the library's Wait methods
// (audit.ExportsService.Wait and Delete, datatransfer.TransfersService.Wait,
// settings.WaitMX), so that they share one meaning:
//
//   - Pauses start at Interval and grow by half after each poll, up to
//     MaxInterval; an Interval above MaxInterval raises MaxInterval to it.
//     Negative durations are the caller's to refuse (Options.Negative),
//     before any request.
//   - Every pause goes through the given sleeper. Elapsed time is the
//     larger of the sum of the pauses and the clock's time since the start,
//     so a Timeout ends the wait under a sleeper that only records (tests)
//     and under real time alike.
//   - When the next pause would pass Timeout, it is cut to end at the
//     Timeout and one last poll is made there, with the caller's ctx. Done:
//     its result. Not done: the last state read and an error matching
//     context.DeadlineExceeded that says what was still pending.
//   - When ctx ends: the last state read (zero if none) and ctx.Err()
//     itself.
//   - A poll that fails with an error the caller classes as temporary is
//     tried again at the next pause, keeping the last state read; any other
//     error ends the wait with the last state read and that error.
//   - A thing that finished in failure ends the wait with its state and
//     the error the caller's Done gives (a *workspace.OperationError).
//   - Progress sees every poll, as soon as it returns and before any pause
//     that follows: the last poll, the one at the Timeout and failed ones
//     included. A poll that read a state gives (state, nil); a failed one,
//     temporary or not, gives (zero, err).
//
// The package imports only the standard library: errors that must be a
// *workspace.InputError are built by the caller.
package poll

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Options are the durations of a wait, as in workspace.WaitOptions.
type Options struct {
	// Interval is the first pause; each later one is half as long again.
	Interval time.Duration
	// MaxInterval caps the pauses.
	MaxInterval time.Duration
	// Timeout bounds the whole wait; 0 means until ctx ends.
	Timeout time.Duration
}

// Negative returns the name of the first negative duration of o
// ("Interval", "MaxInterval" or "Timeout"), or "" when there is none. The
// callers refuse it with a *workspace.InputError on that field.
func (o Options) Negative() string {
	switch {
	case o.Interval < 0:
		return "Interval"
	case o.MaxInterval < 0:
		return "MaxInterval"
	case o.Timeout < 0:
		return "Timeout"
	}
	return ""
}

// WithDefaults returns o with a zero Interval or MaxInterval replaced by
// the caller's default, and MaxInterval raised to Interval when it is
// below it. It expects o.Negative() == "".
func (o Options) WithDefaults(interval, maxInterval time.Duration) Options {
	if o.Interval <= 0 {
		o.Interval = interval
	}
	if o.MaxInterval <= 0 {
		o.MaxInterval = maxInterval
	}
	o.MaxInterval = max(o.MaxInterval, o.Interval)
	return o
}

// Timeout describes a wait whose Timeout passed before the thing was
// done; Poller.TimedOut words it.
type Timeout[T any] struct {
	After time.Duration // the Timeout
	Polls int           // the polls made, failed ones included
	Last  T             // the last state read; zero when Read is false
	Read  bool          // whether any poll read a state
	// Err is the error of the last poll when it failed (temporarily); nil
	// when the last poll read a state.
	Err error
}

// Poller is one wait: how to read the state, when it is done, and the
// caller's hooks.
type Poller[T any] struct {
	Options // with the caller's defaults applied (see WithDefaults)

	// Sleep waits d or until ctx ends; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock of the elapsed time; nil means time.Now.
	Now func() time.Time

	// Poll reads the state once.
	Poll func(ctx context.Context) (T, error)
	// Done reports whether a state read is final, and with which error:
	// nil for success, the caller's *workspace.OperationError (or another
	// error) for a thing that finished in failure.
	Done func(T) (bool, error)
	// Temporary reports whether a failed poll may be tried again at the
	// next pause; nil means no error is.
	Temporary func(error) bool
	// MinPause, when set, is the shortest pause after a state was read
	// (settings.WaitMX: the records' TTL). It does not change how the
	// pauses grow.
	MinPause func(T) time.Duration
	// Progress, when set, is called after every poll, before Done is
	// asked and before any pause: with the state read and a nil error, or
	// with a zero state and the poll's error when it failed (whether or
	// not the error is temporary, and whether or not it ends the wait).
	Progress func(state T, err error)
	// Waiting, when set, is called before each pause with its length, the
	// last state read (zero if none) and the error of the last poll (nil
	// when it read a state): the callers log there.
	Waiting func(ctx context.Context, pause time.Duration, last T, err error)
	// TimedOut words what was still pending when the Timeout passed; the
	// error returned wraps context.DeadlineExceeded around it. nil means
	// a generic wording.
	TimedOut func(Timeout[T]) string
}

// Wait polls until p.Done says the state is final, a poll fails with an
// error that is not temporary, ctx ends or p.Timeout passes; the package
// documentation gives the meaning of each outcome.
func Wait[T any](ctx context.Context, p *Poller[T]) (T, error) {
	sleep := p.Sleep
	if sleep == nil {
		sleep = Sleep
	}
	now := p.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	var slept time.Duration
	elapsed := func() time.Duration { return max(slept, now().Sub(start)) }

	var (
		last    T
		read    bool
		lastErr error // the last poll's temporary failure; nil after a good poll
		polls   int
		final   bool // the poll at the timeout
	)
	pause := p.Interval
	for {
		if err := ctx.Err(); err != nil {
			return last, err
		}
		state, err := p.Poll(ctx)
		polls++
		if err != nil {
			if p.Progress != nil {
				var zero T
				p.Progress(zero, err)
			}
			if cerr := ctx.Err(); cerr != nil {
				return last, cerr
			}
			if p.Temporary == nil || !p.Temporary(err) {
				return last, err
			}
			lastErr = err
		} else {
			last, read, lastErr = state, true, nil
			if p.Progress != nil {
				p.Progress(state, nil)
			}
			if done, derr := p.Done(state); done {
				return state, derr
			}
		}
		if final {
			return last, timedOut(p, Timeout[T]{After: p.Timeout, Polls: polls, Last: last, Read: read, Err: lastErr})
		}
		d := pause
		if err == nil && p.MinPause != nil {
			d = max(d, p.MinPause(state))
		}
		if p.Timeout > 0 {
			if left := p.Timeout - elapsed(); d >= left {
				d, final = max(left, 0), true
			}
		}
		if d > 0 {
			if p.Waiting != nil {
				p.Waiting(ctx, d, last, lastErr)
			}
			if err := sleep(ctx, d); err != nil {
				if cerr := ctx.Err(); cerr != nil {
					return last, cerr
				}
				return last, err
			}
			slept += d
		}
		pause = grow(pause, p.MaxInterval)
	}
}

// grow is the pause after d: half as long again, at most maxd (and never
// past it through an overflow).
func grow(d, maxd time.Duration) time.Duration {
	if d >= maxd || d/2 >= maxd-d {
		return maxd
	}
	return d + d/2
}

func timedOut[T any](p *Poller[T], t Timeout[T]) error {
	msg := ""
	if p.TimedOut != nil {
		msg = p.TimedOut(t)
	} else {
		msg = fmt.Sprintf("not done after %v (%d polls)", t.After, t.Polls)
		if t.Err != nil {
			msg += fmt.Sprintf("; the last poll failed: %v", t.Err)
		}
	}
	return &TimeoutError{msg: msg}
}

// TimeoutError is Wait's error when the Timeout passed first. It matches
// context.DeadlineExceeded, and only it: the wording says what was still
// pending.
type TimeoutError struct{ msg string }

func (e *TimeoutError) Error() string { return e.msg }

// Is matches context.DeadlineExceeded.
func (e *TimeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// Transport reports whether err is a failure of the connection rather than
// an answer of the server: a network error (net.Error, which *url.Error
// is), or a connection that ended early. The API packages class those as
// temporary, along with a *workspace.Error whose Temporary() is true.
func Transport(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// Sleep waits d or until ctx ends, whichever comes first, and returns
// ctx.Err() in the second case: the real-time sleeper of the module
// (retry.SleepContext is this function).
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
