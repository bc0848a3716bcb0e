package quota

import (
	"math"
	"time"
)

// adapt is the adaptive-rate state of one rate scope: a documented limit is
// a ceiling, not a promise, so the scope follows what the server enforces.
//
//   - Slow start (rules whose limit is unknown, until the first throttle):
//     the rate doubles after each window (adaptWindow) in which the rule
//     was the bottleneck (some call waited on it, and it admitted at least
//     three quarters of its rate) and nothing was throttled. The server's
//     burst hides the limit until its bucket is empty, so the sooner the
//     rate is above the limit, the sooner the limit is found: the refusals
//     of finding it come early. The first throttle halves the rate back to
//     that of the last window nothing was throttled in (the measurement
//     that follows may still find the limit above it: slowTop).
//   - A throttle of a call admitted after the last cut starts a
//     measurement (onOutcome): the rate is kept for about a second, and the
//     server's answers in that time estimate its limit. When the rate is
//     far above the limit (2·measureCalls calls got through before a
//     throttle ended the first part of the second), the rate goes down to
//     just above that coarse estimate for the rest of the second, which
//     keeps the server's bucket empty for a precise estimate at the cost of
//     few refusals. The rate is then set to 97% of the estimate. Throttles
//     of calls sent before the cut, or within cutGrace after it, do not
//     start another. A throttle while probing above the estimate goes back
//     to it at once, unmeasured.
//   - The per-user rules whose limit is unknown share what their scopes
//     measure (rule.shares): when a user's scope measures an estimate, every
//     other user's scope whose own estimate (or rate) is higher takes it
//     (adopt). Such limits are the same for every user, and a user whose
//     calls are not the bottleneck (the project's limit is) would
//     otherwise find its limit only through the refusals of its own rare
//     bursts, one user after the other.
//   - Recovery follows a cubic curve of the time since the cut, as TCP
//     CUBIC does: it closes most of the gap to the estimate in the first
//     seconds, stays close to it until recoverPlateau (where probing costs
//     refusals and gains nothing), then probes beyond it ever faster, so
//     that a limit that went back up (a throttle caused by another client,
//     a temporary cut) is found again: from a fifth of the ceiling back to
//     the ceiling in about 45 s. Time only counts while the rule is the
//     bottleneck: an idle or lightly used scope does not grow.
//
// The rate never goes below the rule's floor nor, for documented rules,
// above the configured limit.
type adapt struct {
	slow     bool
	slowTop  float64 // the rate slow start was throttled at, until the measurement that followed ends
	seen     int64   // the rule's learnedAt this scope has taken into account
	lastMax  float64 // estimate of the limit, units/s; 0 = none
	measured bool    // lastMax comes from the server's answers, not from the rule
	lastCut  int64   // ns since t0

	// A measurement of the limit in progress (see onOutcome).
	measuring  bool
	measStart  int64
	measOK     float64 // units accepted
	measN      int     // calls accepted
	measBad    int     // calls throttled
	measSlowed bool    // the rate went down to measureAbove × a coarse estimate

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
	// slowGrowth is how much slow start multiplies the rate by after each
	// window in which the rule was the bottleneck.
	slowGrowth = 2.0

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
	if a.measuring && mono-a.measStart >= measureMax {
		s.endMeasure(mono, false)
	}
	if s.r.learnedAt > a.seen && !a.measuring {
		s.adopt(mono)
	}
	if el < w {
		return
	}
	sec := float64(el) / float64(time.Second)
	switch {
	case a.measuring || a.winThrottle > 0:
	case a.slow && a.blocked && el < 4*w && a.winAdmit >= 0.75*s.rate*sec:
		// Three quarters rather than the 0.8 below: a short window holds
		// few calls, and one call less must not stop the growth.
		s.rate *= slowGrowth
	case a.blocked && el < 4*w && a.winAdmit >= 0.8*s.rate*sec:
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

// A measurement of the limit runs from one throttle to the first throttle
// at least measureMin later (or once 2·measureCalls calls got through: the
// rate is far too high, and time costs refusals), or to measureMax.
const (
	measureCalls = 8
	measureMin   = int64(time.Second)
	measureMax   = int64(3 * time.Second)
	// measureAbove is how far above a coarse estimate a measurement that
	// started far above the limit goes on.
	measureAbove = 1.1

	// cutGrace is how long after a cut throttles are ignored.
	cutGrace = int64(time.Second)
)

// onOutcome takes the server's answer to a call admitted at time at (ns
// since t0; negative when unknown) and counting n units.
//
// A throttle of a call admitted after the last cut starts a measurement:
// the rate is kept until another throttle comes at least a second later.
// A throttle says the server's bucket is empty, so between two of them
// the server accepted exactly what its limit let in: the units accepted
// in between, per second, are its limit, whatever the callers did in the
// meantime (sent at the rate, or backed off after the throttle and then
// burst into the refilled bucket). The rate is then set just below that
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
		el := mono - a.measStart
		if throttled {
			a.measBad++
			if el >= measureMin {
				s.endMeasure(mono, true)
				return
			}
			if a.measN >= 2*measureCalls && !a.measSlowed {
				// Far above the limit: the server's answers so far give a
				// coarse estimate. The measurement goes on to measureMin
				// just above it, where it costs few refusals.
				a.measSlowed = true
				coarse := a.measOK / (float64(max(el, 1)) / float64(time.Second))
				s.rate = max(min(s.rate, measureAbove*coarse), s.r.floor)
			}
			return
		}
		a.measN++
		a.measOK += n
		if el >= measureMax {
			s.endMeasure(mono, false)
		}
		return
	}
	// Throttles of calls sent before the last cut, or just after it (the
	// server's bucket was left empty by the measurement and needs a moment
	// to refill), are accounted for by the cut.
	grace := int64(0)
	if a.measured {
		grace = cutGrace
	}
	if !throttled || (at >= 0 && at < a.lastCut+grace) || (at < 0 && mono-a.lastCut < grace) {
		return
	}
	if a.slow {
		a.slow = false
		a.slowTop = s.rate
		s.rate /= slowGrowth
		s.clamp()
	}
	if a.measured && s.rate > 1.03*a.lastMax {
		// A probe above the last estimate went too far: back to the
		// estimate at once, rather than spend a second of refusals
		// measuring a limit that has not moved.
		s.rate = 0.97 * a.lastMax
		s.clamp()
		a.lastCut = mono
		a.epoch, a.base = mono, s.rate
		return
	}
	a.measuring, a.measStart = true, mono
	a.measOK, a.measN, a.measBad, a.measSlowed = 0, 0, 1, false
}

// endMeasure sets the rate from the measured goodput; closed says whether
// the measurement ended with a throttle (the server's bucket was empty at
// both ends).
func (s *scope) endMeasure(mono int64, closed bool) {
	a := &s.ad
	a.measuring = false
	good := a.measOK / (float64(max(mono-a.measStart, 1)) / float64(time.Second))
	est := good
	switch {
	case a.measN == 0:
		// Nothing got through: halve, and measure again at the next
		// throttle.
		est = s.rate / 2
	case !closed:
		// No second throttle: the server was not saturated, so its goodput
		// says little; the limit is close to the rate.
		est = max(good, 0.9*s.rate)
	}
	// The estimate is at most the rate of the measurement or, for the
	// first one, the rate slow start was throttled at: slow start backs
	// off while it measures, and the server's answers may show that the
	// limit lies above the back-off.
	est = min(est, max(s.rate, a.slowTop))
	a.lastMax, a.measured = est, true
	if !closed && a.slowTop > est {
		a.lastMax = a.slowTop
	}
	a.slowTop = 0
	s.rate = 0.97 * est
	s.clamp()
	a.lastCut = mono
	a.epoch, a.base = mono, s.rate
	if s.r.shares() {
		s.r.learned, s.r.learnedAt = est, mono
		a.seen = mono
	}
}

// adopt takes the estimate another scope of the rule measured, when it is
// below this scope's own.
func (s *scope) adopt(mono int64) {
	a := &s.ad
	a.seen = s.r.learnedAt
	est := s.r.learned
	if a.measured && a.lastMax <= est {
		return
	}
	a.slow, a.slowTop = false, 0
	a.lastMax, a.measured = est, true
	if s.rate > 0.97*est {
		s.rate = 0.97 * est
		s.clamp()
		a.lastCut = mono
	}
	// Below the estimate, the recovery curve takes the rate to it.
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
