package scenarios

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func parseFile(t *testing.T, path string) *Document {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	doc, err := Parse(path, data)
	require.NoError(t, err)
	return doc
}

func TestParseAppliesDefaults(t *testing.T) {
	doc := parseFile(t, "testdata/minimal.yaml")
	s := doc.Scenario
	assert.Empty(t, doc.Warnings)
	assert.Equal(t, "minimal", s.Name, "name defaults to the file's base name")
	assert.Equal(t, "testdata/minimal.yaml", s.File)
	assert.Contains(t, string(s.Source), "# minimal:")
	assert.Equal(t, uint64(1), s.Seed)
	assert.Equal(t, Duration(time.Minute), s.Duration)
	assert.Equal(t, Duration(0), s.Warmup)
	assert.Equal(t, 1, s.Replications)
	assert.Equal(t, int64(2_000_000_000), s.Limits.MaxEvents)
	assert.Empty(t, s.Variants)

	require.Len(t, s.Workloads, 1)
	w := s.Workloads[0]
	assert.Equal(t, "checkout", w.Target)
	assert.Equal(t, "exponential", w.Arrival.Dist, "rate alone is a Poisson process")
	assert.Equal(t, Rate(100), w.Arrival.Rate)
	assert.Equal(t, map[string]bool{"rate": true}, w.Arrival.Has)
	assert.Equal(t, 6, w.Arrival.Line)
	assert.Equal(t, 14, w.Arrival.Col)

	require.Len(t, s.Services, 1)
	svc := s.Services[0]
	assert.Equal(t, 1, svc.Replicas)
	assert.Equal(t, 1, svc.Concurrency)
	assert.Equal(t, Queue{Unbounded: true}, svc.Queue)
	assert.Equal(t, "round_robin", svc.Sidecar.LB.Policy)
	assert.Equal(t, "exponential", svc.ServiceTime.Dist)
	assert.Equal(t, Duration(5*time.Millisecond), svc.ServiceTime.Mean)

	arrival, err := w.Arrival.Build()
	require.NoError(t, err)
	assert.Equal(t, 10*time.Millisecond, arrival.Mean())
	st, err := svc.ServiceTime.Build()
	require.NoError(t, err)
	assert.Equal(t, 5*time.Millisecond, st.Mean())

	res, err := doc.Expand()
	require.NoError(t, err)
	require.Len(t, res, 1)
	assert.Equal(t, "baseline", res[0].Name)
	assert.Same(t, s, res[0].Scenario)
}

func TestParseKeepsExplicitValues(t *testing.T) {
	doc := parseFile(t, "testdata/full.yaml")
	s := doc.Scenario
	assert.Empty(t, doc.Warnings)
	assert.Equal(t, "everything", s.Name)
	assert.Equal(t, "Every field of the schema with an explicit value.\nThe second line is not part of the title.\n", s.Description)
	assert.Equal(t, uint64(0), s.Seed, "an explicit seed 0 is kept")
	assert.Equal(t, Duration(90*time.Minute), s.Duration)
	assert.Equal(t, Duration(1500*time.Millisecond), s.Warmup)
	assert.Equal(t, 30, s.Replications)
	assert.Equal(t, int64(2e9), s.Limits.MaxEvents)
	assert.Equal(t, Rate(50), s.Workloads[0].Arrival.Rate)

	byName := map[string]Service{}
	for _, svc := range s.Services {
		byName[svc.Name] = svc
		_, err := svc.ServiceTime.Build()
		assert.NoError(t, err, svc.Name)
	}
	c := byName["constant"]
	assert.Equal(t, 3, c.Replicas)
	assert.Equal(t, 8, c.Concurrency)
	assert.Equal(t, Queue{Bound: 100, Set: true}, c.Queue)
	assert.Equal(t, "random", c.Sidecar.LB.Policy)
	assert.Equal(t, Queue{Bound: 0, Set: true}, byName["uniform"].Queue)
	assert.Equal(t, Queue{Unbounded: true, Set: true}, byName["erlang"].Queue)
	assert.Equal(t, 4, byName["erlang"].ServiceTime.K)
	assert.InDelta(t, 4.0, byName["hyperexp"].ServiceTime.SCV, 0)
	assert.Equal(t, Duration(120*time.Millisecond), byName["lognormal-mean"].ServiceTime.P99)
	assert.InDelta(t, 0.8, byName["lognormal-median"].ServiceTime.Sigma, 0)
	assert.Equal(t, Rate(50_000), byName["exp-rate"].ServiceTime.Rate)

	emp := byName["empirical"].ServiceTime
	assert.Equal(t, []Percentile{
		{P: 0.5, Value: Duration(10 * time.Millisecond)},
		{P: 0.9, Value: Duration(30 * time.Millisecond)},
		{P: 0.99, Value: Duration(100 * time.Millisecond)},
		{P: 0.999, Value: Duration(400 * time.Millisecond)},
	}, emp.Percentiles, "sorted by P whatever the YAML order")
	assert.Equal(t, map[string]bool{"dist": true, "p50": true, "p90": true, "p99": true, "p99.9": true}, emp.Has)

	// An alias shares the anchored spec; a merge key copies the entry.
	assert.Equal(t, byName["pareto-scale"].ServiceTime.Scale, byName["merged"].ServiceTime.Scale)
	mt := byName["merged-too"]
	assert.Equal(t, 2, mt.Replicas, "merged from &base")
	assert.Equal(t, 2, mt.Concurrency)
	assert.Equal(t, "pareto", mt.ServiceTime.Dist)
}

func TestParseWarnsOfOverload(t *testing.T) {
	tests := []struct {
		name  string
		queue string
		want  []string
	}{
		{
			name:  "unbounded queue",
			queue: "unbounded",
			want:  []string{"load.yaml:8:5: services[0]: warning: offered load 1500/s is at or above capacity 1000/s (utilisation 1.50) and the queue is unbounded, so waiting times grow for as long as the run lasts; add replicas or concurrency, or bound the queue"},
		},
		{name: "bounded queue", queue: "50"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := `version: 1
duration: 1m
workloads:
  - {name: a, arrival: {rate: 1000/s}, target: svc}
  - {name: b, arrival: {dist: constant, value: 2ms}, target: svc}
  - {name: c, arrival: {rate: 1/s}, target: other}
services:
  - name: svc
    replicas: 2
    queue: ` + tc.queue + `
    service_time: {dist: constant, value: 2ms}
  - {name: other, service_time: {dist: constant, value: 1ms}}
`
			doc, err := Parse("load.yaml", []byte(src))
			require.NoError(t, err)
			assert.Equal(t, tc.want, doc.Warnings)
		})
	}
}

func TestParseLimits(t *testing.T) {
	tests := []struct {
		name, field, want string
	}{
		{"replications 0", "replications: 0", "x.yaml:3:15: replications: must be between 1 and 10000, got 0"},
		{"replications too many", "replications: 10001", "x.yaml:3:15: replications: must be between 1 and 10000, got 10001"},
		{"max events 0", "limits: {max_events: 0}", "x.yaml:3:22: limits.max_events: must be positive, got 0"},
		{"zero duration", "warmup: 0", "x.yaml:2:11: duration: duration must be positive"},
		{"seed negative", "seed: -1", "x.yaml:3:7: seed: must not be negative, got -1"},
		{"int out of range", "replications: 99999999999999999999", "x.yaml:3:15: replications: 99999999999999999999 is out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dur := "1m"
			if tc.name == "zero duration" {
				dur = "0"
			}
			src := "version: 1\nduration: " + dur + "\n" + tc.field + "\n" +
				"workloads: [{name: w, arrival: {rate: 1/s}, target: s}]\n" +
				"services: [{name: s, service_time: {dist: constant, value: 1ms}}]\n"
			_, err := Parse("x.yaml", []byte(src))
			require.Error(t, err)
			assert.Equal(t, tc.want, err.Error())
		})
	}
}

func TestBuildWithoutHas(t *testing.T) {
	// Specs written in Go have no Has; Build reads the non-zero fields.
	tests := []struct {
		name string
		spec DistSpec
		mean time.Duration
	}{
		{"rate alone", DistSpec{Rate: 200}, 5 * time.Millisecond},
		{"exponential mean", DistSpec{Dist: "exponential", Mean: Duration(time.Second)}, time.Second},
		{"lognormal median", DistSpec{Dist: "lognormal", Median: Duration(time.Millisecond), Sigma: 0.5}, 1133148 * time.Nanosecond},
		{"pareto mean", DistSpec{Dist: "pareto", Mean: Duration(time.Second), Shape: 3}, time.Second},
		{"empirical", DistSpec{Dist: "empirical", Percentiles: []Percentile{{0.5, Duration(time.Millisecond)}}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := tc.spec.Build()
			require.NoError(t, err)
			if tc.mean != 0 {
				assert.Equal(t, tc.mean, d.Mean())
			}
		})
	}
	for _, spec := range []DistSpec{{}, {Dist: "nope"}, {Rate: 2e9}, {Dist: "exponential", Rate: -1}} {
		_, err := spec.Build()
		assert.Error(t, err, "%+v", spec)
	}
}

func TestSanitizeName(t *testing.T) {
	for in, want := range map[string]string{
		"Check Out":  "check-out",
		"a.b/c":      "a-b-c",
		"__x":        "x",
		"!!!":        "",
		"ok-name_1":  "ok-name_1",
		"Ünïcödé 42": "n-c-d-42",
	} {
		assert.Equal(t, want, sanitizeName(in), in)
	}
}

func TestDefaultNameIsMadeValid(t *testing.T) {
	body := []byte("version: 1\nduration: 1m\nworkloads: [{name: w, arrival: {rate: 1/s}, target: s}]\nservices: [{name: s, service_time: {dist: constant, value: 1ms}}]\n")
	for file, want := range map[string]string{
		"dir/My Scenario.yaml": "my-scenario",
		"dir/!!!.yaml":         "scenario",
		"plain.yml":            "plain",
	} {
		doc, err := Parse(file, body)
		require.NoError(t, err, file)
		assert.Equal(t, want, doc.Scenario.Name, file)
	}
}
