// Package outlier models Envoy's outlier detection (passive health checking)
// for one cluster: one proxy's view of one upstream service
// (reference/policies.md A3; envoy source/common/upstream/
// outlier_detection_impl.cc and api/envoy/config/cluster/v3/
// outlier_detection.proto, which this package follows where the
// documentation is vaguer).
//
// A Detector is fed the result of every answered attempt with Record and
// sweeps its hosts every Interval on the simulator's clock:
//
//   - Consecutive detectors fire inline in Record. A 500 counts toward
//     consecutive_5xx; a 502, 503 or 504, and in Envoy's default non-split
//     mode a timeout, reset or connection failure, count toward both
//     consecutive_5xx and consecutive_gateway_failure. Any success resets
//     both counters, and so does an unejection. The gateway detector is
//     counted but not enforced by default (enforcement 0%).
//   - An ejection lasts min(base*k, max) + jitter, where k grows by one per
//     ejection (while k*base < max+base) and shrinks by one per sweep in
//     which the host is not ejected and was last unejected at least one
//     interval before: linear, not exponential. Hosts are unejected only
//     by a sweep, so an ejection lasts its ejection time rounded up to the
//     interval grid.
//   - Every sweep evaluates the last interval's answers. Success rate: among
//     the hosts not ejected with at least SuccessRateRequestVolume answers,
//     if there are at least SuccessRateMinimumHosts, eject those whose
//     success rate is below mean - factor/1000 * stdev (population
//     standard deviation). Failure percentage: among those with
//     FailurePercentageRequestVolume answers, if there are enough, eject
//     those failing at least FailurePercentageThreshold percent (not
//     enforced by default).
//   - An ejection happens only if it keeps 100*(ejected+1)/hosts <=
//     MaxEjectionPercent. This is strict since envoy#27909 (2023;
//     before, the first ejection was always allowed, envoy#3263,
//     envoy#26877), so with the default 10% a cluster of fewer than ten
//     hosts never ejects; AlwaysEjectOneHost (Envoy 1.31) restores the
//     first ejection. Then the detector's enforcement percentage is rolled
//     on the detector's own random stream.
//
// The proxy asks Ejected when it builds its pickers and Version to learn
// that it must rebuild them; the detector makes no callbacks. Stats gives
// Envoy's counters and Intervals a bounded history of ejections for
// timelines.
//
// Not modelled: split_external_local_origin_errors and its local-origin
// detectors, extension monitors, hosts added or removed at run time, and
// unejection by a successful active health check.
//
// Everything is deterministic: no goroutines, no wall clock, randomness
// only from the stream passed to New, hosts always visited in index order.
//
// # Integration with a cluster
//
// Record, per attempt and per host, exactly what Envoy's router reports:
// Success for any answer that is not a 5xx; Error5xx for an upstream
// error (500); GatewayFailure for an upstream 503 (a full queue) or other
// gateway status; LocalOriginFailure when the proxy gives up on the attempt
// (per-try timeout, route timeout with the attempt in flight, reset,
// connection failure). Record nothing for local replies that never reached
// a host (overflow of the proxy's own circuit breaker, "no healthy
// upstream"), nor for the late answer of an attempt already abandoned:
// Envoy reset that stream.
//
// Before picking, compare Version with the version the pickers were built
// for and rebuild them over the hosts that are not Ejected. Envoy routes to
// all hosts, ejected ones included, when fewer than healthy_panic_threshold
// (default 50%) of them are healthy (after the 1.4 overprovisioning factor
// across priorities; with one priority: 100*healthy/hosts < 50). Istio sets
// the threshold to minHealthPercent, default 0, whenever outlier detection
// is configured: panic off, and "no healthy upstream" (503) when every host
// is ejected.
package outlier
