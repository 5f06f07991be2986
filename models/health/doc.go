// Package health models Envoy's active health checking of one upstream host
// set by one checker: one proxy's (or one control plane's) probes of one
// service's instances (reference/policies.md A6). It follows envoy
// api/envoy/config/core/v3/health_check.proto and, where the proto is
// vaguer, source/extensions/health_checkers/common/health_checker_base_impl.cc
// (HealthCheckerImplBase, ActiveHealthCheckSession).
//
// Each host has its own session, as in Envoy: a probe, a timeout timer armed
// when the probe is sent, and, once the probe is answered or times out, the
// next probe one interval later. Probes are therefore spaced by
// interval + answer time, not on a fixed grid.
//
//   - A host starts in StateUnknown: Envoy sets FAILED_ACTIVE_HC on every
//     host a health checker covers when the host is added (upstream_impl.cc,
//     "If we are depending on a health checker, we initialize to
//     unhealthy"), so an unchecked host is not routable except in panic
//     mode. Its first success marks it healthy whatever healthy_threshold
//     says; its first failure marks it unhealthy.
//   - A healthy host becomes unhealthy after unhealthy_threshold
//     consecutive failures that count toward the threshold: timeouts,
//     connection failures (Envoy's NETWORK and NETWORK_TIMEOUT) and answers
//     with a status in retriable_statuses. Any other failed answer (an HTTP
//     status outside expected_statuses, such as a 503; a gRPC NOT_SERVING; a
//     TCP payload mismatch) marks it unhealthy at once, threshold ignored.
//   - An unhealthy host becomes healthy after healthy_threshold consecutive
//     successes.
//   - The next probe comes after interval when the last check succeeded and
//     changed nothing pending, healthy_edge_interval after a success that
//     leaves the host unhealthy with a change pending, unhealthy_interval
//     after a failure of an unhealthy host (or one that marks it unhealthy),
//     and unhealthy_edge_interval after a failure that leaves a healthy host
//     healthy with a change pending. While the cluster has carried no
//     traffic (only with Config.AwaitTraffic) it is no_traffic_interval, or
//     no_traffic_healthy_interval after a success with nothing pending.
//   - Jitter is Envoy's intervalWithJitter: to the base interval in
//     milliseconds add rand % (interval_jitter_percent * base / 100) and
//     then rand % interval_jitter, and never wait less than 1 ms. The first
//     probe of a host goes out at once, or, with initial_jitter, after
//     max(1 ms, rand % initial_jitter). Every draw comes from the checker's
//     own stream (sim.Streams.Get(checker, "health-check")), one Uint64 per
//     jitter term that is non-zero, so that turning checks on never shifts
//     another component's draws.
//
// Envoy reads every duration of the HealthCheck message in whole
// milliseconds (PROTOBUF_GET_MS); Validate rejects durations with a
// sub-millisecond part instead of truncating them silently.
//
// # Defaults
//
// Envoy requires timeout, interval, unhealthy_threshold and
// healthy_threshold and has no defaults for them. meshsim takes Envoy
// Gateway's (envoyproxy/gateway api/v1alpha1/healthcheck_types.go,
// ActiveHealthCheck kubebuilder defaults): timeout 1 s, interval 3 s,
// unhealthy_threshold 3, healthy_threshold 1. The optional fields take
// Envoy's own defaults: no jitter, no_traffic_interval 60 s,
// no_traffic_healthy_interval = no_traffic_interval, unhealthy_interval =
// interval, unhealthy_edge_interval = unhealthy_interval,
// healthy_edge_interval = interval.
//
// Not modelled: degraded hosts, the immediate-failure header
// (x-envoy-immediate-health-check-fail), passive failures reported by the
// outlier detector, connection reuse, the runtime keys
// health_check.min_interval and health_check.max_interval, and
// ignore_new_hosts_until_first_hc (PENDING_ACTIVE_HC exclusion).
//
// # Integration
//
// The integrator owns the network: it implements Prober, delivering the
// probe to the instance and calling Answer with the probe's id when the
// instance answers (or never, if the probe is lost: the checker's timeout
// then fires). Health transitions come back through Watcher, synchronously
// from Answer or from the checker's own timer events, and are kept in a
// bounded log (Transitions) for reports.
//
//	type probes struct{ s *sim.Scheduler; c *health.Checker; ... }
//	func (p *probes) Probe(host int, id health.ProbeID) {
//		// Send over the simulated network; on arrival the instance
//		// answers 200 if it is up and not overloaded, a connection
//		// failure if it crashed, nothing at all if partitioned. Later:
//		//   p.c.Answer(host, id, health.Success)
//	}
//	func (p *probes) HealthChanged(tr health.Transition) {
//		// Rebuild the proxy's pickers: route to host iff
//		// c.Healthy(host) && !outlierDetector.Ejected(host), or to all
//		// hosts in panic mode. Envoy also drains the host's connection
//		// pools when it turns unhealthy.
//	}
//
//	rnd := streams.Get("frontend->checkout", "health-check")
//	c, err := health.New(s, rnd, len(instances), health.Config{}, p, p)
//	c.Start() // first probes go out now (or after initial_jitter)
//	// On registry changes: c.AddHost() / c.RemoveHost(i).
//
// Everything is deterministic: no goroutines, no wall clock, randomness
// only from the stream passed to New, hosts always visited in index order.
// Probing, answering and timing out are O(log n) in the scheduler's queue
// and allocate nothing once the transition log is full or not growing.
package health
