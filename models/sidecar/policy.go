package sidecar

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/lb/locality"
	"github.com/meshsim/meshsim/models/outlier"
)

// ErrConfig is wrapped by every configuration error of this package.
var ErrConfig = errors.New("sidecar: invalid configuration")

// RetryOn is a set of retry conditions, named as Envoy's x-envoy-retry-on
// values.
type RetryOn uint16

// The retry conditions modelled. An upstream queue that is full answers
// 503; an upstream error answers 500; a per-try timeout counts as a
// gateway timeout (504), which Envoy retries under 5xx and gateway-error.
const (
	Retry5xx                  RetryOn = 1 << iota // any 5xx, a reset, or no answer before the per-try timeout
	RetryGatewayError                             // 502, 503, 504 (includes the per-try timeout)
	RetryReset                                    // the upstream reset the stream (a crash, a connection failure)
	RetryConnectFailure                           // the connection could not be made
	RetryRetriableStatusCodes                     // the codes in RetriableStatusCodes; meshsim models 503
)

var retryOnNames = []struct {
	name string
	bit  RetryOn
}{
	{"5xx", Retry5xx},
	{"gateway-error", RetryGatewayError},
	{"reset", RetryReset},
	{"connect-failure", RetryConnectFailure},
	{"retriable-status-codes", RetryRetriableStatusCodes},
}

// RetryOnNames lists the condition names ParseRetryOn accepts, in order.
func RetryOnNames() []string {
	names := make([]string, len(retryOnNames))
	for i, n := range retryOnNames {
		names[i] = n.name
	}
	return names
}

// ParseRetryOn parses condition names such as "5xx" or "gateway-error".
func ParseRetryOn(names []string) (RetryOn, error) {
	var on RetryOn
	for _, name := range names {
		found := false
		for _, n := range retryOnNames {
			if n.name == name {
				on |= n.bit
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("%w: unknown retry_on condition %q (valid: %s)", ErrConfig, name, strings.Join(RetryOnNames(), ", "))
		}
	}
	return on, nil
}

// String lists the conditions in Envoy's comma-separated form.
func (r RetryOn) String() string {
	var parts []string
	for _, n := range retryOnNames {
		if r&n.bit != 0 {
			parts = append(parts, n.name)
		}
	}
	return strings.Join(parts, ",")
}

// Policy is the traffic policy a proxy applies to one upstream service:
// the fully resolved settings, after presets and defaults.
type Policy struct {
	LB       string    // policy name registered in models/lb
	LBConfig lb.Config // its settings
	// Workers is the number of independent balancers in the proxy (Envoy
	// runs one per worker thread). Default 1.
	Workers int
	// RouteTimeout bounds the whole call, retries and backoff included.
	// Envoy's default is 15 s; 0 disables it.
	RouteTimeout time.Duration
	// PerTryTimeout bounds one attempt; 0 means none (Envoy: it defaults to
	// the route timeout, so a timed-out attempt is not retried).
	PerTryTimeout time.Duration
	Retries       RetryPolicy
	// Hedge sends extra attempts while earlier ones are still in flight;
	// the first success wins and the others are reset.
	Hedge HedgePolicy
	// MaxRequests caps the attempts in flight from this proxy to the
	// service (Envoy max_requests, default 1024).
	MaxRequests int
	// Outlier, when set, enables passive health checking: hosts the
	// detector ejects are left out of load balancing (models/outlier).
	Outlier *outlier.Config
	// PanicThreshold is Envoy's healthy_panic_threshold in percent: when
	// fewer than this share of hosts are healthy, the proxy balances over
	// all of them, ejected ones included. 0 means the default, 50; NoPanic
	// is Envoy's 0%, never panic, which Istio sets whenever outlier
	// detection is configured.
	PanicThreshold int
	// Connections, when set, models connection pools (and mTLS): opening
	// a connection costs round trips, and requests wait for one. Nil
	// means connections are free and always open.
	Connections *Connections
	// ZoneAware, when set, routes by zone as Envoy's zone-aware routing
	// does (a share of requests stays in the caller's zone, the rest goes
	// to zones with spare capacity), when the cluster is given Zones.
	ZoneAware *locality.Config
	// Failover, when set, is Istio's locality failover: the hosts in the
	// caller's zone are priority 0 and the others priority 1, and load
	// spills to priority 1 as priority 0's healthy share falls below
	// 1/overprovisioning (71% at Envoy's 140%), when the cluster is given
	// Zones. It excludes ZoneAware.
	Failover *locality.Config
}

// direct reports whether a call under p is exactly one attempt with no
// timer: no timeouts, no retries, no delay hedging.
func (p *Policy) direct() bool {
	return p.RouteTimeout == 0 && p.PerTryTimeout == 0 && p.Retries.NumRetries == 0 && p.Hedge.Delay == 0 && p.Hedge.Percentile == nil
}

// NoPanic is the PanicThreshold that disables panic mode (Envoy's 0%).
const NoPanic = -1

// RetryPolicy says when and how often a failed attempt is tried again.
type RetryPolicy struct {
	// NumRetries is the number of retries after the first attempt; 0
	// disables retries.
	NumRetries int
	RetryOn    RetryOn
	// BaseInterval and MaxInterval shape the backoff: Envoy defaults 25 ms
	// and 10 x base.
	BaseInterval time.Duration
	MaxInterval  time.Duration
	// MaxRetries caps the retries in flight at once (Envoy's max_retries
	// circuit breaker, default 3). Retries waiting in backoff do not count
	// (envoy#30205).
	MaxRetries int
	// Budget, when set, replaces MaxRetries: the retries allowed in flight
	// are max(MinConcurrency, Percent/100 x (active attempts)), as Envoy's
	// retry_budget.
	Budget *RetryBudget
	// Ratio, when set, is Linkerd's and Finagle's retry budget: retries
	// may add at most Ratio extra load over its TTL, plus MinPerSecond.
	// It limits retries in addition to MaxRetries (set that out of reach
	// for a budget alone, as the linkerd preset does).
	Ratio *RatioBudget
	// PreviousHosts re-picks a host already tried by this call, up to
	// HostSelectionAttempts times (Envoy's previous_hosts predicate and
	// host_selection_retry_max_attempts, default 1; Istio sets 5).
	PreviousHosts         bool
	HostSelectionAttempts int
}

// HedgePolicy configures hedging, in Envoy's and gRPC's forms.
type HedgePolicy struct {
	// OnPerTryTimeout is Envoy's hedge_on_per_try_timeout: when an attempt
	// reaches the per-try timeout it is not reset; a new attempt starts (as
	// a retry, after the retry backoff, counting against num_retries and
	// max_retries) while the old one stays in flight. Needs PerTryTimeout.
	OnPerTryTimeout bool
	// Delay is gRPC's hedgingDelay: while no attempt has answered, another
	// is sent every Delay, up to MaxAttempts in all. 0 disables it.
	Delay time.Duration
	// MaxAttempts bounds the attempts of a delay-hedged call, the first
	// included: default 2, at most 5 (gRPC's cap).
	MaxAttempts int
	// Percentile, when set, hedges after a percentile of the observed
	// latency instead of a fixed Delay (Finagle's backup requests), up to
	// MaxAttempts in all (default 2).
	Percentile *PercentileHedge
}

// maxInflight bounds the attempts of one call in flight at once.
const maxInflight = 8

// RetryBudget is Envoy's retry_budget.
type RetryBudget struct {
	Percent        float64 // default 20
	MinConcurrency int     // default 3
}

// Validate checks p and fills Workers, backoff and limits with Envoy's
// defaults where they are zero. RouteTimeout 0 is kept: it disables the
// timeout. Validate is idempotent: a validated policy validates to itself.
func (p *Policy) Validate() error {
	if _, ok := lb.Get(p.LB); !ok {
		return fmt.Errorf("%w: unknown lb policy %q", ErrConfig, p.LB)
	}
	if err := lb.Validate(p.LB, p.LBConfig); err != nil {
		return err
	}
	if p.Workers == 0 {
		p.Workers = 1
	}
	if p.MaxRequests == 0 {
		p.MaxRequests = 1024
	}
	if (p.Hedge.Delay > 0 || p.Hedge.Percentile != nil) && p.Hedge.MaxAttempts == 0 {
		p.Hedge.MaxAttempts = 2
	}
	if h := p.Hedge.Percentile; h != nil {
		c := *h
		if err := c.validate(); err != nil {
			return err
		}
		p.Hedge.Percentile = &c
		if p.Hedge.Delay > 0 || p.Hedge.OnPerTryTimeout || p.Hedge.MaxAttempts < 2 || p.Hedge.MaxAttempts > 5 {
			return fmt.Errorf("%w: hedging by percentile excludes a delay and on_per_try_timeout, and max_attempts is 2 to 5", ErrConfig)
		}
	}
	if b := p.Retries.Ratio; b != nil {
		c := *b
		if err := c.validate(); err != nil {
			return err
		}
		p.Retries.Ratio = &c
		if p.Retries.Budget != nil {
			return fmt.Errorf("%w: a retry budget is either Envoy's (percent of active) or Linkerd's (ratio), not both", ErrConfig)
		}
	}
	if p.PanicThreshold == 0 {
		p.PanicThreshold = 50 // NoPanic stays NoPanic, so Validate is idempotent
	}
	if p.Outlier != nil {
		c := p.Outlier.WithDefaults()
		if err := c.Validate(); err != nil {
			return err
		}
		p.Outlier = &c
	}
	if z := p.ZoneAware; z != nil {
		c := *z
		// The local cluster's panic check uses the proxy's threshold.
		c.PanicThresholdPercent, c.PanicThresholdSet = max(p.PanicThreshold, 0), true
		if _, err := locality.NewPriorities(c, []locality.Level{{Hosts: 1, Healthy: 1}}); err != nil {
			return err
		}
		p.ZoneAware = &c
	}
	if f := p.Failover; f != nil {
		c := *f
		c.PanicThresholdPercent, c.PanicThresholdSet = max(p.PanicThreshold, 0), true
		if _, err := locality.NewPriorities(c, []locality.Level{{Hosts: 1, Healthy: 1}}); err != nil {
			return err
		}
		p.Failover = &c
		if p.ZoneAware != nil {
			return fmt.Errorf("%w: locality failover and zone-aware routing exclude each other", ErrConfig)
		}
	}
	if p.Connections != nil {
		c := *p.Connections
		if err := c.validate(); err != nil {
			return err
		}
		p.Connections = &c
	}
	r := &p.Retries
	if r.BaseInterval == 0 {
		r.BaseInterval = 25 * time.Millisecond
	}
	if r.MaxInterval == 0 {
		r.MaxInterval = 10 * r.BaseInterval
	}
	if r.MaxRetries == 0 {
		r.MaxRetries = 3
	}
	if r.PreviousHosts && r.HostSelectionAttempts == 0 {
		r.HostSelectionAttempts = 1
	}
	if b := r.Budget; b != nil {
		if b.Percent == 0 {
			b.Percent = 20
		}
		if b.MinConcurrency == 0 {
			b.MinConcurrency = 3
		}
	}
	switch {
	case p.Workers < 1 || p.Workers > 1024:
		return fmt.Errorf("%w: workers must be between 1 and 1024, got %d", ErrConfig, p.Workers)
	case p.RouteTimeout < 0 || p.PerTryTimeout < 0:
		return fmt.Errorf("%w: timeouts must not be negative", ErrConfig)
	case p.Hedge.OnPerTryTimeout && p.PerTryTimeout == 0:
		return fmt.Errorf("%w: hedge_on_per_try_timeout needs a per_try_timeout", ErrConfig)
	case p.Hedge.Delay < 0 || (p.Hedge.Delay > 0 && (p.Hedge.MaxAttempts < 2 || p.Hedge.MaxAttempts > 5)):
		return fmt.Errorf("%w: hedging delay must be >= 0 and max_attempts between 2 and 5, got %v and %d", ErrConfig, p.Hedge.Delay, p.Hedge.MaxAttempts)
	case p.Hedge.OnPerTryTimeout && p.Retries.NumRetries+1 > maxInflight:
		return fmt.Errorf("%w: hedging allows at most %d attempts in flight", ErrConfig, maxInflight)
	case (p.PanicThreshold < 0 && p.PanicThreshold != NoPanic) || p.PanicThreshold > 100:
		return fmt.Errorf("%w: panic_threshold must be between 0 and 100, got %d", ErrConfig, p.PanicThreshold)
	case p.MaxRequests < 1:
		return fmt.Errorf("%w: max_requests must be >= 1, got %d", ErrConfig, p.MaxRequests)
	case r.NumRetries < 0 || r.NumRetries > 100:
		return fmt.Errorf("%w: num_retries must be between 0 and 100, got %d", ErrConfig, r.NumRetries)
	case r.BaseInterval < 0 || r.MaxInterval < r.BaseInterval:
		return fmt.Errorf("%w: backoff max_interval %v must be >= base_interval %v", ErrConfig, r.MaxInterval, r.BaseInterval)
	case r.MaxRetries < 1:
		return fmt.Errorf("%w: max_retries must be >= 1, got %d", ErrConfig, r.MaxRetries)
	case r.HostSelectionAttempts < 0 || r.HostSelectionAttempts > maxTried:
		return fmt.Errorf("%w: host_selection_retry_max_attempts must be between 0 and %d, got %d", ErrConfig, maxTried, r.HostSelectionAttempts)
	case r.Budget != nil && (r.Budget.Percent <= 0 || r.Budget.Percent > 100 || r.Budget.MinConcurrency < 0):
		return fmt.Errorf("%w: retry budget percent must be in (0, 100] and min_retry_concurrency >= 0", ErrConfig)
	}
	return nil
}
