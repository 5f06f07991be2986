package scenarios

import (
	"fmt"
	"math"
	"time"

	"github.com/meshsim/meshsim/models/workload"
	"github.com/meshsim/meshsim/sim"
)

// Bounds of the default timeline window: DefaultWindow picks the smallest
// round window that gives at most maxDefaultWindows windows, and round
// values are at most 2.5 apart, so it gives at least
// maxDefaultWindows / 2.5 = 80 > minDefaultWindows of them.
const (
	minDefaultWindows = 50
	maxDefaultWindows = 200
)

// niceSteps are the round multiples of a power of ten.
var niceSteps = [...]int64{1, 2, 5}

// DefaultWindow returns the timeline window used when a scenario gives
// none: the smallest round width whose windows over duration number at
// most 200, which makes them 50 to 200 for any duration of 50ns or more.
// Round widths are 1, 2 or 5 times a power of ten of a time unit: of the
// nanosecond below a minute (..., 500ms, 1s, 2s, 5s, 10s, 20s, 50s), of
// the minute below an hour (1m, 2m, 5m, 10m, 20m, 50m), and of the hour
// above (1h, 2h, 5h, 10h, ...). It returns 0 for a duration <= 0.
func DefaultWindow(duration time.Duration) time.Duration {
	if duration <= 0 {
		return 0
	}
	for _, w := range niceWindows() {
		if workload.NumWindows(sim.Time(duration), w) <= maxDefaultWindows {
			return w
		}
	}
	return 0 // unreachable: 200 times the last round width exceeds any duration
}

// niceWindows returns the round widths in increasing order, up to the
// largest below the longest time.Duration.
func niceWindows() []time.Duration {
	var out []time.Duration
	add := func(unit, below time.Duration) {
		for p := int64(1); ; p *= 10 {
			for _, m := range niceSteps {
				if m*p >= int64(below/unit) { // checked before multiplying, so nothing overflows
					return
				}
				out = append(out, time.Duration(m*p)*unit)
			}
		}
	}
	add(time.Nanosecond, time.Minute)
	add(time.Minute, time.Hour)
	add(time.Hour, math.MaxInt64)
	return out
}

// timeline checks timeline.window against the duration: positive, not
// longer than the run, and at most workload.MaxWindows windows.
func (c *checker) timeline(s *Scenario) {
	const path = "timeline.window"
	if !c.pos.present(path) || s.Duration <= 0 || c.bad.covers("duration") {
		return // the default is valid; a bad duration is reported already
	}
	w, d := time.Duration(s.Timeline.Window), time.Duration(s.Duration)
	switch n := workload.NumWindows(sim.Time(d), w); {
	case w <= 0:
		c.errorf(path, false, "e.g. timeline: {window: 1s}", "must be positive")
	case w > d:
		c.errorf(path, false, "", "window %s is longer than duration %s", w, d)
	case n > workload.MaxWindows:
		least := (d + workload.MaxWindows - 1) / workload.MaxWindows
		c.errorf(path, false, fmt.Sprintf("use at least %s, or leave it out for %s", least, DefaultWindow(d)),
			"window %s gives %d windows over duration %s; the limit is %d", w, n, d, workload.MaxWindows)
	}
}
