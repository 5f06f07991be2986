package benchmarks

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

// TestBaselineLoopsAgreeExactly checks that the two-clock event loop and the
// Lindley recursion compute the same response times: they draw the same
// numbers from the same streams, so their histograms must be equal, not
// merely close.
func TestBaselineLoopsAgreeExactly(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  MM1Config
	}{
		{"rho=0.5/customers", MM1Config{MeanInterarrival: 2 * time.Second, MeanService: time.Second, Customers: 50_000, Seed: 1}},
		{"rho=0.9/customers", MM1Config{MeanInterarrival: meanOfRate(0.9), MeanService: time.Second, Customers: 50_000, Seed: 7}},
		{"rho=0.9/until", MM1Config{MeanInterarrival: meanOfRate(0.9), MeanService: time.Second, Until: sim.Time(20_000 * time.Second), Seed: 3}},
		{"rho=1.2/until", MM1Config{MeanInterarrival: meanOfRate(1.2), MeanService: time.Second, Until: sim.Time(5_000 * time.Second), Seed: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := TwoClockMM1(tc.cfg), LindleyMM1(tc.cfg)
			require.Positive(t, a.Customers)
			assert.Equal(t, a.Customers, b.Customers)
			assert.True(t, a.Latency.Equal(b.Latency), "histograms differ: mean %v vs %v", a.Latency.Mean(), b.Latency.Mean())
		})
	}
}

// TestBaselineMatchesTheory checks the baseline against queueing theory: the
// M/M/1 response time is exponential with mean 1/(mu-lambda), so its p99 is
// ln(100)/(mu-lambda).
func TestBaselineMatchesTheory(t *testing.T) {
	const lambda, mu = 0.5, 1.0
	mean, p99, n := MM1Baseline(lambda, mu, 200_000, 1)
	want := float64(time.Second) / (mu - lambda)
	require.EqualValues(t, 200_000, n)
	assert.InEpsilon(t, want, mean, 0.05, "mean response")
	assert.InEpsilon(t, want*math.Log(100), float64(p99), 0.05, "p99 response")
}
