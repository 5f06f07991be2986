package locality

import (
	"fmt"

	"github.com/meshsim/meshsim/sim"
)

// Source names the host list one pick is made from, Envoy's HostsSource:
// the hosts of one priority level with the given availability, either in one
// zone or in every zone (Zone == AnyZone). A zone is given only for
// priority 0 and only for Healthy or Degraded (zone-aware routing then
// picks from that zone's healthy or degraded hosts).
type Source struct {
	Priority int
	Avail    Availability
	Zone     int
}

// String formats the source as "P0/healthy/zone 2" or "P1/all/any zone".
func (s Source) String() string {
	if s.Zone == AnyZone {
		return fmt.Sprintf("P%d/%v/any zone", s.Priority, s.Avail)
	}
	return fmt.Sprintf("P%d/%v/zone %d", s.Priority, s.Avail, s.Zone)
}

// Router is Envoy's host-source selection (ZoneAwareLoadBalancerBase::
// hostSourceToUse), the locality layer that runs before a policy's pick:
//
//  1. Priorities.Choose picks a priority level and availability;
//  2. a level in panic picks from all its hosts (or fails with
//     FailTrafficOnPanic);
//  3. at priority 0, the zone Plan picks a zone;
//  4. the policy then picks a host from the Source's host list.
//
// Envoy's locality-weighted load balancing (locality_weighted_lb_config),
// the alternative to zone-aware routing in step 3, is not modelled.
//
// A Router is immutable: build a new one (O(levels + zones)) whenever a
// host joins, leaves or changes health, in either cluster.
type Router struct {
	prios       *Priorities
	plan        *Plan // nil without zones
	failOnPanic bool
}

// NewRouter validates its arguments and builds the priorities of levels
// (highest priority first) and, if zones is not nil, the zone plan of
// priority 0, whose upstream counts must then be those of levels[0]'s
// healthy hosts by zone. The complexity is O(levels + zones).
func NewRouter(cfg Config, levels []Level, zones *Zones) (*Router, error) {
	s, err := cfg.parse()
	if err != nil {
		return nil, err
	}
	prios, err := newPriorities(s, levels)
	if err != nil {
		return nil, err
	}
	rt := &Router{prios: prios, failOnPanic: s.failOnPanic}
	if zones != nil {
		healthy := 0
		for _, u := range zones.Upstream {
			healthy += u
		}
		if healthy != levels[0].Healthy {
			return nil, fmt.Errorf("%w: zones: %d healthy upstream hosts by zone, but priority 0 has %d", ErrConfig, healthy, levels[0].Healthy)
		}
		if rt.plan, err = newPlan(s, *zones); err != nil {
			return nil, err
		}
	}
	return rt, nil
}

// Priorities returns the priority split the router uses.
func (rt *Router) Priorities() *Priorities { return rt.prios }

// Plan returns the zone plan the router uses, or nil.
func (rt *Router) Plan() *Plan { return rt.plan }

// Choose returns the host list of one request. It fails with ErrNoHost only
// with FailTrafficOnPanic. It draws one value from r for the priority and
// then what Plan.Choose draws for a pick at priority 0 that is not in panic.
// The complexity is O(levels + zones) and it allocates nothing.
func (rt *Router) Choose(r *sim.Rand) (Source, error) {
	level, avail := rt.prios.Choose(r)
	src := Source{Priority: level, Avail: avail, Zone: AnyZone}
	if avail == All {
		if rt.failOnPanic {
			return src, ErrNoHost
		}
		return src, nil
	}
	if level != 0 || rt.plan == nil {
		return src, nil
	}
	zone := rt.plan.Choose(r)
	if zone == NoZone {
		return src, ErrNoHost
	}
	src.Zone = zone
	return src, nil
}
