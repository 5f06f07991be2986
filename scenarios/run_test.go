package scenarios

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

const twoVariants = `version: 1
name: limits
seed: 3
duration: 10s
replications: 3
limits: {max_events: 500}
workloads: [{name: web, arrival: {rate: 100/s}, target: api}]
services: [{name: api, replicas: 2, service_time: {dist: exponential, mean: 5ms}}]
variants:
  - {name: a, set: {services.api.sidecar.lb.policy: round_robin}}
  - {name: b, set: {services.api.sidecar.lb.policy: random}}
`

func TestRunReportsTheFirstErrorInTaskOrder(t *testing.T) {
	doc, err := Parse("limits.yaml", []byte(twoVariants))
	require.NoError(t, err)
	var msgs []string
	for _, workers := range []int{1, 2, 4} {
		_, err := Run(context.Background(), doc, Options{Workers: workers})
		require.Error(t, err)
		assert.True(t, errors.Is(err, sim.ErrMaxEvents), err)
		msgs = append(msgs, err.Error())
	}
	assert.Equal(t, msgs[0], msgs[1])
	assert.Equal(t, msgs[0], msgs[2])
	assert.Contains(t, msgs[0], "scenario limits, variant a, seed 3, replication 0: sim: stopped at the event limit max_events=500")
	assert.Contains(t, msgs[0], "raise limits.max_events (now 500) or shorten duration")
}

func TestRunRejectsTooManyReplications(t *testing.T) {
	doc, err := Parse("limits.yaml", []byte(twoVariants))
	require.NoError(t, err)
	_, err = Run(context.Background(), doc, Options{Replications: MaxReplications + 1})
	assert.EqualError(t, err, "scenario: 10001 replications requested; the limit is 10000")
}

func TestRunStopsOnCancel(t *testing.T) {
	doc, err := Parse("limits.yaml", []byte(twoVariants))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Run(ctx, doc, Options{Workers: 2})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestRunConservesRequestsThroughRetriesAndTimeouts(t *testing.T) {
	// An overloaded service behind a proxy that retries on 503 and abandons
	// slow attempts: requests wait in backoff, attempts are abandoned while
	// the instances keep working on them, and some requests time out. Both
	// books must still balance at the end of every replication (collect
	// returns ErrConservation otherwise).
	doc, err := Parse("storm.yaml", []byte(`version: 1
name: storm
duration: 20s
warmup: 2s
replications: 3
workloads: [{name: web, arrival: {rate: 950/s}, target: api}]
services:
  - name: api
    replicas: 3
    concurrency: 2
    queue: 20
    service_time: {dist: exponential, mean: 6ms}
    sidecar:
      timeout: 300ms
      per_try_timeout: 40ms
      retries: {attempts: 3, retry_on: [5xx]}
      circuit_breakers: {max_retries: 1000}
`))
	require.NoError(t, err)
	exp, err := Run(context.Background(), doc, Options{Workers: 2})
	require.NoError(t, err)
	for _, rep := range exp.Variants[0].Replications {
		w := rep.Workloads[0]
		assert.Equal(t, w.Arrived, w.Outcomes.Total())
		sc := rep.Sidecars[0]
		assert.Equal(t, "web", sc.Caller)
		assert.Equal(t, "api", sc.Service)
		assert.Equal(t, w.Arrived, sc.Calls)
		assert.Greater(t, sc.Attempts, sc.Calls, "retries amplify the load")
		assert.Positive(t, sc.PerTryTimeouts)
		assert.Positive(t, w.Outcomes.Timeout+w.Outcomes.Rejected)
	}
}

func TestRetriesAgainstIndependentErrors(t *testing.T) {
	// Each attempt fails independently with p = 0.2 (the instance's own
	// "errors" stream); with 2 retries on 5xx a request fails only if all
	// three attempts do: 0.2^3 = 0.8%, and it takes 1 + 0.2 + 0.04 = 1.24
	// attempts on average.
	doc, err := Parse("errors.yaml", []byte(`version: 1
name: errors
duration: 200s
replications: 2
workloads: [{name: web, arrival: {rate: 200/s}, target: api}]
services:
  - name: api
    replicas: 4
    concurrency: 4
    service_time: {dist: exponential, mean: 5ms}
    errors: {probability: 0.2, status: 500}
    sidecar: {retries: {attempts: 2, retry_on: [5xx]}, circuit_breakers: {max_retries: 100000}}
`))
	require.NoError(t, err)
	exp, err := Run(context.Background(), doc, Options{Workers: 2})
	require.NoError(t, err)
	var calls, attempts, failed, done int64
	for _, rep := range exp.Variants[0].Replications {
		sc := rep.Sidecars[0]
		calls += sc.Calls
		attempts += sc.Attempts
		o := rep.Workloads[0].Outcomes
		failed += o.Error
		done += o.Total() - o.InFlight
	}
	// 80k requests: sd of the failure share 0.03 points, of the
	// amplification 0.0017.
	assert.InDelta(t, 0.008, float64(failed)/float64(done), 0.0015)
	assert.InDelta(t, 1.24, float64(attempts)/float64(calls), 0.01)
}

func TestNetworkLatencyByZone(t *testing.T) {
	// Round robin over two instances, one in the workload's zone and one
	// not: requests take 5ms of service plus 2 x 1ms or 2 x 10ms.
	doc, err := Parse("zones.yaml", []byte(`version: 1
name: zones
duration: 10s
workloads: [{name: web, arrival: {dist: constant, value: 10ms}, target: api, zone: a}]
services:
  - {name: api, replicas: 2, zones: [a, b], service_time: {dist: constant, value: 5ms}}
network:
  same_zone: {dist: constant, value: 1ms}
  cross_zone: {dist: constant, value: 10ms}
`))
	require.NoError(t, err)
	exp, err := Run(context.Background(), doc, Options{Workers: 1})
	require.NoError(t, err)
	h := exp.Variants[0].Replications[0].Workloads[0].Latency
	assert.Equal(t, int64(7*time.Millisecond), h.Min())
	assert.Equal(t, int64(25*time.Millisecond), h.Max())
	assert.InDelta(t, float64(16*time.Millisecond), h.Mean(), float64(100*time.Microsecond))

	_, err = Parse("zones.yaml", []byte(`version: 1
duration: 10s
workloads: [{name: web, arrival: {rate: 10/s}, target: api}]
services: [{name: api, service_time: {dist: constant, value: 5ms}}]
network: {same_zone: {dist: expo, mean: 1ms}}
`))
	assert.EqualError(t, err, `zones.yaml:5:29: network.same_zone.dist: unknown distribution "expo"; did you mean "exponential"?`)
}

func TestRateLimitShedsTheExcess(t *testing.T) {
	// 400 requests/s, evenly spaced, at one instance limited to 100 tokens
	// refilled 10 every 100ms (100/s): after the first 100 the excess is
	// answered 429, and the proxy's 5xx retries leave it alone.
	doc, err := Parse("rl.yaml", []byte(`version: 1
name: rl
duration: 10s
workloads: [{name: web, arrival: {dist: constant, value: 2500us}, target: api}]
services:
  - name: api
    concurrency: 100
    service_time: {dist: constant, value: 1ms}
    rate_limit: {max_tokens: 100, tokens_per_fill: 10, fill_interval: 100ms}
    sidecar: {retries: {attempts: 2, retry_on: [5xx]}}
`))
	require.NoError(t, err)
	exp, err := Run(context.Background(), doc, Options{Workers: 1})
	require.NoError(t, err)
	rep := exp.Variants[0].Replications[0]
	o := rep.Workloads[0].Outcomes
	// 3999 arrivals in 10s; 100 + 99 fills x 10 = 1090 tokens by 9.99s.
	assert.Equal(t, int64(1090), o.OK+o.InFlight)
	assert.Equal(t, int64(3999-1090), o.Shed)
	assert.Equal(t, rep.Sidecars[0].Calls, rep.Sidecars[0].Attempts, "a 429 is not retried")
}
