package results

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim/stats"
)

// timelineExperiment is one variant of two replications over 2.5s in
// windows of 1s: three windows, the last 0.5s long.
//
//   - web: replication 0 finishes 10 ok (latency 1ms) and 10 not ok in
//     window 0, nothing in window 1, 4 ok (latency 100ms) in window 2;
//     replication 1 finishes 30 ok (latency 2ms) in window 0, 5 not ok in
//     window 1 and nothing in window 2.
//   - The workload's proxy has outlier detection with two proxies in
//     replication 0 (host 1 ejected from 0.5s to 2s by the first, host 0
//     from 1.5s to the end by the second) and one in replication 1, which
//     ejects nothing.
//   - A failure from 1s to the end, in replication 0 only (Summarize
//     takes replication 0's).
func timelineExperiment() *Experiment {
	const s = time.Second
	series := func(ok, notOK []int64, lat ...[]byte) *Series {
		return &Series{Width: s, End: 2500 * time.Millisecond, OK: ok, NotOK: notOK, Latency: lat}
	}
	hist := func(n int, v time.Duration) []byte {
		h := stats.NewHistogram()
		h.RecordN(int64(v), int64(n))
		b, err := h.MarshalBinary()
		if err != nil {
			panic(err)
		}
		return b
	}
	return &Experiment{
		Scenario: "tl", Duration: 2500 * time.Millisecond, Replications: 2,
		Variants: []Variant{{Name: "v", Replications: []Replication{
			{
				Index: 0,
				Workloads: []Workload{{Name: "web", Latency: stats.NewHistogram(),
					Series: series([]int64{10, 0, 4}, []int64{10, 0, 0}, hist(10, time.Millisecond), nil, hist(4, 100*time.Millisecond))}},
				Sidecars: []Sidecar{
					{Caller: "web", Service: "api", Outlier: true, Ejected: []Ejection{{Host: 1, From: s / 2, To: 2 * s}}},
					{Caller: "web", Service: "api", Outlier: true, Ejected: []Ejection{{Host: 0, From: 3 * s / 2, To: 5 * s / 2}}},
					{Caller: "web", Service: "db"}, // no outlier detection: no series
				},
				Failures: []Failure{{Kind: "slow", Target: "api[1]", From: s, To: 5 * s / 2}},
			},
			{
				Index: 1,
				Workloads: []Workload{{Name: "web", Latency: stats.NewHistogram(),
					Series: series([]int64{30, 0, 0}, []int64{0, 5, 0}, hist(30, 2*time.Millisecond), hist(0, 0), nil)}},
				Sidecars: []Sidecar{{Caller: "web", Service: "api", Outlier: true}},
			},
		}}},
	}
}

func TestTimelineSummary(t *testing.T) {
	tl := Summarize(timelineExperiment()).Variants[0].Timeline
	require.NotNil(t, tl)
	assert.Equal(t, 1.0, tl.WindowS)
	require.Len(t, tl.Workloads, 1)
	w := tl.Workloads[0]
	assert.Equal(t, "web", w.Name)
	// Means over replications of ok per second: (10+30)/2, 0, (4/0.5+0)/2.
	assert.Equal(t, []float64{20, 0, 4}, w.ThroughputPerS)
	// Window 0: replication 0 has 10/20 not ok, replication 1 has 0/30;
	// window 1: only replication 1 finished (5/5); window 2: 0/4.
	assert.Equal(t, []*float64{ptr(0.25), ptr(1), ptr(0)}, w.ErrorRate)
	// Pooled: window 0 holds 10 x 1ms and 30 x 2ms, so p50 and p99 are
	// 2ms; window 1 has no ok request.
	require.NotNil(t, w.P50S[0])
	assert.InDelta(t, 0.002, *w.P50S[0], 0.002*0.004)
	assert.InDelta(t, 0.002, *w.P99S[0], 0.002*0.004)
	assert.Nil(t, w.P50S[1])
	assert.Nil(t, w.P99S[1])
	assert.InDelta(t, 0.1, *w.P99S[2], 0.1*0.004)

	// Replication 0, per window, ejected host-seconds over its two
	// proxies: [0.5, 1 + 0.5, 0.5] over widths 1, 1, 0.5, so 0.25, 0.75,
	// 0.5 per proxy; replication 1 ejects nothing.
	require.Len(t, tl.Sidecars, 1)
	sc := tl.Sidecars[0]
	assert.Equal(t, "web", sc.Caller)
	assert.Equal(t, "api", sc.Service)
	assert.InDeltaSlice(t, []float64{0.125, 0.375, 0.25}, sc.EjectedHosts, 1e-12)

	assert.Equal(t, []FailureEvent{{Kind: "slow", Target: "api[1]", FromS: 1, ToS: 2.5}}, tl.Events)

	js, err := json.Marshal(tl)
	require.NoError(t, err)
	assert.Contains(t, string(js), `"p50_s":[0.002`)
	assert.Contains(t, string(js), `,null,`, "a window without data is null")
}

func TestTimelineOmittedWithoutSeries(t *testing.T) {
	e := timelineExperiment()
	for i := range e.Variants[0].Replications {
		e.Variants[0].Replications[i].Workloads[0].Series = nil
	}
	s := Summarize(e)
	assert.Nil(t, s.Variants[0].Timeline)
	js, err := json.Marshal(s)
	require.NoError(t, err)
	assert.NotContains(t, string(js), "timeline")
}

func TestTimelineEmptyListsAreNotNull(t *testing.T) {
	e := timelineExperiment()
	for i := range e.Variants[0].Replications {
		e.Variants[0].Replications[i].Sidecars = nil
		e.Variants[0].Replications[i].Failures = nil
	}
	js, err := json.Marshal(Summarize(e).Variants[0].Timeline)
	require.NoError(t, err)
	assert.Contains(t, string(js), `"sidecars":[]`)
	assert.Contains(t, string(js), `"events":[]`)
}

// TestEjectedHostsSpansWindows checks the difference-array bookkeeping
// against a direct sum of overlaps, for ejections that start and end
// anywhere, span many windows or none, and run past the end.
func TestEjectedHostsSpansWindows(t *testing.T) {
	shape := &Series{Width: 10, End: 95, OK: make([]int64, 10)}
	var ejections []Ejection
	for from := time.Duration(-5); from < 100; from += 7 {
		for _, length := range []time.Duration{0, 1, 9, 10, 11, 33, 200} {
			ejections = append(ejections, Ejection{From: from, To: from + length})
		}
	}
	e := newEjectedHosts(shape)
	e.add(ejections)
	got := e.mean()
	for k := range 10 {
		lo, hi := time.Duration(k)*10, min(time.Duration(k+1)*10, 95)
		var ns time.Duration
		for _, ej := range ejections {
			if a, b := max(ej.From, lo), min(ej.To, hi); b > a {
				ns += b - a
			}
		}
		assert.InDelta(t, float64(ns)/float64(hi-lo), got[k], 1e-12, "window %d", k)
	}
}

func TestTimelineSkipsInvalidEncodings(t *testing.T) {
	e := timelineExperiment()
	e.Variants[0].Replications[0].Workloads[0].Series.Latency[2] = []byte{9}
	_, err := e.Variants[0].Replications[0].Workloads[0].Series.LatencyHistogram(2)
	require.ErrorIs(t, err, stats.ErrEncoding)
	w := Summarize(e).Variants[0].Timeline.Workloads[0]
	assert.Nil(t, w.P99S[2], "the only data of window 2 is unreadable")
	assert.NotNil(t, w.P99S[0])
}
