package scenarios_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/results"
	"github.com/meshsim/meshsim/scenarios"
)

// These tests validate the whole pipeline (YAML, kernel, models, statistics)
// against exact queueing theory. Each asserts two things: the estimate is
// within the tolerance of the theoretical value, and the 95% confidence
// interval across replications is narrower than the tolerance, so a pass
// means the run was long enough to tell, not that it was lucky. Run lengths
// are in each case; together they take about 10 s on 2 cores, and are
// skipped with -short (the race-detector pass in CI).

// queue builds a one-service scenario: Poisson arrivals at rate, c slots in
// one instance, the given service-time distribution, unbounded queue.
func queue(rate string, c int, serviceTime string, duration string, reps int) string {
	return fmt.Sprintf(`version: 1
name: theory
seed: 20261204
duration: %s
warmup: 5000s
replications: %d
workloads: [{name: arrivals, arrival: {rate: %s}, target: server}]
services:
  - {name: server, concurrency: %d, service_time: %s}
`, duration, reps, rate, c, serviceTime)
}

func runLatency(t *testing.T, yaml string) *results.Latency {
	t.Helper()
	l, _ := runQueue(t, yaml)
	return l
}

func runQueue(t *testing.T, yaml string) (*results.Latency, results.ServiceSummary) {
	t.Helper()
	doc, err := scenarios.Parse("theory.yaml", []byte(yaml))
	require.NoError(t, err)
	exp, err := scenarios.Run(context.Background(), doc, scenarios.Options{Workers: 2})
	require.NoError(t, err)
	v := results.Summarize(exp).Variants[0]
	w := v.Workloads[0]
	require.NotNil(t, w.LatencyS)
	require.NotNil(t, w.LatencyS.CI95)
	return w.LatencyS, v.Services[0]
}

// within asserts |got-want| <= tol*want and that the interval's half-width
// is <= tol*want.
func within(t *testing.T, what string, want, got float64, ci results.Interval, tol float64) {
	t.Helper()
	rel := math.Abs(got-want) / want
	half := (ci.Hi - ci.Lo) / 2 / want
	t.Logf("%s: theory %.4f, simulated %.4f (error %.2f%%, 95%% CI half-width %.2f%%)", what, want, got, 100*rel, 100*half)
	assert.LessOrEqual(t, rel, tol, "%s: %.4f is not within %.0f%% of %.4f", what, got, 100*tol, want)
	assert.LessOrEqual(t, half, tol, "%s: the run is too short to tell: CI half-width %.2f%%", what, 100*half)
}

func TestMM1MatchesTheory(t *testing.T) {
	if testing.Short() {
		t.Skip("long validation run")
	}
	for _, tc := range []struct {
		rho      float64
		duration string
		reps     int
	}{
		// rho 0.5: 8 x 4e5 s = 1.6M customers.
		{0.5, "400000s", 8},
		// rho 0.9 relaxes slowly (autocorrelation time ~ 1/(1-rho)^2):
		// 16 x 2.5e6 s = 36M customers.
		{0.9, "2500000s", 16},
	} {
		t.Run(fmt.Sprintf("rho=%.1f", tc.rho), func(t *testing.T) {
			// mu = 1/s; lambda = rho. Response time is exponential with
			// rate mu - lambda.
			l, svc := runQueue(t, queue(fmt.Sprintf("%g/s", tc.rho), 1, "{dist: exponential, mean: 1s}", tc.duration, tc.reps))
			mean := 1 / (1 - tc.rho)
			within(t, "mean response", mean, l.Mean, l.CI95.Mean, 0.02)
			within(t, "p99 response", -math.Log(0.01)*mean, l.P99, l.CI95.P99, 0.03)
			// The time-weighted statistics: utilisation rho, and the mean
			// number waiting Lq = rho^2/(1-rho) (Little's law on the queue).
			within(t, "utilisation", tc.rho, svc.Utilisation.Mean, *svc.Utilisation.CI95, 0.01)
			within(t, "mean queue length", tc.rho*tc.rho/(1-tc.rho), svc.QueueLengthMean.Mean, *svc.QueueLengthMean.CI95, 0.03)
		})
	}
}

func TestMM4MatchesErlangC(t *testing.T) {
	if testing.Short() {
		t.Skip("long validation run")
	}
	// c = 4, mu = 1/s, lambda = 2.8/s, rho = 0.7. Erlang C gives the
	// probability of waiting C = 0.4287, and the mean response
	// W = 1/mu + C/(c mu - lambda) = 1 + 0.4287/1.2 = 1.3572 s.
	// 8 x 4e5 s = 9M customers.
	l := runLatency(t, queue("2.8/s", 4, "{dist: exponential, mean: 1s}", "400000s", 8))
	within(t, "mean response", erlangCResponse(4, 2.8, 1), l.Mean, l.CI95.Mean, 0.02)
	assert.InDelta(t, 1.3572, erlangCResponse(4, 2.8, 1), 1e-4, "the formula itself")
}

func TestMD1MatchesPollaczekKhinchine(t *testing.T) {
	if testing.Short() {
		t.Skip("long validation run")
	}
	// Deterministic service 1 s at rho = 0.8: the Pollaczek-Khinchine
	// formula gives a mean wait of rho/(2 mu (1 - rho)) = 2.0 s, so a mean
	// response of 3.0 s. 8 x 1e6 s = 6.4M customers.
	l := runLatency(t, queue("0.8/s", 1, "{dist: constant, value: 1s}", "1000000s", 8))
	wait := results.Interval{Lo: l.CI95.Mean.Lo - 1, Hi: l.CI95.Mean.Hi - 1}
	within(t, "mean wait", 2.0, l.Mean-1, wait, 0.02)
}

// erlangCResponse is the mean response time of M/M/c with arrival rate
// lambda and service rate mu per server.
func erlangCResponse(c int, lambda, mu float64) float64 {
	a := lambda / mu
	rho := a / float64(c)
	var sum, term float64 = 0, 1
	for k := 0; k < c; k++ {
		if k > 0 {
			term *= a / float64(k)
		}
		sum += term
	}
	top := term * a / float64(c) / (1 - rho) // a^c / c! / (1 - rho)
	pWait := top / (sum + top)
	return 1/mu + pWait/(float64(c)*mu-lambda)
}
