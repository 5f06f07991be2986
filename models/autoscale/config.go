package autoscale

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// ErrConfig is wrapped by every configuration error of this package. The
// message names the offending field in snake_case.
var ErrConfig = errors.New("autoscale: invalid configuration")

// MetricType is what the target value measures.
type MetricType uint8

// The metric types. They are Kubernetes' Resource metric with an
// averageUtilization target and Pods metric with an averageValue target.
const (
	// Utilization is the average use of a resource (cpu) by the ready
	// pods, in percent of their request. Target is a percentage.
	Utilization MetricType = iota + 1
	// AverageValue is the average of a per-pod metric (requests in
	// flight) over the ready pods. Target is in thousandths of the
	// metric's unit (Kubernetes milli-units): 10 in flight is 10000.
	AverageValue
)

func (m MetricType) String() string {
	switch m {
	case Utilization:
		return "utilization"
	case AverageValue:
		return "average_value"
	}
	return "MetricType(" + strconv.Itoa(int(m)) + ")"
}

// PolicyType is the unit of a scaling policy's Value.
type PolicyType uint8

// The policy types (HPAScalingPolicyType).
const (
	Pods    PolicyType = iota + 1 // Value pods per period
	Percent                       // Value percent of the replicas at the start of the period
)

// Policy is one HPAScalingPolicy: at most Value (pods or percent) of
// change per Period.
type Policy struct {
	Type   PolicyType
	Value  int
	Period time.Duration
}

// Select is the selectPolicy of a direction.
type Select uint8

// The selections. The zero value is Max, Kubernetes' default.
const (
	SelectMax      Select = iota // the policy allowing the most change
	SelectMin                    // the policy allowing the least change
	SelectDisabled               // no change in this direction
)

// Window is a stabilization window that may be left unset, like the
// *int32 of Kubernetes' API: the zero Window means "the default", and
// WindowOf(0) is an explicit 0 (no stabilisation).
type Window struct {
	d   time.Duration
	set bool
}

// WindowOf returns the explicit window d.
func WindowOf(d time.Duration) Window { return Window{d: d, set: true} }

// IsSet reports whether w was given explicitly.
func (w Window) IsSet() bool { return w.set }

// Or returns w's duration if it is set and def otherwise.
func (w Window) Or(def time.Duration) time.Duration {
	if w.set {
		return w.d
	}
	return def
}

// Rules is the behavior of one direction (HPAScalingRules).
type Rules struct {
	// StabilizationWindow: scale-up default 0, scale-down default 300 s.
	StabilizationWindow Window
	// Select chooses among Policies. Default SelectMax.
	Select Select
	// Policies limit the rate of change. nil means the default policies
	// of the direction; an empty non-nil slice is an error.
	Policies []Policy
}

// Fraction is a tolerance that may be left unset: the zero Fraction means
// "the default", Frac(0) an explicit zero tolerance.
type Fraction struct {
	v   float64
	set bool
}

// Frac returns the explicit fraction f (0.1 is 10%).
func Frac(f float64) Fraction { return Fraction{v: f, set: true} }

// Or returns f if it is set and def otherwise.
func (f Fraction) Or(def float64) float64 {
	if f.set {
		return f.v
	}
	return def
}

// Kubernetes' defaults.
const (
	DefaultSyncPeriod             = 15 * time.Second
	DefaultTolerance              = 0.1
	DefaultMinReplicas            = 1
	DefaultScaleDownStabilization = 300 * time.Second
	DefaultPolicyPeriod           = 15 * time.Second
)

// DefaultScaleUpPolicies returns the v2 default scale-up policies: 4 pods
// or 100% per 15 s, select Max.
func DefaultScaleUpPolicies() []Policy {
	return []Policy{{Pods, 4, DefaultPolicyPeriod}, {Percent, 100, DefaultPolicyPeriod}}
}

// DefaultScaleDownPolicies returns the v2 default scale-down policy: 100%
// per 15 s.
func DefaultScaleDownPolicies() []Policy {
	return []Policy{{Percent, 100, DefaultPolicyPeriod}}
}

// Limits (TIGER_STYLE, and Kubernetes' validation where it has one).
const (
	MaxReplicasLimit = 1 << 20
	MaxWindow        = time.Hour        // stabilizationWindowSeconds <= 3600
	MaxPolicyPeriod  = 30 * time.Minute // periodSeconds <= 1800
	MaxPolicies      = 16
	MaxSyncPeriod    = 24 * time.Hour
	MaxTarget        = math.MaxInt64 / 1000 // keeps usage*100 and target sums far from overflow
)

// Config is one HorizontalPodAutoscaler with one metric. Zero means "the
// default" in every field except MaxReplicas and Target, which are
// required.
type Config struct {
	// MinReplicas is the lower bound. Default 1. (0, scale to zero, is
	// behind a feature gate in Kubernetes and not supported here.)
	MinReplicas int
	// MaxReplicas is the upper bound. Required.
	MaxReplicas int
	// Metric is what Target measures. Default Utilization.
	Metric MetricType
	// Target is the average utilisation in percent (Utilization) or the
	// average value in milli-units (AverageValue). Required.
	Target int64
	// Tolerance is the relative deviation from the target within which
	// nothing changes. Default 0.1.
	Tolerance Fraction
	// SyncPeriod is the time between syncs. Default 15 s.
	SyncPeriod time.Duration
	// ScaleUp and ScaleDown are the behavior; see the package doc for the
	// defaults.
	ScaleUp, ScaleDown Rules
	// Legacy models an HPA object without a behavior field: max-of-window
	// stabilisation in both directions over the scale-down window and a
	// scale-up cap of max(2*current, 4) per sync. ScaleUp and the scale-
	// down policies are then ignored.
	Legacy bool
}

// WithDefaults returns c with every zero field replaced by its default:
// the configuration an Autoscaler runs. It does not validate.
func (c Config) WithDefaults() Config {
	if c.MinReplicas == 0 {
		c.MinReplicas = DefaultMinReplicas
	}
	if c.Metric == 0 {
		c.Metric = Utilization
	}
	c.Tolerance = Frac(c.Tolerance.Or(DefaultTolerance))
	if c.SyncPeriod == 0 {
		c.SyncPeriod = DefaultSyncPeriod
	}
	c.ScaleUp.StabilizationWindow = WindowOf(c.ScaleUp.StabilizationWindow.Or(0))
	c.ScaleDown.StabilizationWindow = WindowOf(c.ScaleDown.StabilizationWindow.Or(DefaultScaleDownStabilization))
	if c.ScaleUp.Policies == nil {
		c.ScaleUp.Policies = DefaultScaleUpPolicies()
	}
	if c.ScaleDown.Policies == nil {
		c.ScaleDown.Policies = DefaultScaleDownPolicies()
	}
	return c
}

// Validate reports the first invalid field of c, as an error wrapping
// ErrConfig that names the field.
func (c Config) Validate() error {
	if c.MinReplicas < 0 || c.MinReplicas > MaxReplicasLimit {
		return fmt.Errorf("%w: min_replicas must be in [1, %d] (0 for the default), got %d", ErrConfig, MaxReplicasLimit, c.MinReplicas)
	}
	if c.MaxReplicas < 1 || c.MaxReplicas > MaxReplicasLimit {
		return fmt.Errorf("%w: max_replicas must be in [1, %d], got %d", ErrConfig, MaxReplicasLimit, c.MaxReplicas)
	}
	if c.MinReplicas > c.MaxReplicas {
		return fmt.Errorf("%w: min_replicas %d is greater than max_replicas %d", ErrConfig, c.MinReplicas, c.MaxReplicas)
	}
	if c.Metric > AverageValue {
		return fmt.Errorf("%w: metric %v is unknown", ErrConfig, c.Metric)
	}
	if c.Target < 1 || c.Target > MaxTarget {
		return fmt.Errorf("%w: target must be in [1, %d], got %d", ErrConfig, MaxTarget, c.Target)
	}
	if t := c.Tolerance.Or(DefaultTolerance); !(t >= 0 && t < 1) {
		return fmt.Errorf("%w: tolerance must be in [0, 1), got %v", ErrConfig, t)
	}
	if c.SyncPeriod < 0 || c.SyncPeriod > MaxSyncPeriod {
		return fmt.Errorf("%w: sync_period must be in (0, %v] (0 for the default), got %v", ErrConfig, MaxSyncPeriod, c.SyncPeriod)
	}
	for _, r := range []struct {
		name  string
		rules Rules
	}{{"scale_up", c.ScaleUp}, {"scale_down", c.ScaleDown}} {
		if w := r.rules.StabilizationWindow.Or(0); w < 0 || w > MaxWindow {
			return fmt.Errorf("%w: %s.stabilization_window must be in [0, %v], got %v", ErrConfig, r.name, MaxWindow, w)
		}
		if r.rules.Select > SelectDisabled {
			return fmt.Errorf("%w: %s.select_policy %d is unknown", ErrConfig, r.name, r.rules.Select)
		}
		if r.rules.Policies != nil && (len(r.rules.Policies) == 0 || len(r.rules.Policies) > MaxPolicies) {
			return fmt.Errorf("%w: %s.policies must hold 1 to %d policies, got %d", ErrConfig, r.name, MaxPolicies, len(r.rules.Policies))
		}
		for i, p := range r.rules.Policies {
			if p.Type != Pods && p.Type != Percent {
				return fmt.Errorf("%w: %s.policies[%d].type %d is unknown", ErrConfig, r.name, i, p.Type)
			}
			if p.Value < 1 || p.Value > MaxReplicasLimit {
				return fmt.Errorf("%w: %s.policies[%d].value must be in [1, %d], got %d", ErrConfig, r.name, i, MaxReplicasLimit, p.Value)
			}
			if p.Period <= 0 || p.Period > MaxPolicyPeriod {
				return fmt.Errorf("%w: %s.policies[%d].period must be in (0, %v], got %v", ErrConfig, r.name, i, MaxPolicyPeriod, p.Period)
			}
		}
	}
	return nil
}
