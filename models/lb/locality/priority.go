package locality

import (
	"errors"
	"fmt"

	"github.com/meshsim/meshsim/sim"
)

// ErrConfig is wrapped by every error of NewPriorities, NewPlan and
// NewRouter.
var ErrConfig = errors.New("locality: invalid configuration")

// ErrNoHost is returned by Router.Choose when the chosen hosts are in panic
// and Config.FailTrafficOnPanic is set (Envoy answers such requests with
// "503 no healthy upstream").
var ErrNoHost = errors.New("locality: no host available")

// Defaults, from Envoy's cluster.proto and endpoint.proto.
const (
	DefaultOverprovisioningFactor = 140 // percent, ClusterLoadAssignment.Policy.overprovisioning_factor
	DefaultPanicThresholdPercent  = 50  // CommonLbConfig.healthy_panic_threshold
	DefaultMinClusterSize         = 6   // ZoneAwareLbConfig.min_cluster_size
	DefaultRoutingEnabledPercent  = 100 // ZoneAwareLbConfig.routing_enabled
)

// Config holds the settings of the locality layer of one upstream cluster.
// Zero means the default throughout; the fields whose zero is a meaningful
// setting have a Set flag, as lb.Config does.
type Config struct {
	// OverprovisioningFactor, in percent (default 140): a priority with
	// this share of its hosts healthy, times the factor, counts as fully
	// healthy. Must be >= 0 (0 means the default).
	OverprovisioningFactor int
	// PanicThresholdPercent (default 50, range 0 to 100): a priority whose
	// healthy plus degraded hosts are fewer than this percentage of its
	// hosts routes to all its hosts, while the priorities together are
	// short of capacity. With PanicThresholdSet, 0 disables panic.
	PanicThresholdPercent int
	PanicThresholdSet     bool
	// MinClusterSize (default 6): zone-aware routing is off while priority
	// 0 has fewer healthy hosts. With MinClusterSizeSet, 0 is allowed.
	MinClusterSize    int
	MinClusterSizeSet bool
	// RoutingEnabledPercent (default 100, range 0 to 100) is the share of
	// picks that use zone-aware routing at all. With RoutingEnabledSet, 0
	// turns zone-aware routing off.
	RoutingEnabledPercent int
	RoutingEnabledSet     bool
	// FailTrafficOnPanic makes a pick that would go to all hosts because
	// of panic (of the chosen priority, or of the local cluster when
	// zone-aware routing applies) fail with ErrNoHost instead.
	FailTrafficOnPanic bool
}

// settings is a Config with defaults filled and validated.
type settings struct {
	overprovisioning uint64
	panicThreshold   int
	minClusterSize   int
	routingEnabled   int
	failOnPanic      bool
}

func (c Config) parse() (settings, error) {
	s := settings{
		overprovisioning: uint64(c.OverprovisioningFactor),
		panicThreshold:   c.PanicThresholdPercent,
		minClusterSize:   c.MinClusterSize,
		routingEnabled:   c.RoutingEnabledPercent,
		failOnPanic:      c.FailTrafficOnPanic,
	}
	switch {
	case c.OverprovisioningFactor < 0:
		return settings{}, fmt.Errorf("%w: overprovisioning_factor must be > 0, got %d", ErrConfig, c.OverprovisioningFactor)
	case c.PanicThresholdPercent < 0 || c.PanicThresholdPercent > 100:
		return settings{}, fmt.Errorf("%w: healthy_panic_threshold must be in [0, 100] percent, got %d", ErrConfig, c.PanicThresholdPercent)
	case c.MinClusterSize < 0:
		return settings{}, fmt.Errorf("%w: min_cluster_size must be >= 0, got %d", ErrConfig, c.MinClusterSize)
	case c.RoutingEnabledPercent < 0 || c.RoutingEnabledPercent > 100:
		return settings{}, fmt.Errorf("%w: routing_enabled must be in [0, 100] percent, got %d", ErrConfig, c.RoutingEnabledPercent)
	}
	if s.overprovisioning == 0 {
		s.overprovisioning = DefaultOverprovisioningFactor
	}
	if s.panicThreshold == 0 && !c.PanicThresholdSet {
		s.panicThreshold = DefaultPanicThresholdPercent
	}
	if s.minClusterSize == 0 && !c.MinClusterSizeSet {
		s.minClusterSize = DefaultMinClusterSize
	}
	if s.routingEnabled == 0 && !c.RoutingEnabledSet {
		s.routingEnabled = DefaultRoutingEnabledPercent
	}
	return s, nil
}

// Level is the host counts of one priority level. Hosts counts every host
// of the level that the balancer may route to (Envoy's hosts() minus
// excluded hosts); Healthy and Degraded are the healthy and the degraded
// ones among them, so Healthy+Degraded <= Hosts.
type Level struct {
	Hosts    int
	Healthy  int
	Degraded int
}

// Availability tells which hosts of a priority level a pick goes to.
type Availability int

const (
	// Healthy: the level's healthy hosts.
	Healthy Availability = iota
	// Degraded: the level's degraded hosts, used once the healthy hosts
	// of every level are short of capacity.
	Degraded
	// All: every host of the level, whatever its health: the level is in
	// panic.
	All
)

// String returns the availability's name.
func (a Availability) String() string {
	switch a {
	case Healthy:
		return "healthy"
	case Degraded:
		return "degraded"
	case All:
		return "all"
	}
	return fmt.Sprintf("Availability(%d)", int(a))
}

// Priorities is the split of requests over priority levels that Envoy
// computes on every host-set change (LoadBalancerBase::
// recalculatePerPriorityState and recalculatePerPriorityPanic in
// source/common/upstream/load_balancer_impl.cc, docs priority.rst,
// panic_threshold.rst, degraded.rst). All figures are integer percentages
// computed with Envoy's integer arithmetic, so the rounding is Envoy's:
//
//	health(P)   = min(100, overprovisioning * healthy(P) / hosts(P))
//	degraded(P) = min(100, overprovisioning * degraded(P) / hosts(P))
//	normalized  = min(100, sum of health + sum of degraded)
//	load(P)     = min(what is left of 100, health(P) * 100 / normalized)
//
// first over the healthy hosts of every level in order, then over the
// degraded hosts with what is left, and any rounding remainder goes to the
// first level with healthy capacity (else the first with degraded
// capacity). Panic: while normalized < 100, a level whose healthy plus
// degraded hosts are under the panic threshold routes to all its hosts;
// when every level is in panic the load follows the levels' host counts
// instead of their health.
//
// The fields are the result, one entry per level; they are read-only.
type Priorities struct {
	Health          []int  // healthy capacity of each level, 0 to 100
	DegradedHealth  []int  // degraded capacity of each level, 0 to 100
	HealthyLoad     []int  // percent of requests to each level's healthy hosts
	DegradedLoad    []int  // percent of requests to each level's degraded hosts
	Panic           []bool // whether each level routes to all its hosts
	NormalizedTotal int    // min(100, total capacity)
	TotalPanic      bool   // every level is in panic
}

// NewPriorities computes the load split of the given levels, highest
// priority (P=0) first. It validates cfg and the counts, and allocates
// O(len(levels)) once. The complexity is O(len(levels)).
//
// Two corner cases Envoy leaves to earlier state are made explicit: when
// no level has any capacity and the panic threshold is 0, all load is
// nominally given to P=0, as in Envoy (whose other entries may keep stale
// values); and when no level has capacity yet some level is not in panic
// (possible only with a threshold of 1% and hosts both healthy and
// degraded, each under 1/140 of the level), P=0 likewise gets 100.
func NewPriorities(cfg Config, levels []Level) (*Priorities, error) {
	s, err := cfg.parse()
	if err != nil {
		return nil, err
	}
	return newPriorities(s, levels)
}

func newPriorities(s settings, levels []Level) (*Priorities, error) {
	n := len(levels)
	if n == 0 {
		return nil, fmt.Errorf("%w: no priority levels", ErrConfig)
	}
	for i, l := range levels {
		if l.Hosts < 0 || l.Healthy < 0 || l.Degraded < 0 || l.Healthy+l.Degraded > l.Hosts {
			return nil, fmt.Errorf("%w: priority %d: need 0 <= healthy+degraded <= hosts, got hosts=%d healthy=%d degraded=%d",
				ErrConfig, i, l.Hosts, l.Healthy, l.Degraded)
		}
	}
	p := &Priorities{
		Health:         make([]int, n),
		DegradedHealth: make([]int, n),
		HealthyLoad:    make([]int, n),
		DegradedLoad:   make([]int, n),
		Panic:          make([]bool, n),
	}
	total := 0
	for i, l := range levels {
		if l.Hosts > 0 {
			hosts := uint64(l.Hosts)
			p.Health[i] = int(min(100, s.overprovisioning*uint64(l.Healthy)/hosts))
			p.DegradedHealth[i] = int(min(100, s.overprovisioning*uint64(l.Degraded)/hosts))
		}
		total += p.Health[i] + p.DegradedHealth[i]
	}
	p.NormalizedTotal = min(100, total)

	if p.NormalizedTotal > 0 {
		firstHealthy, left := distribute(p.HealthyLoad, p.Health, 100, p.NormalizedTotal)
		firstDegraded, left := distribute(p.DegradedLoad, p.DegradedHealth, left, p.NormalizedTotal)
		if left > 0 {
			if firstHealthy >= 0 {
				p.HealthyLoad[firstHealthy] += left
			} else {
				p.DegradedLoad[firstDegraded] += left
			}
		}
	}

	// recalculatePerPriorityPanic.
	if s.panicThreshold == 0 && p.NormalizedTotal == 0 {
		p.HealthyLoad[0] = 100
		return p, nil
	}
	p.TotalPanic = true
	for i, l := range levels {
		p.Panic[i] = p.NormalizedTotal < 100 && inPanic(l.Healthy, l.Degraded, l.Hosts, s.panicThreshold)
		p.TotalPanic = p.TotalPanic && p.Panic[i]
	}
	if p.TotalPanic {
		// recalculateLoadInTotalPanic: load follows host counts.
		clear(p.DegradedLoad)
		hosts := 0
		for _, l := range levels {
			hosts += l.Hosts
		}
		if hosts == 0 {
			clear(p.HealthyLoad)
			p.HealthyLoad[0] = 100
			return p, nil
		}
		left, first := 100, -1
		for i, l := range levels {
			if first < 0 && l.Hosts > 0 {
				first = i
			}
			p.HealthyLoad[i] = 100 * l.Hosts / hosts
			left -= p.HealthyLoad[i]
		}
		p.HealthyLoad[first] += left
		return p, nil
	}
	if p.NormalizedTotal == 0 {
		p.HealthyLoad[0] = 100 // see the doc comment: Envoy keeps stale loads here
	}
	return p, nil
}

// distribute is Envoy's distributeLoad: it gives each level in order
// min(what is left, capacity*100/normalized) and returns the first level
// with capacity (-1 if none) and what is left.
func distribute(load, capacity []int, left, normalized int) (first, rest int) {
	first = -1
	for i, c := range capacity {
		if first < 0 && c > 0 {
			first = i
		}
		load[i] = min(left, c*100/normalized)
		left -= load[i]
	}
	return first, left
}

// inPanic is Envoy's isHostSetInPanic, computed with Envoy's doubles:
// 100.0*healthy/hosts + 100.0*degraded/hosts < threshold. Each step is one
// correctly rounded IEEE operation with nothing to fuse, so the result is
// the same on every platform. (An exhaustive check of every count up to
// 2000 hosts found no case where this differs from the exact integer test
// 100*(healthy+degraded) < threshold*hosts; the doubles are kept because
// they are what Envoy runs.)
func inPanic(healthy, degraded, hosts, threshold int) bool {
	var hp, dp float64
	if hosts > 0 {
		hp = 100.0 * float64(healthy) / float64(hosts)
		dp = 100.0 * float64(degraded) / float64(hosts)
	}
	return hp+dp < float64(threshold)
}

// Choose picks the priority level and availability of one request, as
// Envoy's choosePriority does: a draw h = r.Uint64()%100 + 1 in 1..100 is
// matched against the cumulative healthy loads, then the cumulative
// degraded loads. A level in panic is returned with All. It draws exactly
// one value, even with a single level, as Envoy does. The complexity is
// O(levels) and it allocates nothing.
func (p *Priorities) Choose(r *sim.Rand) (level int, avail Availability) {
	h := int(r.Uint64()%100) + 1
	sum := 0
	for i, l := range p.HealthyLoad {
		sum += l
		if h <= sum {
			return i, p.availability(i, Healthy)
		}
	}
	for i, l := range p.DegradedLoad {
		sum += l
		if h <= sum {
			return i, p.availability(i, Degraded)
		}
	}
	// The loads always sum to 100 (NewPriorities ensures it).
	panic(fmt.Sprintf("locality: priority loads %v + %v do not sum to 100", p.HealthyLoad, p.DegradedLoad))
}

func (p *Priorities) availability(i int, a Availability) Availability {
	if p.Panic[i] {
		return All
	}
	return a
}
