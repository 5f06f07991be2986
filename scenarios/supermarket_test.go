package scenarios_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/scenarios"
)

// TestLeastRequestMatchesTheSupermarketModel validates least_request (power
// of d choices) against Mitzenmacher's mean-field limit: with Poisson
// arrivals at rate lambda per server, exponential service of mean 1 s, and
// each request joining the shorter of d sampled queues, the mean response
// time as n -> infinity is sum_{i>=1} lambda^((d^i - d)/(d - 1)): 2.6136 s
// for d = 2 and 2.0279 s for d = 3 at lambda = 0.9. One proxy sends all
// requests, so its per-host active counts are the true queue lengths.
// Envoy samples with replacement; with 500 hosts a repeated sample has
// probability 1/500 and moves the mean by far less than the tolerance.
// max_requests is raised: at d = 2 about 1,180 requests are in flight, and
// Envoy's default breaker (1024) would shed the excess as local 503s,
// which the test checks too.
// 8 x 1500 s at 450 requests/s = 5.4M requests per d.
func TestLeastRequestMatchesTheSupermarketModel(t *testing.T) {
	if testing.Short() {
		t.Skip("long validation run")
	}
	for _, d := range []int{2, 3} {
		t.Run(fmt.Sprintf("choice_count=%d", d), func(t *testing.T) {
			l := runLatency(t, fmt.Sprintf(`version: 1
name: supermarket
seed: 7
duration: 1500s
warmup: 300s
replications: 8
workloads: [{name: arrivals, arrival: {rate: 450/s}, target: farm}]
services:
  - name: farm
    replicas: 500
    service_time: {dist: exponential, mean: 1s}
    sidecar: {lb: {policy: least_request, choice_count: %d}, circuit_breakers: {max_requests: 100000}}
`, d))
			within(t, "mean response", supermarketMean(0.9, d), l.Mean, l.CI95.Mean, 0.03)
		})
	}
}

// supermarketMean is the mean-field mean response time of the supermarket
// model with d choices at load lambda (service rate 1).
func supermarketMean(lambda float64, d int) float64 {
	var sum float64
	for i := 1; i < 64; i++ {
		e := (math.Pow(float64(d), float64(i)) - float64(d)) / float64(d-1)
		term := math.Pow(lambda, e)
		sum += term
		if term < 1e-12 {
			break
		}
	}
	return sum
}

func TestSupermarketMeanFormula(t *testing.T) {
	// The values the issue quotes.
	if got := supermarketMean(0.9, 2); math.Abs(got-2.614) > 0.001 {
		t.Errorf("d=2: %.4f, want 2.614", got)
	}
	if got := supermarketMean(0.9, 3); math.Abs(got-2.028) > 0.001 {
		t.Errorf("d=3: %.4f, want 2.028", got)
	}
}

func TestEnvoysDefaultBreakerShedsTheSupermarketExcess(t *testing.T) {
	// The same d = 2 farm with Envoy's default max_requests (1024): the
	// breaker turns the excess into local 503s, counted as rejected.
	doc, err := scenarios.Parse("sm.yaml", []byte(`version: 1
name: supermarket
duration: 300s
warmup: 100s
workloads: [{name: arrivals, arrival: {rate: 450/s}, target: farm}]
services:
  - name: farm
    replicas: 500
    service_time: {dist: exponential, mean: 1s}
    sidecar: {lb: {policy: least_request}}
`))
	require.NoError(t, err)
	exp, err := scenarios.Run(context.Background(), doc, scenarios.Options{Workers: 1})
	require.NoError(t, err)
	rep := exp.Variants[0].Replications[0]
	assert.Positive(t, rep.Workloads[0].Outcomes.Rejected)
	assert.Equal(t, rep.Workloads[0].Outcomes.Rejected, rep.Sidecars[0].Overflows)
}

// TestRandomRoutingGivesMM1 checks that random routing splits a Poisson
// stream into independent Poisson streams: n = 8 instances at 0.5 load
// each behave as 8 M/M/1 queues, mean response 1/(mu - lambda) = 2 s.
// 8 x 40000 s at 4 requests/s = 1.28M requests.
func TestRandomRoutingGivesMM1(t *testing.T) {
	if testing.Short() {
		t.Skip("long validation run")
	}
	l := runLatency(t, `version: 1
name: split
seed: 5
duration: 40000s
warmup: 2000s
replications: 8
workloads: [{name: arrivals, arrival: {rate: 4/s}, target: farm}]
services:
  - name: farm
    replicas: 8
    service_time: {dist: exponential, mean: 1s}
    sidecar: {lb: {policy: random}}
`)
	within(t, "mean response", 2.0, l.Mean, l.CI95.Mean, 0.02)
}
