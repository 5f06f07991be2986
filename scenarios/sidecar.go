package scenarios

import (
	"fmt"
	"time"

	"github.com/meshsim/meshsim/sim/dist"

	"github.com/meshsim/meshsim/models/lb/locality"
	"github.com/meshsim/meshsim/models/outlier"
	"github.com/meshsim/meshsim/models/sidecar"
)

// Policy resolves the sidecar block into the policy models/sidecar runs,
// with its defaults filled and validated.
func (sc Sidecar) Policy() (sidecar.Policy, error) {
	r := sc.Retries
	names := r.RetryOn
	if len(names) == 0 && r.Attempts > 0 {
		names = []string{"5xx"}
	}
	on, err := sidecar.ParseRetryOn(names)
	if err != nil {
		return sidecar.Policy{}, err
	}
	p := sidecar.Policy{
		LB:            sc.LB.Policy,
		LBConfig:      sc.LB.Config(),
		Workers:       sc.Workers,
		RouteTimeout:  time.Duration(sc.Timeout),
		PerTryTimeout: time.Duration(sc.PerTryTimeout),
		MaxRequests:   sc.CircuitBreakers.MaxRequests,
		Hedge: sidecar.HedgePolicy{
			OnPerTryTimeout: sc.Hedging.OnPerTryTimeout,
			Delay:           time.Duration(sc.Hedging.Delay),
			MaxAttempts:     sc.Hedging.MaxAttempts,
		},
		Retries: sidecar.RetryPolicy{
			NumRetries:            r.Attempts,
			RetryOn:               on,
			BaseInterval:          time.Duration(r.BaseInterval),
			MaxInterval:           time.Duration(r.MaxInterval),
			MaxRetries:            sc.CircuitBreakers.MaxRetries,
			PreviousHosts:         r.PreviousHosts,
			HostSelectionAttempts: r.HostSelectionAttempts,
		},
	}
	if b := r.Budget; b != nil {
		p.Retries.Budget = &sidecar.RetryBudget{Percent: b.Percent, MinConcurrency: b.MinRetryConcurrency}
	}
	if b := r.RatioBudget; b != nil {
		p.Retries.Ratio = &sidecar.RatioBudget{Ratio: b.RetryRatio, MinPerSecond: b.MinRetriesPerSecond, TTL: time.Duration(b.TTL)}
	}
	if h := sc.Hedging; h.Percentile != 0 || h.Window != 0 || h.MinSamples != 0 {
		p.Hedge.Percentile = &sidecar.PercentileHedge{Percentile: h.Percentile, Window: time.Duration(h.Window), MinSamples: h.MinSamples}
	}
	if t := sc.PanicThreshold; t != nil {
		p.PanicThreshold = *t
		if *t == 0 {
			p.PanicThreshold = sidecar.NoPanic
		}
	}
	if od := sc.OutlierDetection; od != nil {
		c := od.config()
		p.Outlier = &c
	}
	if z := sc.ZoneAware; z != nil {
		c := locality.Config{}
		if z.MinClusterSize != nil {
			c.MinClusterSize, c.MinClusterSizeSet = *z.MinClusterSize, true
		}
		if z.RoutingEnabled != nil {
			c.RoutingEnabledPercent, c.RoutingEnabledSet = *z.RoutingEnabled, true
		}
		p.ZoneAware = &c
	}
	if f := sc.LocalityFailover; f != nil {
		p.Failover = &locality.Config{OverprovisioningFactor: f.OverprovisioningFactor}
	}
	if sc.ConnectionPool != nil || sc.MTLS != nil {
		conns, err := sc.connections()
		if err != nil {
			return sidecar.Policy{}, err
		}
		p.Connections = conns
	}
	err = p.Validate()
	return p, err
}

// config maps the YAML block to the detector's configuration; fields left
// out stay zero and take Envoy's defaults there.
func (od OutlierDetection) config() outlier.Config {
	pct := func(p *int) outlier.Percent {
		if p == nil {
			return outlier.Percent{}
		}
		return outlier.Pct(*p)
	}
	return outlier.Config{
		Consecutive5xx:                     od.Consecutive5xx,
		EnforcingConsecutive5xx:            pct(od.EnforcingConsecutive5xx),
		ConsecutiveGatewayFailure:          od.ConsecutiveGatewayFailure,
		EnforcingConsecutiveGatewayFailure: pct(od.EnforcingConsecutiveGatewayFailure),
		Interval:                           time.Duration(od.Interval),
		BaseEjectionTime:                   time.Duration(od.BaseEjectionTime),
		MaxEjectionTime:                    time.Duration(od.MaxEjectionTime),
		MaxEjectionTimeJitter:              time.Duration(od.MaxEjectionTimeJitter),
		MaxEjectionPercent:                 pct(od.MaxEjectionPercent),
		AlwaysEjectOneHost:                 od.AlwaysEjectOneHost,
		SuccessRateStdevFactor:             od.SuccessRateStdevFactor,
		EnforcingSuccessRate:               pct(od.EnforcingSuccessRate),
		SuccessRateMinimumHosts:            od.SuccessRateMinimumHosts,
		SuccessRateRequestVolume:           od.SuccessRateRequestVolume,
		FailurePercentageThreshold:         od.FailurePercentageThreshold,
		EnforcingFailurePercentage:         pct(od.EnforcingFailurePercentage),
		FailurePercentageMinimumHosts:      od.FailurePercentageMinimumHosts,
		FailurePercentageRequestVolume:     od.FailurePercentageRequestVolume,
	}
}

// connections resolves the connection pool and mTLS blocks.
func (sc Sidecar) connections() (*sidecar.Connections, error) {
	c := &sidecar.Connections{
		MaxConnections:     sc.CircuitBreakers.MaxConnections,
		MaxPendingRequests: sc.CircuitBreakers.MaxPendingRequests,
	}
	if cp := sc.ConnectionPool; cp != nil {
		switch cp.Protocol {
		case "", "http2":
		case "http1":
			c.Protocol = sidecar.HTTP1
		default:
			return nil, fmt.Errorf("%w: unknown protocol %q (http1 or http2)", sidecar.ErrConfig, cp.Protocol)
		}
		c.IdleTimeout = time.Duration(cp.IdleTimeout)
	}
	if m := sc.MTLS; m != nil {
		hs, err := distOr(m.Handshake, time.Millisecond)
		if err != nil {
			return nil, fmt.Errorf("mtls.handshake: %w", err)
		}
		pr, err := distOr(m.PerRequest, 5*time.Microsecond)
		if err != nil {
			return nil, fmt.Errorf("mtls.per_request: %w", err)
		}
		c.MTLS = &sidecar.MTLS{Handshake: hs, PerRequest: pr}
	}
	return c, nil
}

// distOr builds spec, or a constant d when it is left out.
func distOr(spec *DistSpec, d time.Duration) (dist.Dist, error) {
	if spec == nil {
		return dist.Constant(d)
	}
	return spec.Build()
}
