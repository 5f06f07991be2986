// Package locality implements the layer of Envoy's host selection that runs
// before a load-balancing policy picks a host (ZoneAwareLoadBalancerBase in
// source/common/upstream/load_balancer_impl.cc): the split of requests over
// priority levels with spill-over and panic (Priorities), zone-aware routing
// between the caller's zone and the others (Plan), and the two combined into
// the choice of host list for one request (Router).
//
// The package computes which host list a request uses; it holds no hosts
// and knows no policy. All its results are pure functions of host counts
// and of the draws taken from the *sim.Rand passed to Choose, so it fits the
// determinism contract of models/: no clock, no maps, no goroutines.
//
// # Using it in a sidecar
//
// Envoy keeps one scheduler per host list ("HostsSource": priority,
// availability, zone), so a sidecar keeps one lb.Picker per host list it
// may route to. Per upstream cluster and proxy:
//
//	// On every change of membership or health of either cluster:
//	levels := []locality.Level{{Hosts: 9, Healthy: 9}} // one per priority
//	zones := &locality.Zones{
//		Local:    callerZone,       // this proxy's zone index
//		Callers:  []int{3, 3, 4},   // healthy caller instances per zone
//		Upstream: []int{2, 4, 3},   // healthy P0 upstream hosts per zone
//	}
//	rt, err := locality.NewRouter(cfg, levels, zones) // O(levels+zones)
//	// ... and rebuild the pickers: one per (priority, availability, zone)
//	// host list, over that list's hosts in stable order, with
//	// BuildOptions.Now set for slow start.
//
//	// Per attempt:
//	src, err := rt.Choose(localityRand) // O(levels+zones), no allocation
//	if err != nil { /* 503: FailTrafficOnPanic */ }
//	picker := pickers[src] // src.Zone == locality.AnyZone: every zone
//	i, err := picker.Pick(lb.PickInfo{Now: now, ...})
//
// With one priority and no zones (the common case), NewRouter(cfg,
// levels, nil) still handles panic: a level whose healthy hosts fall under
// the threshold routes to all its hosts. Router.Choose always takes one
// draw for the priority, as Envoy does; a sidecar that must keep the draws
// of existing scenarios unchanged can skip the layer when it has one
// priority, no zones and no hosts unhealthy. The locality draws are best
// taken from their own stream (sim.Streams.Get(proxy, "locality")), so that
// turning the layer on does not shift the policy's own draws.
//
// Plan can also be used alone, by a sidecar with a single priority:
//
//	plan, err := locality.NewPlan(cfg, *zones)
//	zone := plan.Choose(r) // a zone, locality.AnyZone, or locality.NoZone
//
// # Fidelity
//
// Figures are Envoy's integer percentages (priorities) and 1/10000 units
// (zones), with Envoy's rounding. Where Envoy's docs and code disagree (a
// few cells of the tables in priority.rst and panic_threshold.rst), the
// tests follow the code and say so. Zone-aware routing follows Envoy v1.16,
// whose preconditions zone_aware.rst lists, with two later fixes; see Plan.
// Not modelled: locality-weighted load balancing, weighted priority health
// (weighted_priority_health), per-request priority overrides (retry
// priority plugins), and excluded hosts (pass counts without them).
//
// # Experimental
//
// The API is new and will change when the sidecar integration lands.
package locality
