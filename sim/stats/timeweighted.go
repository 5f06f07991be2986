package stats

import (
	"fmt"
	"math"

	"github.com/meshsim/meshsim/sim"
)

// TimeWeighted is the time-weighted average of a piecewise-constant integer
// quantity, such as a queue length or the number of busy slots: the integral
// of the value over the window divided by the window's length.
//
// The integral is kept exactly as a signed 128-bit integer of value x
// nanoseconds: every value has magnitude at most 2^63 and the window is
// shorter than 2^64 ns, so the area stays below 2^127 in magnitude and
// cannot overflow. Being an integer, it does not depend on the order of
// float additions either; Mean rounds once, at the end.
//
// The zero value is ready to use: it starts at time 0 with value 0. Updates
// must come in non-decreasing time order (as they do from the scheduler); an
// update in the past panics, because it is a bug in the caller. All methods
// are O(1) and allocate nothing. A TimeWeighted is not safe for concurrent
// use.
type TimeWeighted struct {
	start sim.Time // start of the averaging window
	last  sim.Time // time of the last update; area covers [start, last]
	value int64
	area  u128 // signed (two's complement) integral of value over [start, last]
}

// advance adds the area of the current value from the last update to now.
func (w *TimeWeighted) advance(now sim.Time, op string) {
	if now < w.last {
		panic(fmt.Sprintf("stats: TimeWeighted.%s at %v, before the last update at %v", op, now, w.last))
	}
	w.area = w.area.add(w.pending(now))
	w.last = now
}

// pending returns the signed area value*(now-last), now >= last.
func (w *TimeWeighted) pending(now sim.Time) u128 {
	dt := uint64(now - w.last)
	if w.value >= 0 {
		return mul64(uint64(w.value), dt)
	}
	// -value overflows for MinInt64, but as uint64 it is still 2^63.
	return mul64(uint64(-w.value), dt).neg()
}

// Set records that the quantity takes value v from now on. It panics if now
// is before the previous update.
func (w *TimeWeighted) Set(now sim.Time, v int64) {
	w.advance(now, "Set")
	w.value = v
}

// Add records that the quantity changes by delta at now, for example +1 when
// a request joins a queue and -1 when it leaves. It panics if now is before
// the previous update, or if the value would overflow int64.
func (w *TimeWeighted) Add(now sim.Time, delta int64) {
	w.advance(now, "Add")
	v := w.value + delta
	if (delta > 0 && v < w.value) || (delta < 0 && v > w.value) {
		panic(fmt.Sprintf("stats: TimeWeighted.Add(%d) overflows value %d", delta, w.value))
	}
	w.value = v
}

// Value returns the current value.
func (w *TimeWeighted) Value() int64 { return w.value }

// Start returns the start of the current averaging window.
func (w *TimeWeighted) Start() sim.Time { return w.start }

// Reset restarts the averaging window at now, keeping the current value. It
// is how warm-up is deleted: call Reset(warmup) and the average covers only
// [warmup, now]. It panics if now is before the previous update.
func (w *TimeWeighted) Reset(now sim.Time) {
	if now < w.last {
		panic(fmt.Sprintf("stats: TimeWeighted.Reset at %v, before the last update at %v", now, w.last))
	}
	w.start, w.last, w.area = now, now, u128{}
}

// Mean returns the time-weighted average of the value over [Start(), now],
// the current value counting until now. It does not change w. It returns
// NaN when now == Start() (an empty window) and panics if now is before the
// last update.
func (w *TimeWeighted) Mean(now sim.Time) float64 {
	if now < w.last {
		panic(fmt.Sprintf("stats: TimeWeighted.Mean at %v, before the last update at %v", now, w.last))
	}
	if now == w.start {
		return math.NaN()
	}
	return w.area.add(w.pending(now)).signedQuo(uint64(now - w.start))
}
