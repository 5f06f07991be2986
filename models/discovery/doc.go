// Package discovery models service discovery: a registry of the endpoints
// of each service, and subscribers (sidecars, gateways) that learn of each
// change after their own propagation delay, as an Envoy sidecar learns of
// a Kubernetes endpoint change from istiod over its xDS stream.
//
// # Semantics
//
// Register and Deregister change a service's endpoint set at once and
// make a new immutable Snapshot of it, numbered by a per-service version.
// Each subscriber of that service receives the snapshot after a delay
// drawn from its own distribution and its own random stream
// (sim.Streams.Get(subscriber, "discovery")), one draw per change it
// receives, so the draws of one subscriber never depend on another's, nor
// on changes to services it does not watch.
//
// Changes reach a subscriber in the order in which they were made, over
// all its services, as they do over one ADS stream: a change is delivered
// at max(made + delay, delivery of the subscriber's previous change). A
// later change never overtakes an earlier one; when its own delay is
// shorter it arrives together with (just after) the earlier one. Equal
// instants are delivered in scheduling order, which the scheduler's
// sequence numbers make FIFO. So, with a delay distribution bounded by D, a
// subscriber sees an endpoint at most D after it was deregistered, and
// sees every intermediate version, never a stale one after a newer one.
//
// The delay is the whole path from the registry to the proxy's applied
// configuration (Kubernetes endpoints controller, istiod debounce and
// push, xDS transfer, Envoy's warming). Default: a constant 100 ms,
// istiod's PILOT_DEBOUNCE_AFTER, the least time istiod waits before it
// pushes a change; measured propagation in a loaded mesh is seconds, and
// scenarios should give a distribution.
//
// Not modelled: debouncing (several changes merged into one push),
// endpoint health or weights carried by EDS, and loss of the xDS stream.
//
// # Integration
//
// The integrator registers instances as they become ready and deregisters
// them when they start draining or crash; each sidecar subscribes to the
// services it calls and rebuilds its pickers when it is told:
//
//	reg, err := discovery.NewRegistry(s, len(services))
//	reg.Register(checkout, 0)    // instance 0 of checkout is ready
//	sub, err := reg.Subscribe(discovery.Config{
//		Name:     "frontend[2]",
//		Delay:    delay, // dist.Dist, e.g. lognormal(mean=1s, p99=5s)
//		Services: []int{checkout, payment},
//	}, streams.Get("frontend[2]", "discovery"), sidecar)
//	// sidecar.EndpointsChanged(snap) rebuilds the pickers of snap.Service
//	// over snap.Endpoints; until then it keeps sending to the old set,
//	// including endpoints already deregistered (connection failures).
//
// A new subscriber starts with the registry's current snapshots (View),
// without a callback. Register and Deregister are O(n) in the service's
// endpoints plus O(subscribers of the service x log events) and allocate
// one snapshot per change; a delivery allocates nothing. Everything is
// deterministic: no goroutines, no wall clock, randomness only from each
// subscriber's stream, subscribers always visited in subscription order.
package discovery
