package quota

import "time"

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

// Google's daily quotas reset at midnight in America/Los_Angeles. The
// Pacific offset is computed from the United States daylight-saving rule in
// force since 2007 (UTC-7 from 02:00 on the second Sunday of March to 02:00
// on the first Sunday of November, UTC-8 otherwise), so that no time-zone
// database has to be embedded or installed; a test checks the rule against
// the tz database for every day from 2007 to 2040.
const (
	pst = -8 * time.Hour
	pdt = -7 * time.Hour
)

// nthSunday returns the day of month of the n-th Sunday of month m in y.
func nthSunday(y int, m time.Month, n int) int {
	wd := time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Weekday()
	first := 1 + (7-int(wd))%7
	return first + 7*(n-1)
}

// pacificOffset returns the Pacific offset from UTC at instant t.
func pacificOffset(t time.Time) time.Duration {
	t = t.UTC()
	y := t.Year()
	// 02:00 PST is 10:00 UTC; 02:00 PDT is 09:00 UTC.
	start := time.Date(y, time.March, nthSunday(y, time.March, 2), 10, 0, 0, 0, time.UTC)
	end := time.Date(y, time.November, nthSunday(y, time.November, 1), 9, 0, 0, 0, time.UTC)
	if !t.Before(start) && t.Before(end) {
		return pdt
	}
	return pst
}

// pacificDate returns the Pacific calendar date of t.
func pacificDate(t time.Time) (int, time.Month, int) {
	return t.UTC().Add(pacificOffset(t)).Date()
}

// NextPacificMidnight returns the first midnight in America/Los_Angeles
// strictly after t: the moment Google's daily quotas reset. On DST change
// days the Pacific day is 23 or 25 hours long.
func NextPacificMidnight(t time.Time) time.Time {
	y, m, d := pacificDate(t)
	// Midnight is never in a changeover hour (02:00), so the offset in
	// force then is the one at the same wall time read as standard time.
	wall := time.Date(y, m, d+1, 0, 0, 0, 0, time.UTC)
	u := wall.Add(-pst)
	if pacificOffset(u) == pdt {
		u = wall.Add(-pdt)
	}
	return u
}

// pacificDay returns the Pacific calendar date of t as YYYYMMDD.
func pacificDay(t time.Time) int {
	y, m, d := pacificDate(t)
	return y*10000 + int(m)*100 + d
}
