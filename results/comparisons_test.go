package results

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSummarizeComparisons(t *testing.T) {
	rep := func(i int, ms ...int64) Replication {
		ns := make([]int64, len(ms))
		for k, m := range ms {
			ns[k] = m * int64(time.Millisecond)
		}
		return Replication{Index: i, Workloads: []Workload{
			{Name: "web", Outcomes: Outcomes{OK: int64(len(ms))}, Latency: histOf(ns...)},
			{Name: "idle"},
		}}
	}
	e := &Experiment{Duration: time.Second, Replications: 3, Variants: []Variant{
		{Name: "base", Replications: []Replication{rep(0, 10), rep(1, 20), rep(2, 30)}},
		{Name: "fast", Replications: []Replication{rep(0, 8), rep(1, 17), rep(2, 26)}},
	}}
	s := Summarize(e)
	require.Len(t, s.Comparisons, 1, "idle has no data in any replication: no row")
	c := s.Comparisons[0]
	assert.Equal(t, "fast", c.Variant)
	assert.Equal(t, "base", c.Baseline)
	assert.Equal(t, "web", c.Workload)
	// Differences -2, -3, -4 ms: mean -3 ms, sd 1 ms, t(2) = 4.303.
	require.NotNil(t, c.LatencyMeanS)
	assert.InDelta(t, -0.003, c.LatencyMeanS.Mean, 1e-6)
	require.NotNil(t, c.LatencyMeanS.CI95)
	assert.InDelta(t, -0.003-4.30265273*0.001/1.7320508, c.LatencyMeanS.CI95.Lo, 1e-6)

	// One replication: the point estimate without an interval.
	for i := range e.Variants {
		e.Variants[i].Replications = e.Variants[i].Replications[:1]
	}
	s = Summarize(e)
	require.Len(t, s.Comparisons, 1)
	assert.Nil(t, s.Comparisons[0].LatencyMeanS.CI95)

	// A single variant: nothing to compare.
	e.Variants = e.Variants[:1]
	assert.Nil(t, Summarize(e).Comparisons)
}
