package health

import (
	"errors"
	"fmt"
	"time"
)

// ErrConfig is wrapped by every configuration error of this package. The
// message names the offending field by its Envoy (snake_case) name.
var ErrConfig = errors.New("health: invalid configuration")

// Defaults for the fields Envoy requires, from Envoy Gateway's
// ActiveHealthCheck (envoyproxy/gateway api/v1alpha1/healthcheck_types.go),
// and Envoy's own defaults for the optional ones
// (api/envoy/config/core/v3/health_check.proto).
const (
	DefaultTimeout            = 1 * time.Second
	DefaultInterval           = 3 * time.Second
	DefaultUnhealthyThreshold = 3
	DefaultHealthyThreshold   = 1
	DefaultNoTrafficInterval  = 60 * time.Second
)

// Limits (TIGER_STYLE: limits on everything).
const (
	// MaxSpan bounds every duration of a Config.
	MaxSpan = 365 * 24 * time.Hour
	// MaxThreshold bounds both thresholds.
	MaxThreshold = 1 << 20
)

// Config is the active health check of one cluster: Envoy's HealthCheck
// message minus the checker-specific payloads. Zero means "the default" in
// every field, so Config{} is a valid configuration. Every duration must
// be a whole number of milliseconds, as Envoy reads them.
type Config struct {
	// Timeout is how long a probe may go unanswered before it counts as a
	// failure (a network timeout, which counts toward the threshold).
	// Default 1 s.
	Timeout time.Duration
	// Interval is the wait between the answer to one probe and the next
	// probe of a host. Default 3 s.
	Interval time.Duration
	// UnhealthyThreshold is the number of consecutive failures (timeouts,
	// connection failures, retriable statuses) that mark a healthy host
	// unhealthy. Default 3.
	UnhealthyThreshold int
	// HealthyThreshold is the number of consecutive successes that mark an
	// unhealthy host healthy. A host never checked needs one. Default 1.
	HealthyThreshold int
	// InitialJitter delays each host's first probe by rand % initial_jitter
	// (at least 1 ms). Default 0: the first probes go out at Start.
	InitialJitter time.Duration
	// IntervalJitter adds rand % interval_jitter to every wait. Default 0.
	IntervalJitter time.Duration
	// IntervalJitterPercent adds rand % (percent * base / 100) to every
	// wait, base being the interval that applies. Default 0.
	IntervalJitterPercent int
	// UnhealthyInterval is the wait after a failure that leaves (or makes)
	// the host unhealthy. Default Interval.
	UnhealthyInterval time.Duration
	// UnhealthyEdgeInterval is the wait after a failure of a healthy host
	// that does not yet reach the threshold. Default UnhealthyInterval.
	UnhealthyEdgeInterval time.Duration
	// HealthyEdgeInterval is the wait after a success of an unhealthy host
	// that does not yet reach the threshold. Default Interval.
	HealthyEdgeInterval time.Duration
	// NoTrafficInterval is the wait while the cluster has carried no
	// traffic (AwaitTraffic only). Default 60 s.
	NoTrafficInterval time.Duration
	// NoTrafficHealthyInterval is the wait after a success with nothing
	// pending while the cluster has carried no traffic. Default
	// NoTrafficInterval.
	NoTrafficHealthyInterval time.Duration
	// AwaitTraffic makes the checker use the no-traffic intervals until
	// the integrator calls Checker.Traffic, as Envoy does for a cluster
	// that has never opened an upstream connection. Default false: the
	// cluster counts as carrying traffic from the start, which is what a
	// simulated mesh under load does within its first milliseconds; with
	// it, Envoy's second probe of every host would come 60 s after the
	// first.
	AwaitTraffic bool
}

// Defaults returns the defaults with every field explicit, as a base to
// override. The derived intervals are left 0 so that they keep following
// Interval (and UnhealthyInterval, NoTrafficInterval) as Envoy's do.
func Defaults() Config {
	return Config{
		Timeout:            DefaultTimeout,
		Interval:           DefaultInterval,
		UnhealthyThreshold: DefaultUnhealthyThreshold,
		HealthyThreshold:   DefaultHealthyThreshold,
		NoTrafficInterval:  DefaultNoTrafficInterval,
	}
}

// WithDefaults returns c with every zero field replaced by its default: the
// configuration a Checker runs. It does not validate.
func (c Config) WithDefaults() Config {
	orDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	orInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	orDur(&c.Timeout, DefaultTimeout)
	orDur(&c.Interval, DefaultInterval)
	orInt(&c.UnhealthyThreshold, DefaultUnhealthyThreshold)
	orInt(&c.HealthyThreshold, DefaultHealthyThreshold)
	orDur(&c.UnhealthyInterval, c.Interval)
	orDur(&c.UnhealthyEdgeInterval, c.UnhealthyInterval)
	orDur(&c.HealthyEdgeInterval, c.Interval)
	orDur(&c.NoTrafficInterval, DefaultNoTrafficInterval)
	orDur(&c.NoTrafficHealthyInterval, c.NoTrafficInterval)
	return c
}

// Validate reports the first invalid field of c, as an error wrapping
// ErrConfig that names the field. Zero fields are valid: they mean the
// default.
func (c Config) Validate() error {
	durs := []struct {
		name string
		v    time.Duration
	}{
		{"timeout", c.Timeout},
		{"interval", c.Interval},
		{"initial_jitter", c.InitialJitter},
		{"interval_jitter", c.IntervalJitter},
		{"unhealthy_interval", c.UnhealthyInterval},
		{"unhealthy_edge_interval", c.UnhealthyEdgeInterval},
		{"healthy_edge_interval", c.HealthyEdgeInterval},
		{"no_traffic_interval", c.NoTrafficInterval},
		{"no_traffic_healthy_interval", c.NoTrafficHealthyInterval},
	}
	for _, f := range durs {
		if f.v < 0 || f.v > MaxSpan {
			return fmt.Errorf("%w: %s must be in [0, %v], got %v", ErrConfig, f.name, MaxSpan, f.v)
		}
		if f.v%time.Millisecond != 0 {
			return fmt.Errorf("%w: %s must be a whole number of milliseconds, got %v", ErrConfig, f.name, f.v)
		}
	}
	ths := []struct {
		name string
		v    int
	}{
		{"unhealthy_threshold", c.UnhealthyThreshold},
		{"healthy_threshold", c.HealthyThreshold},
	}
	for _, f := range ths {
		if f.v < 0 || f.v > MaxThreshold {
			return fmt.Errorf("%w: %s must be in [1, %d] (0 for the default), got %d", ErrConfig, f.name, MaxThreshold, f.v)
		}
	}
	if p := c.IntervalJitterPercent; p < 0 || p > 100 {
		// Envoy accepts any uint32; beyond 100% the "jitter" dominates the
		// interval, which is a configuration error in every case seen.
		return fmt.Errorf("%w: interval_jitter_percent must be in [0, 100], got %d", ErrConfig, p)
	}
	return nil
}
