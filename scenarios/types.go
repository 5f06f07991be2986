package scenarios

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/meshsim/meshsim/models/concurrency"
	"github.com/meshsim/meshsim/models/lb"
)

// Scenario is a decoded scenario file (YAML v1). Entity lists keep YAML
// order; nothing is decoded into a Go map, so iteration order never leaks.
type Scenario struct {
	Version int `yaml:"version"`
	// Name follows the entity name rules (lowercase letters, digits, - and
	// _); it names the default output folder. It defaults to the file name,
	// made valid.
	Name         string   `yaml:"name"`
	Description  string   `yaml:"description"`
	Seed         uint64   `yaml:"seed"`
	Duration     Duration `yaml:"duration"`
	Warmup       Duration `yaml:"warmup"`
	Replications int      `yaml:"replications"`
	// Precision, instead of a fixed count, runs replications until a
	// statistic's 95% interval is narrow enough.
	Precision *Precision `yaml:"precision"`
	Limits    Limits     `yaml:"limits"`
	Workloads []Workload `yaml:"workloads"`
	Services  []Service  `yaml:"services"`
	Failures  []Failure  `yaml:"failures"`
	// RandomFailures are failure processes drawn at random (MTBF/MTTR).
	RandomFailures []RandomFailure `yaml:"random_failures"`
	// ControlPlane configures discovery: how proxies learn of instances
	// that crash or restart.
	ControlPlane ControlPlane `yaml:"control_plane"`
	// ConfigPushes change a service's sidecar policy mid-run.
	ConfigPushes []ConfigPush `yaml:"config_pushes"`
	// Deploys are rolling updates of services to new versions.
	Deploys  []Deploy `yaml:"deploys"`
	Network  Network  `yaml:"network"`
	Timeline Timeline `yaml:"timeline"`
	// Report sets what the report judges the variants against.
	Report Report `yaml:"report"`
	// Bus is the event bus: brokers, topics, queues and their consumers.
	Bus      Bus       `yaml:"bus"`
	Variants []Variant `yaml:"variants"`
	// Sweep runs every variant at every point of a grid of field values:
	// sweep: {workloads.web.arrival.rate: [400/s, 600/s, 800/s]}. With
	// several paths the grid is their cross product, the last path varying
	// fastest.
	Sweep []SweepAxis `yaml:"sweep"` // decoded from a mapping, in YAML order

	// File is the path or library name the scenario was loaded from, used in
	// error messages. It is not a YAML field.
	File string `yaml:"-"`
	// Source is the YAML text as loaded. It is not a YAML field.
	Source []byte `yaml:"-"`
}

// Precision is precision-based stopping: the run starts with replications
// (5 when the file does not say) and adds more, in rounds, until the
// metric's 95% confidence interval has at most half_width in every
// variant, or max_replications is reached. Every variant runs the same
// replications, so paired differences stay paired.
//
//	precision: {metric: p99, workload: web, half_width: 5%}
type Precision struct {
	// Metric is the statistic to pin down: mean, p50, p90, p99 or p999 of
	// the latency of ok requests, throughput or error_rate. Default p99.
	Metric string `yaml:"metric"`
	// Workload is the workload whose metric counts; default every
	// workload.
	Workload string `yaml:"workload"`
	// HalfWidth is the target: a percentage of the estimate ("5%"), or,
	// for a latency metric, a duration ("2ms"). Required.
	HalfWidth string `yaml:"half_width"`
	// MaxReplications bounds the run. Default 100.
	MaxReplications int `yaml:"max_replications"`

	// Relative is HalfWidth as a fraction (0.05 for 5%), or 0 when it is
	// absolute; Absolute is then HalfWidth in seconds. Both are set by
	// validation.
	Relative float64 `yaml:"-"`
	Absolute float64 `yaml:"-"`
}

// Report configures the report's judgement of the results.
//
//	report: {slo: {p99: 250ms, error_rate: 0.1%}}
type Report struct {
	// SLO is a service level objective every variant is judged against.
	SLO *SLO `yaml:"slo"`
}

// SLO is a service level objective: upper bounds on a workload's latency
// statistics and error rate. Each variant's estimate is judged met when
// its whole 95% interval is within the bound, violated when the whole
// interval is beyond it, and uncertain otherwise (more replications would
// tell). At least one bound is required.
type SLO struct {
	// Workload is the workload judged; default every workload.
	Workload string `yaml:"workload"`
	// Mean, P50, P90, P99 and P999 bound the latency of ok requests.
	Mean *Duration `yaml:"mean"`
	P50  *Duration `yaml:"p50"`
	P90  *Duration `yaml:"p90"`
	P99  *Duration `yaml:"p99"`
	P999 *Duration `yaml:"p999"`
	// ErrorRate bounds the share of finished requests that were not ok,
	// as a percentage ("0.1%").
	ErrorRate string `yaml:"error_rate"`

	// ErrorRateFraction is ErrorRate as a fraction, set by validation.
	ErrorRateFraction float64 `yaml:"-"`
}

// Limits bounds every replication (TIGER_STYLE: limits on everything).
type Limits struct {
	// MaxEvents stops a replication with an error after this many events.
	// Default 2e9.
	MaxEvents int64 `yaml:"max_events"`
}

// Timeline sets how the report's timelines cut the run into windows.
//
//	timeline: {window: 1s}
type Timeline struct {
	// Window is the width of one window: each workload's outcomes and
	// latencies are counted per window of completion time, over the whole
	// run (warm-up included). Default: a round value (1, 2 or 5 times a
	// power of ten of a time unit) that gives 50 to 200 windows over the
	// duration; at most 10,000 windows.
	Window Duration `yaml:"window"`
}

// Workload is an open-loop source of requests.
type Workload struct {
	Name    string   `yaml:"name"`
	Arrival DistSpec `yaml:"arrival"` // inter-arrival time; `rate:` is shorthand for the mean
	Target  string   `yaml:"target"`  // a service name
	// Publish, instead of target, makes each request a message published
	// to this bus topic, queue or pub/sub topic through the workload's own
	// producer; the request is answered when the message is acknowledged.
	Publish string `yaml:"publish"`
	Zone    string `yaml:"zone"` // where the workload's clients are, for network latency
	// Route is the requests' path, matched by gateways' routes, e.g.
	// /checkout/cart.
	Route string `yaml:"route"`
	// Headers are the request headers every request of the workload
	// carries, for routes that match on headers.
	Headers []Header `yaml:"headers"`
	// Deadline is the client's timeout: each request carries it as its
	// deadline (gRPC's grpc-timeout), its proxy ends it by then, and
	// services that propagate deadlines pass what is left to their calls.
	// Default none.
	Deadline Duration `yaml:"deadline"`
}

// Service is a set of identical instances behind callers' load balancers.
type Service struct {
	Name     string `yaml:"name"`
	Replicas int    `yaml:"replicas"` // instances; default 1
	// ReadinessDelay is how long a restarted or new instance takes to pass
	// its readiness probe and be registered; default 0.
	ReadinessDelay Duration `yaml:"readiness_delay"`
	// TerminationGracePeriod bounds the drain of a pod that an autoscaler
	// or a deploy removes: it is deregistered at once, finishes the
	// requests it holds, and stops when it holds none; requests still held
	// after this long are lost (the pod is killed). Default 30s.
	TerminationGracePeriod Duration `yaml:"termination_grace_period"`
	// Autoscale, when present, scales the service's replicas with the
	// Kubernetes HPA algorithm.
	Autoscale   *Autoscale `yaml:"autoscale"`
	Concurrency int        `yaml:"concurrency"` // slots per instance; default 1
	Queue       Queue      `yaml:"queue"`       // waiting room per instance; default unbounded
	ServiceTime DistSpec   `yaml:"service_time"`
	// Zones places the instances round-robin over these zones: instance i
	// is in zones[i % len(zones)]. Network latency depends on whether the
	// caller is in the same zone.
	Zones []string `yaml:"zones"`
	// Routes make the service an API gateway: after its own service time
	// (the edge's cost) it sends each request to the destination of the
	// route whose match is the longest prefix of the request's path; a
	// split sends each request to one destination at random in proportion
	// to the weights (a canary). A path no route matches is answered 404.
	Routes []RouteSpec `yaml:"routes"`
	// Calls are the handler's downstream calls, made through the
	// instance's own sidecar after the service time, step by step.
	Calls []CallStep `yaml:"calls"`
	// Errors makes a share of requests fail: the instance does the work,
	// then answers with the status.
	Errors ErrorRate `yaml:"errors"`
	// RateLimit is Envoy's local rate limit on each instance: over it a
	// request is answered 429 at once (outcome shed; not retried on 5xx).
	RateLimit *RateLimit `yaml:"rate_limit"`
	// PropagateDeadline passes each request's deadline on to the
	// handler's calls (as a gRPC server calling on with the incoming
	// context), so that their proxies give up when the caller has. Default
	// false, as Envoy.
	PropagateDeadline bool `yaml:"propagate_deadline"`
	// AdaptiveConcurrency puts Envoy's adaptive concurrency filter in
	// front of each instance: a limit on outstanding requests, adjusted
	// from the latencies it sees; over it, requests are answered 503.
	AdaptiveConcurrency *AdaptiveConcurrency `yaml:"adaptive_concurrency"`
	// Auth authenticates every request at the edge before the routes or
	// calls (Envoy's ext_authz filter).
	Auth    *Auth   `yaml:"auth"`
	Sidecar Sidecar `yaml:"sidecar"`
}

// Auth is an authentication step: a call to an auth service, or a local
// check that costs some time, after which a share of the requests is
// denied (401/403, outcome denied).
//
//	auth: {service: auth, deny: 0.02}
//	auth: {cost: {dist: constant, value: 200us}}
type Auth struct {
	Service string    `yaml:"service"`
	Cost    *DistSpec `yaml:"cost"`
	// Deny is the share of checked requests refused, in [0, 1].
	Deny float64 `yaml:"deny"`
	// FailureModeAllow lets a request through when the auth call fails
	// (Envoy's failure_mode_allow); by default such a request is denied.
	FailureModeAllow bool `yaml:"failure_mode_allow"`
}

// Header is one request header, or one exact header match of a route.
type Header struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// CallStep is one step of a handler: a call to one service, a message
// published to the bus, or calls to several in parallel of which Wait must
// succeed (default all). A failed step fails the handler, which answers
// 500. A publish goes through the instance's own producer and succeeds
// when the message is acknowledged (at once with acks 0), fails when the
// producer gives up on it.
//
//	calls:
//	  - {to: payments}
//	  - {parallel: [{to: inventory}, {to: pricing}], wait: 1}
//	  - {publish: orders}
type CallStep struct {
	To       string `yaml:"to"`
	Publish  string `yaml:"publish"`
	Parallel []Call `yaml:"parallel"`
	Wait     int    `yaml:"wait"`
}

// RouteSpec is one route of a gateway: a path prefix, and either one
// destination or a weighted split.
//
//	routes:
//	  - {match: /checkout, split: [{to: checkout, weight: 90}, {to: checkout-canary, weight: 10}]}
//	  - {match: /, to: frontend}
//
// A route may also require headers (exact values) and carry its own
// timeout, per-try timeout, retries and hedging, which replace those of
// the destination's sidecar block for requests on this route (Envoy sets
// them per route; load balancing, circuit breakers and outlier detection
// stay per destination).
//
//   - {match: /api, headers: [{name: x-canary, value: "true"}], to: api-canary, timeout: 2s}
type RouteSpec struct {
	Match         string        `yaml:"match"`
	Headers       []Header      `yaml:"headers"`
	To            string        `yaml:"to"`
	Split         []Destination `yaml:"split"`
	Timeout       *Duration     `yaml:"timeout"`
	PerTryTimeout *Duration     `yaml:"per_try_timeout"`
	Retries       *Retries      `yaml:"retries"`
	Hedging       *Hedging      `yaml:"hedging"`
}

// ownPolicy reports whether the route replaces any of its destinations'
// route-level settings.
func (r RouteSpec) ownPolicy() bool {
	return r.Timeout != nil || r.PerTryTimeout != nil || r.Retries != nil || r.Hedging != nil
}

// over returns the destination's sidecar block with the route's own
// settings in place of its route-level ones.
func (r RouteSpec) over(sc Sidecar) Sidecar {
	if r.Timeout != nil {
		sc.Timeout = *r.Timeout
	}
	if r.PerTryTimeout != nil {
		sc.PerTryTimeout = *r.PerTryTimeout
	}
	if r.Retries != nil {
		sc.Retries = *r.Retries
	}
	if r.Hedging != nil {
		sc.Hedging = *r.Hedging
	}
	return sc
}

// Destination is one weighted destination of a split.
type Destination struct {
	To     string `yaml:"to"`
	Weight int    `yaml:"weight"`
}

// Call is one call of a parallel step: to a service, or a publish.
type Call struct {
	To      string `yaml:"to"`
	Publish string `yaml:"publish"`
}

// Network is the one-way delay between a caller's sidecar and an instance,
// drawn once for the request and once for its answer: same_zone when both
// are in the same zone (or either has none), cross_zone otherwise. One of
// the two alone applies to every hop. Left out, the network takes no time.
type Network struct {
	SameZone  *DistSpec `yaml:"same_zone"`
	CrossZone *DistSpec `yaml:"cross_zone"`
	// ConnectFailure is the probability that opening a connection fails
	// (refused or reset in the handshake). Setting it gives every proxy a
	// connection pool.
	ConnectFailure float64 `yaml:"connect_failure"`
}

// RateLimit is Envoy's local_ratelimit token bucket: max_tokens, full at
// the start, refilled with tokens_per_fill (default 1) every fill_interval.
type RateLimit struct {
	MaxTokens     int      `yaml:"max_tokens"`
	TokensPerFill int      `yaml:"tokens_per_fill"`
	FillInterval  Duration `yaml:"fill_interval"`
}

// ErrorRate is a probability of failing and the status the failure answers
// with: 500 (an application error, the default) or 503 (unavailable).
type ErrorRate struct {
	Probability float64 `yaml:"probability"`
	Status      Status  `yaml:"status"` // 500 (default), 503 or reset
}

// Failure is one failure on the timeline: from At, for For (0: until the
// end), Kind acts on Target. Kinds slow and errors target a service
// ("checkout": all its instances) or one instance ("checkout[2]");
// broker_down targets a broker of the bus ("broker[1]"), which comes back
// after for; consumer_crash targets a consumer group or queue consumers
// ("fulfilment": all members) or one member ("fulfilment[2]"), which
// restarts after for. Latency and loss target a service or an instance
// (every caller's traffic), a link between two services ("frontend ->
// checkout", spaces optional: only the calls the first, a service or a
// workload, makes through its proxies to the second), or the links between
// zones (zones, other_zones, no target); partition targets a link between
// two services or zones. Every, if set, repeats the failure every so long
// from at until the end of the run (a crash loop).
//
//	{at: 2m, for: 3m, kind: slow, target: "checkout[2]", factor: 10}
//	{at: 1m, kind: errors, target: payments, probability: 0.5, status: 503}
//	{at: 6m, for: 30s, kind: broker_down, target: "broker[1]"}
//	{at: 1m, for: 20s, every: 1m, kind: consumer_crash, target: "fulfilment[3]"}
//	{at: 3m, for: 1m, kind: loss, target: "frontend -> checkout", probability: 0.2}
//	{at: 4m, for: 1m, kind: latency, zones: [a], other_zones: [b], delay: {dist: constant, value: 50ms}}
type Failure struct {
	At          Duration `yaml:"at"`
	For         Duration `yaml:"for"`
	Every       Duration `yaml:"every"`
	Kind        string   `yaml:"kind"`        // slow, errors, crash, latency, loss, partition, overload, broker_down or consumer_crash
	Target      string   `yaml:"target"`      // "service", "service[i]", a link "caller -> service", a workload (overload), "broker[i]", "group" or "group[i]"
	Factor      float64  `yaml:"factor"`      // slow: service time multiplier; overload: arrival rate multiplier; > 0
	Probability float64  `yaml:"probability"` // errors: in [0, 1]; loss: the share of requests lost, in (0, 1]
	Status      Status   `yaml:"status"`      // errors: 500 (default), 503 or reset
	// Delay is the delay a latency failure adds to every answer of its
	// targets, or to every answer that crosses its link.
	Delay *DistSpec `yaml:"delay"`
	// Zones are one side of a link between zones, for partition, latency
	// and loss: the network between them and every other zone, or the
	// zones of OtherZones when given, is cut (partition: requests lost,
	// new connections time out), slowed or lossy, in either direction.
	// Callers and instances without a zone are never affected.
	Zones []string `yaml:"zones"`
	// OtherZones is the other side of the link; default every other zone.
	OtherZones []string `yaml:"other_zones"`
}

// Status is how a failing request is answered: an HTTP status (500 or
// 503), or reset, the stream reset without an answer (retried under
// retry_on reset, and answered 503 by the caller's proxy). 0 means 500.
type Status int

// StatusReset is the Status written "reset".
const StatusReset Status = -1

func (s Status) String() string {
	if s == StatusReset {
		return "reset"
	}
	return fmt.Sprint(int(s))
}

// Queue is an instance's FIFO waiting room: a non-negative integer bound,
// or the word "unbounded" (the default). A full queue rejects. Parse sets
// Unbounded when the field is omitted; the Go zero value means a bound of 0
// (no waiting room).
type Queue struct {
	Bound     int  // valid when !Unbounded
	Unbounded bool // true when omitted or "unbounded"
	Set       bool // true when the field was present
}

// Sidecar is the traffic policy callers' proxies apply to calls to this
// service, as an Istio DestinationRule and VirtualService are attached to
// the destination. Left out, a proxy only balances load: no timeout, no
// retries, Envoy's default circuit breakers.
type Sidecar struct {
	// Preset fills every field left out the way envoy, istio, linkerd or
	// grpc does by default (see presets.go); fields given override it.
	Preset string `yaml:"preset"`
	LB     LB     `yaml:"lb"`
	// Workers is the number of independent balancers per proxy (Envoy's
	// worker threads); default 1.
	Workers int `yaml:"workers"`
	// Timeout is the route timeout: it spans the whole call, retries and
	// backoff included (Envoy's route timeout; Envoy's default is 15s, a
	// proxy here has none unless set).
	Timeout Duration `yaml:"timeout"`
	// PerTryTimeout bounds one attempt; default none.
	PerTryTimeout Duration `yaml:"per_try_timeout"`
	Retries       Retries  `yaml:"retries"`
	// Hedging sends extra attempts while earlier ones are in flight.
	Hedging         Hedging         `yaml:"hedging"`
	CircuitBreakers CircuitBreakers `yaml:"circuit_breakers"`
	// OutlierDetection, when present, ejects hosts that fail (Envoy's
	// outlier detection; every field left out takes Envoy's default).
	OutlierDetection *OutlierDetection `yaml:"outlier_detection"`
	// PanicThreshold is Envoy's healthy_panic_threshold in percent: below
	// it the proxy balances over all hosts, ejected ones included. Default
	// 50; 0 disables panic mode (what Istio sets with outlier detection).
	PanicThreshold *int `yaml:"panic_threshold"`
	// ConnectionPool, when present, models the proxy's connections:
	// opening one costs a TCP round trip, and requests wait for it.
	// Left out, connections are free and always open.
	ConnectionPool *ConnectionPool `yaml:"connection_pool"`
	// MTLS, when present, secures connections with mutual TLS: each new
	// connection costs a TLS round trip and the handshake's work, and each
	// request and answer the encryption cost. It implies a connection pool.
	MTLS *MTLS `yaml:"mtls"`
	// ZoneAware, when present, is Envoy's zone-aware routing for calls
	// between services placed in zones: a caller keeps the share of its
	// requests that its zone's instances can serve in its zone, and sends
	// the rest to zones with spare capacity. It needs both services in the
	// same number of zones and at least min_cluster_size healthy
	// instances; workloads (no local cluster) are not zone-aware.
	ZoneAware *ZoneAware `yaml:"zone_aware"`
	// LocalityFailover, when present, prefers instances in the caller's
	// zone and fails over to other zones as they become unhealthy.
	LocalityFailover *LocalityFailover `yaml:"locality_failover"`
	// HealthCheck, when present, is Envoy's active health checking of the
	// service's instances by each caller's proxy.
	HealthCheck *HealthCheck `yaml:"health_check"`
}

// LocalityFailover is Istio's locality failover: instances in the
// caller's zone are tried first (priority 0), the others only as the
// local ones become unhealthy (ejected by outlier detection): load spills
// over once fewer than 1/overprovisioning (71%) of the local instances are
// healthy. Istio turns it on with outlier detection; the istio preset
// does the same.
type LocalityFailover struct {
	OverprovisioningFactor int `yaml:"overprovisioning_factor"` // percent, default 140
}

// ZoneAware is Envoy's zone_aware_lb_config.
type ZoneAware struct {
	MinClusterSize *int `yaml:"min_cluster_size"` // default 6
	RoutingEnabled *int `yaml:"routing_enabled"`  // percent, default 100
}

// ConnectionPool is Envoy's HTTP connection pool, one per proxy worker
// and upstream instance.
type ConnectionPool struct {
	// Protocol is http2 (default: one multiplexed connection per worker
	// and instance) or http1 (one request per connection at a time).
	Protocol    string   `yaml:"protocol"`
	IdleTimeout Duration `yaml:"idle_timeout"` // default 1h (Envoy)
}

// MTLS is the cost of mutual TLS between sidecars. The defaults are
// assumptions, not measurements: 1ms of handshake work (two certificate
// verifications and an ECDHE exchange) and 5us per message of AES-GCM;
// set them from a benchmark of your own proxies.
type MTLS struct {
	Handshake  *DistSpec `yaml:"handshake"`
	PerRequest *DistSpec `yaml:"per_request"`
}

// OutlierDetection mirrors Envoy's outlier_detection block. Percentages
// are 0 to 100; enforcing_* of 0 counts a detector without ejecting.
type OutlierDetection struct {
	Consecutive5xx                     int      `yaml:"consecutive_5xx"`
	EnforcingConsecutive5xx            *int     `yaml:"enforcing_consecutive_5xx"`
	ConsecutiveGatewayFailure          int      `yaml:"consecutive_gateway_failure"`
	EnforcingConsecutiveGatewayFailure *int     `yaml:"enforcing_consecutive_gateway_failure"`
	Interval                           Duration `yaml:"interval"`
	BaseEjectionTime                   Duration `yaml:"base_ejection_time"`
	MaxEjectionTime                    Duration `yaml:"max_ejection_time"`
	MaxEjectionTimeJitter              Duration `yaml:"max_ejection_time_jitter"`
	MaxEjectionPercent                 *int     `yaml:"max_ejection_percent"`
	AlwaysEjectOneHost                 bool     `yaml:"always_eject_one_host"`
	SuccessRateStdevFactor             int      `yaml:"success_rate_stdev_factor"`
	EnforcingSuccessRate               *int     `yaml:"enforcing_success_rate"`
	SuccessRateMinimumHosts            int      `yaml:"success_rate_minimum_hosts"`
	SuccessRateRequestVolume           int      `yaml:"success_rate_request_volume"`
	FailurePercentageThreshold         int      `yaml:"failure_percentage_threshold"`
	EnforcingFailurePercentage         *int     `yaml:"enforcing_failure_percentage"`
	FailurePercentageMinimumHosts      int      `yaml:"failure_percentage_minimum_hosts"`
	FailurePercentageRequestVolume     int      `yaml:"failure_percentage_request_volume"`
	// SuccessfulActiveHealthCheckUnejectHost returns an ejected host to
	// service when an active health check of it succeeds; default true
	// (Envoy). It matters only with health_check.
	SuccessfulActiveHealthCheckUnejectHost *bool `yaml:"successful_active_health_check_uneject_host"`
}

// Retries is the retry policy. Attempts is the number of retries after the
// first try, as Istio's retries.attempts and Envoy's num_retries.
type Retries struct {
	Attempts int `yaml:"attempts"`
	// RetryOn lists Envoy retry conditions (5xx, gateway-error, reset,
	// connect-failure, retriable-status-codes); default [5xx] when
	// attempts > 0.
	RetryOn      []string `yaml:"retry_on"`
	BaseInterval Duration `yaml:"base_interval"` // default 25ms
	MaxInterval  Duration `yaml:"max_interval"`  // default 10 x base_interval
	// PreviousHosts re-picks hosts the request already tried, up to
	// HostSelectionAttempts times (default 1; Istio uses 5).
	PreviousHosts         bool `yaml:"previous_hosts"`
	HostSelectionAttempts int  `yaml:"host_selection_retry_max_attempts"`
	// Budget, when present, replaces circuit_breakers.max_retries with
	// Envoy's retry budget.
	Budget *RetryBudget `yaml:"budget"`
	// RatioBudget, when present, is Linkerd's (and Finagle's) retry
	// budget: retries may add at most retry_ratio extra load over ttl,
	// plus min_retries_per_second. The linkerd preset sets it.
	RatioBudget *RatioBudget `yaml:"ratio_budget"`
}

// RatioBudget is Linkerd's retry budget (ServiceProfile retryBudget).
type RatioBudget struct {
	RetryRatio          float64  `yaml:"retry_ratio"`            // default 0.2
	MinRetriesPerSecond int      `yaml:"min_retries_per_second"` // default 10
	TTL                 Duration `yaml:"ttl"`                    // default 10s
}

// Hedging is Envoy's hedge_on_per_try_timeout (a per-try timeout starts a
// new attempt, counted as a retry, without resetting the old one) or gRPC's
// hedging policy (another attempt every delay, up to max_attempts).
type Hedging struct {
	OnPerTryTimeout bool     `yaml:"on_per_try_timeout"`
	Delay           Duration `yaml:"delay"`
	MaxAttempts     int      `yaml:"max_attempts"` // with delay: default 2, at most 5
	// Percentile hedges after this percentile of the latencies observed
	// over window, instead of a fixed delay (Finagle's backup requests):
	// about 1 - percentile/100 of the calls get a second attempt. No call
	// is hedged until min_samples latencies are known.
	Percentile float64  `yaml:"percentile"`
	Window     Duration `yaml:"window"`      // default 30s
	MinSamples int      `yaml:"min_samples"` // default 100
}

// RetryBudget is Envoy's retry_budget: retries in flight may be at most
// max(min_retry_concurrency, percent% of the requests in flight).
type RetryBudget struct {
	Percent             float64 `yaml:"percent"`               // default 20
	MinRetryConcurrency int     `yaml:"min_retry_concurrency"` // default 3
}

// CircuitBreakers are Envoy's per-cluster thresholds, shared by a proxy's
// workers.
type CircuitBreakers struct {
	MaxRequests int `yaml:"max_requests"` // requests in flight; default 1024
	MaxRetries  int `yaml:"max_retries"`  // retries in flight; default 3
	// MaxConnections and MaxPendingRequests apply with a connection pool
	// (connection_pool or mtls): connections open (a pool with none to
	// its instance opens one even at the limit, as Envoy's does), and
	// requests waiting for one; default 1024 each.
	MaxConnections     int `yaml:"max_connections"`
	MaxPendingRequests int `yaml:"max_pending_requests"`
}

// LB selects the load-balancing policy and its settings. A setting left
// out (zero) takes the policy's default; a setting of another policy is
// ignored by this one.
type LB struct {
	Policy            string   `yaml:"policy"`              // a name registered in models/lb; default round_robin (Envoy's default)
	ChoiceCount       int      `yaml:"choice_count"`        // least_request: hosts sampled per pick
	ActiveRequestBias *float64 `yaml:"active_request_bias"` // least_request: exponent when weights differ
	FullScan          bool     `yaml:"full_scan"`           // least_request: scan all hosts
	Decay             Duration `yaml:"decay"`               // peak_ewma: time constant
	DefaultRTT        Duration `yaml:"default_rtt"`         // peak_ewma: estimate with no sample
	MinRingSize       int      `yaml:"min_ring_size"`       // ring_hash
	MaxRingSize       int      `yaml:"max_ring_size"`       // ring_hash
	TableSize         int      `yaml:"table_size"`          // maglev: a prime
	// SlowStart ramps up the weight of a host that joins (round_robin and
	// least_request; Envoy's slow_start_config, Istio's warmup).
	SlowStart *SlowStart `yaml:"slow_start"`
}

// SlowStart is Envoy's slow_start_config: a new host's weight is scaled
// by max(min_weight_percent, (t/window)^(1/aggression)) during window.
type SlowStart struct {
	Window           Duration `yaml:"window"`
	Aggression       float64  `yaml:"aggression"`         // default 1 (linear)
	MinWeightPercent *float64 `yaml:"min_weight_percent"` // default 10
}

// Config returns the settings in the form models/lb takes.
func (l LB) Config() lb.Config {
	c := lb.Config{
		ChoiceCount: l.ChoiceCount, FullScan: l.FullScan,
		Decay: time.Duration(l.Decay), DefaultRTT: time.Duration(l.DefaultRTT),
		MinRingSize: l.MinRingSize, MaxRingSize: l.MaxRingSize, TableSize: l.TableSize,
	}
	if l.ActiveRequestBias != nil {
		c.ActiveRequestBias = *l.ActiveRequestBias
		c.ActiveRequestBiasSet = true
	}
	if ss := l.SlowStart; ss != nil {
		c.SlowStartWindow = time.Duration(ss.Window)
		c.SlowStartAggression = ss.Aggression
		if ss.MinWeightPercent != nil {
			c.SlowStartMinWeightPercent = *ss.MinWeightPercent
			c.SlowStartMinWeightPercentSet = true
		}
	}
	return c
}

// Variant is a named set of overrides applied to the scenario before it is
// built. Keys are field paths: services.checkout.sidecar.lb.policy names
// the field lb.policy of the service whose name is checkout.
type Variant struct {
	Name string     `yaml:"name"`
	Set  []Override `yaml:"set"` // decoded from a mapping, in YAML order
}

// Override is one path: value pair of a variant.
type Override struct {
	Path  string
	Value *yaml.Node // applied to the scenario's YAML tree before decoding
	Line  int
	Col   int
}

// SweepAxis is one path of a sweep and the values it takes, in YAML order.
type SweepAxis struct {
	Path   string
	Values []*yaml.Node // each applied like a variant's override
	Line   int
	Col    int
}

// Duration is a non-negative span written with units: 250ms, 1.5s, 2m, 1h30m.
type Duration time.Duration

// Rate is events per second, written as 800/s, 50/ms, 3000/min or 2/h.
type Rate float64

// DistSpec describes a distribution of durations by name and parameters.
//
//	{dist: exponential, mean: 20ms}      or {dist: exponential, rate: 50/s}
//	{dist: constant, value: 5ms}
//	{dist: uniform, min: 1ms, max: 9ms}
//	{dist: erlang, k: 4, mean: 20ms}
//	{dist: hyperexponential, mean: 20ms, scv: 4}
//	{dist: lognormal, mean: 20ms, p99: 120ms} or {dist: lognormal, median: 15ms, sigma: 0.8}
//	{dist: pareto, scale: 10ms, shape: 2.5} or {dist: pareto, mean: 20ms, shape: 2.5}
//	{dist: empirical, p50: 10ms, p90: 30ms, p99: 100ms}
//
// A workload's arrival may omit dist when it gives rate: {rate: 800/s} is a
// Poisson process (exponential inter-arrival times).
type DistSpec struct {
	Dist   string
	Mean   Duration
	Rate   Rate
	Value  Duration
	Min    Duration
	Max    Duration
	K      int
	SCV    float64
	P99    Duration
	Median Duration
	Sigma  float64
	Scale  Duration
	Shape  float64
	// Percentiles holds the empirical points, in increasing order of p
	// (p50, p90, p99, p999 ...).
	Percentiles []Percentile
	// Has records which fields were present, by YAML name as written (for
	// example "p99.9"), for validation. For empirical, p99 fills both P99
	// and Percentiles.
	Has  map[string]bool
	Line int
	Col  int
}

// Percentile is one point of an empirical distribution: the value below
// which a fraction P of the samples lie.
type Percentile struct {
	P     float64
	Value Duration
}

// AdaptiveConcurrency is Envoy's gradient controller configuration; every
// field left out takes Envoy's default.
type AdaptiveConcurrency struct {
	SamplePercentile float64  `yaml:"sample_percentile"` // default 50
	UpdateInterval   Duration `yaml:"update_interval"`   // default 100ms
	MaxLimit         int      `yaml:"max_limit"`         // default 1000
	MinRTTInterval   Duration `yaml:"min_rtt_interval"`  // default 60s
	MinRTTRequests   int      `yaml:"min_rtt_requests"`  // default 50
	MinConcurrency   int      `yaml:"min_concurrency"`   // default 3
	Buffer           float64  `yaml:"buffer"`            // percent of minRTT, default 25
	Jitter           *float64 `yaml:"jitter"`            // percent, default 15
}

// config maps the block to the controller's configuration.
func (a AdaptiveConcurrency) config() concurrency.Config {
	c := concurrency.Config{
		SamplePercentile: a.SamplePercentile, UpdateInterval: time.Duration(a.UpdateInterval),
		MaxLimit: a.MaxLimit, MinRTTInterval: time.Duration(a.MinRTTInterval),
		MinRTTRequests: a.MinRTTRequests, MinConcurrency: a.MinConcurrency, BufferPercent: a.Buffer,
	}
	if a.Jitter != nil {
		c.JitterPercent, c.JitterSet = *a.Jitter, true
	}
	return c
}

// ConfigPush replaces the sidecar block of a service at a given time, as
// an operator's change pushed by the control plane: each proxy calling the
// service applies it after its own propagation delay (the discovery
// delay). It may change load balancing, timeouts, retries, hedging and
// circuit breakers, not the workers, outlier detection, connection pools
// or zone routing.
//
//	config_pushes: [{at: 2m, service: api, sidecar: {lb: {policy: least_request}}}]
type ConfigPush struct {
	At      Duration `yaml:"at"`
	Service string   `yaml:"service"`
	Sidecar Sidecar  `yaml:"sidecar"`
}
