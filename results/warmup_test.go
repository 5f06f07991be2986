package results

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim/stats"
)

func TestMSER(t *testing.T) {
	tests := []struct {
		name string
		z    []float64
		want int
	}{
		{"empty", nil, 0},
		{"one value", []float64{7}, 0},
		{"constant", []float64{3, 3, 3, 3, 3, 3}, 0},
		// Summing 0.1 ten times is not exactly 1: the shift by the last
		// value keeps rounding from choosing d.
		{"constant, not exact in binary", slices.Repeat([]float64{0.1}, 10), 0},
		{"transient of 2", []float64{10, 10, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 2},
		{"transient of 1 below the steady state", []float64{0, 5, 5, 5, 5, 5}, 1},
		// n = 8: d < 4, so a transient of 3 is the longest found.
		{"transient at the search limit", []float64{9, 9, 9, 1, 1, 1, 1, 1}, 3},
		// n = 6, d < 3: MSER(0) = 85.33/36 = 2.37, MSER(1) = 76.8/25 =
		// 3.07, MSER(2) = 64/16 = 4. A transient longer than half the
		// series is not found: the rule needs a longer run.
		{"transient beyond the first half", []float64{9, 9, 9, 9, 1, 1}, 0},
		// n = 8, d < 4: MSER(0) = (41 - 15²/8)/64 = 0.2012, MSER(1) =
		// (16 - 10²/7)/49 = 0.0350, MSER(2) = (15 - 9²/6)/36 = 0.0417,
		// MSER(3) = (11 - 7²/5)/25 = 0.048.
		{"noisy, hand-computed", []float64{5, 1, 2, 1, 2, 1, 2, 1}, 1},
		// Stationary noise: MSER(d) = 1/(4(n-d)) for even n-d grows with d.
		{"alternating noise", []float64{1, 2, 1, 2, 1, 2, 1, 2, 1, 2}, 0},
		// n = 12, d < 6: MSER(2) = 10/100 = 0.1, MSER(3) = 8.89/81 =
		// 0.110, MSER(4) = 8/64 = 0.125, MSER(5) = 6.86/49 = 0.140, and
		// MSER(0), MSER(1) are far larger.
		{"transient of 2 in noise", []float64{50, 50, 11, 9, 11, 9, 11, 9, 11, 9, 11, 9}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, MSER(tc.z))
		})
	}
}

// mserReference is the definition of MSER, computed directly: for each d,
// the mean of z[d:], then the sum of squared deviations over (n-d)².
func mserReference(z []float64) int {
	n := len(z)
	best, bestD := 0.0, 0
	for d := 0; 2*d < n; d++ {
		var sum float64
		for _, x := range z[d:] {
			sum += x
		}
		mean := sum / float64(n-d)
		var ss float64
		for _, x := range z[d:] {
			ss += float64((x - mean) * (x - mean))
		}
		if mser := ss / float64((n-d)*(n-d)); d == 0 || mser < best {
			best, bestD = mser, d
		}
	}
	return bestD
}

// TestMSERMatchesReference checks MSER against the direct formula on
// random series with and without a decaying transient (seeded, so the
// series are the same on every run).
func TestMSERMatchesReference(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		n := 2 + rnd.IntN(60)
		z := make([]float64, n)
		transient := float64(rnd.IntN(3)) * 10
		for j := range z {
			z[j] = 100 + rnd.NormFloat64()*5 + transient*float64(n-j)/float64(n)
		}
		require.Equal(t, mserReference(z), MSER(z), "series %d: %v", i, z)
	}
}

func TestMSER5(t *testing.T) {
	steady := []float64{8, 12, 9, 11, 10} // a batch with mean exactly 10
	slow := func(batches int) []float64 { return slices.Repeat([]float64{100}, batches*MSERBatch) }
	tests := []struct {
		name            string
		y               []float64
		wantD, wantN    int
		wantDeletedObsv int
	}{
		{"too short for a batch", []float64{1, 2, 3, 4}, 0, 0, 0},
		{"constant", slices.Repeat([]float64{4}, 50), 0, 10, 0},
		{"noise within batches", slices.Repeat(steady, 10), 0, 10, 0},
		{"transient of 3 batches", slices.Concat(slow(3), slices.Repeat(steady, 9)), 3, 12, 15},
		// The last 3 observations make no whole batch and are not used.
		{"remainder ignored", slices.Concat(slow(2), slices.Repeat(steady, 10), []float64{1e6, 1e6, 1e6}), 2, 12, 10},
		// A transient that ends inside a batch: that batch's mean is
		// (100+100+10+10+10)/5 = 46, so it is deleted too.
		{"transient ending inside a batch", slices.Concat(slow(2), []float64{100, 100}, slices.Repeat([]float64{10}, 48)), 3, 12, 15},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, n := MSER5(tc.y)
			assert.Equal(t, tc.wantD, d, "d*")
			assert.Equal(t, tc.wantN, n, "batches")
			assert.Equal(t, tc.wantDeletedObsv, d*MSERBatch, "observations deleted")
		})
	}
}

// warmupVariant is one variant of two replications of workload web over
// windows of 1s: in window k, every request that finished ok took
// lat(k), and none finished when lat(k) is 0. Replication 1 has no
// request in window 20 either (replication 0's mean stands alone there).
func warmupVariant(windows int, lat func(k int) time.Duration, failures ...Failure) *Variant {
	hist := func(v time.Duration) []byte {
		h := stats.NewHistogram()
		h.RecordN(int64(v), 3)
		b, err := h.MarshalBinary()
		if err != nil {
			panic(err)
		}
		return b
	}
	series := func(rep int) *Series {
		s := &Series{Width: time.Second, End: time.Duration(windows) * time.Second,
			OK: make([]int64, windows), NotOK: make([]int64, windows), Latency: make([][]byte, windows)}
		for k := range windows {
			if l := lat(k); l > 0 && (rep == 0 || k != 20) {
				s.OK[k], s.Latency[k] = 3, hist(l)
			}
		}
		return s
	}
	v := &Variant{Name: "v"}
	for r := range 2 {
		v.Replications = append(v.Replications, Replication{Index: r, Failures: failures,
			Workloads: []Workload{{Name: "web", Latency: stats.NewHistogram(), Series: series(r)}}})
	}
	return v
}

// transient is 100ms in the first windows, 10ms after, and no request
// in the windows of gaps.
func transient(windows int, gaps ...int) func(k int) time.Duration {
	return func(k int) time.Duration {
		switch {
		case slices.Contains(gaps, k):
			return 0
		case k < windows:
			return 100 * time.Millisecond
		}
		return 10 * time.Millisecond
	}
}

// batches is a latency in milliseconds per batch of five windows.
func batches(ms ...float64) func(k int) time.Duration {
	return func(k int) time.Duration { return time.Duration(ms[k/MSERBatch] * float64(time.Millisecond)) }
}

func TestDetectWarmup(t *testing.T) {
	const s, ms = time.Second, time.Millisecond
	tests := []struct {
		name   string
		v      *Variant
		warmup time.Duration
		want   []WarmupCheck
	}{
		{
			// Batch means 100, 100, then 10 x 10ms: the warm-up of 0
			// leaves in (2·100 + 10·10)/12 - 10 = 15ms.
			name: "transient of 2 batches",
			v:    warmupVariant(60, transient(10)),
			want: []WarmupCheck{{Workload: "web", Detected: 10 * s, Searched: 60 * s, Batches: 12, Truncated: 2, Bias: 15 * ms, TooShort: true}},
		},
		{
			name:   "warm-up long enough",
			v:      warmupVariant(60, transient(10)),
			warmup: 10 * s,
			want:   []WarmupCheck{{Workload: "web", Detected: 10 * s, Searched: 60 * s, Batches: 12, Truncated: 2}},
		},
		{
			name: "steady from the start",
			v:    warmupVariant(60, transient(0)),
			want: []WarmupCheck{{Workload: "web", Searched: 60 * s, Batches: 12}},
		},
		{
			// Windows 3 and 4 are skipped: the first 10 values are windows
			// 0-2 and 5-11, so the truncation ends with window 11.
			name: "empty windows skipped",
			v:    warmupVariant(62, transient(12, 3, 4)),
			want: []WarmupCheck{{Workload: "web", Detected: 12 * s, Searched: 62 * s, Batches: 12, Truncated: 2, Bias: 15 * ms, TooShort: true}},
		},
		{
			// The warm-up covers batch 0 (windows 0-4) whole and leaves
			// in batch 1: (100 + 10·10)/11 - 10 = 8.18ms.
			name:   "warm-up covering part of the transient",
			v:      warmupVariant(60, transient(10)),
			warmup: 7 * s,
			want:   []WarmupCheck{{Workload: "web", Detected: 10 * s, Searched: 60 * s, Batches: 12, Truncated: 2, Bias: 8181818, TooShort: true}},
		},
		{
			// A failure at 40s, after the warm-up, leaves 40 windows: 8
			// batches, too few.
			name:   "series cut by a failure",
			v:      warmupVariant(60, transient(10), Failure{Kind: "slow", Target: "api[0]", From: 40 * s, To: 50 * s}),
			warmup: 5 * s,
		},
		{
			name:   "a failure in the warm-up stays in the series",
			v:      warmupVariant(60, transient(10), Failure{Kind: "slow", Target: "api[0]", From: 2 * s, To: 8 * s}),
			warmup: 5 * s,
			want:   []WarmupCheck{{Workload: "web", Detected: 10 * s, Searched: 60 * s, Batches: 12, Truncated: 2, Bias: 8181818, TooShort: true}},
		},
		{
			name: "an autoscaler decision does not cut",
			v:    warmupVariant(60, transient(10), Failure{Kind: "scale", Target: "api 3→4", From: 20 * s, To: 20 * s}),
			want: []WarmupCheck{{Workload: "web", Detected: 10 * s, Searched: 60 * s, Batches: 12, Truncated: 2, Bias: 15 * ms, TooShort: true}},
		},
		{
			// Windows before 55.5s: 55 whole ones, 11 batches.
			name:   "a failure cuts at the last whole window",
			v:      warmupVariant(70, transient(10), Failure{Kind: "errors", Target: "api", From: 55*s + s/2, To: 60 * s}),
			warmup: 10 * s,
			want:   []WarmupCheck{{Workload: "web", Detected: 10 * s, Searched: 55*s + s/2, Batches: 11, Truncated: 2}},
		},
		{
			name: "too few windows",
			v:    warmupVariant(49, transient(10)),
		},
		{
			// n = 12: d < 6, so 5 batches is the longest transient found;
			// (5·100 + 7·10)/12 - 10 = 37.5ms.
			name: "transient at the search limit",
			v:    warmupVariant(60, transient(25)),
			want: []WarmupCheck{{Workload: "web", Detected: 25 * s, Searched: 60 * s, Batches: 12, Truncated: 5, AtLimit: true, Bias: 37500 * time.Microsecond, TooShort: true}},
		},
		{
			// MSER(0..5) = 0.130, 0.150, 0.1, 0.110, 0.125, 0.140 ms²: d* =
			// 2, past one slow batch. The bias, 10.33 - 10 = 0.33ms, is
			// within twice the standard error sqrt(0.1) = 0.316ms: noise,
			// not a transient.
			name: "noise past the warm-up",
			v:    warmupVariant(60, batches(11, 13, 9, 11, 9, 11, 9, 11, 9, 11, 9, 11)),
			want: []WarmupCheck{{Workload: "web", Detected: 10 * s, Searched: 60 * s, Batches: 12, Truncated: 2, Bias: 333333, StdErr: 316228}},
		},
		{name: "no series", v: &Variant{Replications: []Replication{{Workloads: []Workload{{Name: "web"}}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, DetectWarmup(tc.v, tc.warmup))
		})
	}
}

func TestSummarizeWarmupCheck(t *testing.T) {
	for _, tc := range []struct {
		warmup   time.Duration
		tooShort bool
		biasS    float64
		json     string
	}{
		{5 * time.Second, true, 0.0081818180, `"warmup_check":{"detected_s":10,"too_short":true,"at_limit":false,"bias_s":0.008181818,"standard_error_s":0,"searched_s":60,"batches":12,"truncated_batches":2}`},
		{10 * time.Second, false, 0, `"warmup_check":{"detected_s":10,"too_short":false,"at_limit":false,"bias_s":0,"standard_error_s":0,"searched_s":60,"batches":12,"truncated_batches":2}`},
	} {
		t.Run(fmt.Sprint("warmup ", tc.warmup), func(t *testing.T) {
			e := &Experiment{Duration: time.Minute, Warmup: tc.warmup, Replications: 2, Variants: []Variant{*warmupVariant(60, transient(10))}}
			w := Summarize(e).Variants[0].Workloads[0]
			require.NotNil(t, w.WarmupCheck)
			assert.Equal(t, WarmupCheckSummary{DetectedS: 10, TooShort: tc.tooShort, BiasS: tc.biasS, SearchedS: 60, Batches: 12, TruncatedBatches: 2}, *w.WarmupCheck)
			js, err := json.Marshal(w)
			require.NoError(t, err)
			assert.Contains(t, string(js), tc.json)
		})
	}
	t.Run("omitted with too few windows", func(t *testing.T) {
		e := &Experiment{Duration: 49 * time.Second, Replications: 2, Variants: []Variant{*warmupVariant(49, transient(10))}}
		w := Summarize(e).Variants[0].Workloads[0]
		assert.Nil(t, w.WarmupCheck)
		js, err := json.Marshal(w)
		require.NoError(t, err)
		assert.NotContains(t, string(js), "warmup_check")
	})
}
