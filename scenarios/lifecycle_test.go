package scenarios

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/sim/stats"
)

func TestCrashAndDiscoveryLag(t *testing.T) {
	// Requests every 10ms, round robin over 3 instances (60ms each, so an
	// instance holds exactly 2 requests between arrivals). api[1]
	// crashes at 5.002s and restarts at 15s, ready 1s later. Proxies learn
	// of the crash after exactly 2s: until then a third of the requests
	// are refused (503, no retries), and none after; the requests api[1]
	// held at the crash are lost and counted.
	exp := runYAML(t, `version: 1
name: crash
duration: 30s
workloads: [{name: web, arrival: {dist: constant, value: 10ms}, target: api}]
services:
  - {name: api, replicas: 3, concurrency: 4, readiness_delay: 1s, service_time: {dist: constant, value: 60ms}}
failures:
  - {at: 5002ms, for: 10s, kind: crash, target: "api[1]"}
control_plane: {discovery: {delay: {dist: constant, value: 2s}}}
timeline: {window: 1s}
`)
	rep := exp.Variants[0].Replications[0]
	o := rep.Workloads[0].Outcomes
	// Round robin sends every third request to api[1]: 2s / 10ms / 3.
	assert.Equal(t, int64(2), rep.Services[0].Lost, "api[1] held two requests when it crashed")
	// Those two were reset (503 to the client); the rest were refused
	// while the proxy still believed in api[1].
	assert.InDelta(t, 67, o.Rejected-2, 1)
	series := rep.Workloads[0].Series
	for k := range series.NotOK {
		switch {
		case k == 5 || k == 6:
			assert.Positive(t, series.NotOK[k], "window %d: refused", k)
		default:
			assert.Zero(t, series.NotOK[k], "window %d", k)
		}
	}
	// api[1] is back from 16s on (plus the 2s for proxies to learn of it).
	assert.Positive(t, rep.Services[0].InstanceCompleted[1])
	require.Len(t, rep.Failures, 1)
	assert.Equal(t, results.Failure{Kind: "crash", Target: "api[1]", From: 5002 * time.Millisecond, To: 15002 * time.Millisecond}, rep.Failures[0])
}

func TestRandomFailuresAreTheSameInEveryVariant(t *testing.T) {
	// Crashes drawn at random (MTBF 20s, MTTR 2s): the same instants in
	// both variants, though the policies differ.
	exp := runYAML(t, `version: 1
name: random
duration: 2m
replications: 2
workloads: [{name: web, arrival: {rate: 200/s}, target: api}]
services:
  - {name: api, replicas: 4, concurrency: 4, service_time: {dist: exponential, mean: 5ms}, sidecar: {retries: {attempts: 2, retry_on: [connect-failure, reset]}}}
random_failures:
  - {kind: crash, target: api, mtbf: {dist: exponential, mean: 20s}, mttr: {dist: exponential, mean: 2s}}
variants:
  - {name: rr, set: {services.api.sidecar.lb.policy: round_robin}}
  - {name: lr, set: {services.api.sidecar.lb.policy: least_request}}
`)
	a, b := exp.Variants[0], exp.Variants[1]
	for i := range a.Replications {
		require.NotEmpty(t, a.Replications[i].Failures)
		assert.Equal(t, a.Replications[i].Failures, b.Replications[i].Failures, "replication %d", i)
	}
	assert.NotEqual(t, a.Replications[0].Failures, a.Replications[1].Failures, "replications draw different failures")
	var lost int64
	for _, r := range a.Replications {
		lost += r.Services[0].Lost
	}
	assert.Positive(t, lost)
}

func TestOverloadMultipliesTheRate(t *testing.T) {
	exp := runYAML(t, `version: 1
name: overload
duration: 30s
workloads: [{name: web, arrival: {dist: constant, value: 10ms}, target: api}]
services: [{name: api, concurrency: 100, service_time: {dist: constant, value: 1ms}}]
failures: [{at: 10s, for: 10s, kind: overload, target: web, factor: 3}]
timeline: {window: 1s}
`)
	s := exp.Variants[0].Replications[0].Workloads[0].Series
	assert.Equal(t, int64(100), s.OK[5])
	assert.Equal(t, int64(300), s.OK[15])
	assert.Equal(t, int64(100), s.OK[25])
}

func TestPartitionLatencyAndLoss(t *testing.T) {
	// A client in zone a calls api, one instance in a and one in b, every
	// 10ms, with a 100ms route timeout and no retries. From 10s to 20s
	// zone b is cut off: the requests round robin sends there are lost and
	// time out; from 30s to 40s api's answers take 50ms more; from 45s to
	// 55s a tenth of the requests to api vanish.
	exp := runYAML(t, `version: 1
name: net
duration: 1m
workloads: [{name: web, zone: a, arrival: {dist: constant, value: 10ms}, target: api}]
services:
  - {name: api, replicas: 2, zones: [a, b], concurrency: 10, service_time: {dist: constant, value: 1ms}, sidecar: {timeout: 100ms}}
failures:
  - {at: 10s, for: 10s, kind: partition, zones: [b]}
  - {at: 30s, for: 10s, kind: latency, target: api, delay: {dist: constant, value: 50ms}}
  - {at: 45s, for: 10s, kind: loss, target: api, probability: 0.1}
timeline: {window: 1s}
`)
	rep := exp.Variants[0].Replications[0]
	s := rep.Workloads[0].Series
	for k := range s.OK {
		switch {
		case k >= 11 && k < 20:
			assert.Equal(t, int64(50), s.NotOK[k], "window %d: half the requests cut off", k)
		case k >= 46 && k < 55:
			assert.InDelta(t, 10, s.NotOK[k], 9, "window %d: a tenth lost", k)
		case k == 10 || k == 20 || k == 45 || k == 55:
			// the failures start or end within the window, or timeouts spill over
		default:
			assert.Zero(t, s.NotOK[k], "window %d", k)
		}
	}
	p99 := func(k int) int64 {
		var h stats.Histogram
		require.NoError(t, h.UnmarshalBinary(s.Latency[k]))
		return h.Quantile(0.99)
	}
	assert.Less(t, p99(25), int64(5*time.Millisecond))
	assert.Greater(t, p99(35), int64(50*time.Millisecond), "answers 50ms late")
	assert.Equal(t, rep.Workloads[0].Arrived, rep.Workloads[0].Outcomes.Total())
	kinds := []string{}
	for _, f := range rep.Failures {
		kinds = append(kinds, f.Kind)
	}
	assert.Equal(t, []string{"partition", "latency", "loss"}, kinds)
}

func TestConfigPush(t *testing.T) {
	// Half of api's answers are 500s. At 10s a push turns on 3 retries;
	// each proxy applies it 2s later: from 12s on, about 0.5^4 of the
	// requests fail instead of half.
	exp := runYAML(t, `version: 1
name: push
duration: 20s
workloads: [{name: web, arrival: {dist: constant, value: 1ms}, target: api}]
services:
  - {name: api, replicas: 2, concurrency: 10, service_time: {dist: constant, value: 1ms}, errors: {probability: 0.5}}
config_pushes:
  - {at: 10s, service: api, sidecar: {retries: {attempts: 3, retry_on: [5xx]}, circuit_breakers: {max_retries: 1000}}}
control_plane: {discovery: {delay: {dist: constant, value: 2s}}}
timeline: {window: 1s}
`)
	rep := exp.Variants[0].Replications[0]
	s := rep.Workloads[0].Series
	assert.InDelta(t, 500, s.NotOK[5], 60, "before the push")
	assert.InDelta(t, 500, s.NotOK[11], 60, "pushed, not applied yet")
	assert.InDelta(t, 1000.0/16, s.NotOK[15], 25, "applied: 3 retries")
	require.NotEmpty(t, rep.Failures)
	assert.Equal(t, results.Failure{Kind: "config_push", Target: "api", From: 10 * time.Second, To: 10 * time.Second}, rep.Failures[0])

	_, err := parseText(`version: 1
duration: 20s
workloads: [{name: web, arrival: {rate: 10/s}, target: api}]
services: [{name: api, service_time: {dist: constant, value: 1ms}}]
config_pushes: [{at: 10s, service: api, sidecar: {workers: 4}}]
`)
	assert.EqualError(t, err, `t.yaml:5:50: config_pushes[0].sidecar: a pushed policy cannot change workers; push a new lb, timeouts, retries, hedging or circuit breakers`)
}

func TestPartitionBetweenTwoSetsAndWeibullBrokerFailures(t *testing.T) {
	// Zones a, b, c: a partition between a and b leaves c reachable from
	// both. A client in a sends round robin to one instance per zone: a
	// third of its requests (those to b) time out during the partition.
	exp := runYAML(t, `version: 1
name: two-sets
duration: 30s
workloads: [{name: web, zone: a, arrival: {dist: constant, value: 10ms}, target: api}]
services:
  - {name: api, replicas: 3, zones: [a, b, c], concurrency: 10, service_time: {dist: constant, value: 1ms}, sidecar: {timeout: 100ms}}
failures:
  - {at: 10s, for: 10s, kind: partition, zones: [a], other_zones: [b]}
timeline: {window: 1s}
`)
	s := exp.Variants[0].Replications[0].Workloads[0].Series
	assert.InDelta(t, 33, s.NotOK[15], 1, "only b is cut off from a")
	assert.Zero(t, s.NotOK[25])
	assert.Equal(t, "zones a -> b", exp.Variants[0].Replications[0].Failures[0].Target)

	// Brokers fail at random with a Weibull time to failure; the failures
	// are recorded, and the same in both variants.
	bus := runYAML(t, `version: 1
name: brokers
duration: 1h
workloads: [{name: orders, arrival: {rate: 50/s}, publish: events}]
bus:
  brokers: 3
  topics: [{name: events, partitions: 3, replication_factor: 3, min_insync_replicas: 2, replication_delay: {dist: constant, value: 2ms}}]
  consumer_groups: [{name: g, topic: events, consumers: 2, processing_time: {dist: constant, value: 1ms}}]
random_failures:
  - {kind: broker_down, target: "broker[1]", mtbf: {dist: weibull, scale: 10m, shape: 1.5}, mttr: {dist: constant, value: 30s}}
variants:
  - {name: a, set: {bus.consumer_groups: [{name: g, topic: events, consumers: 2, processing_time: {dist: constant, value: 1ms}}]}}
  - {name: b, set: {bus.consumer_groups: [{name: g, topic: events, consumers: 3, processing_time: {dist: constant, value: 1ms}}]}}
`)
	fa, fb := bus.Variants[0].Replications[0].Failures, bus.Variants[1].Replications[0].Failures
	require.NotEmpty(t, fa)
	assert.Equal(t, fa, fb)
	for _, f := range fa {
		assert.Equal(t, "broker_down", f.Kind)
		assert.Equal(t, 30*time.Second, f.To-f.From)
	}
	_, err := parseText(`version: 1
duration: 1h
workloads: [{name: w, arrival: {rate: 1/s}, target: api}]
services: [{name: api, service_time: {dist: constant, value: 1ms}}]
random_failures: [{kind: broker_down, target: "broker[3]", mtbf: {dist: weibull, scale: 1h, shape: 2}, mttr: {dist: constant, value: 1m}}]
`)
	assert.ErrorContains(t, err, `random_failures[0].target: broker_down targets one broker, got "broker[3]"`)
}
