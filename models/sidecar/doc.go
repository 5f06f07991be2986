// Package sidecar models the proxy in front of every caller: for each
// upstream service a Cluster picks a host with a load-balancing policy and
// runs each request as a call made of one or more attempts, under Envoy's
// router semantics (reference/policies.md A4, A5):
//
//   - the route timeout (default 15 s) spans the whole call, retries and
//     backoff included; when it fires the call ends with a timeout (504) and
//     is never retried;
//   - a per-try timeout, when set, abandons one attempt; the upstream keeps
//     working on it (its answer is discarded when it comes), which is how
//     retries amplify load;
//   - a failed attempt is retried when its failure matches retry_on, retries
//     remain, the route deadline has not passed, and the retry circuit
//     breaker (max_retries concurrent retries, or a retry budget) allows;
//   - the delay before retry n is drawn from U[0, min(base*2^(n-1), max))
//     with base 25 ms and max 10*base: Envoy's code
//     (JitteredExponentialBackOffStrategy, backoff_strategy.cc), not its
//     docs, which say U[0, (2^n-1)*base);
//   - max_requests caps the attempts in flight to the cluster; an overflow
//     fails at once with a local 503 that is not retried (Envoy's
//     retry_state_impl.cc never retries an overflow reset).
//
// Load-balancer state follows Envoy's threading: a Cluster has Workers
// independent pickers, each with its own random stream, while the per-host
// active request counts and the circuit breakers are shared by the workers
// of one proxy. Proxies share nothing.
//
// Every call ends exactly once, reported to the Origin of the request that
// started it. Calls and attempts are pooled: a steady state allocates
// nothing.
package sidecar
