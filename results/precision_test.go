package results

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim/stats"
)

func TestNextReplications(t *testing.T) {
	tests := []struct {
		n     int
		ratio float64
		limit int
		want  int
	}{
		{n: 5, ratio: 1.2, limit: 100, want: 8},  // 5 x 1.44 = 7.2, rounded up
		{n: 5, ratio: 1.01, limit: 100, want: 6}, // at least one more
		{n: 5, ratio: 3, limit: 100, want: 10},   // at most double
		{n: 5, ratio: math.Inf(1), limit: 100, want: 10},
		{n: 60, ratio: 3, limit: 100, want: 100}, // capped by the bound
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, NextReplications(tc.n, tc.ratio, tc.limit), "%+v", tc)
	}
}

// latencyRep is a replication whose workload web completed 100 requests
// at ms milliseconds each.
func latencyRep(i int, ms int64) Replication {
	h := stats.NewHistogram()
	h.RecordN(ms*1_000_000, 100)
	return Replication{Index: i, Workloads: []Workload{{Name: "web", Arrived: 100, Outcomes: Outcomes{OK: 100}, Latency: h}}}
}

func TestCheckPrecision(t *testing.T) {
	e := &Experiment{Duration: 10 * time.Second, Replications: 3, Variants: []Variant{
		{Name: "steady", Replications: []Replication{latencyRep(0, 10), latencyRep(1, 10), latencyRep(2, 10)}},
		{Name: "noisy", Replications: []Replication{latencyRep(0, 10), latencyRep(1, 20), latencyRep(2, 30)}},
	}}
	w, ok := e.CheckPrecision("mean", "web", 0.05, 0)
	require.True(t, ok)
	assert.Equal(t, "noisy", w.Variant, "the widest interval")
	assert.InDelta(t, 0.020, w.Mean, 2e-4)
	// Student t with 2 degrees of freedom: 4.303 x 10 ms / sqrt(3).
	assert.InDelta(t, 4.303*0.010/math.Sqrt(3), *w.HalfWidth, 2e-4)
	assert.InDelta(t, *w.HalfWidth/(0.05*w.Mean), *w.Ratio, 1e-9)
	assert.False(t, w.Met())

	w, _ = e.CheckPrecision("mean", "", 0, 0.030)
	assert.True(t, w.Met(), "an absolute target of 30 ms is met")

	// A zero-width interval meets any target; no data at all is not ok.
	e.Variants = e.Variants[:1]
	w, ok = e.CheckPrecision("p99", "web", 0.01, 0)
	require.True(t, ok)
	assert.Equal(t, 0.0, *w.Ratio)
	_, ok = e.CheckPrecision("p99", "other", 0.01, 0)
	assert.False(t, ok)
}
