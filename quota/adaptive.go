package quota

import "time"

// adapt is the adaptive-rate state of one rate scope. The controller works in
// windows of adaptWindow:
//
//   - Slow start (rules whose limit is unknown, until the first throttle):
//     the rate grows ×1.5 after each window in which the rule was the
//     bottleneck (some call waited on it) and nothing was throttled.
//   - On a throttle of a call admitted after the last cut, the rate is cut at
//     once: ×0.7 in unknown territory (slow start, or above the last
//     estimate of the limit), ×0.9 near the estimate. Throttles of calls sent
//     before the cut do not cut again.
//   - At the end of a window with throttles, the server's goodput
//     (admitted − throttled units per second) is the estimate of the limit;
//     the rate is brought to at most 97% of it.
//   - Recovery: while the rule is the bottleneck and nothing is throttled,
//     the rate closes half the gap to the estimate each window (fast probe),
//     then grows additively by 2% of the estimate per window to find out
//     whether the limit went up.
//
// The rate never goes below the rule's floor nor, for documented rules,
// above the configured limit.
type adapt struct {
	slow        bool
	lastMax     float64 // estimate of the limit, units/s; 0 = none
	lastCut     int64   // ns since t0
	winStart    int64
	winAdmit    float64
	winThrottle float64
	blocked     bool
}

const adaptWindow = int64(500 * time.Millisecond)

// tick closes the current window if it is over and adjusts the rate.
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
	switch {
	case a.winThrottle > 0:
		good := (a.winAdmit - a.winThrottle) / sec
		if good > 0 {
			a.lastMax = good
			if s.rate > 0.97*good {
				s.rate = 0.97 * good
			}
		}
	case a.blocked && el < 4*w && a.winAdmit >= 0.8*s.rate*sec:
		switch {
		case a.slow:
			s.rate *= 1.5
		case a.lastMax > 0 && s.rate < 0.98*a.lastMax:
			s.rate += (a.lastMax - s.rate) / 2
		default:
			step := 0.02 * max(s.rate, a.lastMax)
			s.rate += step
			if s.rate > a.lastMax {
				a.lastMax = s.rate
			}
		}
	}
	s.clamp()
	a.winStart, a.winAdmit, a.winThrottle, a.blocked = mono, 0, 0, false
}

// onThrottle reacts to a server throttle of a call admitted at time at (ns
// since t0; negative when unknown) and counting n units.
func (s *scope) onThrottle(at, mono int64, n float64) {
	a := &s.ad
	a.winThrottle += n
	if at >= 0 && at < a.lastCut {
		return // sent before the last cut: the cut already accounts for it
	}
	if at < 0 && mono-a.lastCut < adaptWindow/2 {
		return
	}
	beta := 0.9
	if a.slow || a.lastMax == 0 || s.rate > 1.1*a.lastMax {
		beta = 0.7
	}
	a.slow = false
	s.rate *= beta
	s.clamp()
	a.lastCut = mono
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
}
