package outlier

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrConfig is wrapped by every configuration error of this package. The
// message names the offending field by its Envoy (snake_case) name.
var ErrConfig = errors.New("outlier: invalid configuration")

// Kind is a detector: the reason a host was ejected. The values index the
// per-kind arrays of Stats.
type Kind uint8

// The detectors, named after Envoy's OutlierEjectionType. Envoy's
// local-origin variants (split_external_local_origin_errors) are not
// modelled.
const (
	KindConsecutive5xx            Kind = iota // consecutive_5xx
	KindConsecutiveGatewayFailure             // consecutive_gateway_failure (502, 503, 504)
	KindSuccessRate                           // success_rate: statistical outlier at the interval
	KindFailurePercentage                     // failure_percentage: fixed threshold at the interval
	NumKinds                                  // the number of kinds
)

var kindNames = [NumKinds]string{"consecutive_5xx", "consecutive_gateway_failure", "success_rate", "failure_percentage"}

// String returns Envoy's name for the kind, as used in its stats
// (outlier_detection.ejections_enforced_<name>).
func (k Kind) String() string {
	if k < NumKinds {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// KindSet is a set of detectors.
type KindSet uint8

// Kinds returns the set holding ks.
func Kinds(ks ...Kind) KindSet {
	var s KindSet
	for _, k := range ks {
		s |= 1 << k
	}
	return s
}

// Has reports whether k is in s.
func (s KindSet) Has(k Kind) bool { return s&(1<<k) != 0 }

// Percent is a percentage that may be left unset, like the UInt32Value
// wrappers of Envoy's proto: the zero Percent means "the default", and
// Pct(0) is an explicit 0. It exists because 0 is a meaningful setting for
// the enforcement percentages (counted, never enforced) and for
// max_ejection_percent (never eject), while zero must keep meaning "the
// default" everywhere else in Config.
type Percent struct {
	v   int32
	set bool
}

// Pct returns the explicit percentage p. Validate rejects p outside
// [0, 100].
func Pct(p int) Percent {
	if p < -1<<31 || p > 1<<31-1 {
		p = -1 // still rejected by Validate, without wrapping into range
	}
	return Percent{v: int32(p), set: true}
}

// IsSet reports whether p was given explicitly.
func (p Percent) IsSet() bool { return p.set }

// Or returns p if it is set and def otherwise.
func (p Percent) Or(def int) int {
	if p.set {
		return int(p.v)
	}
	return def
}

// String formats p as "10%", or "default" when unset.
func (p Percent) String() string {
	if !p.set {
		return "default"
	}
	return strconv.Itoa(int(p.v)) + "%"
}

// Envoy's defaults (api/envoy/config/cluster/v3/outlier_detection.proto).
const (
	DefaultConsecutive5xx                     = 5
	DefaultEnforcingConsecutive5xx            = 100
	DefaultConsecutiveGatewayFailure          = 5
	DefaultEnforcingConsecutiveGatewayFailure = 0
	DefaultInterval                           = 10 * time.Second
	DefaultBaseEjectionTime                   = 30 * time.Second
	DefaultMaxEjectionTime                    = 300 * time.Second
	DefaultMaxEjectionPercent                 = 10
	DefaultSuccessRateStdevFactor             = 1900
	DefaultEnforcingSuccessRate               = 100
	DefaultSuccessRateMinimumHosts            = 5
	DefaultSuccessRateRequestVolume           = 100
	DefaultFailurePercentageThreshold         = 85
	DefaultEnforcingFailurePercentage         = 0
	DefaultFailurePercentageMinimumHosts      = 5
	DefaultFailurePercentageRequestVolume     = 50
)

// MaxSpan bounds every duration of a Config (TIGER_STYLE: limits on
// everything). Fifty years keeps base*k + max + jitter far from int64
// overflow, since k never exceeds (max+base)/base + 1.
const MaxSpan = 50 * 365 * 24 * time.Hour

// Config is the outlier detection of one cluster, field for field Envoy's
// OutlierDetection message minus the local-origin split and the extension
// monitors.
//
// Zero means "Envoy's default" in every field, so Config{} is Envoy's
// configuration. Where 0 is a meaningful explicit value the field is a
// Percent (set with Pct(0)); AlwaysEjectOneHost and MaxEjectionTimeJitter
// default to their zero value anyway. The thresholds, volumes, minimum
// hosts and stdev factor have no meaningful zero in practice (Envoy would
// read a 0 threshold as "never fires", a 0 volume as 1); to switch a
// detector off, put it in Disabled or set its enforcement to Pct(0) as
// Istio does.
type Config struct {
	// Consecutive5xx is the number of consecutive 5xx answers (gateway
	// failures and, unsplit, local-origin failures included) after which
	// a host is ejected. Default 5.
	Consecutive5xx int
	// EnforcingConsecutive5xx is the chance that a consecutive-5xx
	// detection ejects. Default 100%.
	EnforcingConsecutive5xx Percent
	// ConsecutiveGatewayFailure is the number of consecutive 502, 503 and
	// 504 answers (and local-origin failures) that is a detection.
	// Default 5.
	ConsecutiveGatewayFailure int
	// EnforcingConsecutiveGatewayFailure is the chance that a gateway
	// detection ejects. Default 0%: counted, never enforced.
	EnforcingConsecutiveGatewayFailure Percent
	// Interval is the period of the sweep that unejects hosts, evaluates
	// success rates and decays ejection multipliers. Default 10 s.
	Interval time.Duration
	// BaseEjectionTime is the ejection time of a first ejection; the k-th
	// ejection in a row lasts base*k. Default 30 s.
	BaseEjectionTime time.Duration
	// MaxEjectionTime caps base*k. Default 300 s, or BaseEjectionTime if
	// that is larger; an explicit value below BaseEjectionTime is an error,
	// as in Envoy.
	MaxEjectionTime time.Duration
	// MaxEjectionTimeJitter adds U[0, jitter] to each ejection. Default 0.
	MaxEjectionTimeJitter time.Duration
	// MaxEjectionPercent bounds the share of hosts ejected at once:
	// ejecting must leave 100*(ejected+1)/hosts <= MaxEjectionPercent.
	// Default 10%.
	MaxEjectionPercent Percent
	// AlwaysEjectOneHost allows one ejection whatever MaxEjectionPercent
	// says (Envoy >= 1.31). Default false: the strict behaviour.
	AlwaysEjectOneHost bool
	// SuccessRateStdevFactor is the factor, in thousandths, of the
	// standard deviation below the mean success rate that is an outlier.
	// Default 1900 (1.9).
	SuccessRateStdevFactor int
	// EnforcingSuccessRate is the chance that a success-rate detection
	// ejects. Default 100%.
	EnforcingSuccessRate Percent
	// SuccessRateMinimumHosts is how many hosts must have the request
	// volume for success-rate detection to run. Default 5.
	SuccessRateMinimumHosts int
	// SuccessRateRequestVolume is the number of answers in one interval a
	// host needs to be evaluated by success rate. Default 100.
	SuccessRateRequestVolume int
	// FailurePercentageThreshold is the failure percentage, in [1, 100],
	// at or above which a host is an outlier. Default 85.
	FailurePercentageThreshold int
	// EnforcingFailurePercentage is the chance that a failure-percentage
	// detection ejects. Default 0%.
	EnforcingFailurePercentage Percent
	// FailurePercentageMinimumHosts is how many hosts must have the
	// request volume for failure-percentage detection to run. Default 5.
	FailurePercentageMinimumHosts int
	// FailurePercentageRequestVolume is the number of answers in one
	// interval a host needs to be evaluated by failure percentage.
	// Default 50.
	FailurePercentageRequestVolume int
	// Disabled lists detectors that do not run at all: no counting, no
	// detection, no stats. Envoy has no such switch (its detectors always
	// count; enforcement 0 only stops them ejecting); it models systems
	// that lack a detector, such as gRPC's consecutive detectors.
	Disabled KindSet
}

// Defaults returns Envoy's defaults with every field explicit, as a base to
// override. MaxEjectionTime is left 0 so that it keeps following
// BaseEjectionTime as Envoy's does (300 s, or the base if larger).
func Defaults() Config {
	return Config{
		Consecutive5xx:                     DefaultConsecutive5xx,
		EnforcingConsecutive5xx:            Pct(DefaultEnforcingConsecutive5xx),
		ConsecutiveGatewayFailure:          DefaultConsecutiveGatewayFailure,
		EnforcingConsecutiveGatewayFailure: Pct(DefaultEnforcingConsecutiveGatewayFailure),
		Interval:                           DefaultInterval,
		BaseEjectionTime:                   DefaultBaseEjectionTime,
		MaxEjectionPercent:                 Pct(DefaultMaxEjectionPercent),
		SuccessRateStdevFactor:             DefaultSuccessRateStdevFactor,
		EnforcingSuccessRate:               Pct(DefaultEnforcingSuccessRate),
		SuccessRateMinimumHosts:            DefaultSuccessRateMinimumHosts,
		SuccessRateRequestVolume:           DefaultSuccessRateRequestVolume,
		FailurePercentageThreshold:         DefaultFailurePercentageThreshold,
		EnforcingFailurePercentage:         Pct(DefaultEnforcingFailurePercentage),
		FailurePercentageMinimumHosts:      DefaultFailurePercentageMinimumHosts,
		FailurePercentageRequestVolume:     DefaultFailurePercentageRequestVolume,
	}
}

// IstioDefaults returns what Istio generates for a DestinationRule with an
// empty outlierDetection block (pilot/pkg/networking/core/
// cluster_traffic_policy.go, applyOutlierDetection): Envoy's defaults with
// enforcing_success_rate set to 0. consecutive5xxErrors 5, interval 10 s,
// baseEjectionTime 30 s and maxEjectionPercent 10 are Envoy's values left
// unset; consecutiveGatewayErrors unset leaves Envoy's gateway detector
// counting with enforcement 0 ("off"). An explicit consecutive5xxErrors or
// consecutiveGatewayErrors of n > 0 sets enforcement 100, and 0 sets it to
// 0: that translation belongs to the scenario layer. Istio also sets the
// cluster's healthy_panic_threshold to minHealthPercent (default 0, panic
// off), which is the cluster's business, not the detector's.
func IstioDefaults() Config {
	c := Defaults()
	c.EnforcingSuccessRate = Pct(0)
	return c
}

// GRPCDefaults returns gRPC's outlier detection as configured from xDS
// (gRFC A50; grpc-go internal/xds/balancer/outlierdetection): interval
// 10 s, base 30 s, max 300 s, max_ejection_percent 10, success rate (1900,
// enforced 100%, 5 hosts, volume 100), failure percentage (85, enforced 0%
// as Envoy's xDS default, 5 hosts, volume 50) and no consecutive
// detectors, which gRPC does not implement.
//
// The detector still runs Envoy's algorithm. gRPC differs in ways meshsim
// approximates: it ejects while 100*ejected/hosts < max_ejection_percent
// (checked before each candidate), which AlwaysEjectOneHost reproduces
// whenever hosts*max_ejection_percent/100 is a whole number or hosts <= 10,
// and allows one more ejection otherwise; it decays the multiplier of every
// non-ejected host each interval, without Envoy's "unejected at least one
// interval ago" condition; and it sweeps unejections after evaluating
// success rates instead of before.
func GRPCDefaults() Config {
	c := Defaults()
	c.AlwaysEjectOneHost = true
	c.Disabled = Kinds(KindConsecutive5xx, KindConsecutiveGatewayFailure)
	return c
}

// WithDefaults returns c with every zero field replaced by its default:
// the configuration a Detector runs. It does not validate.
func (c Config) WithDefaults() Config {
	orInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	orDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	orPct := func(v *Percent, def int) {
		if !v.set {
			*v = Pct(def)
		}
	}
	orInt(&c.Consecutive5xx, DefaultConsecutive5xx)
	orPct(&c.EnforcingConsecutive5xx, DefaultEnforcingConsecutive5xx)
	orInt(&c.ConsecutiveGatewayFailure, DefaultConsecutiveGatewayFailure)
	orPct(&c.EnforcingConsecutiveGatewayFailure, DefaultEnforcingConsecutiveGatewayFailure)
	orDur(&c.Interval, DefaultInterval)
	orDur(&c.BaseEjectionTime, DefaultBaseEjectionTime)
	orDur(&c.MaxEjectionTime, max(DefaultMaxEjectionTime, c.BaseEjectionTime))
	orPct(&c.MaxEjectionPercent, DefaultMaxEjectionPercent)
	orInt(&c.SuccessRateStdevFactor, DefaultSuccessRateStdevFactor)
	orPct(&c.EnforcingSuccessRate, DefaultEnforcingSuccessRate)
	orInt(&c.SuccessRateMinimumHosts, DefaultSuccessRateMinimumHosts)
	orInt(&c.SuccessRateRequestVolume, DefaultSuccessRateRequestVolume)
	orInt(&c.FailurePercentageThreshold, DefaultFailurePercentageThreshold)
	orPct(&c.EnforcingFailurePercentage, DefaultEnforcingFailurePercentage)
	orInt(&c.FailurePercentageMinimumHosts, DefaultFailurePercentageMinimumHosts)
	orInt(&c.FailurePercentageRequestVolume, DefaultFailurePercentageRequestVolume)
	return c
}

// Validate reports the first invalid field of c, as an error wrapping
// ErrConfig that names the field. Zero fields are valid: they mean the
// default.
func (c Config) Validate() error {
	counts := []struct {
		name string
		v    int
	}{
		{"consecutive_5xx", c.Consecutive5xx},
		{"consecutive_gateway_failure", c.ConsecutiveGatewayFailure},
		{"success_rate_stdev_factor", c.SuccessRateStdevFactor},
		{"success_rate_minimum_hosts", c.SuccessRateMinimumHosts},
		{"success_rate_request_volume", c.SuccessRateRequestVolume},
		{"failure_percentage_minimum_hosts", c.FailurePercentageMinimumHosts},
		{"failure_percentage_request_volume", c.FailurePercentageRequestVolume},
	}
	for _, f := range counts {
		if f.v < 0 {
			return fmt.Errorf("%w: %s must be >= 0, got %d", ErrConfig, f.name, f.v)
		}
	}
	if t := c.FailurePercentageThreshold; t < 0 || t > 100 {
		return fmt.Errorf("%w: failure_percentage_threshold must be in [0, 100], got %d", ErrConfig, t)
	}
	pcts := []struct {
		name string
		v    Percent
	}{
		{"enforcing_consecutive_5xx", c.EnforcingConsecutive5xx},
		{"enforcing_consecutive_gateway_failure", c.EnforcingConsecutiveGatewayFailure},
		{"max_ejection_percent", c.MaxEjectionPercent},
		{"enforcing_success_rate", c.EnforcingSuccessRate},
		{"enforcing_failure_percentage", c.EnforcingFailurePercentage},
	}
	for _, f := range pcts {
		if f.v.set && (f.v.v < 0 || f.v.v > 100) {
			return fmt.Errorf("%w: %s must be in [0, 100], got %d", ErrConfig, f.name, f.v.v)
		}
	}
	durs := []struct {
		name string
		v    time.Duration
	}{
		{"interval", c.Interval},
		{"base_ejection_time", c.BaseEjectionTime},
		{"max_ejection_time", c.MaxEjectionTime},
		{"max_ejection_time_jitter", c.MaxEjectionTimeJitter},
	}
	for _, f := range durs {
		if f.v < 0 || f.v > MaxSpan {
			return fmt.Errorf("%w: %s must be in [0, %v], got %v", ErrConfig, f.name, MaxSpan, f.v)
		}
	}
	if c.Disabled >= 1<<NumKinds {
		return fmt.Errorf("%w: disabled holds unknown detectors %#x", ErrConfig, uint8(c.Disabled))
	}
	if f := c.WithDefaults(); f.MaxEjectionTime < f.BaseEjectionTime {
		// DetectorImpl::create rejects this too.
		return fmt.Errorf("%w: max_ejection_time %v is smaller than base_ejection_time %v", ErrConfig, f.MaxEjectionTime, f.BaseEjectionTime)
	}
	return nil
}
