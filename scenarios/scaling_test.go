package scenarios

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/models/rollout"
	"github.com/meshsim/meshsim/results"
)

// hpaRef is the HPA's formula as Kubernetes documents it, kept apart from
// models/autoscale: desired = ceil(current x metric / target) unless
// |metric/target - 1| <= tolerance, the highest proposal of the
// scale-down window on the way down, at most max(2 x current, current +
// 4) up, within [min, max]. It assumes every pod ready at each sync.
type hpaRef struct {
	min, max  int
	target    float64
	window    time.Duration
	proposals []struct {
		at time.Duration
		n  int
	}
}

func (h *hpaRef) sync(at time.Duration, current int, metric int64) int {
	ratio := float64(metric) / h.target
	proposal := current
	if math.Abs(ratio-1) > 0.1 {
		proposal = int(math.Ceil(ratio * float64(current)))
	}
	h.proposals = append(h.proposals, struct {
		at time.Duration
		n  int
	}{at, proposal})
	desired := current
	if proposal > current {
		desired = min(proposal, max(2*current, current+4))
	} else {
		high := 0
		for _, p := range h.proposals {
			if p.at > at-h.window {
				high = max(high, p.n)
			}
		}
		desired = min(current, high)
	}
	return min(max(desired, h.min), h.max)
}

func TestAutoscalerFollowsTheFormula(t *testing.T) {
	// A deterministic load: a request every 1ms, 10ms each, so 10 slots
	// busy; 1.5 times that from 2m to 5m. Pods have 2 slots and the
	// target is 50%: 10 pods, then 15, then 10 again once the 1m
	// scale-down window has passed. Syncs fall on the 15s windows.
	exp := runYAML(t, `version: 1
name: hpa
duration: 8m
workloads: [{name: web, arrival: {dist: constant, value: 1ms}, target: api}]
services:
  - name: api
    replicas: 6
    concurrency: 2
    readiness_delay: 5s
    service_time: {dist: constant, value: 10ms}
    autoscale: {min_replicas: 2, max_replicas: 20, target: 50, scale_down_stabilization: 1m}
failures: [{at: 2m, for: 3m, kind: overload, target: web, factor: 1.5}]
timeline: {window: 15s}
`)
	rep := exp.Variants[0].Replications[0]
	require.Len(t, rep.Fleets, 1)
	fl := rep.Fleets[0]
	require.True(t, fl.Autoscaled)
	require.Len(t, fl.Decisions, 32) // 15s, 30s, ..., 8m (the end)

	// The metric where the load and the pods have been steady for a
	// whole period: 10 busy slots over 6 pods of 2 at the first sync, then
	// 50%. (At 30s it is 56%: the old pods' period began before the new
	// ones took their share, and the HPA overshoots to 12, as it does on
	// a cluster.)
	metricAt := map[time.Duration]int64{15 * time.Second: 83, 180 * time.Second: 50, 420 * time.Second: 50}
	ref := hpaRef{min: 2, max: 20, target: 50, window: time.Minute}
	spec := []int{6}
	for _, d := range fl.Decisions {
		if want, ok := metricAt[d.At]; ok {
			assert.Equal(t, want, d.Metric, "metric at %v", d.At)
		}
		require.Zero(t, d.Unready, "every pod is ready at %v (readiness 5s < sync 15s)", d.At)
		assert.Equal(t, ref.sync(d.At, d.Current, d.Metric), d.Desired, "decision at %v: %+v", d.At, d)
		spec = append(spec, d.Desired)
	}
	assert.Equal(t, 10, fl.Decisions[0].Desired, "ceil(6 x 83/50) = 10")
	assert.Equal(t, 15, fl.Decisions[8].Desired, "2m15s: ceil(10 x 75/50) = 15")
	assert.Equal(t, 10, fl.Decisions[len(fl.Decisions)-1].Desired, "back to 10 after the overload")
	// The replica series: the spec of window k is the decision at its
	// start; ready pods follow 5s later.
	spec = spec[:len(spec)-1] // the sync at the end starts no window
	require.Len(t, fl.Spec, len(spec))
	for k := range spec {
		assert.Equal(t, float64(spec[k]), fl.Spec[k], "spec in window %d", k)
		if k > 0 && spec[k] > spec[k-1] {
			assert.InDelta(t, float64(spec[k-1]*5+spec[k]*10)/15, fl.Ready[k], 1e-9, "ready in window %d", k)
		}
	}
	// Utilisation is over the pods that ran: 10 or 15 busy slots of 2 per
	// pod, about 50% once scaled.
	assert.InDelta(t, 0.5, rep.Services[0].Utilisation, 0.08)
	assert.Less(t, rep.Services[0].Running, 20.0)
	assert.Zero(t, rep.Services[0].Lost, "scale-down drains: nothing lost")
}

func TestHealthCheckMarksACrashedInstanceAfterThreshold(t *testing.T) {
	// api[1] crashes at 5.002s. Probes go every 1s at whole seconds (no
	// network delay, answers at once); those at 6, 7 and 8s are refused,
	// so it is unhealthy at exactly 8s, long before discovery (20s) removes
	// it. Requests to it fail until then and not after. It restarts at
	// 15.002s and passes its probe at 16s.
	exp := runYAML(t, `version: 1
name: hc
duration: 20s
workloads: [{name: web, arrival: {dist: constant, value: 10ms}, target: api}]
services:
  - name: api
    replicas: 3
    concurrency: 4
    readiness_delay: 1s
    service_time: {dist: constant, value: 60ms}
    sidecar: {health_check: {interval: 1s, timeout: 500ms, unhealthy_threshold: 3}}
failures: [{at: 5002ms, for: 10s, kind: crash, target: "api[1]"}]
control_plane: {discovery: {delay: {dist: constant, value: 20s}}}
timeline: {window: 1s}
`)
	rep := exp.Variants[0].Replications[0]
	require.Len(t, rep.Sidecars, 1)
	sc := rep.Sidecars[0]
	require.True(t, sc.HealthChecked)
	assert.Equal(t, []results.Ejection{{Host: 1, From: 8 * time.Second, To: 16 * time.Second}}, sc.Unhealthy)
	s := rep.Workloads[0].Series
	for k := range s.NotOK {
		switch {
		case k >= 5 && k <= 7:
			assert.Positive(t, s.NotOK[k], "window %d: refused before the verdict", k)
		case k < 5 || k > 8:
			assert.Zero(t, s.NotOK[k], "window %d", k)
		}
	}
}

func TestRollingDeployKeepsItsBounds(t *testing.T) {
	// Ten pods roll to v1 under each strategy; at every change of the
	// pods the Deployment counts at most replicas + max_surge pods and at
	// least replicas - max_unavailable available ones, and the instances
	// agree: no more started (not draining) than that, no fewer ready.
	for _, tc := range []struct {
		surge, unavailable string
		maxPods, minReady  int
	}{
		{"1", "0", 11, 10},
		{"0", "1", 10, 9},
		{"25%", "25%", 13, 8},
		{"3", "2", 13, 8},
	} {
		t.Run(tc.surge+"/"+tc.unavailable, func(t *testing.T) {
			doc, err := Parse("t.yaml", []byte(`version: 1
name: roll
duration: 2m
workloads: [{name: web, arrival: {rate: 500/s}, target: api}]
services:
  - {name: api, replicas: 10, concurrency: 4, readiness_delay: 3s, service_time: {dist: exponential, mean: 20ms}}
deploys:
  - {at: 10s, service: api, version: {name: v2, service_time: {dist: exponential, mean: 30ms}}, max_surge: "`+tc.surge+`", max_unavailable: "`+tc.unavailable+`"}
`))
			require.NoError(t, err)
			w, err := build(doc.Scenario, 1, 0)
			require.NoError(t, err)
			require.Len(t, w.fleets, 1)
			changes := 0
			w.fleets[0].onChange = func(f *fleet) {
				changes++
				st := f.dep.Status()
				require.LessOrEqual(t, st.Replicas, tc.maxPods, "pods at %v", w.s.Now())
				require.GreaterOrEqual(t, st.Available, tc.minReady, "available at %v", w.s.Now())
				started, ready := 0, 0
				for _, sl := range f.slots {
					if sl.state == slotStarting || sl.state == slotReady {
						started++
					}
					if sl.state == slotReady {
						ready++
					}
				}
				require.LessOrEqual(t, started, tc.maxPods, "instances at %v", w.s.Now())
				require.GreaterOrEqual(t, ready, tc.minReady, "ready instances at %v", w.s.Now())
			}
			require.NoError(t, w.run(nil))
			assert.Greater(t, changes, 20)
			st := w.fleets[0].dep.Status()
			assert.True(t, st.Complete)
			assert.Equal(t, rollout.Status{Replicas: 10, Updated: 10, Ready: 10, Available: 10, Complete: true}, st)
			rep, err := w.collect(0, "test")
			require.NoError(t, err)
			fl := rep.Fleets[0]
			require.Len(t, fl.Deploys, 1)
			assert.Equal(t, "api v2", fl.Deploys[0].Target)
			assert.Equal(t, 10*time.Second, fl.Deploys[0].From)
			last := len(fl.Running) - 1
			assert.Equal(t, 10.0, fl.Versions[1].Running[last])
			assert.Equal(t, 0.0, fl.Versions[0].Running[last])
		})
	}
}

func TestExplainAndValidateScaling(t *testing.T) {
	doc, err := Parse("t.yaml", []byte(`version: 1
name: x
duration: 1m
workloads: [{name: web, arrival: {rate: 10/s}, target: api}]
services:
  - name: api
    replicas: 2
    service_time: {dist: constant, value: 1ms}
    autoscale: {max_replicas: 5, metric: in_flight, target: 2.5}
    sidecar: {health_check: {interval: 2s}}
deploys: [{at: 10s, service: api, version: {errors: {probability: 0.5, status: 503}}, max_surge: 2}]
`))
	require.NoError(t, err)
	text, err := doc.Explain()
	require.NoError(t, err)
	assert.Contains(t, text, "pods: a pool of 7 instances (the first 2 up); ready 0s after start; drain within 30s")
	assert.Contains(t, text, "autoscale: {replicas: 1..5, target: 2.5 requests in flight per pod, sync_period: 15s")
	assert.Contains(t, text, "deploy at 10s: a new version (errors 0.5 answering 503), max_surge 2, max_unavailable 25%")
	assert.Contains(t, text, "health_check: {interval: 2s, timeout: 1s, unhealthy_threshold: 3, healthy_threshold: 1")

	for _, tc := range []struct{ yaml, want string }{
		{`autoscale: {max_replicas: 5, target: 60.5}`, "t.yaml:7:43: services[0].autoscale.target: a utilization target is a whole percentage"},
		{`autoscale: {target: 60}`, "services[0].autoscale.max_replicas: missing"},
		{`autoscale: {max_replicas: 5, target: 60, metric: cpu}`, `services[0].autoscale.metric: unknown metric "cpu"`},
		{`autoscale: {max_replicas: 1, target: 60}`, "services[0].replicas: replicas 2 is outside the autoscaler's [1, 1]"},
		{`autoscale: {max_replicas: 5, min_replicas: 6, target: 60}`, "services[0].autoscale.min_replicas: min_replicas 6 is greater than max_replicas 5"},
		{`sidecar: {health_check: {interval: 1500us}}`, "services[0].sidecar.health_check.interval: interval must be a whole number of milliseconds"},
	} {
		_, err := Parse("t.yaml", []byte(`version: 1
name: x
duration: 1m
workloads: [{name: web, arrival: {rate: 10/s}, target: api}]
services:
  - {name: api, replicas: 2, service_time: {dist: constant, value: 1ms},
     `+tc.yaml+`}
`))
		require.Error(t, err, tc.yaml)
		assert.Contains(t, err.Error(), tc.want, tc.yaml)
	}
	for _, tc := range []struct{ yaml, want string }{
		{`{at: 10s, service: apx}`, `deploys[0].service: no service named "apx"`},
		{`{at: 2m, service: api}`, "deploys[0].at: at 2m0s is not before the end of the run"},
		{`{at: 10s, service: api, max_surge: 0, max_unavailable: 0}`, "deploys[0].max_surge: max_surge and max_unavailable may not both be 0"},
		{`{at: 10s, service: api, max_surge: "x%"}`, `deploys[0].max_surge: malformed max_surge "x%"`},
		{`{at: 10s, service: api, version: {name: v0, errors: {probability: 1}}}`, "deploys[0].version: version v0 is defined already"},
		{`{at: 10s, service: api, version: {errors: {probability: 2}}}`, "deploys[0].version.errors.probability: must be between 0 and 1"},
	} {
		_, err := Parse("t.yaml", []byte(`version: 1
name: x
duration: 1m
workloads: [{name: web, arrival: {rate: 10/s}, target: api}]
services: [{name: api, replicas: 2, service_time: {dist: constant, value: 1ms}}]
deploys: [`+tc.yaml+`]
`))
		require.Error(t, err, tc.yaml)
		assert.Contains(t, err.Error(), tc.want, tc.yaml)
	}
}

func TestActiveHealthCheckSuccessUnejects(t *testing.T) {
	// api[1] answers every request 500 from 5s (its health endpoint still
	// answers 200). Outlier detection ejects it after 5 in a row; with
	// Envoy's default the next passing probe (every 1s) unejects it, so
	// no ejection lasts more than a probe interval; without, the first
	// lasts base_ejection_time.
	run := func(uneject bool) []results.Ejection {
		exp := runYAML(t, `version: 1
name: hc
duration: 40s
workloads: [{name: web, arrival: {dist: constant, value: 5ms}, target: api}]
services:
  - name: api
    replicas: 4
    concurrency: 4
    service_time: {dist: constant, value: 10ms}
    sidecar:
      health_check: {interval: 1s}
      outlier_detection: {consecutive_5xx: 5, max_ejection_percent: 50, base_ejection_time: 30s, successful_active_health_check_uneject_host: `+map[bool]string{true: "true", false: "false"}[uneject]+`}
failures: [{at: 5s, kind: errors, target: "api[1]", probability: 1}]
`)
		sc := exp.Variants[0].Replications[0].Sidecars[0]
		require.True(t, sc.Outlier)
		require.NotEmpty(t, sc.Ejected)
		assert.Empty(t, sc.Unhealthy, "the health endpoint never fails")
		return sc.Ejected
	}
	with := run(true)
	assert.Greater(t, len(with), 20, "ejected again and again")
	for _, e := range with[:len(with)-1] {
		assert.LessOrEqual(t, e.To-e.From, time.Second, "unejected by the next probe: %+v", e)
	}
	without := run(false)
	assert.GreaterOrEqual(t, without[0].To-without[0].From, 30*time.Second)
}

func TestDrainGracePeriod(t *testing.T) {
	// Requests take 50s; a deploy at 10s replaces the 4 pods one at a
	// time. Old pods drain: with a 60s grace period they finish what they
	// hold, with 5s they are killed and their requests lost.
	run := func(grace string) results.Replication {
		exp := runYAML(t, `version: 1
name: drain
duration: 5m
workloads: [{name: web, arrival: {dist: constant, value: 1s}, target: api}]
services:
  - {name: api, replicas: 4, concurrency: 100, termination_grace_period: `+grace+`, service_time: {dist: constant, value: 50s}}
deploys: [{at: 10s, service: api, max_surge: 0, max_unavailable: 1}]
`)
		return exp.Variants[0].Replications[0]
	}
	long, short := run("60s"), run("5s")
	assert.Zero(t, long.Services[0].Lost)
	assert.Positive(t, short.Services[0].Lost)
	assert.True(t, long.Fleets[0].Deploys[0].Completed)
	// The pool is replicas + max_surge = 4 instances: each new pod waits
	// (Pending) for the old one to stop, about 50s when it drains fully,
	// 5s when it is killed.
	t.Logf("deploy ends at %v (60s grace), %v (5s grace)", long.Fleets[0].Deploys[0].To, short.Fleets[0].Deploys[0].To)
	assert.Greater(t, long.Fleets[0].Deploys[0].To, 10*time.Second+4*45*time.Second)
	assert.Less(t, short.Fleets[0].Deploys[0].To, 10*time.Second+4*6*time.Second)
}

func TestHealthCheckProbesCannotCrossAPartition(t *testing.T) {
	// Clients in zone a, api[0] in a and api[1] in b; zone b is cut off
	// from 5.002s to 15.002s. Probes (every 1s at whole seconds, timeout
	// 500ms, the next an interval after a timeout) from the proxy in a to
	// api[1] are lost like requests: those at 6, 7.5 and 9s time out, so
	// it is unhealthy from 9.5s; the probe at 15s is lost too, and the
	// one at 16.5s, after the partition heals, passes.
	exp := runYAML(t, `version: 1
name: hc
duration: 20s
workloads: [{name: web, zone: a, arrival: {dist: constant, value: 10ms}, target: api}]
services:
  - name: api
    replicas: 2
    zones: [a, b]
    concurrency: 4
    service_time: {dist: constant, value: 5ms}
    sidecar: {timeout: 100ms, health_check: {interval: 1s, timeout: 500ms, unhealthy_threshold: 3}}
failures: [{at: 5002ms, for: 10s, kind: partition, zones: [b]}]
`)
	rep := exp.Variants[0].Replications[0]
	require.Len(t, rep.Sidecars, 1)
	assert.Equal(t, []results.Ejection{{Host: 1, From: 9500 * time.Millisecond, To: 16500 * time.Millisecond}}, rep.Sidecars[0].Unhealthy)
}
