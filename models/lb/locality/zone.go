package locality

import (
	"fmt"

	"github.com/meshsim/meshsim/sim"
)

// Zone indexes returned by Plan.Choose besides real zones.
const (
	// AnyZone: no zone-aware routing for this pick; pick from the healthy
	// (or degraded) hosts of every zone.
	AnyZone = -1
	// NoZone: the local cluster is in panic and Config.FailTrafficOnPanic
	// is set, so the pick fails.
	NoZone = -2
)

// Routing is the zone-aware routing state of a Plan, Envoy's
// LocalityRoutingState.
type Routing int

const (
	// NoLocalityRouting: zone-aware routing is off (see Reason).
	NoLocalityRouting Routing = iota
	// LocalityDirect: the local zone has at least its share of the
	// upstream's healthy hosts, so every request stays in it.
	LocalityDirect
	// LocalityResidual: the local zone is short of upstream hosts; part of
	// the requests stay, the rest go to zones with spare capacity.
	LocalityResidual
)

// String returns the state's name.
func (r Routing) String() string {
	switch r {
	case NoLocalityRouting:
		return "NoLocalityRouting"
	case LocalityDirect:
		return "LocalityDirect"
	case LocalityResidual:
		return "LocalityResidual"
	}
	return fmt.Sprintf("Routing(%d)", int(r))
}

// Reason says why zone-aware routing is off. The Envoy stat counted in each
// case is given in parentheses.
type Reason int

const (
	// ReasonNone: routing is on.
	ReasonNone Reason = iota
	// ReasonFewZones: the upstream has hosts in fewer than 2 zones.
	ReasonFewZones
	// ReasonNoUpstreamInLocalZone: no healthy upstream host is in the
	// local zone.
	ReasonNoUpstreamInLocalZone
	// ReasonNoCallerInLocalZone: the local cluster has no host in the
	// local zone (lb_local_cluster_not_ok), a misconfiguration.
	ReasonNoCallerInLocalZone
	// ReasonZoneCountDiffers: the two clusters have hosts in different
	// numbers of zones (lb_zone_number_differs).
	ReasonZoneCountDiffers
	// ReasonClusterTooSmall: the upstream has fewer healthy hosts than
	// MinClusterSize (lb_zone_cluster_too_small).
	ReasonClusterTooSmall
	// ReasonLocalPanic: the local cluster is in panic
	// (lb_local_cluster_not_ok).
	ReasonLocalPanic
)

// String returns the reason's name.
func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "none"
	case ReasonFewZones:
		return "fewer than 2 upstream zones"
	case ReasonNoUpstreamInLocalZone:
		return "no healthy upstream host in the local zone"
	case ReasonNoCallerInLocalZone:
		return "no local-cluster host in the local zone"
	case ReasonZoneCountDiffers:
		return "zone counts differ"
	case ReasonClusterTooSmall:
		return "upstream below min_cluster_size"
	case ReasonLocalPanic:
		return "local cluster in panic"
	}
	return fmt.Sprintf("Reason(%d)", int(r))
}

// Zones describes the two clusters that zone-aware routing compares, per
// zone. Zones are numbered 0..n-1 the same way for both clusters (a zone in
// which a cluster has no host has count 0), and every slice has length n.
type Zones struct {
	// Local is the index of the zone of the caller (the proxy) itself.
	Local int
	// Callers is the number of healthy hosts of the local cluster (the
	// calling service, of which this proxy is one instance) in each zone.
	// Their shares are the L of zone_aware.rst.
	Callers []int
	// CallerHosts is the number of all hosts of the local cluster in each
	// zone, healthy or not, for the zone count and the local panic check.
	// Nil means every caller is healthy (CallerHosts = Callers).
	CallerHosts []int
	// Upstream is the number of healthy hosts of the upstream cluster's
	// priority 0 in each zone. Their shares are the U of zone_aware.rst.
	Upstream []int
	// UpstreamHosts is the number of all priority-0 upstream hosts in each
	// zone, healthy or not, for the zone count. Nil means Upstream.
	UpstreamHosts []int
}

// Plan is the zone-aware routing decision of one proxy for priority 0 of one
// upstream cluster (Envoy's ZoneAwareLoadBalancerBase, per_priority_state_
// of P=0), built once per change of either cluster's membership or health
// by NewPlan and then used for every pick by Choose.
//
// It follows Envoy's regenerateLocalityRoutingStructures and
// tryChooseLocalLocalityHosts (source/common/upstream/load_balancer_impl.cc
// as of v1.16, commit 18342ff, which zone_aware.rst describes). Shares are
// integers in units of 1/10000, floored as in Envoy:
//
//	L_i = 10000 * Callers[i] / sum(Callers)
//	U_i = 10000 * Upstream[i] / sum(Upstream)
//
// With l the local zone: if U_l >= L_l the plan is LocalityDirect and every
// request stays in zone l. Otherwise it is LocalityResidual: a request stays
// with probability U_l*10000/L_l (floored, in 1/10000) and otherwise goes to
// zone i != l with probability proportional to its residual capacity
// max(0, U_i - L_i). If every caller zone follows its own plan, each
// upstream zone receives its share U_i of all requests, up to rounding.
//
// Routing is off (NoLocalityRouting, Choose returns AnyZone) when, checked
// in this order: the upstream has hosts in fewer than 2 zones; it has no
// healthy host in the local zone; the local cluster has no host in the local
// zone (from newer Envoy; v1.16 would silently compare another zone); the
// two clusters have hosts in different numbers of zones; the upstream has
// fewer than MinClusterSize healthy hosts; or the local cluster is in panic
// (fewer than PanicThresholdPercent of its hosts healthy). Upstream panic
// is not the Plan's business: a priority in panic routes to all its hosts
// before zones are considered (Priorities, Router).
//
// Deviations from v1.16, where it has known defects that newer Envoy fixed
// or where the shared zone numbering differs:
//   - Zones are matched by index, not by position in each cluster's own
//     locality list, which in v1.16 pairs different zones when the two
//     clusters have the same number of zones but not the same zones.
//   - The cross-zone draw t = r%R selects the first zone whose cumulative
//     residual exceeds t (newer Envoy's threshold >= residual[i] loop), so
//     each zone gets exactly its residual share; v1.16's loop gave one
//     value of R to the local zone and shortened the last bucket.
//
// A Plan is immutable once built, so one Plan may serve any number of
// pickers of the same proxy; each Choose takes the caller's stream.
type Plan struct {
	routing        Routing
	reason         Reason
	local          int
	routingEnabled int    // percent
	failOnPanic    bool   // with reason == ReasonLocalPanic: fail picks
	localPercent   uint64 // 1/10000 of requests kept in the local zone
	residual       []uint64
	// cumulative residual capacity by zone index; the local zone adds 0
	cumulative []uint64
	fallback   []int // zones with upstream hosts, for a residual total of 0
}

// NewPlan validates cfg and z and computes the plan. It allocates O(zones)
// once; the complexity is O(zones).
func NewPlan(cfg Config, z Zones) (*Plan, error) {
	s, err := cfg.parse()
	if err != nil {
		return nil, err
	}
	return newPlan(s, z)
}

func newPlan(s settings, z Zones) (*Plan, error) {
	n := len(z.Upstream)
	if z.CallerHosts == nil {
		z.CallerHosts = z.Callers
	}
	if z.UpstreamHosts == nil {
		z.UpstreamHosts = z.Upstream
	}
	switch {
	case n == 0:
		return nil, fmt.Errorf("%w: zones: no zones", ErrConfig)
	case len(z.Callers) != n || len(z.CallerHosts) != n || len(z.UpstreamHosts) != n:
		return nil, fmt.Errorf("%w: zones: Callers, CallerHosts, Upstream and UpstreamHosts need one count per zone, got lengths %d, %d, %d, %d",
			ErrConfig, len(z.Callers), len(z.CallerHosts), n, len(z.UpstreamHosts))
	case z.Local < 0 || z.Local >= n:
		return nil, fmt.Errorf("%w: zones: local zone %d out of range [0, %d)", ErrConfig, z.Local, n)
	}
	for i := 0; i < n; i++ {
		if z.Callers[i] < 0 || z.Callers[i] > z.CallerHosts[i] || z.Upstream[i] < 0 || z.Upstream[i] > z.UpstreamHosts[i] {
			return nil, fmt.Errorf("%w: zones: zone %d: need 0 <= healthy <= hosts, got callers %d of %d, upstream %d of %d",
				ErrConfig, i, z.Callers[i], z.CallerHosts[i], z.Upstream[i], z.UpstreamHosts[i])
		}
	}
	p := &Plan{local: z.Local, routingEnabled: s.routingEnabled, failOnPanic: s.failOnPanic}
	var callers, callerHosts, upstream, callerZones, upstreamZones int
	for i := 0; i < n; i++ {
		callers += z.Callers[i]
		callerHosts += z.CallerHosts[i]
		upstream += z.Upstream[i]
		if z.CallerHosts[i] > 0 {
			callerZones++
		}
		if z.UpstreamHosts[i] > 0 {
			upstreamZones++
			p.fallback = append(p.fallback, i)
		}
	}
	switch {
	case upstreamZones < 2:
		p.reason = ReasonFewZones
	case z.Upstream[z.Local] == 0:
		p.reason = ReasonNoUpstreamInLocalZone
	case z.CallerHosts[z.Local] == 0:
		p.reason = ReasonNoCallerInLocalZone
	case callerZones != upstreamZones:
		p.reason = ReasonZoneCountDiffers
	case upstream < s.minClusterSize:
		p.reason = ReasonClusterTooSmall
	case inPanic(callers, 0, callerHosts, s.panicThreshold):
		p.reason = ReasonLocalPanic
	}
	if p.reason != ReasonNone {
		return p, nil
	}

	share := func(count, total int) uint64 {
		if total == 0 {
			return 0
		}
		return 10000 * uint64(count) / uint64(total)
	}
	l := z.Local
	ul, ll := share(z.Upstream[l], upstream), share(z.Callers[l], callers)
	if ul >= ll {
		p.routing = LocalityDirect
		return p, nil
	}
	p.routing = LocalityResidual
	p.localPercent = ul * 10000 / ll // ll > ul >= 0
	p.residual = make([]uint64, n)
	p.cumulative = make([]uint64, n)
	var sum uint64
	for i := 0; i < n; i++ {
		if i != l {
			if u, c := share(z.Upstream[i], upstream), share(z.Callers[i], callers); u > c {
				p.residual[i] = u - c
			}
		}
		sum += p.residual[i]
		p.cumulative[i] = sum
	}
	return p, nil
}

// Routing returns the plan's routing state.
func (p *Plan) Routing() Routing { return p.routing }

// Reason returns why routing is off, or ReasonNone.
func (p *Plan) Reason() Reason { return p.reason }

// LocalPercentToRoute returns, in 1/10000, the share of requests a
// LocalityResidual plan keeps in the local zone (Envoy's
// local_percent_to_route_): 10000 for LocalityDirect, 0 when off.
func (p *Plan) LocalPercentToRoute() int {
	switch p.routing {
	case LocalityDirect:
		return 10000
	case LocalityResidual:
		return int(p.localPercent)
	}
	return 0
}

// Residual returns zone's residual capacity max(0, U_i - L_i) in 1/10000,
// 0 for the local zone and for plans that are not LocalityResidual.
func (p *Plan) Residual(zone int) int {
	if p.residual == nil {
		return 0
	}
	return int(p.residual[zone])
}

// Share returns the probability that Choose returns zone when zone-aware
// routing applies to the pick (the routing_enabled draw passed): 1 for the
// local zone of a LocalityDirect plan, and for LocalityResidual the kept
// share for the local zone and the rest split by residual capacity for the
// others. It is 0 for every zone when routing is off. The complexity is
// O(1).
func (p *Plan) Share(zone int) float64 {
	switch p.routing {
	case LocalityDirect:
		if zone == p.local {
			return 1
		}
		return 0
	case LocalityResidual:
		keep := float64(p.localPercent) / 10000
		total := p.cumulative[len(p.cumulative)-1]
		var cross float64
		if total == 0 {
			for _, z := range p.fallback {
				if z == zone {
					cross = 1 / float64(len(p.fallback))
				}
			}
		} else {
			cross = float64(p.residual[zone]) / float64(total)
		}
		if zone == p.local {
			return keep + (1-keep)*cross
		}
		return (1 - keep) * cross
	}
	return 0
}

// Choose returns the zone whose hosts one request picks from: a zone index,
// AnyZone when zone-aware routing does not apply to this pick, or NoZone
// when the pick must fail (local cluster in panic with FailTrafficOnPanic).
//
// Draws from r, each one r.Uint64(): one to sample routing_enabled when it
// is strictly between 0 and 100 (value%100 < percent routes by zone), then,
// for LocalityResidual, one to decide whether the request stays local
// (value%10000 < the kept share) and one more to choose the zone of a
// request that does not. A plan that is off draws nothing (except the
// routing_enabled sample of a local cluster in panic with
// FailTrafficOnPanic, since Envoy samples before it checks the panic).
// Envoy takes the routing_enabled sample from its runtime's generator and
// also draws it at 0 and 100; those are the only differences in the draws.
//
// The complexity is O(zones) and it allocates nothing.
func (p *Plan) Choose(r *sim.Rand) int {
	if p.routing == NoLocalityRouting && !(p.reason == ReasonLocalPanic && p.failOnPanic) {
		return AnyZone
	}
	switch pct := p.routingEnabled; {
	case pct == 0:
		return AnyZone
	case pct < 100 && r.Uint64()%100 >= uint64(pct):
		return AnyZone
	}
	switch p.routing {
	case NoLocalityRouting: // local cluster in panic, and fail on panic
		return NoZone
	case LocalityDirect:
		return p.local
	}
	if r.Uint64()%10000 < p.localPercent {
		return p.local
	}
	total := p.cumulative[len(p.cumulative)-1]
	if total == 0 {
		// Envoy: "extremely unlikely but possible due to rounding errors":
		// a zone chosen uniformly among the upstream's zones, which may
		// have no healthy host.
		return p.fallback[r.Uint64()%uint64(len(p.fallback))]
	}
	t := r.Uint64() % total
	i := 0
	for t >= p.cumulative[i] {
		i++
	}
	return i
}
