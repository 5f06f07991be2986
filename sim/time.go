package sim

import (
	"math"
	"time"
)

// Time is an instant of virtual time: nanoseconds since the start of a run.
// Spans between instants are time.Duration. Time never refers to the wall
// clock.
type Time int64

// MaxTime is the largest representable instant; it stands for "never".
const MaxTime Time = math.MaxInt64

// Add returns t+d. It saturates at MaxTime instead of overflowing.
func (t Time) Add(d time.Duration) Time {
	s := t + Time(d)
	if d > 0 && s < t {
		return MaxTime
	}
	return s
}

// Sub returns the duration t-u.
func (t Time) Sub(u Time) time.Duration { return time.Duration(t - u) }

// Seconds returns t as floating-point seconds, for output only: the engine
// never computes with float seconds.
func (t Time) Seconds() float64 { return time.Duration(t).Seconds() }

// String formats t as the duration since the start, for example "1m30s".
func (t Time) String() string { return time.Duration(t).String() }
