package quota

import (
	"math"
	"time"
)

// adapt is the adaptive-rate state of one rate scope: a documented limit is
// a ceiling, not a promise, so the scope follows what the server enforces.
// The controller works in windows of adaptWindow:
//
//   - Slow start (rules whose limit is unknown, until the first throttle):
//     the rate grows ×1.5 after each window in which the rule was the
//     bottleneck (some call waited on it) and nothing was throttled.
//   - On a throttle of a call admitted after the last cut, the rate is cut at
//     once: ×0.7 in unknown territory (slow start, a documented limit never
//     confirmed by a throttle, or well above the last estimate of the
//     limit), ×0.9 near the estimate. Throttles of calls sent before the cut
//     do not cut again.
//   - At the end of a window with throttles, the server's goodput
//     (admitted − throttled units per second) is the estimate of the limit;
//     the rate is brought to at most 97% of it.
//   - Recovery follows a cubic curve of the time since the last cut, as TCP
//     CUBIC does: it closes most of the gap to the estimate in the first
//     second or two, stays close to the estimate for the rest of
//     recoverPlateau (where probing costs refusals and gains nothing), then
//     probes beyond it ever faster, so that a limit that went back up (a
//     throttle caused by another client, a temporary cut) is found again in
//     tens of seconds: from a fifth of the ceiling back to the ceiling in
//     about 30 s. Time only counts while the rule is the bottleneck: an idle
//     or lightly used scope does not grow.
//
// The rate never goes below the rule's floor nor, for documented rules,
// above the configured limit.
type adapt struct {
	slow     bool
	lastMax  float64 // estimate of the limit, units/s; 0 = none
	measured bool    // lastMax comes from the server's answers, not from the rule
	lastCut  int64   // ns since t0

	// A measurement of the limit in progress (see onOutcome).
	measuring bool
	measStart int64
	measOK    float64 // units accepted after the first
	measFirst int64   // when the first accepted call was answered
	measN     int     // calls accepted
	measBad   int     // calls throttled

	// The recovery curve: it starts at base, at epoch.
	epoch int64 // ns since t0
	base  float64

	winStart    int64
	winAdmit    float64
	winThrottle float64
	blocked     bool
}

const (
	adaptWindow = int64(500 * time.Millisecond)

	// recoverPlateau is how long after a cut the recovery curve reaches the
	// estimate of the limit again.
	recoverPlateau = 10.0 // seconds
	// recoverProbe is the cubic coefficient beyond the plateau: τ seconds
	// after it, the rate is the estimate × (1 + recoverProbe·τ³): +1% after
	// 4.6 s, +10% after 10 s, ×1.8 after 20 s, ×5 after 34 s.
	recoverProbe = 1e-4
)

// tick closes the current window if it is over and grows the rate while
// the rule is the bottleneck and nothing is throttled.
func (s *scope) tick(mono int64) {
	a := &s.ad
	el := mono - a.winStart
	// After slow start, a window lasts at least adaptWindow and long enough
	// for about ten calls, so that slow rules measure something.
	// Slow start keeps short windows to grow quickly.
	w := adaptWindow
	if !a.slow {
		w = max(adaptWindow, int64(10/s.rate*float64(time.Second)))
	}
	if el < w {
		return
	}
	sec := float64(el) / float64(time.Second)
	if a.measuring && mono-a.measStart >= measureMax {
		s.endMeasure(mono)
	}
	switch {
	case a.measuring || a.winThrottle > 0:
	case a.blocked && el < 4*w && a.winAdmit >= 0.8*s.rate*sec:
		if a.slow {
			s.rate *= 1.5
			break
		}
		s.rate = max(s.rate, s.curve(mono))
	default:
		// Not the bottleneck: the recovery clock stands still.
		a.epoch += el
	}
	s.clamp()
	a.winStart, a.winAdmit, a.winThrottle, a.blocked = mono, 0, 0, false
}

// curve is the recovery rate at mono: concave up to the estimate of the
// limit, flat near it, convex beyond it.
func (s *scope) curve(mono int64) float64 {
	a := &s.ad
	e := a.lastMax
	if e <= 0 {
		e = s.rate
	}
	t := float64(mono-a.epoch) / float64(time.Second)
	if t < recoverPlateau {
		if a.base >= e {
			return a.base
		}
		x := 1 - t/recoverPlateau
		return e - (e-a.base)*x*x*x
	}
	t -= recoverPlateau
	return e * (1 + recoverProbe*t*t*t)
}

// A measurement of the limit after a throttle ends once measureCalls calls
// got through in at least measureMin with a few throttles (the server was
// saturated), once half as many got through and as many were throttled
// (the rate is far too high, and time costs refusals), or after
// measureMax.
const (
	measureCalls = 8
	measureMin   = int64(time.Second)
	measureMax   = int64(3 * time.Second)
)

// onOutcome takes the server's answer to a call admitted at time at (ns
// since t0; negative when unknown) and counting n units.
//
// A throttle of a call admitted after the last cut starts a measurement:
// the rate is kept for a few calls, so that the server stays saturated and
// its goodput (the units it accepts per second, from its first acceptance
// to its last) is its limit. The rate is then set just below that
// estimate. Measuring instead of cutting at once lands next to the real
// limit in one step, where a multiplicative cut (TCP's AIMD, the CUBIC of
// aws-sdk-go-v2's adaptive mode) undershoots or needs several more
// throttles.
func (s *scope) onOutcome(at, mono int64, n float64, throttled bool) {
	a := &s.ad
	if throttled {
		a.winThrottle += n
	}
	if a.measuring {
		switch {
		case throttled:
			a.measBad++
		case a.measN == 0:
			a.measFirst = mono
			a.measN = 1
		default:
			a.measOK += n
			a.measN++
		}
		el := mono - a.measStart
		if a.measN >= measureCalls && (el >= measureMin && a.measBad >= 3) ||
			a.measN >= measureCalls/2 && a.measBad >= a.measN ||
			el >= measureMax {
			s.endMeasure(mono)
		}
		return
	}
	if !throttled || (at >= 0 && at < a.lastCut) || (at < 0 && mono-a.lastCut < adaptWindow/2) {
		return // a success, or sent before the last cut: the cut accounts for it
	}
	a.slow = false
	a.measuring, a.measStart, a.measOK, a.measN, a.measBad = true, mono, 0, 0, 1
}

// endMeasure sets the rate from the measured goodput.
func (s *scope) endMeasure(mono int64) {
	a := &s.ad
	a.measuring = false
	var good float64
	if a.measN > 1 && mono > a.measFirst {
		good = a.measOK / (float64(mono-a.measFirst) / float64(time.Second))
	}
	est := good
	switch {
	case good == 0:
		// Too little got through to measure: halve, and measure again at
		// the next throttle.
		est = s.rate / 2
	case a.measBad < 2:
		// A lone throttle: the server was not saturated, so its goodput
		// says little; the limit is close to the rate.
		est = min(max(good, 0.9*s.rate), s.rate)
	}
	a.lastMax, a.measured = est, true
	s.rate = 0.97 * est
	s.clamp()
	a.lastCut = mono
	a.epoch, a.base = mono, s.rate
}

func (s *scope) clamp() {
	r := s.r
	if r.ceil > 0 && s.rate > r.ceil {
		s.rate = r.ceil
	}
	if r.ceil > 0 && s.ad.lastMax > r.ceil {
		s.ad.lastMax = r.ceil
	}
	if s.rate < r.floor {
		s.rate = r.floor
	}
	if math.IsNaN(s.rate) || s.rate <= 0 {
		s.rate = r.rate
	}
}
