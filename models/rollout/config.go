package rollout

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrConfig is wrapped by every configuration error of this package. The
// message names the offending field in snake_case.
var ErrConfig = errors.New("rollout: invalid configuration")

// IntOrPercent is Kubernetes' intstr.IntOrString for max_surge and
// max_unavailable: a count of pods or a percentage of replicas. The zero
// value means "the default".
type IntOrPercent struct {
	v   int
	pct bool
	set bool
}

// Count returns the absolute value n.
func Count(n int) IntOrPercent { return IntOrPercent{v: n, set: true} }

// Pct returns p percent of replicas.
func Pct(p int) IntOrPercent { return IntOrPercent{v: p, pct: true, set: true} }

// IsSet reports whether x was given explicitly.
func (x IntOrPercent) IsSet() bool { return x.set }

// Scaled resolves x against total: a count as is, a percentage rounded up
// or down (GetScaledValueFromIntOrPercent, in integers, which gives the
// same results as Kubernetes' float computation for these ranges).
func (x IntOrPercent) Scaled(total int, roundUp bool) int {
	if !x.pct {
		return x.v
	}
	if roundUp {
		return (x.v*total + 99) / 100
	}
	return x.v * total / 100
}

// String formats x as "3" or "25%", or "default" when unset.
func (x IntOrPercent) String() string {
	switch {
	case !x.set:
		return "default"
	case x.pct:
		return strconv.Itoa(x.v) + "%"
	}
	return strconv.Itoa(x.v)
}

// Defaults (apps/v1 SetDefaults_Deployment).
var (
	DefaultMaxSurge       = Pct(25)
	DefaultMaxUnavailable = Pct(25)
)

// DefaultProgressDeadline is progressDeadlineSeconds' default.
const DefaultProgressDeadline = 600 * time.Second

// Limits (TIGER_STYLE).
const (
	MaxReplicas = 1 << 16
	MaxSpan     = 365 * 24 * time.Hour
)

// Config is one Deployment's replicas and RollingUpdate strategy. Zero
// means "the default" in every field but Replicas, which may be 0.
type Config struct {
	// Replicas is the desired number of pods.
	Replicas int
	// MaxSurge bounds the pods above Replicas during a rollout. Default
	// 25%, rounded up.
	MaxSurge IntOrPercent
	// MaxUnavailable bounds the pods below Replicas that may be
	// unavailable. Default 25%, rounded down.
	MaxUnavailable IntOrPercent
	// MinReady is minReadySeconds: how long a pod must be ready to count
	// as available. Default 0.
	MinReady time.Duration
	// ProgressDeadline is progressDeadlineSeconds. Default 600 s.
	ProgressDeadline time.Duration
}

// WithDefaults returns c with every unset field replaced by its default.
func (c Config) WithDefaults() Config {
	if !c.MaxSurge.set {
		c.MaxSurge = DefaultMaxSurge
	}
	if !c.MaxUnavailable.set {
		c.MaxUnavailable = DefaultMaxUnavailable
	}
	if c.ProgressDeadline == 0 {
		c.ProgressDeadline = DefaultProgressDeadline
	}
	return c
}

// Validate reports the first invalid field of c, as an error wrapping
// ErrConfig that names the field. It applies Kubernetes' validation
// (ValidateRollingUpdateDeployment): both bounds non-negative, percentages
// at most 100 for max_unavailable, and not both zero.
func (c Config) Validate() error {
	if c.Replicas < 0 || c.Replicas > MaxReplicas {
		return fmt.Errorf("%w: replicas must be in [0, %d], got %d", ErrConfig, MaxReplicas, c.Replicas)
	}
	for _, f := range []struct {
		name string
		v    IntOrPercent
	}{{"max_surge", c.MaxSurge}, {"max_unavailable", c.MaxUnavailable}} {
		if f.v.v < 0 || f.v.v > MaxReplicas {
			return fmt.Errorf("%w: %s must be in [0, %d], got %v", ErrConfig, f.name, MaxReplicas, f.v)
		}
	}
	if c.MaxUnavailable.pct && c.MaxUnavailable.v > 100 {
		return fmt.Errorf("%w: max_unavailable must not be over 100%%, got %v", ErrConfig, c.MaxUnavailable)
	}
	f := c.WithDefaults()
	if f.MaxSurge.v == 0 && f.MaxUnavailable.v == 0 {
		return fmt.Errorf("%w: max_surge and max_unavailable may not both be 0", ErrConfig)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"min_ready", c.MinReady}, {"progress_deadline", c.ProgressDeadline}} {
		if d.v < 0 || d.v > MaxSpan {
			return fmt.Errorf("%w: %s must be in [0, %v], got %v", ErrConfig, d.name, MaxSpan, d.v)
		}
	}
	if f.ProgressDeadline <= c.MinReady {
		return fmt.Errorf("%w: progress_deadline %v must be greater than min_ready %v", ErrConfig, f.ProgressDeadline, c.MinReady)
	}
	return nil
}

// fenceposts is ResolveFenceposts plus MaxUnavailable's cap.
func (c Config) fenceposts(replicas int) (surge, unavailable int) {
	surge = c.MaxSurge.Scaled(replicas, true)
	unavailable = c.MaxUnavailable.Scaled(replicas, false)
	if surge == 0 && unavailable == 0 {
		unavailable = 1
	}
	return surge, min(unavailable, replicas)
}
