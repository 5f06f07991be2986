// Package lb defines how a caller's proxy picks one endpoint of a service:
// the Picker interface, the Builder that makes one per balancer, and a
// registry of policies by name. Each policy lives in its own folder
// (models/lb/<policy>) and registers itself in init, as grpc-go's
// balancer/<policy> packages do.
//
// A Picker is owned by exactly one balancer (one sidecar worker, in Envoy
// terms): N sidecars x W workers are N*W independent pickers, each with its
// own random stream. Pickers never block and allocate nothing per pick.
package lb

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/meshsim/meshsim/sim"
)

// ErrNoHost is returned by Pick when there is no endpoint to pick.
var ErrNoHost = errors.New("lb: no host available")

// ErrConfig is wrapped by every configuration error of a policy.
var ErrConfig = errors.New("lb: invalid configuration")

// Host is what a picker sees of one endpoint. The picker reads it at pick
// time, so it always sees current state.
type Host interface {
	// ActiveRequests is the number of requests this proxy has sent to the
	// host and not yet seen answered: Envoy's per-host rq_active, shared by
	// the workers of one proxy but not across proxies. With a single
	// caller it equals the requests queued or in service at the host.
	ActiveRequests() int
	// Weight is the endpoint's load-balancing weight, >= 1.
	Weight() uint32
}

// Warming is implemented by hosts that can be in slow start (Envoy's slow
// start mode, honoured by round_robin and least_request when
// Config.SlowStartWindow is set). It is optional: a Host that does not
// implement it is never in slow start, so existing Host implementations keep
// working unchanged.
//
// WarmingSince returns the instant the host entered slow start and true, or
// false if it never did. Envoy starts a host's window when the balancer
// first sees it healthy: on joining the cluster when there is no active
// health checking (including every host present when the balancer is
// created), or on an unhealthy to healthy transition of the active health
// check. The host leaves slow start when the window has elapsed (the picker
// checks that, so the host need not), when it leaves the host list, or when
// it fails a health check, after which it should report a new instant when
// it is healthy again. The picker calls WarmingSince at Build and at every
// pick of the host on the weighted path; it must not block or allocate.
type Warming interface {
	WarmingSince() (since sim.Time, ok bool)
}

// PickInfo is what a picker may know about the request being routed. It is
// passed by value so that a pick allocates nothing.
type PickInfo struct {
	// HashKey is the request's hash for consistent-hashing policies.
	HashKey uint64
	// Attempt is 1 for the first try, 2 for the first retry, and so on.
	Attempt int
	// Now is the virtual time of the pick, for policies whose state decays
	// with time (peak EWMA) and for the slow start ramp.
	Now sim.Time
}

// Observer is implemented by pickers that learn from responses, such as
// peak EWMA. The proxy calls Observe once per answered attempt, with the
// index of the host, the round-trip time it measured and the current time.
type Observer interface {
	Observe(host int, rtt time.Duration, now sim.Time)
}

// Config carries every policy's settings, as Envoy's LB config does; each
// builder reads the fields of its own policy, fills its defaults and
// validates them. Zero means "the policy's default" throughout.
type Config struct {
	// least_request
	ChoiceCount       int     // hosts sampled per pick (Envoy default 2)
	ActiveRequestBias float64 // exponent in weight/(active+1)^bias when weights differ (default 1.0)
	// ActiveRequestBiasSet tells an explicit bias of 0 (plain weighted
	// round robin) from "not set".
	ActiveRequestBiasSet bool
	FullScan             bool // pick the least loaded of all hosts instead of sampling
	// peak_ewma
	Decay      time.Duration // time constant of the moving average (default 10s)
	DefaultRTT time.Duration // estimate of a host with no sample (Linkerd default 30ms)
	// ring_hash
	MinRingSize int // default 1024
	MaxRingSize int // default 8M (Envoy)
	// maglev
	TableSize int // prime; default 65537

	// Slow start (Envoy SlowStartConfig, round_robin and least_request
	// only; other policies ignore these fields). A host that reports
	// lb.Warming has its weight scaled, for SlowStartWindow after it entered
	// slow start, by max(min_weight_percent/100, time_factor^(1/aggression))
	// with time_factor = max(elapsed, 1ms)/SlowStartWindow, both in whole
	// milliseconds as in Envoy.
	//
	// SlowStartWindow is the length of the ramp; 0 (the default) turns slow
	// start off. It must be 0 or at least 1ms, and is truncated to whole
	// milliseconds, as Envoy converts slow_start_window to milliseconds.
	SlowStartWindow time.Duration
	// SlowStartAggression is the ramp's aggression, a finite number > 0
	// (default 1.0, linear); above 1 the weight rises faster early on.
	SlowStartAggression float64
	// SlowStartMinWeightPercent is the least share of its weight, in
	// percent (0 to 100), that a host in slow start gets (default 10).
	SlowStartMinWeightPercent float64
	// SlowStartMinWeightPercentSet tells an explicit minimum weight of 0%
	// from "not set".
	SlowStartMinWeightPercentSet bool
}

// Picker picks the index, in the host list it was built with, of the host a
// request goes to. Pick must not block; it runs once per attempt.
type Picker interface {
	Pick(info PickInfo) (int, error)
}

// BuildOptions is what a Builder gets to make one Picker.
type BuildOptions struct {
	// Hosts is the endpoint list, in stable instance order. The picker
	// returns indexes into it.
	Hosts []Host
	// Rand is the balancer's own stream: every picker draws only from it.
	Rand *sim.Rand
	// Config holds the policy settings; zero fields take the defaults.
	Config Config
	// Now is the virtual time of the build. Pickers with slow start use it
	// to tell which hosts are in slow start and to weight the initial
	// schedule; a picker is expected to be rebuilt when its host list or a
	// host's health changes, as Envoy refreshes its schedulers then.
	Now sim.Time
}

// Builder makes pickers of one policy.
type Builder interface {
	Build(opts BuildOptions) (Picker, error)
}

var registry = map[string]Builder{}

// Register makes a policy available by name. It is called from the policy
// package's init and panics if the name is taken or empty, since that is a
// programming error.
func Register(name string, b Builder) {
	if name == "" || b == nil {
		panic("lb: Register with an empty name or nil builder")
	}
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("lb: policy %q registered twice", name))
	}
	registry[name] = b
}

// Validate reports whether cfg is a valid configuration of the named
// policy, by building a picker over no hosts. Scenario validation calls it
// so that a bad setting is reported with its line and column.
func Validate(name string, cfg Config) error {
	b, ok := Get(name)
	if !ok {
		return fmt.Errorf("%w: unknown policy %q", ErrConfig, name)
	}
	_, err := b.Build(BuildOptions{Config: cfg, Rand: sim.NewRand(0, 0)})
	return err
}

// Get returns the builder registered under name.
func Get(name string) (Builder, bool) {
	b, ok := registry[name]
	return b, ok
}

// Names returns the registered policy names in sorted order.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}
