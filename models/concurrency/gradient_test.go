package concurrency

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim"
)

// serve forwards n requests at now and answers each after d.
func serve(t *testing.T, s *sim.Scheduler, g *Gradient, n int, d time.Duration) int {
	t.Helper()
	sent := s.Now()
	ok := 0
	for i := 0; i < n; i++ {
		if g.Forward() {
			ok++
		}
	}
	require.NoError(t, s.RunUntil(sent.Add(d)))
	for i := 0; i < ok; i++ {
		g.Record(sent)
	}
	return ok
}

func TestGradientFollowsEnvoysFormula(t *testing.T) {
	s := sim.NewScheduler(sim.Config{})
	g, err := NewGradient(s, sim.NewRand(1, 0), Config{JitterSet: true})
	require.NoError(t, err)
	// The minRTT window: the limit is pinned to 3 until 50 samples.
	assert.Equal(t, 3, g.Limit())
	for g.MinRTT() == 0 {
		assert.Equal(t, 3, serve(t, s, g, 10, 10*time.Millisecond), "3 forwarded, 7 blocked")
	}
	assert.Equal(t, 10*time.Millisecond, g.MinRTT().Round(100*time.Microsecond))
	// Latencies at the minRTT: gradient = 1.25/1 -> 1.25, so each 100ms
	// window the limit goes to floor(1.25 l + sqrt(1.25 l)).
	want := 3
	for w := 0; w < 6; w++ {
		next := s.Now().Add(100 * time.Millisecond)
		serve(t, s, g, 1, 10*time.Millisecond)
		require.NoError(t, s.RunUntil(next))
		l := 1.25 * float64(want)
		want = int(l + sqrtf(l))
		assert.Equal(t, want, g.Limit(), "window %d", w)
	}
	// Latencies four times the minRTT: the gradient is clamped to 0.5.
	before := g.Limit()
	next := s.Now().Add(100 * time.Millisecond)
	serve(t, s, g, 1, 40*time.Millisecond)
	require.NoError(t, s.RunUntil(next))
	l := 0.5 * float64(before)
	assert.Equal(t, int(l+sqrtf(l)), g.Limit())
	assert.Positive(t, g.Blocked())
}

func sqrtf(x float64) float64 {
	z := x
	for i := 0; i < 50; i++ {
		z = (z + x/z) / 2
	}
	return z
}

func TestGradientValidation(t *testing.T) {
	for _, c := range []Config{{SamplePercentile: 101}, {MinConcurrency: 5, MaxLimit: 4}, {UpdateInterval: time.Microsecond}, {JitterPercent: 101}} {
		_, err := NewGradient(sim.NewScheduler(sim.Config{}), sim.NewRand(1, 0), c)
		assert.ErrorIs(t, err, ErrConfig, "%+v", c)
	}
}
