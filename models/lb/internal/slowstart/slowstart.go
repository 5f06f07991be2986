// Package slowstart implements Envoy's slow start mode for the policies that
// have it, round_robin and least_request (EdfLoadBalancerBase::
// applySlowStartFactor in load_balancer_impl.cc; docs slow_start.rst;
// SlowStartConfig in api/envoy/config/cluster/v3/cluster.proto).
//
// A host in slow start has its load-balancing weight w scaled to
//
//	w' = w * max(min_weight_percent/100, time_factor^(1/aggression))
//	time_factor = max(elapsed_ms, 1) / window_ms
//
// while elapsed_ms < window_ms, where elapsed_ms is the time since the host
// entered slow start truncated to whole milliseconds (Envoy's
// duration_cast<milliseconds>) and window_ms is the configured window, also
// in whole milliseconds. With aggression 1, or time_factor exactly 1, the
// power is skipped, as in Envoy's applyAggressionFactor; otherwise it is
// sim/dist's portable Pow, so weights are bit-identical on every
// architecture (Envoy uses std::pow).
//
// Whether a host is "in slow start" differs slightly between Envoy's two
// checks, and both are kept: the scaling applies while elapsed_ms <
// window_ms (applySlowStartFactor), but a host still counts as in slow start
// for choosing the weighted path while elapsed_ms <= window_ms
// (noHostsAreInSlowStart). The weight is the same either way at the
// boundary, since the factor is then 1.
package slowstart

import (
	"fmt"
	"math"
	"time"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/sim"
	"github.com/meshsim/meshsim/sim/dist"
)

// Defaults, from SlowStartConfig.
const (
	DefaultAggression       = 1.0
	DefaultMinWeightPercent = 10.0
)

// Ramp is a validated slow start configuration. The zero value is off.
type Ramp struct {
	windowMs   int64 // 0: off
	aggression float64
	minWeight  float64 // fraction of the weight, min_weight_percent/100
}

// Parse fills the defaults of the slow start fields of c and validates
// them, naming policy in errors, which wrap lb.ErrConfig.
func Parse(policy string, c lb.Config) (Ramp, error) {
	w, a, m := c.SlowStartWindow, c.SlowStartAggression, c.SlowStartMinWeightPercent
	switch {
	case w < 0 || (w > 0 && w < time.Millisecond):
		return Ramp{}, fmt.Errorf("%w: %s: slow_start_window must be 0 (off) or at least 1ms, got %v", lb.ErrConfig, policy, w)
	case math.IsNaN(a) || math.IsInf(a, 0) || a < 0:
		return Ramp{}, fmt.Errorf("%w: %s: slow_start aggression must be a finite number > 0, got %v", lb.ErrConfig, policy, a)
	case math.IsNaN(m) || m < 0 || m > 100:
		return Ramp{}, fmt.Errorf("%w: %s: slow_start min_weight_percent must be in [0, 100], got %v", lb.ErrConfig, policy, m)
	}
	if a == 0 {
		a = DefaultAggression
	}
	if m == 0 && !c.SlowStartMinWeightPercentSet {
		m = DefaultMinWeightPercent
	}
	return Ramp{windowMs: w.Milliseconds(), aggression: a, minWeight: m / 100}, nil
}

// On reports whether slow start is configured.
func (r Ramp) On() bool { return r.windowMs > 0 }

// elapsedMs is the whole milliseconds from since to now, truncated toward
// zero like std::chrono::duration_cast.
func elapsedMs(since, now sim.Time) int64 { return int64(now.Sub(since) / time.Millisecond) }

// Factor returns the weight multiplier of a host that entered slow start at
// since, at time now: 1 once the window has elapsed. The complexity is O(1).
func (r Ramp) Factor(since, now sim.Time) float64 {
	ms := elapsedMs(since, now)
	if !r.On() || ms >= r.windowMs {
		return 1
	}
	tf := float64(max(ms, 1)) / float64(r.windowMs)
	f := tf
	if r.aggression != 1 && tf != 1 {
		f = dist.Pow(tf, 1/r.aggression)
	}
	return max(f, r.minWeight)
}

// Hosts is a host list seen through a Ramp: the hosts that implement
// lb.Warming, looked up once so that picks do no type assertions. A nil
// *Hosts has slow start off and leaves every weight alone.
type Hosts struct {
	ramp Ramp
	warm []lb.Warming // nil where a host does not implement lb.Warming
}

// NewHosts returns hs seen through r, or nil if r is off or no host
// implements lb.Warming. It allocates O(n) once.
func NewHosts(r Ramp, hs []lb.Host) *Hosts {
	if !r.On() {
		return nil
	}
	var warm []lb.Warming
	for i, h := range hs {
		if w, ok := h.(lb.Warming); ok {
			if warm == nil {
				warm = make([]lb.Warming, len(hs))
			}
			warm[i] = w
		}
	}
	if warm == nil {
		return nil
	}
	return &Hosts{ramp: r, warm: warm}
}

// Any reports whether some host is in slow start at now (Envoy's
// !noHostsAreInSlowStart, which is what forces the weighted path). The
// complexity is O(n).
func (h *Hosts) Any(now sim.Time) bool {
	if h == nil {
		return false
	}
	for _, w := range h.warm {
		if w == nil {
			continue
		}
		if since, ok := w.WarmingSince(); ok && elapsedMs(since, now) <= h.ramp.windowMs {
			return true
		}
	}
	return false
}

// Scale returns weight, of host i, scaled by its slow start factor at now;
// weight itself, exactly, when the host is not in slow start. The
// complexity is O(1) and it allocates nothing.
func (h *Hosts) Scale(i int, weight float64, now sim.Time) float64 {
	if h == nil || h.warm[i] == nil {
		return weight
	}
	since, ok := h.warm[i].WarmingSince()
	if !ok {
		return weight
	}
	if f := h.ramp.Factor(since, now); f != 1 {
		// One correctly rounded product, as Envoy's host_weight * max(...).
		return weight * f
	}
	return weight
}
