package results

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshsim/meshsim/sim/stats"
)

const ms = int64(time.Millisecond)

// rangeHist records the latencies (k + offsetMs) ms for k = 1..1000.
func rangeHist(offsetMs int64) *stats.Histogram {
	h := stats.NewHistogram()
	for k := int64(1); k <= 1000; k++ {
		h.Record((k + offsetMs) * ms)
	}
	return h
}

// histOf records the given values in nanoseconds.
func histOf(ns ...int64) *stats.Histogram {
	h := stats.NewHistogram()
	for _, v := range ns {
		h.Record(v)
	}
	return h
}

// handExperiment is one variant of three replications whose numbers are
// easy to compute by hand: replication i has 1000 ok requests with
// latencies (k + 10i) ms, k = 1..1000, i errors, 2 timeouts and 1 request in
// flight, over a 100 s measured window.
func handExperiment() *Experiment {
	e := &Experiment{
		Scenario: "hand", Seed: 7, Version: "test",
		Duration: 110 * time.Second, Warmup: 10 * time.Second, Replications: 3,
		Variants: []Variant{{Name: "only"}},
	}
	for i := range 3 {
		e.Variants[0].Replications = append(e.Variants[0].Replications, Replication{
			Index:  i,
			Events: 1000,
			Workloads: []Workload{{
				Name:     "web",
				Outcomes: Outcomes{OK: 1000, Error: int64(i), Timeout: 2, InFlight: 1},
				Latency:  rangeHist(10 * int64(i)),
			}},
			Services: []Service{{
				Name: "checkout", Instances: 3, Concurrency: 4,
				Utilisation:       0.5 + 0.1*float64(i),
				QueueLengthMean:   2,
				Completed:         1000,
				Latency:           rangeHist(0),
				InstanceCompleted: []int64{300 + int64(i), 300, 400 - int64(i)},
			}},
		})
	}
	conserve(e)
	return e
}

// relTol is the histogram's quantile error bound (1/256) with margin.
const relTol = 0.005

func TestSummarizeHandComputed(t *testing.T) {
	s := Summarize(handExperiment())
	assert.Equal(t, SummarySchema, s.Schema)
	assert.Equal(t, "hand", s.Scenario)
	assert.Equal(t, uint64(7), s.Seed)
	assert.Equal(t, 110.0, s.DurationS)
	assert.Equal(t, 10.0, s.WarmupS)
	assert.Equal(t, 3, s.Replications)
	require.Len(t, s.Variants, 1)
	v := s.Variants[0]
	assert.Equal(t, uint64(3000), v.Events)

	require.Len(t, v.Workloads, 1)
	w := v.Workloads[0]
	assert.Equal(t, int64(3+3000+6+3), w.Requests)
	assert.Equal(t, Outcomes{OK: 3000, Error: 3, Timeout: 6, InFlight: 3}, w.Outcomes)
	assert.Equal(t, w.Requests, w.Outcomes.Total(), "conservation")

	require.NotNil(t, w.ThroughputPerS)
	assert.Equal(t, 10.0, w.ThroughputPerS.Mean) // 1000 ok / 100 s in every replication
	require.NotNil(t, w.ThroughputPerS.CI95)
	assert.Equal(t, Interval{10, 10}, *w.ThroughputPerS.CI95)

	// error rate of replication i: (i + 2) / (1000 + i + 2), in flight excluded.
	rates := []float64{2.0 / 1002, 3.0 / 1003, 4.0 / 1004}
	wantRate, wantRateCI, _ := stats.MeanCI(rates)
	require.NotNil(t, w.ErrorRate)
	assert.InDelta(t, wantRate, w.ErrorRate.Mean, 1e-15)
	assert.InDelta(t, wantRateCI.Lo, w.ErrorRate.CI95.Lo, 1e-15)

	// Replication means are 500.5, 510.5, 520.5 ms (the histogram's mean is
	// exact): mean 510.5 ms, sd 10 ms, half-width t(0.975, 2) * 10 / sqrt(3).
	l := w.LatencyS
	require.NotNil(t, l)
	half := 4.30265273 * 0.010 / math.Sqrt(3)
	assert.InDelta(t, 0.5105, l.Mean, 1e-12)
	require.NotNil(t, l.CI95)
	assert.InDelta(t, 0.5105-half, l.CI95.Mean.Lo, 1e-9)
	assert.InDelta(t, 0.5105+half, l.CI95.Mean.Hi, 1e-9)
	// Nearest-rank quantiles of replication i are (q*1000 + 10i) ms, so
	// their mean over replications is q*1000 + 10 ms.
	assert.InEpsilon(t, 0.510, l.P50, relTol)
	assert.InEpsilon(t, 0.910, l.P90, relTol)
	assert.InEpsilon(t, 1.000, l.P99, relTol)
	assert.InEpsilon(t, 1.009, l.P999, relTol)
	assert.Less(t, l.CI95.P99.Lo, l.P99)
	assert.Greater(t, l.CI95.P99.Hi, l.P99)

	require.Len(t, v.Services, 1)
	svc := v.Services[0]
	assert.Equal(t, "checkout", svc.Name)
	assert.Equal(t, 3, svc.Instances)
	assert.Equal(t, 4, svc.Concurrency)
	assert.Equal(t, int64(3000), svc.Completed)
	assert.InDelta(t, 0.6, svc.Utilisation.Mean, 1e-12)
	require.NotNil(t, svc.Utilisation.CI95)
	assert.InDelta(t, 0.6-4.30265273*0.1/math.Sqrt(3), svc.Utilisation.CI95.Lo, 1e-7)
	assert.Equal(t, Estimate{Mean: 2, CI95: &Interval{2, 2}}, svc.QueueLengthMean)
	assert.InDeltaSlice(t, []float64{903.0 / 3000, 900.0 / 3000, 1197.0 / 3000}, svc.InstanceShare, 1e-15)
	require.NotNil(t, svc.LatencyS)
	assert.InDelta(t, 0.5005, svc.LatencyS.Mean, 1e-12)
}

func TestSummarizeSingleReplication(t *testing.T) {
	e := handExperiment()
	e.Replications = 1
	e.Variants[0].Replications = e.Variants[0].Replications[2:]
	s := Summarize(e)
	w := s.Variants[0].Workloads[0]

	// The values are that replication's own.
	assert.InDelta(t, 0.5205, w.LatencyS.Mean, 1e-12)
	assert.Equal(t, e.Variants[0].Replications[0].Workloads[0].Latency.Quantile(0.99), int64(math.Round(w.LatencyS.P99*1e9)))
	assert.InDelta(t, 4.0/1004, w.ErrorRate.Mean, 1e-15)

	b, err := json.Marshal(s)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "ci95", "no interval from one replication")
}

func TestSummarizeOmitsStatisticsWithoutData(t *testing.T) {
	e := &Experiment{
		Scenario: "empty", Duration: time.Second, Replications: 2,
		Variants: []Variant{{Name: "v", Replications: []Replication{
			{Index: 0, Workloads: []Workload{{Name: "w", Outcomes: Outcomes{Rejected: 5}, Latency: stats.NewHistogram()}}},
			{Index: 1, Workloads: []Workload{{Name: "w", Outcomes: Outcomes{Rejected: 4}}}}, // nil histogram
		}}},
	}
	s := Summarize(e)
	w := s.Variants[0].Workloads[0]
	assert.Nil(t, w.LatencyS)
	require.NotNil(t, w.ErrorRate)
	assert.Equal(t, 1.0, w.ErrorRate.Mean)
	assert.Equal(t, 0.0, w.ThroughputPerS.Mean)
	assert.Equal(t, int64(0), w.Pooled.Count())

	b, err := json.Marshal(s)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "latency_s")
}

// edgeExperiment has every degenerate shape the summary must survive
// without NaN or Inf: an empty measured window, no requests at all, nil and
// empty histograms, a workload and a service missing from some
// replications, a service that completed nothing, and a variant with no
// replications.
func edgeExperiment() *Experiment {
	e := &Experiment{
		Scenario: "edge", Duration: time.Second, Warmup: time.Second, Replications: 3,
		Variants: []Variant{
			{Name: "a", Replications: []Replication{
				{Index: 0,
					Workloads: []Workload{{Name: "idle"}, {Name: "sometimes", Outcomes: Outcomes{OK: 1}, Latency: histOf(0)}},
					Services:  []Service{{Name: "s", Instances: 2, Latency: stats.NewHistogram(), InstanceCompleted: []int64{0, 0}}}},
				{Index: 1, Workloads: []Workload{{Name: "idle", Outcomes: Outcomes{InFlight: 3}, Latency: stats.NewHistogram()}}},
				{Index: 2, Workloads: []Workload{{Name: "idle"}}, Services: []Service{{Name: "late", Completed: 1, InstanceCompleted: []int64{1}}}},
			}},
			{Name: "none"},
		},
	}
	conserve(e)
	return e
}

func TestSummaryJSONHasNoNaNOrInf(t *testing.T) {
	for _, tc := range []struct {
		name string
		e    *Experiment
	}{{"hand", handExperiment()}, {"edge", edgeExperiment()}} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.MarshalIndent(Summarize(tc.e), "", "  ")
			require.NoError(t, err, "encoding/json rejects NaN and Inf")
			for _, bad := range []string{"NaN", "Inf", "null"} {
				assert.NotContains(t, string(b), bad)
			}
			var generic any
			require.NoError(t, json.Unmarshal(b, &generic))
			walkNumbers(t, generic, func(x float64) { assert.False(t, math.IsNaN(x) || math.IsInf(x, 0)) })
		})
	}
}

func walkNumbers(t *testing.T, v any, fn func(float64)) {
	switch v := v.(type) {
	case float64:
		fn(v)
	case []any:
		for _, x := range v {
			walkNumbers(t, x, fn)
		}
	case map[string]any:
		for _, x := range v {
			walkNumbers(t, x, fn)
		}
	}
}

func TestSummarizeEdgeShapes(t *testing.T) {
	s := Summarize(edgeExperiment())
	a := s.Variants[0]
	require.Len(t, a.Workloads, 2)
	assert.Equal(t, []string{"idle", "sometimes"}, []string{a.Workloads[0].Name, a.Workloads[1].Name})
	idle := a.Workloads[0]
	assert.Nil(t, idle.ThroughputPerS, "empty window: no rate")
	assert.Nil(t, idle.ErrorRate, "nothing finished")
	assert.Nil(t, idle.LatencyS)
	assert.Equal(t, int64(3), idle.Requests)

	some := a.Workloads[1]
	require.NotNil(t, some.LatencyS)
	assert.Equal(t, 0.0, some.LatencyS.P99)
	assert.Nil(t, some.LatencyS.CI95, "one replication has data")

	require.Len(t, a.Services, 2)
	assert.Equal(t, "s", a.Services[0].Name)
	assert.Equal(t, 2, a.Services[0].Instances)
	assert.Nil(t, a.Services[0].InstanceShare)
	assert.Nil(t, a.Services[0].LatencyS)
	assert.Equal(t, []float64{1}, a.Services[1].InstanceShare)

	none := s.Variants[1]
	assert.Equal(t, "none", none.Name)
	assert.Empty(t, none.Workloads)
	assert.NotNil(t, none.Workloads, "an empty list, not null")
}

func TestSummaryJSONShape(t *testing.T) {
	b, err := json.Marshal(Summarize(handExperiment()))
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	for _, k := range []string{"schema", "scenario", "seed", "version", "duration_s", "warmup_s", "replications", "variants"} {
		assert.Contains(t, m, k)
	}
	v := m["variants"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "events", "workloads", "services"} {
		assert.Contains(t, v, k)
	}
	w := v["workloads"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "requests", "outcomes", "throughput_per_s", "error_rate", "latency_s"} {
		assert.Contains(t, w, k)
	}
	assert.Len(t, w["outcomes"].(map[string]any), 9)
	lat := w["latency_s"].(map[string]any)
	for _, k := range []string{"mean", "p50", "p90", "p99", "p999", "ci95"} {
		assert.Contains(t, lat, k)
	}
	ci := lat["ci95"].(map[string]any)
	assert.Len(t, ci["p99"].([]any), 2, "an interval is [lo, hi]")
	svc := v["services"].([]any)[0].(map[string]any)
	for _, k := range []string{"name", "instances", "concurrency", "completed", "utilisation", "queue_length_mean", "latency_s", "instance_share"} {
		assert.Contains(t, svc, k)
	}
	assert.Contains(t, svc["utilisation"], "ci95")
}

func TestSummaryJSONRoundTrip(t *testing.T) {
	s := Summarize(handExperiment())
	b, err := json.Marshal(s)
	require.NoError(t, err)
	var back Summary
	require.NoError(t, json.Unmarshal(b, &back))
	for i := range s.Variants {
		for j := range s.Variants[i].Workloads {
			s.Variants[i].Workloads[j].Pooled = nil // not serialised
		}
	}
	assert.Equal(t, *s, back)
}

func TestIntervalJSON(t *testing.T) {
	b, err := json.Marshal(Interval{Lo: -1.5, Hi: 2})
	require.NoError(t, err)
	assert.Equal(t, "[-1.5,2]", string(b))
	var iv Interval
	require.NoError(t, json.Unmarshal([]byte("[0.25, 4]"), &iv))
	assert.Equal(t, Interval{0.25, 4}, iv)
	err = json.Unmarshal([]byte(`{"lo": 1}`), &iv)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "results: "), err.Error())
}

func TestPooledLatency(t *testing.T) {
	e := handExperiment()
	v := &e.Variants[0]
	before := v.Replications[0].Workloads[0].Latency.Clone()

	p := PooledLatency(v, "web")
	assert.Equal(t, int64(3000), p.Count())
	assert.Equal(t, 1*ms, p.Min())
	assert.Equal(t, 1020*ms, p.Max())
	assert.InDelta(t, 0.5105e9, p.Mean(), 1e-3)
	assert.True(t, before.Equal(v.Replications[0].Workloads[0].Latency), "inputs are not modified")

	assert.Equal(t, int64(0), PooledLatency(v, "nope").Count())
	assert.True(t, p.Equal(Summarize(e).Variants[0].Workloads[0].Pooled))
}

func TestSummarizeIsDeterministic(t *testing.T) {
	a, err := json.Marshal(Summarize(handExperiment()))
	require.NoError(t, err)
	b, err := json.Marshal(Summarize(handExperiment()))
	require.NoError(t, err)
	assert.Equal(t, string(a), string(b))
}

// conserve sets every workload's arrival count to the sum of its outcomes,
// as a run whose accounting is conserved would.
func conserve(e *Experiment) {
	for vi := range e.Variants {
		for ri := range e.Variants[vi].Replications {
			ws := e.Variants[vi].Replications[ri].Workloads
			for wi := range ws {
				ws[wi].Arrived = ws[wi].Outcomes.Total()
			}
		}
	}
}
