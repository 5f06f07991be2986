package scenarios

import (
	"fmt"
	"strings"
	"time"

	"github.com/meshsim/meshsim/models/autoscale"
	"github.com/meshsim/meshsim/models/lb"
	"github.com/meshsim/meshsim/models/sidecar"
	"github.com/meshsim/meshsim/models/workload"
	"github.com/meshsim/meshsim/sim"
)

// Explain returns the fully resolved configuration of every variant: each
// service and the policy its callers' proxies run, after presets and
// defaults, so that a user sees exactly what a run simulates. The text is
// YAML-shaped and stable: the same scenario gives the same bytes.
func (d *Document) Explain() (string, error) {
	variants, err := d.Expand()
	if err != nil {
		return "", err
	}
	var b strings.Builder
	sc := d.Scenario
	fmt.Fprintf(&b, "scenario: %s\nseed: %d\nduration: %v\nwarmup: %v\nreplications: %d\nlimits: {max_events: %d}\ntimeline: {window: %v} (%d windows)\n",
		sc.Name, sc.Seed, time.Duration(sc.Duration), time.Duration(sc.Warmup), sc.Replications, sc.Limits.MaxEvents,
		time.Duration(sc.Timeline.Window), workload.NumWindows(sim.Time(sc.Duration), time.Duration(sc.Timeline.Window)))
	if n := sc.Network; n.SameZone != nil || n.CrossZone != nil {
		net, err := newNetwork(n)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "network: {same_zone: %s, cross_zone: %s} (one way, per request and per answer)\n", net.same, net.cross)
	} else {
		b.WriteString("network: none (no delay)\n")
	}
	if needsControlPlane(sc) {
		delay := "constant(100ms) (default: istiod's debounce)"
		if d := sc.ControlPlane.Discovery; d != nil && d.Delay != nil {
			dd, err := d.Delay.Build()
			if err != nil {
				return "", err
			}
			delay = dd.String()
		}
		fmt.Fprintf(&b, "control_plane: {discovery: {delay: %s}} (instances are deregistered when they crash, registered when ready)\n", delay)
	}
	for _, rf := range sc.RandomFailures {
		up, err := rf.MTBF.Build()
		if err != nil {
			return "", err
		}
		down, err := rf.MTTR.Build()
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "random failure: %s of every instance of %s, time to failure %s, time to repair %s\n", rf.Kind, rf.Target, up, down)
	}
	if pr := sc.Precision; pr != nil {
		of := pr.Metric
		if pr.Workload != "" {
			of += " of " + pr.Workload
		}
		fmt.Fprintf(&b, "precision: {%s, half_width: %s, max_replications: %d} (replications run in rounds from %d until every variant's 95%% interval is that narrow)\n",
			of, strings.TrimSpace(pr.HalfWidth), pr.MaxReplications, sc.Replications)
	}
	if o := sc.Report.SLO; o != nil {
		var bounds []string
		for _, bd := range []struct {
			name string
			d    *Duration
		}{{"mean", o.Mean}, {"p50", o.P50}, {"p90", o.P90}, {"p99", o.P99}, {"p999", o.P999}} {
			if bd.d != nil {
				bounds = append(bounds, fmt.Sprintf("%s <= %v", bd.name, time.Duration(*bd.d)))
			}
		}
		if o.ErrorRate != "" {
			bounds = append(bounds, "error_rate <= "+strings.TrimSpace(o.ErrorRate))
		}
		who := "every workload"
		if o.Workload != "" {
			who = "workload " + o.Workload
		}
		fmt.Fprintf(&b, "slo: %s, for %s\n", strings.Join(bounds, ", "), who)
	}
	if len(sc.Sweep) > 0 {
		b.WriteString("sweep:")
		for _, a := range sc.Sweep {
			vals := make([]string, len(a.Values))
			for i, n := range a.Values {
				vals[i] = nodeText(n)
			}
			fmt.Fprintf(&b, " {%s: [%s]}", a.Path, strings.Join(vals, ", "))
		}
		fmt.Fprintf(&b, " (%d points per variant, the last path varying fastest)\n", len(sweepPoints(sc.Sweep)))
	}
	for _, v := range variants {
		fmt.Fprintf(&b, "variant %s:\n", v.Name)
		for _, w := range v.Scenario.Workloads {
			inter, err := w.Arrival.Build()
			if err != nil {
				return "", err
			}
			to := "to " + w.Target
			if w.Publish != "" {
				to = "publishing to " + w.Publish + " (its own producer)"
			}
			fmt.Fprintf(&b, "  workload %s: %s inter-arrival times (%.6g/s), %s",
				w.Name, inter, float64(time.Second)/float64(inter.Mean()), to)
			if w.Route != "" {
				fmt.Fprintf(&b, ", route %s%s", w.Route, headerList(w.Headers, " with ", ""))
			}
			if w.Deadline > 0 {
				fmt.Fprintf(&b, ", deadline %v", time.Duration(w.Deadline))
			}
			b.WriteString("\n")
		}
		for _, svc := range v.Scenario.Services {
			st, err := svc.ServiceTime.Build()
			if err != nil {
				return "", err
			}
			queue := "unbounded"
			if !svc.Queue.Unbounded {
				queue = fmt.Sprint(svc.Queue.Bound)
			}
			fmt.Fprintf(&b, "  service %s:\n    replicas: %d\n    concurrency: %d\n    queue: %s\n    service_time: %s\n",
				svc.Name, svc.Replicas, svc.Concurrency, queue, st)
			if len(svc.Zones) > 0 {
				fmt.Fprintf(&b, "    zones: [%s] (instance i in zones[i mod %d])\n", strings.Join(svc.Zones, ", "), len(svc.Zones))
			}
			if err := explainHandler(&b, svc, v.Scenario); err != nil {
				return "", err
			}
			explainScaling(&b, v.Scenario, svc)
			p, err := svc.Sidecar.Policy()
			if err != nil {
				return "", err
			}
			preset := svc.Sidecar.Preset
			if preset == "" {
				preset = "none"
			}
			fmt.Fprintf(&b, "    sidecar (preset %s):\n", preset)
			writePolicy(&b, p)
			if h := svc.Sidecar.HealthCheck; h != nil {
				c := h.config().WithDefaults()
				fmt.Fprintf(&b, "      health_check: {interval: %v, timeout: %v, unhealthy_threshold: %d, healthy_threshold: %d, unhealthy_interval: %v, jitter: %v + %d%%, initial_jitter: %v} (each proxy probes over the network; up answers at once, down refuses)\n",
					c.Interval, c.Timeout, c.UnhealthyThreshold, c.HealthyThreshold, c.UnhealthyInterval, c.IntervalJitter, c.IntervalJitterPercent, c.InitialJitter)
			}
		}
		if err := explainBus(&b, v.Scenario); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

// explainHandler writes what a service's handler does besides its own
// work: authentication, routes (with their own settings resolved over the
// destination's sidecar block) and deadline propagation.
func explainHandler(b *strings.Builder, svc Service, sc *Scenario) error {
	if a := svc.Auth; a != nil {
		check := "call " + a.Service
		if a.Service == "" {
			cost, err := a.Cost.Build()
			if err != nil {
				return err
			}
			check = "local, cost " + cost.String()
		}
		onFail := "deny"
		if a.FailureModeAllow {
			onFail = "allow"
		}
		fmt.Fprintf(b, "    auth: {check: %s, deny: %g, on auth failure: %s}\n", check, a.Deny, onFail)
	}
	for _, rt := range svc.Routes {
		dest := rt.To
		if dest == "" {
			var parts []string
			for _, d := range rt.Split {
				parts = append(parts, fmt.Sprintf("%s %d", d.To, d.Weight))
			}
			dest = "split " + strings.Join(parts, ", ")
		}
		fmt.Fprintf(b, "    route %s%s -> %s\n", rt.Match, headerList(rt.Headers, " with ", ""), dest)
		if !rt.ownPolicy() {
			continue
		}
		to := rt.To
		if to == "" {
			to = rt.Split[0].To
		}
		for _, d := range sc.Services {
			if d.Name != to {
				continue
			}
			p, err := rt.over(d.Sidecar).Policy()
			if err != nil {
				return err
			}
			fmt.Fprintf(b, "      route settings (over %s's sidecar): timeout %s, per_try_timeout %s, retries %d on [%s]\n",
				to, durOr(p.RouteTimeout, "none"), durOr(p.PerTryTimeout, "none"), p.Retries.NumRetries, p.Retries.RetryOn)
		}
	}
	if a := svc.AdaptiveConcurrency; a != nil {
		c := a.config().WithDefaults()
		fmt.Fprintf(b, "    adaptive_concurrency: {sample_percentile: %g, update_interval: %v, max_limit: %d, min_rtt_interval: %v, min_rtt_requests: %d, min_concurrency: %d, buffer: %g%%, jitter: %g%%} (Envoy gradient controller, per instance)\n",
			c.SamplePercentile, c.UpdateInterval, c.MaxLimit, c.MinRTTInterval, c.MinRTTRequests, c.MinConcurrency, c.BufferPercent, c.JitterPercent)
	}
	for _, st := range svc.Calls {
		var dests []string
		if st.Publish != "" {
			dests = append(dests, st.Publish)
		}
		for _, c := range st.Parallel {
			if c.Publish != "" {
				dests = append(dests, c.Publish)
			}
		}
		for _, d := range dests {
			fmt.Fprintf(b, "    publish %s (each instance's own producer; the step waits for the acknowledgement)\n", d)
		}
	}
	if svc.PropagateDeadline {
		b.WriteString("    propagate_deadline: true (calls carry what is left of the request's deadline)\n")
	}
	return nil
}

func writePolicy(b *strings.Builder, p sidecar.Policy) {
	lc := p.LBConfig
	fmt.Fprintf(b, "      lb: %s", p.LB)
	switch p.LB {
	case "least_request":
		fmt.Fprintf(b, " {choice_count: %s, active_request_bias: %s, full_scan: %v}",
			orDefault(lc.ChoiceCount, "2"), biasString(lc), lc.FullScan)
	case "peak_ewma":
		fmt.Fprintf(b, " {decay: %s, default_rtt: %s}", durOr(lc.Decay, "10s"), durOr(lc.DefaultRTT, "30ms"))
	case "ring_hash":
		fmt.Fprintf(b, " {min_ring_size: %s, max_ring_size: %s}", orDefault(lc.MinRingSize, "1024"), orDefault(lc.MaxRingSize, "8388608"))
	case "maglev":
		fmt.Fprintf(b, " {table_size: %s}", orDefault(lc.TableSize, "65537"))
	}
	if w := lc.SlowStartWindow; w > 0 && (p.LB == "round_robin" || p.LB == "least_request") {
		agg, minw := lc.SlowStartAggression, lc.SlowStartMinWeightPercent
		if agg == 0 {
			agg = 1
		}
		if !lc.SlowStartMinWeightPercentSet {
			minw = 10
		}
		fmt.Fprintf(b, " slow_start {window: %v, aggression: %g, min_weight_percent: %g}", w, agg, minw)
	}
	r := p.Retries
	fmt.Fprintf(b, "\n      workers: %d\n      timeout: %s\n      per_try_timeout: %s\n",
		p.Workers, durOr(p.RouteTimeout, "none"), durOr(p.PerTryTimeout, "none"))
	retryOn := r.RetryOn.String()
	if retryOn == "" {
		retryOn = "-"
	}
	fmt.Fprintf(b, "      retries: {attempts: %d, retry_on: [%s], backoff: U[0, min(%v*2^(n-1), %v)), previous_hosts: %v",
		r.NumRetries, strings.ReplaceAll(retryOn, ",", ", "), r.BaseInterval, r.MaxInterval, r.PreviousHosts)
	if r.PreviousHosts {
		fmt.Fprintf(b, ", host_selection_retry_max_attempts: %d", r.HostSelectionAttempts)
	}
	b.WriteString("}\n")
	switch h := p.Hedge; {
	case h.OnPerTryTimeout:
		b.WriteString("      hedging: on per-try timeout (Envoy)\n")
	case h.Delay > 0:
		fmt.Fprintf(b, "      hedging: {delay: %v, max_attempts: %d} (gRPC)\n", h.Delay, h.MaxAttempts)
	case h.Percentile != nil:
		fmt.Fprintf(b, "      hedging: {percentile: %g, window: %v, min_samples: %d, max_attempts: %d} (Finagle backup requests)\n",
			h.Percentile.Percentile, h.Percentile.Window, h.Percentile.MinSamples, h.MaxAttempts)
	default:
		b.WriteString("      hedging: off\n")
	}
	if p.PanicThreshold == sidecar.NoPanic {
		b.WriteString("      panic_threshold: 0 (never panic)\n")
	} else {
		fmt.Fprintf(b, "      panic_threshold: %d%%\n", p.PanicThreshold)
	}
	if o := p.Outlier; o != nil {
		fmt.Fprintf(b, "      outlier_detection: {consecutive_5xx: %d (enforcing %s), consecutive_gateway_failure: %d (enforcing %s), "+
			"interval: %v, base_ejection_time: %v, max_ejection_time: %v, max_ejection_percent: %s, always_eject_one_host: %v, "+
			"success_rate: stdev_factor %d, min_hosts %d, volume %d (enforcing %s), failure_percentage: threshold %d, min_hosts %d, volume %d (enforcing %s)}\n",
			o.Consecutive5xx, o.EnforcingConsecutive5xx, o.ConsecutiveGatewayFailure, o.EnforcingConsecutiveGatewayFailure,
			o.Interval, o.BaseEjectionTime, o.MaxEjectionTime, o.MaxEjectionPercent, o.AlwaysEjectOneHost,
			o.SuccessRateStdevFactor, o.SuccessRateMinimumHosts, o.SuccessRateRequestVolume, o.EnforcingSuccessRate,
			o.FailurePercentageThreshold, o.FailurePercentageMinimumHosts, o.FailurePercentageRequestVolume, o.EnforcingFailurePercentage)
	} else {
		b.WriteString("      outlier_detection: off\n")
	}
	if z := p.ZoneAware; z != nil {
		minSize, enabled := 6, 100
		if z.MinClusterSizeSet {
			minSize = z.MinClusterSize
		}
		if z.RoutingEnabledSet {
			enabled = z.RoutingEnabledPercent
		}
		fmt.Fprintf(b, "      zone_aware: {min_cluster_size: %d, routing_enabled: %d%%} (service callers in zones only)\n", minSize, enabled)
	}
	if f := p.Failover; f != nil {
		op := f.OverprovisioningFactor
		if op == 0 {
			op = 140
		}
		fmt.Fprintf(b, "      locality_failover: {overprovisioning_factor: %d%%} (caller's zone first; callers in zones only)\n", op)
	}
	if cn := p.Connections; cn != nil {
		fmt.Fprintf(b, "      connections: {protocol: %s, idle_timeout: %v, max_connections: %d, max_pending_requests: %d, connect_failure: %g}\n",
			cn.Protocol, cn.IdleTimeout, cn.MaxConnections, cn.MaxPendingRequests, cn.ConnectFailure)
		if m := cn.MTLS; m != nil {
			fmt.Fprintf(b, "      mtls: {handshake: %s, per_request: %s} (plus a TLS round trip per new connection)\n", m.Handshake, m.PerRequest)
		} else {
			b.WriteString("      mtls: off\n")
		}
	} else {
		b.WriteString("      connections: free and always open (no connection_pool or mtls)\n")
	}
	if rb := r.Ratio; rb != nil {
		fmt.Fprintf(b, "      ratio_budget: {retry_ratio: %g, min_retries_per_second: %d, ttl: %v} (Linkerd)\n", rb.Ratio, rb.MinPerSecond, rb.TTL)
	}
	if r.Budget != nil {
		fmt.Fprintf(b, "      retry_budget: {percent: %g, min_retry_concurrency: %d}\n", r.Budget.Percent, r.Budget.MinConcurrency)
		fmt.Fprintf(b, "      circuit_breakers: {max_requests: %d}\n", p.MaxRequests)
	} else {
		fmt.Fprintf(b, "      circuit_breakers: {max_requests: %d, max_retries: %d}\n", p.MaxRequests, r.MaxRetries)
	}
}

func orDefault(v int, def string) string {
	if v == 0 {
		return def
	}
	return fmt.Sprint(v)
}

func durOr(d time.Duration, def string) string {
	if d == 0 {
		return def
	}
	return d.String()
}

func biasString(c lb.Config) string {
	if c.ActiveRequestBiasSet {
		return fmt.Sprint(c.ActiveRequestBias)
	}
	return "1"
}

// explainScaling writes a service's pool, autoscaler and deploys.
func explainScaling(b *strings.Builder, sc *Scenario, svc Service) {
	i := -1
	for k := range sc.Services {
		if sc.Services[k].Name == svc.Name {
			i = k
		}
	}
	if i < 0 || !needsFleet(sc, i) {
		return
	}
	fmt.Fprintf(b, "    pods: a pool of %d instances (the first %d up); ready %v after start; drain within %v\n",
		poolSize(sc, i), svc.Replicas, time.Duration(svc.ReadinessDelay), time.Duration(svc.TerminationGracePeriod))
	if a := svc.Autoscale; a != nil {
		c := a.config().WithDefaults()
		target := fmt.Sprintf("%d%% utilization", c.Target)
		if c.Metric != autoscale.Utilization {
			target = fmt.Sprintf("%g requests in flight per pod", float64(c.Target)/1000)
		}
		fmt.Fprintf(b, "    autoscale: {replicas: %d..%d, target: %s, sync_period: %v, tolerance: %g, scale_up_stabilization: %v, scale_down_stabilization: %v, scale_up: %s, scale_down: %s}\n",
			c.MinReplicas, c.MaxReplicas, target, c.SyncPeriod, c.Tolerance.Or(0), c.ScaleUp.StabilizationWindow.Or(0), c.ScaleDown.StabilizationWindow.Or(0),
			policyText(c.ScaleUp.Policies), policyText(c.ScaleDown.Policies))
	}
	for _, d := range sc.Deploys {
		if d.Service != svc.Name {
			continue
		}
		st := d.strategy().WithDefaults()
		name := d.Version.Name
		if name == "" {
			name = "a new version"
		}
		var what []string
		if v := d.Version; v.ServiceTime != nil {
			if dd, err := v.ServiceTime.Build(); err == nil {
				what = append(what, "service_time "+dd.String())
			}
		}
		if e := d.Version.Errors; e != nil {
			st := e.Status
			if st == 0 {
				st = 500
			}
			what = append(what, fmt.Sprintf("errors %g answering %v", e.Probability, st))
		}
		if l := d.Version.Latency; l != nil {
			if dd, err := l.Build(); err == nil {
				what = append(what, "extra latency "+dd.String())
			}
		}
		if len(what) > 0 {
			name += " (" + strings.Join(what, ", ") + ")"
		}
		fmt.Fprintf(b, "    deploy at %v: %s, max_surge %v, max_unavailable %v, min_ready %v\n",
			time.Duration(d.At), name, st.MaxSurge, st.MaxUnavailable, st.MinReady)
	}
}

// policyText formats scaling policies, the most permissive applying.
func policyText(ps []autoscale.Policy) string {
	var parts []string
	for _, p := range ps {
		unit := " pods"
		if p.Type == autoscale.Percent {
			unit = "%"
		}
		parts = append(parts, fmt.Sprintf("%d%s per %v", p.Value, unit, p.Period))
	}
	return "max of [" + strings.Join(parts, ", ") + "]"
}
