package quota

import (
	"time"
	_ "time/tzdata" // Pacific-midnight resets must work without system zoneinfo
)

// Clock is the limiter's source of time. Tests inject a fake one; the
// default is the system clock. Implementations must be safe for concurrent
// use.
type Clock interface {
	// Now returns the current time. The limiter measures intervals with
	// Sub, so a monotonic reading (as time.Now gives) is preferred.
	Now() time.Time
	// NewTimer returns a timer that fires once after d.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer made by a Clock.
type Timer interface {
	// C returns the channel the timer fires on.
	C() <-chan time.Time
	// Stop stops the timer; it reports whether it was still pending.
	Stop() bool
}

// SystemClock returns the Clock backed by package time.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) NewTimer(d time.Duration) Timer { return sysTimer{time.NewTimer(d)} }

type sysTimer struct{ t *time.Timer }

func (t sysTimer) C() <-chan time.Time { return t.t.C }
func (t sysTimer) Stop() bool          { return t.t.Stop() }

// pacific is where Google's daily quotas reset at midnight.
var pacific = mustLoadPacific()

func mustLoadPacific() *time.Location {
	loc, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		// time/tzdata is embedded, so this cannot happen.
		panic("quota: cannot load America/Los_Angeles: " + err.Error())
	}
	return loc
}

// NextPacificMidnight returns the first midnight in America/Los_Angeles
// strictly after t: the moment Google's daily quotas reset. On DST change
// days the Pacific day is 23 or 25 hours long.
func NextPacificMidnight(t time.Time) time.Time {
	y, m, d := t.In(pacific).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, pacific)
}

// pacificDay returns the Pacific calendar date of t as YYYYMMDD.
func pacificDay(t time.Time) int {
	y, m, d := t.In(pacific).Date()
	return y*10000 + int(m)*100 + d
}
