package scenarios

import (
	"math"
	"time"
)

// Presets fill a sidecar's unset fields the way a real proxy is configured
// by default, so that `sidecar: {preset: istio}` reads as "what Istio does"
// and explicit fields override it. Sources: reference/policies.md (section
// 0 and Part A), which cites each system's code and docs.
//
// What meshsim does not model yet is left at its neutral value and said
// in the comment: Istio's refused-stream, unavailable and cancelled retry
// conditions (HTTP/2 and gRPC resets), Linkerd's balancer queue, and
// gRPC's default pick_first policy.
var presets = map[string]func(sc *Sidecar, set func(field string) bool){
	// Envoy with no route configuration beyond the cluster: round robin,
	// the 15 s route timeout, no retries (Envoy retries only with a retry
	// policy), circuit breakers 1024 requests and 3 retries.
	"envoy": func(sc *Sidecar, set func(string) bool) {
		setString(&sc.LB.Policy, "round_robin", set("lb.policy"))
		setDuration(&sc.Timeout, 15*time.Second, set("timeout"))
		setInt(&sc.CircuitBreakers.MaxRequests, 1024, set("circuit_breakers.max_requests"))
		setInt(&sc.CircuitBreakers.MaxRetries, 3, set("circuit_breakers.max_retries"))
		setInt(&sc.CircuitBreakers.MaxConnections, 1024, set("circuit_breakers.max_connections"))
		setInt(&sc.CircuitBreakers.MaxPendingRequests, 1024, set("circuit_breakers.max_pending_requests"))
	},
	// Istio's sidecar as istiod configures it (1.14+): LEAST_REQUEST, no
	// route timeout ("default is disabled"), 2 retries on connect-failure
	// and retriable-status-codes 503 with the previous_hosts predicate and 5
	// host re-selections (retry.go), every circuit breaker at 2^32-1
	// (getDefaultCircuitBreakerThresholds, after istio#7665).
	"istio": func(sc *Sidecar, set func(string) bool) {
		setString(&sc.LB.Policy, "least_request", set("lb.policy"))
		setInt(&sc.Retries.Attempts, 2, set("retries.attempts"))
		if !set("retries.retry_on") {
			sc.Retries.RetryOn = []string{"connect-failure", "retriable-status-codes"}
		}
		setBool(&sc.Retries.PreviousHosts, true, set("retries.previous_hosts"))
		setInt(&sc.Retries.HostSelectionAttempts, 5, set("retries.host_selection_retry_max_attempts"))
		setInt(&sc.CircuitBreakers.MaxRequests, math.MaxUint32, set("circuit_breakers.max_requests"))
		setInt(&sc.CircuitBreakers.MaxRetries, math.MaxUint32, set("circuit_breakers.max_retries"))
		setInt(&sc.CircuitBreakers.MaxConnections, math.MaxUint32, set("circuit_breakers.max_connections"))
		setInt(&sc.CircuitBreakers.MaxPendingRequests, math.MaxUint32, set("circuit_breakers.max_pending_requests"))
		// With a DestinationRule outlierDetection, Istio disables
		// success-rate ejection and sets healthy_panic_threshold to
		// minHealthPercent, default 0: no panic (applyOutlierDetection).
		if od := sc.OutlierDetection; od != nil {
			// Locality failover is on in the mesh config by default and
			// takes effect once outlier detection is set (it acts only
			// between services placed in zones).
			if !set("locality_failover") && sc.ZoneAware == nil {
				sc.LocalityFailover = &LocalityFailover{}
			}
			if !set("outlier_detection.enforcing_success_rate") {
				od.EnforcingSuccessRate = new(int)
			}
			if !set("panic_threshold") {
				sc.PanicThreshold = new(int)
			}
		}
	},
	// Linkerd's proxy: peak EWMA P2C (decay 10 s, default RTT 30 ms), no
	// timeout and no retries without a route policy, and no request or
	// retry circuit breakers (admission is its balancer queue, not
	// modelled; the limits are set out of reach).
	"linkerd": func(sc *Sidecar, set func(string) bool) {
		setString(&sc.LB.Policy, "peak_ewma", set("lb.policy"))
		// Retries (when a route allows them) are bounded by the retry
		// budget: 20% extra load, 10 retries/s, over 10 s.
		if !set("retries.ratio_budget") && sc.Retries.Budget == nil {
			sc.Retries.RatioBudget = &RatioBudget{}
		}
		setInt(&sc.CircuitBreakers.MaxRequests, math.MaxUint32, set("circuit_breakers.max_requests"))
		setInt(&sc.CircuitBreakers.MaxRetries, math.MaxUint32, set("circuit_breakers.max_retries"))
		setInt(&sc.CircuitBreakers.MaxConnections, math.MaxUint32, set("circuit_breakers.max_connections"))
		setInt(&sc.CircuitBreakers.MaxPendingRequests, math.MaxUint32, set("circuit_breakers.max_pending_requests"))
	},
	// A gRPC client channel: the deadline is the application's (no route
	// timeout), no retries without a retryPolicy, no circuit breakers.
	// gRPC's default is pick_first; meshsim uses round_robin, the policy a
	// mesh configures for it, until pick_first is modelled.
	"grpc": func(sc *Sidecar, set func(string) bool) {
		setString(&sc.LB.Policy, "round_robin", set("lb.policy"))
		setInt(&sc.CircuitBreakers.MaxRequests, math.MaxUint32, set("circuit_breakers.max_requests"))
		setInt(&sc.CircuitBreakers.MaxRetries, math.MaxUint32, set("circuit_breakers.max_retries"))
		setInt(&sc.CircuitBreakers.MaxConnections, math.MaxUint32, set("circuit_breakers.max_connections"))
		setInt(&sc.CircuitBreakers.MaxPendingRequests, math.MaxUint32, set("circuit_breakers.max_pending_requests"))
	},
}

// PresetNames lists the presets in sorted order.
func PresetNames() []string { return []string{"envoy", "grpc", "istio", "linkerd"} }

func setString(p *string, v string, set bool) {
	if !set {
		*p = v
	}
}

func setInt(p *int, v int, set bool) {
	if !set {
		*p = v
	}
}

func setBool(p *bool, v bool, set bool) {
	if !set {
		*p = v
	}
}

func setDuration(p *Duration, v time.Duration, set bool) {
	if !set {
		*p = Duration(v)
	}
}
